"""One bot instance's reminder engine, driven by `bench.reminder_bench` over stdin/stdout.

`python -m bench.reminder_worker --database-url URL --api-url URL` builds what `open_app`
builds for reminders — engine and sessionmaker (`storage.db`), `Runtime` with the system
clock (`create_runtime`), the gettext catalogs, the `Bot` on an aiohttp session pointed at the
fake Bot API (`create_bot`) — and a `Sender`, prints `{"ready": true}`, then answers one JSON
command per line with one JSON line:

- `{"cmd": "ceiling", "mode": "noop"|"http", "batch": B}`: one `ReminderEngine.tick()` (it
  drains everything due, claim after claim). `noop` delivers with a function that passes the
  gate and returns `Outcome.SENT` (claim + load + mark "sending" + settle, per message, as in
  production); `http` with the product's
  `make_deliver` (render the message, `Sender.send_message` over HTTP) with the send limits
  lifted. Reports the count, start and end (`time.monotonic`, comparable across processes on
  Linux) and the process CPU time. `"profile": PATH` runs it under cProfile and dumps there.
- `{"cmd": "lateness", "batch": B, "poll": P, "limits": "lifted"|"telegram", "expect": K,
  "timeout": T}`: the engine as in production — `scheduler.setup.create_scheduler`, an
  APScheduler `AsyncIOScheduler` interval job calling `tick()` every P seconds — with
  `make_deliver` wrapped to take the moment each message was accepted by the Bot API, the
  engine started as `crmbot` starts it (a pipeline that APScheduler wakes). Runs
  until K reminders were sent (or T seconds), then reports each one's lateness (sent − due).
- `{"cmd": "quit"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

# isort: off
import bot  # noqa: F401 - first, as `crmbot` does: aiogram's types then build lazily

# isort: on
from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.factory import create_bot, create_runtime
from bot.i18n import create_i18n
from bot.reminders import make_deliver
from bot.sender import Sender, SendLimits
from crm.context import Runtime
from crm.reminders import Delivery, DueReminder, Outcome
from scheduler.reminders import Deliver, Gate, ReminderEngine
from scheduler.setup import create_scheduler
from storage.db import create_engine, create_sessionmaker

TOKEN = "123456789:TEST-token-for-the-reminder-benchmark"
LIFTED = SendLimits(global_per_second=math.inf, per_chat_interval=0)
TELEGRAM = SendLimits()  # the defaults: 30/s in all, 1 s between two messages to one chat


def bench_settings(database_url: str, api_url: str) -> Settings:
    """Like `tests/conftest.make_settings`: no `.env`, no Redis, the scheduler off."""
    return load_settings(
        env_file=None,
        telegram={"bot_token": TOKEN, "telegram_api_url": api_url, "bot_username": "b"},
        database={"database_url": database_url},
        redis={"redis_url": None},
        locale={"default_locale": "pl", "default_timezone": "Europe/Warsaw"},
        scheduler={"run_scheduler": False},
    )


async def noop_deliver(due: DueReminder, gate: Gate) -> Delivery:
    """Sends nothing, but goes through the gate as a real send does: each reminder is marked
    "sending" and then settled, as in production (per-message settling)."""
    if not await gate():
        return Delivery(Outcome.LOST)
    return Delivery(Outcome.SENT)


class Worker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = create_engine(settings.database.database_url)
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.runtime: Runtime = create_runtime(settings)  # SystemClock
        self.i18n: I18n = create_i18n(settings.locale.locales_dir, settings.locale.default_locale)
        self.bot: Bot = create_bot(settings)

    async def close(self) -> None:
        await self.bot.session.close()
        await self.engine.dispose()

    def deliver(self, mode: str, limits: SendLimits = LIFTED) -> Deliver:
        if mode == "noop":
            return noop_deliver
        return make_deliver(Sender(self.bot, limits), self.i18n, self.runtime, max_wait=15.0)

    async def ceiling(self, command: dict[str, Any]) -> dict[str, Any]:
        engine = ReminderEngine(
            self.sessionmaker,
            self.runtime,
            self.deliver(command["mode"]),
            batch_size=int(command["batch"]),
        )
        profile_path = command.get("profile")
        profiler = cProfile.Profile() if profile_path else None
        cpu = time.process_time()
        start = time.monotonic()
        if profiler is not None:
            profiler.enable()
        count = await engine.tick()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile_path)
        end = time.monotonic()
        return {
            "count": count,
            "start": start,
            "end": end,
            "cpu": time.process_time() - cpu,
        }

    async def lateness(self, command: dict[str, Any]) -> dict[str, Any]:
        expect = int(command["expect"])
        limits = LIFTED if command["limits"] == "lifted" else TELEGRAM
        inner = self.deliver("http", limits)
        late: list[float] = []
        done = asyncio.Event()

        async def recording(due: DueReminder, gate: Gate) -> Delivery:
            delivery = await inner(due, gate)
            if delivery.outcome is Outcome.SENT:
                late.append((datetime.now(UTC) - due.due_at).total_seconds())
                if len(late) >= expect:
                    done.set()
            return delivery

        engine = ReminderEngine(
            self.sessionmaker,
            self.runtime,
            recording,
            batch_size=int(command["batch"]),
            rate=limits.global_per_second,
            chat_interval=limits.per_chat_interval,
        )
        scheduler = create_scheduler(
            self.sessionmaker, self.runtime, engine, reminder_poll_seconds=float(command["poll"])
        )
        cpu = time.process_time()
        engine.start()
        scheduler.start()
        try:
            await asyncio.wait_for(done.wait(), float(command["timeout"]))
        except TimeoutError:
            pass
        finally:
            # As `crmbot` stops: no new wake-ups, the sends in flight settle, the rest go back.
            scheduler.pause()
            await asyncio.sleep(0)
            scheduler.shutdown(wait=False)
            await engine.stop()
        return {
            "late": [round(x, 5) for x in late],
            "ticks": 0,  # the engine is a pipeline now: no batches to count
            "tick_max": 0.0,
            "cpu": time.process_time() - cpu,
        }


async def serve(args: argparse.Namespace) -> None:
    worker = Worker(bench_settings(args.database_url, args.api_url))
    try:
        async with worker.sessionmaker() as session:  # open a connection before the clock runs
            await session.connection()
        print(json.dumps({"ready": True}), flush=True)
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            if command["cmd"] == "quit":
                return
            if command["cmd"] == "ceiling":
                result = await worker.ceiling(command)
            elif command["cmd"] == "lateness":
                result = await worker.lateness(command)
            else:
                result = {"error": f"unknown command {command['cmd']!r}"}
            print(json.dumps(result), flush=True)
    finally:
        await worker.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.reminder_worker")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
