"""Tools for the reminder fault-injection suite: a recording fake Bot API, seeding the outbox in
bulk, real `crmbot scheduler` worker processes, and ways to take the database away.

Time is scaled down by `SCALE` with every limit together, so the ratios of the defaults hold
(30 messages/s and 1 s between two messages to a chat, against a 60 s lease): what lasts longer
than a lease in production lasts longer than a lease here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Activity, Reminder, User

CRMBOT = str(Path(sys.executable).parent / "crmbot")
ROOT = str(Path(__file__).resolve().parent.parent)  # the checkout under test
TOKEN = "123456789:FAULTS-token-for-the-recording-fake"
SCALE = 25  # 30/s → 750/s, 1 s per chat → 40 ms, 60 s lease → 2.4 s, 0.5 s poll → 20 ms
FIRST_TELEGRAM_ID = 7_000_000


@dataclass(frozen=True)
class Limits:
    rate: float = 30.0 * SCALE
    chat_interval: float = 1.0 / SCALE
    lease: float = 60.0 / SCALE
    poll: float = 0.5 / SCALE

    def env(self) -> dict[str, str]:
        return {
            "SEND_RATE_PER_SECOND": str(self.rate),
            "SEND_CHAT_INTERVAL": str(self.chat_interval),
            "REMINDER_LEASE_SECONDS": str(self.lease),
            "REMINDER_POLL_SECONDS": str(self.poll),
            "SHUTDOWN_GRACE_SECONDS": str(10.0),
        }


@dataclass
class Sent:
    chat_id: int
    subject: str
    at: float  # time.monotonic() when the fake accepted it


@dataclass
class RecordingTelegram:
    """Answers sendMessage like Telegram after `latency` seconds, and records each message.

    `pause_chat(chat, retry_after)` makes the next request to that chat fail with 429.
    """

    latency: float = 0.003
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[int, float]] = field(default_factory=list)  # 429s: chat, when
    _pauses: dict[int, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    base_url: str = ""
    _ids: int = 0

    def pause_chat(self, chat_id: int, retry_after: int) -> None:
        self._pauses[chat_id] = retry_after

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if request.content_type == "application/json":
            params: dict[str, Any] = await request.json()
        else:
            params = dict(await request.post())
        if method != "sendmessage":
            return web.json_response({"ok": True, "result": True})
        chat_id = int(params["chat_id"])
        arrived = time.monotonic()
        await asyncio.sleep(self.latency * random.uniform(0.5, 1.5))
        retry_after = self._pauses.pop(chat_id, None)
        if retry_after is not None:
            self.refused.append((chat_id, time.monotonic()))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        text_ = str(params.get("text", ""))
        self.sent.append(Sent(chat_id, subject_of(text_), arrived))
        self._ids += 1
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "message_id": self._ids,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private", "first_name": "Rep"},
                    "text": text_,
                },
            }
        )

    # --- what the recording shows -------------------------------------------------------------
    def copies(self) -> Counter[str]:
        return Counter(s.subject for s in self.sent)

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.copies().values() if n > 1)

    def chat_gaps_below(self, interval: float) -> int:
        """How many times one chat got two messages closer together than half `interval` (the
        fake's own scheduling jitter is tens of ms on a busy machine): the per-chat limit,
        kept across workers."""
        by_chat: dict[int, list[float]] = defaultdict(list)
        for s in self.sent:
            by_chat[s.chat_id].append(s.at)
        tight = 0
        for times in by_chat.values():
            times.sort()
            tight += sum(1 for a, b in itertools.pairwise(times) if b - a < interval * 0.5)
        return tight


def subject_of(text_: str) -> str:
    """The reminder's subject: the seeded subjects are unique (`R123`)."""
    first = text_.split("\n", 1)[0]
    return first.rsplit(" ", 1)[-1]


# --- the outbox ----------------------------------------------------------------------------------
async def seed(engine: AsyncEngine, per_user: list[int]) -> list[int]:
    """Users with the given numbers of due reminders (one activity each, subject `R<n>`), all
    due a moment ago. Returns the users' Telegram ids."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        users = [
            {
                "name": f"Rep {i}",
                "role": "rep",
                "telegram_id": FIRST_TELEGRAM_ID + i,
                "locale": "pl",
                "is_active": True,
                "is_reachable": True,
            }
            for i in range(len(per_user))
        ]
        await conn.execute(insert(User), users)
        ids = {tg: id_ for tg, id_ in await conn.execute(select(User.telegram_id, User.id))}
        activities = []
        for i, count in enumerate(per_user):
            user_id = ids[FIRST_TELEGRAM_ID + i]
            activities += [{"user": user_id} for _ in range(count)]
        await conn.execute(
            insert(Activity),
            [
                {
                    "subject": f"R{n}",
                    "deadline": now + timedelta(hours=1),
                    "responsible_id": a["user"],
                    "created_by_id": a["user"],
                }
                for n, a in enumerate(activities)
            ],
        )
        by_subject = {
            subject: id_
            for subject, id_ in await conn.execute(select(Activity.subject, Activity.id))
        }
        await conn.execute(
            insert(Reminder),
            [
                {
                    "activity_id": by_subject[f"R{n}"],
                    "user_id": a["user"],
                    "due_at": now - timedelta(seconds=1) + timedelta(microseconds=n),
                    "kind": "offset",
                    "offset_minutes": 60,
                    "status": "pending",
                    "attempts": 0,
                }
                for n, a in enumerate(activities)
            ],
        )
    return [FIRST_TELEGRAM_ID + i for i in range(len(per_user))]


async def diagnose(engine: AsyncEngine, ws: list[Worker] | None = None) -> str:
    """What the outbox and the workers say, for a failing assertion's message."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT status, attempts, coalesce(last_error, ''), count(*) FROM reminders "
                "GROUP BY 1, 2, 3 ORDER BY 1, 2"
            )
        )
        lines = [f"{r[0]} attempts={r[1]} {r[2]!r}: {r[3]}" for r in rows]
    for w in ws or []:
        log = bytes(w.stderr).decode(errors="replace").splitlines()
        notable = [line for line in log if " INFO " not in line][-40:]
        lines.append(f"--- worker {w.pid} (exit {w.process.returncode}):")
        lines += notable or log[-10:]
    return "\n".join(lines)


async def outbox(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT status, count(*) FROM reminders GROUP BY status"))
        return {row[0]: int(row[1]) for row in rows}


async def sending_by(engine: AsyncEngine, pid: int) -> int:
    """Rows a worker process had marked "sending": its sends that may have been in flight."""
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                text(
                    "SELECT count(*) FROM reminders WHERE status = 'sending' "
                    "AND claimed_by LIKE :pattern"
                ),
                {"pattern": f"%:{pid}:%"},
            )
            or 0
        )


# --- worker processes ----------------------------------------------------------------------------
@dataclass
class Worker:
    process: asyncio.subprocess.Process
    stderr: bytearray = field(default_factory=bytearray)
    _reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(65536):
            self.stderr += chunk

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def terminate(self, timeout: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    async def wait(self) -> int:
        code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code


async def start_worker(
    tmp_path: Path, database_url: str, api_url: str, limits: Limits, **env: str
) -> Worker:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        # The code under test, also when the installed `crmbot` is another checkout's.
        "PYTHONPATH": ROOT,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api_url,
        "DATABASE_URL": database_url,
        **limits.env(),
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        CRMBOT, "scheduler", env=environment, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    worker = Worker(process)
    worker._reader = asyncio.create_task(worker._read())
    return worker


@contextlib.asynccontextmanager
async def workers(
    count: int, tmp_path: Path, database_url: str, api_url: str, limits: Limits
) -> AsyncIterator[list[Worker]]:
    started = [await start_worker(tmp_path, database_url, api_url, limits) for _ in range(count)]
    try:
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None:
                worker.kill()
                await worker.wait()


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


# --- taking the database away --------------------------------------------------------------------
@contextlib.asynccontextmanager
async def database_away(database_url: str, admin_url: str | None) -> AsyncIterator[None]:
    """PostgreSQL: refuse connections to the database and end the open ones. SQLite: another
    process holds the write lock, so every write waits (and fails after the busy timeout)."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        lock = sqlite3.connect(path, isolation_level=None, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("COMMIT")
            lock.close()
        return
    import asyncpg

    assert admin_url is not None
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


def report(name: str, **figures: Any) -> None:
    """Figures for the closing note, printed with -s and kept in the test's captured output."""
    print(f"FAULTS {name}: {json.dumps(figures, sort_keys=True)}")
