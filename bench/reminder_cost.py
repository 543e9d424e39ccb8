"""What one reminder costs the engine: CPU of this process, CPU of the PostgreSQL backends,
database round trips — measured rather than timed, so that a busy machine does not skew it.

    .venv/bin/python -m bench.reminder_cost [--backend postgres|sqlite] [--reminders N]
                                            [--batch B] [--mode noop|http] [--runs R]
                                            [--profile PATH]

In one process, on a fresh database seeded like `bench.reminder_bench` (300 bound users, 3,000
activities), each run reloads N due reminders and drains them with one product
`ReminderEngine.tick()` (no-op deliver through the gate, or `make_deliver` to the fake Bot API
with limits lifted). Per run it prints, per reminder: this process's CPU (µs), the CPU of the
PostgreSQL server processes serving the database (µs), statements executed, transactions
(connection checkouts, each with its pre-ping), and the wall-clock rate (noisy on a shared
machine: compare CPU, not rate). `--profile` writes a cProfile of the last run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# isort: off
import bot  # noqa: F401 - first, as `crmbot` does: aiogram's types then build lazily

# isort: on
from sqlalchemy import event

from bench.reminder_bench import (
    CpuMeter,
    Proc,
    backend_pids,
    database,
    load_reminders,
    outbox_counts,
    seed_people,
)
from bench.reminder_worker import Worker, bench_settings
from scheduler.reminders import ReminderEngine
from storage import migrate
from storage.db import create_engine


class Counter:
    def __init__(self) -> None:
        self.statements = 0
        self.checkouts = 0
        self.by_kind: dict[str, list[float]] = {}  # statement kind: [count, seconds]
        self._started: dict[int, float] = {}

    def attach(self, engine: Any) -> None:
        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def _stmt(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            self.statements += 1
            self._started[id(cursor)] = time.perf_counter()

        @event.listens_for(sync, "after_cursor_execute")
        def _done(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            started = self._started.pop(id(cursor), None)
            if started is not None:
                kind = " ".join(statement.split()[:3])[:40]
                entry = self.by_kind.setdefault(kind, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        @event.listens_for(sync.pool, "checkout")
        def _checkout(*_: Any) -> None:
            self.checkouts += 1


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fake: Proc | None = None
        api_url = "http://127.0.0.1:1"
        if args.mode == "http":
            fake, ready = await Proc.start("bench.reminder_fakeapi", [], Path(tmp) / "fake.log")
            api_url = f"http://127.0.0.1:{ready['port']}"
        try:
            async with database(args.backend, Path(tmp)) as url:
                worker = Worker(bench_settings(url, api_url))
                # Its own connection: the one that asks is left out of the list it gets.
                observer = create_engine(url)
                try:
                    await migrate.upgrade(worker.engine)
                    pairs = await seed_people(worker.engine, url, 300, 10)
                    counter = Counter()
                    counter.attach(worker.engine)
                    rows = []
                    for run in range(args.runs + 1):  # the first is a warm-up
                        n = args.reminders if run else min(2000, args.reminders)
                        await load_reminders(
                            worker.engine, pairs, datetime.now(UTC) - timedelta(days=1), 0.001, n
                        )
                        engine = ReminderEngine(
                            worker.sessionmaker,
                            worker.runtime,
                            worker.deliver(args.mode),
                            batch_size=args.batch,
                        )
                        meter = CpuMeter({})
                        meter.begin(await backend_pids(observer))
                        statements, checkouts = counter.statements, counter.checkouts
                        last = run == args.runs
                        profiler = (
                            cProfile.Profile(time.process_time) if args.profile and last else None
                        )
                        cpu, wall = time.process_time(), time.perf_counter()
                        if profiler:
                            profiler.enable()
                        count = await engine.tick()
                        if profiler:
                            profiler.disable()
                            profiler.dump_stats(args.profile)
                        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                        used = meter.end(await backend_pids(observer))
                        counts = await outbox_counts(worker.engine)
                        if count != n or counts != {"sent": n}:
                            raise RuntimeError(f"claimed {count} of {n}; outbox {counts}")
                        if not run:
                            continue
                        row = {
                            "engine_us": 1e6 * cpu / n,
                            "pg_us": 1e6 * used["postgres"] / n,
                            "statements": (counter.statements - statements) / n,
                            "transactions": (counter.checkouts - checkouts) / n,
                            "rate": n / wall,
                            "others_cores": used["others"] / wall,
                        }
                        rows.append(row)
                        print(
                            f"run {run}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()),
                            file=sys.stderr,
                        )
                    for kind, (calls, seconds) in sorted(
                        counter.by_kind.items(), key=lambda kv: -kv[1][1]
                    ):
                        print(f"  {kind:40} {calls:6} x {1e3 * seconds / calls:7.3f} ms")
                    print(
                        f"{args.backend} {args.mode} batch {args.batch}, {args.reminders} "
                        f"reminders, median of {args.runs}: "
                        + ", ".join(
                            f"{key} {statistics.median(r[key] for r in rows):.3f}"
                            for key in rows[0]
                        )
                    )
                finally:
                    await observer.dispose()
                    await worker.close()
        finally:
            if fake is not None:
                await fake.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.reminder_cost")
    parser.add_argument("--backend", default="postgres", choices=("postgres", "sqlite"))
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--mode", default="noop", choices=("noop", "http"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", default="")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
