"""The reminder engine's own ceiling and its lateness, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.reminder_bench [--reminders N] [--backends sqlite,postgres]
                                              [--repetitions R] [--quick] [--profile]

Processes, all on loopback:

- a fast fake Bot API (`bench.reminder_fakeapi`) that answers `sendMessage` with a fixed valid
  Message; its CPU time is recorded, to show it is not what limits the rate;
- one or two bot instances (`bench.reminder_worker`), each with the product's
  `ReminderEngine`, `make_deliver`, `Sender` and `Bot` on a fresh, migrated database;
- this process: creates the database, seeds it (`--users` bound reps made with the product's
  services — invite, redeem, a deal and an activity each — then each activity cloned in bulk
  to `--activities-per-user`), loads the reminders in bulk (one Core executemany into
  `reminders`, kind `snooze`, distinct `due_at`), commands the workers, checks and reports.

Measurements per backend:

1. Ceiling. N reminders, all due (1 ms apart in the past, neighbours for different users and
   activities), drained by `ReminderEngine.tick()`: with a no-op deliver returning
   `Outcome.SENT` (claim + load + settle: the engine's own ceiling), and end to end with
   `make_deliver` and a `Sender` with every limit lifted (`SendLimits(math.inf,
   per_chat_interval=0)`) over HTTP (`--http-reminders` per run). Each batch size, with 1 and
   (PostgreSQL) 2 instances, `--repetitions` times, interleaved; the outbox is reloaded with
   the same fresh rows before every run (PostgreSQL: TRUNCATE, insert, VACUUM ANALYZE). After
   every run each reminder must be `sent` exactly once (and, over HTTP, the fake must have
   seen exactly one `sendMessage` per reminder), else the run fails.
2. Lateness. Reminders due evenly over `--lateness-seconds`, starting a few seconds ahead; one
   instance runs the engine as production does (`scheduler.setup.create_scheduler`: an
   APScheduler interval job every `--poll` seconds) with the system clock; a reminder's sent
   moment is when the Bot API accepted its message. At each of `--lateness-rates` with the
   limits lifted, and at 25/s under Telegram's limits (the Sender's defaults: 30/s, 1 s per
   chat), with `--poll` and with the product's default REMINDER_POLL_SECONDS.

The machine may be shared: a run during which other processes used more than 15% of a CPU
is run again (at most 3 times). With the defaults the whole benchmark takes about 7–8 minutes
on 2 cores; `--quick` is a 2–3 minute smoke run.

Results: a markdown table on stdout, and every run in `bench/results/reminders.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.reminder_worker import bench_settings
from bot.config import SchedulerSettings
from bot.factory import create_runtime
from crm.context import Crm
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.parsing import parse_line
from crm.users import actor_of
from storage import migrate
from storage.db import create_engine, create_sessionmaker
from storage.models import Activity, ActivityBinding, ActivityParticipant, Reminder

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
FIRST_TELEGRAM_ID = 800_000_001
TELEGRAM_RATE = 30  # messages per second: Telegram's bulk limit, the Sender's default
CLAIM_TARGET = 5_000  # reminders/s on PostgreSQL, send rate lifted
LATENESS_TARGET = 1.0  # seconds, p99 due → sent
LIMITED_RATE = 25  # reminders per second in the lateness run under Telegram's limits
LEAD = timedelta(seconds=3)  # the lateness window starts this far ahead of the insert
START_TIMEOUT = 60.0
# A ceiling run during which other processes used more than this share of a CPU is run again,
# at most RETRIES times (the "others" column shows what the kept runs had).
DISTURBED = 0.15
RETRIES = 3
# The product's default poll interval (REMINDER_POLL_SECONDS).
DEFAULT_POLL = float(SchedulerSettings.model_fields["reminder_poll_seconds"].default)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- CPU accounting (Linux /proc) ---------------------------------------------------------
def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies since boot, over all CPUs."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


@dataclass
class CpuMeter:
    """CPU seconds used during a run by each group of processes, by the PostgreSQL backends
    serving this benchmark's database, and by anything else on the machine ("others")."""

    groups: dict[str, list[int]]
    start: dict[int, float] = field(default_factory=dict)
    pg_start: set[int] = field(default_factory=set)
    machine: tuple[float, float] = (0.0, 0.0)

    def begin(self, pg_pids: Sequence[int]) -> None:
        pids = {os.getpid(), *pg_pids, *(p for ps in self.groups.values() for p in ps)}
        self.pg_start = set(pg_pids)
        self.start = {pid: _proc_cpu(pid) for pid in pids}
        self.machine = _machine_cpu()

    def end(self, pg_pids: Sequence[int]) -> dict[str, float]:
        busy, total = _machine_cpu()

        def used(pids: Sequence[int] | set[int]) -> float:
            # A backend that appeared during the run counts from zero; one that exited, as 0.
            return sum(max(0.0, _proc_cpu(p) - self.start.get(p, 0.0)) for p in pids)

        result = {name: round(used(pids), 3) for name, pids in self.groups.items()}
        result["postgres"] = round(used(self.pg_start | set(pg_pids)), 3)
        own = used([os.getpid()])
        busy_seconds = (busy - self.machine[0]) / CLK_TCK
        result["others"] = round(busy_seconds - sum(result.values()) - own, 3)
        result["machine_busy_pct"] = round(
            100 * (busy - self.machine[0]) / max(1.0, total - self.machine[1]), 1
        )
        return result


# --- processes ----------------------------------------------------------------------------
class Proc:
    """A child speaking one JSON line per answer on stdout; stderr goes to a log file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(cls, module: str, args: Sequence[str], log: Path) -> tuple[Proc, Any]:
        with log.open("wb") as errors:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                *args,
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                limit=64 * 1024 * 1024,  # a lateness answer carries every reminder's lateness
            )
        proc = cls(process, log)
        return proc, await proc.read(START_TIMEOUT)

    async def read(self, timeout: float) -> Any:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"{self.log.name}: exited\n{self.log.read_text()[-3000:]}")
        return json.loads(line)

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())

    async def ask(self, command: dict[str, Any], timeout: float = 600.0) -> Any:
        self.send(command)
        return await self.read(timeout)

    async def stop(self, command: dict[str, Any] | None = None) -> None:
        if self.process.returncode is None:
            if command is not None:
                with contextlib.suppress(Exception):
                    self.send(command)
                    await asyncio.wait_for(self.process.wait(), 10)
            if self.process.returncode is None:
                self.process.terminate()
                await self.process.wait()

    def log_lines(self, needle: str) -> int:
        return sum(needle in line for line in self.log.read_text(errors="replace").splitlines())


# --- databases ----------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def database(backend: str, tmp: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'reminders.db'}"
        return
    name = f"bench_reminders_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield (
            PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
            + f"/{name}"
        )
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def seed_people(
    engine: AsyncEngine, url: str, users: int, activities_per_user: int
) -> list[tuple[int, int]]:
    """`users` bound reps (invite + redeem), each with a deal and an open activity made by the
    product's services; then each activity cloned in bulk to `activities_per_user` (same
    bindings and participants), so that one batch of reminders reaches as many activities as
    it would in life, where most reminders are for different activities.

    Returns (activity, user) pairs ordered so that neighbours belong to different users.
    """
    runtime = create_runtime(bench_settings(url, "http://127.0.0.1:1"))
    sessionmaker = create_sessionmaker(engine)
    owners: list[tuple[int, int]] = []
    deadline = datetime.now(UTC) + timedelta(days=30)
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        for n in range(users):
            issued = await crm.users.create_invite(Role.REP, f"Rep {n}", "Sprzedaż")
            await crm.users.redeem(issued.code, FIRST_TELEGRAM_ID + n, ("pl", "en", "ru")[n % 3])
            actor = actor_of(issued.user)
            line = parse_line(f"Klient {n} +48 600 {n // 1000:03d} {n % 1000:03d} wdrożenie")
            ref = (
                await crm.elements.create(actor, EntityType.DEAL, ElementInput.from_parsed(line))
            ).primary
            activity = await crm.activities.create(actor, ref, f"Zadzwonić {n}", deadline)
            owners.append((activity.id, actor.user_id))
        await session.execute(delete(Reminder))  # the activities' own offset reminders
        await session.commit()
    copies = await clone_activities(engine, activities_per_user - 1)
    return [
        (copy[activity_id] if copy else activity_id, user_id)
        for copy in [{}, *copies]
        for activity_id, user_id in owners
    ]


async def clone_activities(engine: AsyncEngine, times: int) -> list[dict[int, int]]:
    """Copy every activity (with its bindings and participants) `times` times, in bulk;
    returns one {original id: copy id} per round."""
    if times <= 0:
        return []
    activities, bindings, participants = (
        Activity.__table__, ActivityBinding.__table__, ActivityParticipant.__table__
    )  # fmt: skip
    async with engine.begin() as conn:
        originals = (await conn.execute(select(activities))).mappings().all()
        own_bindings = (await conn.execute(select(bindings))).mappings().all()
        own_participants = (await conn.execute(select(participants))).mappings().all()
        next_id = max(int(a["id"]) for a in originals) + 1
        rounds: list[dict[int, int]] = []
        new_activities: list[dict[str, Any]] = []
        for n in range(1, times + 1):
            ids: dict[int, int] = {}
            for original in originals:
                ids[original["id"]] = next_id
                new_activities.append(
                    {**original, "id": next_id, "subject": f"{original['subject']} #{n}"}
                )
                next_id += 1
            rounds.append(ids)
        await conn.execute(insert(activities), new_activities)
        new_bindings = [
            {**b, "activity_id": ids[b["activity_id"]]} for ids in rounds for b in own_bindings
        ]
        if new_bindings:
            await conn.execute(insert(bindings), new_bindings)
        new_participants = [
            {**p, "activity_id": ids[p["activity_id"]]} for ids in rounds for p in own_participants
        ]
        if new_participants:
            await conn.execute(insert(participants), new_participants)
        if engine.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT setval(pg_get_serial_sequence('activities', 'id'), :last)"),
                {"last": next_id - 1},
            )
    return rounds


async def load_reminders(
    engine: AsyncEngine, pairs: Sequence[tuple[int, int]], first_due: datetime, step: float, n: int
) -> None:
    """Replace the outbox by `n` pending snoozes, due `step` seconds apart from `first_due`,
    cycling over the users (so one batch reaches many chats). Bulk: one Core executemany."""
    rows = [
        {
            "activity_id": pairs[i % len(pairs)][0],
            "user_id": pairs[i % len(pairs)][1],
            "due_at": first_due + timedelta(seconds=i * step),
            "kind": "snooze",
            "status": "pending",
            "attempts": 0,
        }
        for i in range(n)
    ]
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as conn:
        if postgres:
            await conn.execute(text("TRUNCATE reminders"))
        else:
            await conn.execute(delete(Reminder))
        await conn.execute(insert(Reminder), rows)
    if postgres:
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE reminders"))
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE reminders"))


async def backend_pids(engine: AsyncEngine) -> list[int]:
    """The PostgreSQL backends serving this database, and the server's own background
    processes (WAL writer, checkpointer, ...), which work for whoever writes (none on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                "(datname = current_database() OR backend_type <> 'client backend')"
            )
        )
        return [int(pid) for (pid,) in rows.all()]


async def outbox_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Reminder.status, func.count()).group_by(Reminder.status))
        return {str(status): int(count) for status, count in rows.all()}


async def committed_lateness(engine: AsyncEngine) -> list[float]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Reminder.due_at, Reminder.sent_at).where(Reminder.status == "sent")
        )
        return [(sent - due).total_seconds() for due, sent in rows.all()]


# --- results ------------------------------------------------------------------------------
@dataclass
class CeilingRun:
    backend: str
    mode: str  # noop | http
    batch: int
    engines: int
    repetition: int
    reminders: int
    seconds: float
    rate: float
    cpu: dict[str, float]


@dataclass
class LatenessRun:
    backend: str
    scenario: str
    limits: str
    reminders: int
    window_seconds: float
    poll_seconds: float
    batch: int
    sent: int
    p50: float
    p99: float
    max: float
    committed_p50: float
    committed_p99: float
    ticks: int
    tick_max: float
    skipped_ticks: int
    others_cpu: float  # CPU seconds other processes on the machine used during the run


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# --- the benchmark ------------------------------------------------------------------------
@dataclass
class Options:
    backends: list[str]
    reminders: dict[str, int]
    http_reminders: int
    batches: list[int]
    engines: dict[str, list[int]]
    repetitions: int
    lateness_rates: list[float]
    lateness_seconds: float
    poll: float
    users: int
    activities_per_user: int
    profile: bool
    lateness: bool
    retries: int = RETRIES


class Bench:
    def __init__(self, options: Options, tmp: Path) -> None:
        self.options = options
        self.tmp = tmp
        self.fake: Proc | None = None
        self.api_url = ""
        self.ceiling: list[CeilingRun] = []
        self.lateness: list[LatenessRun] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self.load_seconds = 0.0
        self.discarded: list[CeilingRun] = []

    async def fake_sends(self) -> int:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.api_url}/stats") as response:
                return int((await response.json()).get("sendmessage", 0))

    async def run(self) -> None:
        self.fake, ready = await Proc.start("bench.reminder_fakeapi", [], self.tmp / "fakeapi.log")
        self.api_url = f"http://127.0.0.1:{ready['port']}"
        try:
            for backend in self.options.backends:
                await self.backend(backend)
        finally:
            await self.fake.stop()

    async def backend(self, backend: str) -> None:
        options = self.options
        async with database(backend, self.tmp) as url:
            engine = create_engine(url)
            workers: list[Proc] = []
            try:
                await migrate.upgrade(engine)
                started = time.monotonic()
                pairs = await seed_people(engine, url, options.users, options.activities_per_user)
                print(
                    f"[{backend}] seeded {options.users} users with deals and "
                    f"{len(pairs)} activities in "
                    f"{time.monotonic() - started:.1f} s",
                    file=sys.stderr,
                )
                for i in range(max(options.engines[backend])):
                    worker, _ = await Proc.start(
                        "bench.reminder_worker",
                        ["--database-url", url, "--api-url", self.api_url],
                        self.tmp / f"worker-{backend}-{i}.log",
                    )
                    workers.append(worker)
                await self.ceiling_runs(backend, engine, pairs, workers)
                if options.lateness:
                    await self.lateness_runs(backend, engine, pairs, workers[0])
                if options.profile:
                    await self.profile_runs(backend, engine, pairs, workers[0])
                for worker in workers:
                    errors = worker.log_lines("ERROR") + worker.log_lines("Traceback")
                    if errors:
                        raise RuntimeError(f"{worker.log}: {errors} error lines")
            finally:
                for worker in workers:
                    await worker.stop({"cmd": "quit"})
                await engine.dispose()

    async def one_ceiling(
        self,
        backend: str,
        engine: AsyncEngine,
        pairs: Sequence[tuple[int, int]],
        workers: Sequence[Proc],
        mode: str,
        batch: int,
        n: int,
        profile: str | None = None,
    ) -> tuple[int, float, dict[str, float]]:
        loading = time.monotonic()
        await load_reminders(engine, pairs, datetime.now(UTC) - timedelta(days=1), 0.001, n)
        self.load_seconds = time.monotonic() - loading
        assert self.fake is not None
        meter = CpuMeter({"engine": [w.pid for w in workers], "fakeapi": [self.fake.pid]})
        sends_before = await self.fake_sends()
        meter.begin(await backend_pids(engine))
        command: dict[str, Any] = {"cmd": "ceiling", "mode": mode, "batch": batch}
        if profile:
            command["profile"] = profile
        for worker in workers:
            worker.send(command)
        answers = await asyncio.gather(*(worker.read(600.0) for worker in workers))
        cpu = meter.end(await backend_pids(engine))
        count = sum(int(a["count"]) for a in answers)
        seconds = max(a["end"] for a in answers) - min(a["start"] for a in answers)
        counts = await outbox_counts(engine)
        if count != n or counts != {"sent": n}:
            raise RuntimeError(f"{backend} {mode}: claimed {count} of {n}; outbox {counts}")
        if mode == "http":
            sends = await self.fake_sends() - sends_before
            if sends != n:
                raise RuntimeError(f"{backend}: {sends} sendMessage calls for {n} reminders")
        return count, seconds, cpu

    async def ceiling_runs(
        self,
        backend: str,
        engine: AsyncEngine,
        pairs: Sequence[tuple[int, int]],
        workers: Sequence[Proc],
    ) -> None:
        options = self.options
        n_of = {"noop": options.reminders[backend], "http": options.http_reminders}
        # Warm-up (not counted): every worker, both modes, a few batches.
        for worker in workers:
            for mode in ("noop", "http"):
                await self.one_ceiling(backend, engine, pairs, [worker], mode, 500, 2000)
        for repetition in range(1, options.repetitions + 1):
            for mode in ("noop", "http"):
                for batch in options.batches:
                    for engines in options.engines[backend]:
                        await self.ceiling_run(
                            backend, engine, pairs, workers[:engines], mode, batch,
                            n_of[mode], repetition,
                        )  # fmt: skip

    async def ceiling_run(
        self,
        backend: str,
        engine: AsyncEngine,
        pairs: Sequence[tuple[int, int]],
        workers: Sequence[Proc],
        mode: str,
        batch: int,
        n: int,
        repetition: int,
    ) -> None:
        """One measured run; done again (up to `RETRIES` times) when other processes on the
        machine took more than `DISTURBED` of a CPU during it: the machine may be shared."""
        retries = self.options.retries
        for attempt in range(retries + 1):
            count, seconds, cpu = await self.one_ceiling(
                backend, engine, pairs, workers, mode, batch, n
            )
            run = CeilingRun(
                backend, mode, batch, len(workers), repetition, count,
                round(seconds, 4), round(count / seconds, 1), cpu,
            )  # fmt: skip
            disturbed = cpu["others"] / seconds > DISTURBED
            print(
                f"[{backend}] {mode:4} batch {batch:5} x{len(workers)} "
                f"#{repetition}: {run.rate:8.0f}/s ({count} in {seconds:.2f} s) "
                f"cpu {cpu}; outbox loaded in {self.load_seconds:.1f} s"
                + (" — disturbed, discarded" if disturbed and attempt < retries else ""),
                file=sys.stderr,
            )
            if not disturbed or attempt == retries:
                self.ceiling.append(run)
                return
            self.discarded.append(run)

    async def lateness_runs(
        self, backend: str, engine: AsyncEngine, pairs: Sequence[tuple[int, int]], worker: Proc
    ) -> None:
        options = self.options
        window = options.lateness_seconds
        scenarios = [
            *(("lifted", rate, options.poll) for rate in options.lateness_rates),
            ("telegram", LIMITED_RATE, options.poll),
            ("telegram", LIMITED_RATE, DEFAULT_POLL),  # production's defaults throughout
        ]
        retries = options.retries
        for limits, rate, poll in scenarios:
            for attempt in range(retries + 1):
                run = await self.lateness_run(backend, engine, pairs, worker, limits, rate, poll)
                disturbed = run.others_cpu / (LEAD.total_seconds() + window) > DISTURBED
                print(
                    f"[{backend}] lateness {limits}: {asdict(run)}"
                    + (" — disturbed, discarded" if disturbed and attempt < retries else ""),
                    file=sys.stderr,
                )
                if not disturbed or attempt == retries:
                    self.lateness.append(run)
                    break

    async def lateness_run(
        self,
        backend: str,
        engine: AsyncEngine,
        pairs: Sequence[tuple[int, int]],
        worker: Proc,
        limits: str,
        rate: float,
        poll: float,
    ) -> LatenessRun:
        assert self.fake is not None
        window = self.options.lateness_seconds
        n = max(1, round(rate * window))
        first_due = datetime.now(UTC) + LEAD
        await load_reminders(engine, pairs, first_due, window / n, n)
        skipped_before = worker.log_lines("maximum number of running instances")
        meter = CpuMeter({"engine": [worker.pid], "fakeapi": [self.fake.pid]})
        meter.begin(await backend_pids(engine))
        answer = await worker.ask(
            {
                "cmd": "lateness",
                "batch": 500,
                "poll": poll,
                "limits": limits,
                "expect": n,
                "timeout": LEAD.total_seconds() + window + 60,
            }
        )
        cpu = meter.end(await backend_pids(engine))
        late = [float(x) for x in answer["late"]]
        committed = await committed_lateness(engine)
        counts = await outbox_counts(engine)
        if len(late) != n or counts != {"sent": n}:
            raise RuntimeError(f"{backend} lateness: {len(late)} of {n} sent; {counts}")
        return LatenessRun(
            backend=backend,
            scenario=f"{rate:,.0f}/s for {window:g} s",
            limits=limits,
            reminders=n,
            window_seconds=window,
            poll_seconds=poll,
            batch=500,
            sent=len(late),
            p50=round(percentile(late, 50), 4),
            p99=round(percentile(late, 99), 4),
            max=round(max(late), 4),
            committed_p50=round(percentile(committed, 50), 4),
            committed_p99=round(percentile(committed, 99), 4),
            ticks=int(answer["ticks"]),
            tick_max=round(float(answer["tick_max"]), 4),
            skipped_ticks=worker.log_lines("maximum number of running instances") - skipped_before,
            others_cpu=cpu["others"],
        )

    async def profile_runs(
        self, backend: str, engine: AsyncEngine, pairs: Sequence[tuple[int, int]], worker: Proc
    ) -> None:
        RESULTS.mkdir(exist_ok=True)
        for mode, n in (("noop", self.options.reminders[backend]), ("http", 5000)):
            path = RESULTS / f"reminders-{backend}-{mode}.prof"
            count, seconds, _ = await self.one_ceiling(
                backend, engine, pairs, [worker], mode, 500, n, str(path)
            )
            shares = profile_shares(path)
            self.profiles[f"{backend}/{mode}"] = {
                "reminders": count,
                "seconds_under_profiler": round(seconds, 2),
                "tottime_share_pct": shares,
            }
            print(f"\n## cProfile {backend} {mode} (batch 500, {count} reminders)")
            print("own time by package: " + ", ".join(f"{k} {v}%" for k, v in shares.items()))
            stats = pstats.Stats(str(path))
            stats.sort_stats("tottime").print_stats(15)


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if filename.startswith(str(ROOT)):
        return filename[len(str(ROOT)) + 1 :].split("/", 1)[0]
    if "/asyncio/" in filename:
        return "asyncio"
    if filename == "~":
        return "builtins (C)"
    return "stdlib"


def profile_shares(path: Path) -> dict[str, float]:
    stats = pstats.Stats(str(path))
    by_package: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        package = _package(filename)
        by_package[package] = by_package.get(package, 0.0) + tottime
    total = sum(by_package.values()) or 1.0
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {k: round(100 * v / total, 1) for k, v in ranked if 100 * v / total >= 1}


# --- reporting ----------------------------------------------------------------------------
def medians(runs: Sequence[CeilingRun]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int, int], list[CeilingRun]] = {}
    for run in runs:
        groups.setdefault((run.backend, run.mode, run.batch, run.engines), []).append(run)
    table = []
    for (backend, mode, batch, engines), group in groups.items():
        rates = [r.rate for r in group]
        per_k = {
            name: round(
                statistics.median(1000 * r.cpu.get(name, 0.0) / r.reminders for r in group), 3
            )
            for name in ("engine", "postgres", "fakeapi")
        }
        table.append(
            {
                "backend": backend,
                "mode": mode,
                "batch": batch,
                "engines": engines,
                "median_rate": round(statistics.median(rates), 0),
                "min_rate": round(min(rates), 0),
                "max_rate": round(max(rates), 0),
                "reminders": group[0].reminders,
                "cpu_seconds_per_1000": per_k,
                "machine_busy_pct": statistics.median(
                    r.cpu.get("machine_busy_pct", 0.0) for r in group
                ),
                "others_pct_of_a_cpu": round(
                    statistics.median(100 * r.cpu.get("others", 0.0) / r.seconds for r in group)
                ),
            }
        )
    return table


MODE_NAMES = {"noop": "claim+settle (no-op deliver)", "http": "end to end (render + HTTP)"}


def markdown(
    options: Options, table: list[dict[str, Any]], lateness: list[LatenessRun], discarded: int
) -> str:
    out: list[str] = []
    out.append("### Ceiling (reminders/s, send limits lifted; medians of "
               f"{options.repetitions} runs)\n")  # fmt: skip
    out.append(
        "| backend | path | best | batch × instances | vs Telegram's 30/s |\n"
        "|---|---|---:|---|---:|"
    )
    for backend in options.backends:
        for mode in ("noop", "http"):
            rows = [r for r in table if r["backend"] == backend and r["mode"] == mode]
            if not rows:
                continue
            best = max(rows, key=lambda r: r["median_rate"])
            out.append(
                f"| {backend} | {MODE_NAMES[mode]} | {best['median_rate']:,.0f} | "
                f"{best['batch']} × {best['engines']} | "
                f"{best['median_rate'] / TELEGRAM_RATE:,.0f}× |"
            )
    pg = {
        mode: max((r["median_rate"] for r in table if r["backend"] == "postgres"
                   and r["mode"] == mode), default=None)
        for mode in ("noop", "http")
    }  # fmt: skip
    if pg["noop"] is not None:
        verdicts = []
        for mode, rate in pg.items():
            if rate is not None:
                verdict = "met" if rate >= CLAIM_TARGET else "missed"
                verdicts.append(f"{MODE_NAMES[mode]} {rate:,.0f}/s: {verdict}")
        out.append(
            f"\nTarget ≥ {CLAIM_TARGET:,}/s on PostgreSQL with the send rate lifted — "
            + "; ".join(verdicts)
            + "."
        )
    out.append("\n### Every configuration\n")
    out.append(
        "| backend | path | reminders | batch | instances | median/s | min–max/s "
        "| CPU s per 1,000: engine / PostgreSQL / fake API | machine busy | others |\n"
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"
    )
    for r in table:
        cpu = r["cpu_seconds_per_1000"]
        pg = f"{cpu['postgres']:.3f}" if r["backend"] == "postgres" else "—"
        out.append(
            f"| {r['backend']} | {r['mode']} | {r['reminders']:,} | {r['batch']} | "
            f"{r['engines']} | {r['median_rate']:,.0f} | "
            f"{r['min_rate']:,.0f}–{r['max_rate']:,.0f} | "
            f"{cpu['engine']:.3f} / {pg} / {cpu['fakeapi']:.3f} | {r['machine_busy_pct']}% "
            f"| {r['others_pct_of_a_cpu']}% |"
        )
    out.append(
        "\n### Lateness (due → accepted by the Bot API; APScheduler interval job calling "
        "`tick()`, batch 500, one instance, system clock)\n"
    )
    out.append(
        "| backend | send limits | poll | load | p50 | p99 | max | due → committed p99 "
        "| ticks (skipped) | longest tick |\n|---|---|---:|---|---:|---:|---:|---:|---:|---:|"
    )
    for run in lateness:
        limits = "lifted" if run.limits == "lifted" else "Telegram's: 30/s, 1 s per chat"
        out.append(
            f"| {run.backend} | {limits} | {run.poll_seconds:g} s "
            f"| {run.reminders:,} ({run.scenario}) "
            f"| {run.p50 * 1000:,.0f} ms | {run.p99 * 1000:,.0f} ms | {run.max * 1000:,.0f} ms "
            f"| {run.committed_p99 * 1000:,.0f} ms | {run.ticks} ({run.skipped_ticks}) "
            f"| {run.tick_max * 1000:,.0f} ms |"
        )
    if lateness:
        met = [r for r in lateness if r.p99 < LATENESS_TARGET]
        missed = [r for r in lateness if r.p99 >= LATENESS_TARGET]
        out.append(
            f"\nTarget p99 < {LATENESS_TARGET:g} s — met in {len(met)} of {len(lateness)} runs"
            + (
                "; missed: "
                + ", ".join(
                    f"{r.backend} {r.limits} {r.scenario} poll {r.poll_seconds:g} s"
                    for r in missed
                )
                if missed
                else ""
            )
            + "."
        )
    if discarded:
        out.append(
            f"\n{discarded} ceiling run(s) disturbed by other processes on the machine "
            f"(> {DISTURBED:.0%} of a CPU) were discarded and run again."
        )
    return "\n".join(out)


def machine() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    return facts


async def postgres_version() -> str:
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()
    return "unavailable"


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench.reminder_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--reminders", type=int, help="per ceiling run (default 50,000 PostgreSQL, 20,000 SQLite)"
    )
    parser.add_argument("--http-reminders", type=int, default=3_000)
    parser.add_argument("--batches", default="500,1000,2000")
    parser.add_argument("--engines", default="1,2", help="instances on PostgreSQL (SQLite: 1)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument(
        "--lateness-rates", default="500,1000", help="reminders/s, limits lifted (and 25/s)"
    )
    parser.add_argument("--lateness-seconds", type=float, default=5.0)
    parser.add_argument("--no-lateness", dest="lateness", action="store_false")
    parser.add_argument("--poll", type=float, default=0.2, help="reminder_poll_seconds")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--activities-per-user", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="add cProfile runs")
    parser.add_argument(
        "--retries",
        type=int,
        default=RETRIES,
        help="runs disturbed by other processes are done again this many times at most "
        "(0 on a machine that is never idle: the 'others' column shows the disturbance)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of about two minutes: 1 repetition, 20,000 reminders, 2,000 over "
        "HTTP, 3 s lateness windows (explicit options still win)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        given = {arg.split("=", 1)[0] for arg in argv or []}
        for name, value in (
            ("--repetitions", 1),
            ("--reminders", 20_000),
            ("--http-reminders", 2_000),
            ("--lateness-seconds", 3.0),
        ):
            if name not in given:
                setattr(args, name[2:].replace("-", "_"), value)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for backend in backends:
        if backend not in ("sqlite", "postgres"):
            parser.error(f"unknown backend {backend!r}")
    engines = sorted({int(e) for e in args.engines.split(",")})
    return Options(
        backends=backends,
        reminders={
            "postgres": args.reminders or 50_000,
            "sqlite": args.reminders or 20_000,
        },
        http_reminders=args.http_reminders,
        batches=[int(b) for b in args.batches.split(",")],
        engines={"postgres": engines, "sqlite": [1]},
        repetitions=args.repetitions,
        lateness_rates=[float(r) for r in args.lateness_rates.split(",")],
        lateness_seconds=args.lateness_seconds,
        poll=args.poll,
        users=args.users,
        activities_per_user=args.activities_per_user,
        profile=args.profile,
        lateness=args.lateness,
        retries=args.retries,
    )


@contextlib.contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="reminder-bench-") as tmp:
        yield Path(tmp)


async def amain(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.monotonic()
    with temp_dir() as tmp:
        bench = Bench(options, tmp)
        await bench.run()
    table = medians(bench.ceiling)
    facts = machine()
    if "postgres" in options.backends:
        facts["postgresql"] = await postgres_version()
    report = markdown(options, table, bench.lateness, len(bench.discarded))
    total = time.monotonic() - started
    print(report)
    print(f"\n{facts}; total {total:.0f} s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reminders.json").write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join([".venv/bin/python -m bench.reminder_bench", *(argv or [])]),
                "machine": facts,
                "options": asdict(options),
                "total_seconds": round(total, 1),
                "ceiling_medians": table,
                "ceiling_runs": [asdict(r) for r in bench.ceiling],
                "ceiling_runs_discarded_as_disturbed": [asdict(r) for r in bench.discarded],
                "lateness": [asdict(r) for r in bench.lateness],
                "profiles": bench.profiles,
                "markdown": report,
            },
            indent=2,
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(asyncio.run(amain(args)))


if __name__ == "__main__":
    main()
