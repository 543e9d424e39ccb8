"""One-line creation end to end through the webhook, beside a bare aiogram echo handler.

    .venv/bin/python -m bench.webhook_bench [--updates N] [--concurrency C]
                                             [--backends sqlite,postgres]

Processes, all on loopback:

- a fake Bot API (`bench.fakeapi`) that answers every call at once and counts the replies;
- one bot process per target (`bench.server`): `echo` is a bare `Dispatcher` with one
  `message.answer(message.text)` handler; `crm-sqlite` and `crm-postgres` are the product's
  webhook app (`open_app` + `create_webhook_app`) on a fresh, migrated database with a few
  bound CRM users;
- this process, the load generator: it POSTs updates to each webhook with the secret header
  at a fixed concurrency and times every request until its 200. With
  `handle_in_background=False` the 200 comes after the handler (and its `sendMessage`) is
  done, so the time is the whole update.

Per target: a warm-up (not counted), then `--repetitions` measurement phases of `--updates`
updates each, interleaved across targets (round 1: echo, sqlite, postgres; round 2 starts
with the next target; ...) so that a drift of the machine hits every target alike. A phase
also ends after `--phase-seconds` (the run stays a couple of minutes however slow a target
is); then its rate counts the answers within that time. Throughput is the median over the
phases; p50/p99 are over every measured request.
Every response must be 200, every update must have produced exactly one `sendMessage`, and
the bot's log must have no ERROR, otherwise the run fails (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.server import WEBHOOK_SECRET, make_settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FIRST_TELEGRAM_ID = 700_000_001
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
PHASE_GRACE = 60.0  # after --phase-seconds, for the updates in flight

# Common Polish names. The k-th lead gets first name k % 40 and surname k // 40 (female forms
# for the female first names): 3760 distinct people, then double-barrelled surnames. About one
# in ten is "a very similar name" to an earlier one by the CRM's rule (Joanna ~ Anna Nowak),
# so the duplicate check finds hits now and then; phones and e-mails never repeat.
MALE_NAMES = [
    "Jan", "Piotr", "Tomasz", "Paweł", "Michał", "Krzysztof", "Marcin", "Łukasz", "Andrzej",
    "Adam", "Marek", "Grzegorz", "Jakub", "Mateusz", "Wojciech", "Rafał", "Dariusz", "Robert",
    "Kamil", "Maciej",
]  # fmt: skip
FEMALE_NAMES = [
    "Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Ewa", "Joanna", "Magdalena", "Monika",
    "Barbara", "Aleksandra", "Natalia", "Karolina", "Marta", "Beata", "Dorota", "Zofia",
    "Julia", "Iwona", "Justyna", "Paulina",
]  # fmt: skip
MIDDLE_NAMES = (
    ["Józef", "Stanisław", "Henryk", "Zbigniew"],
    ["Maria", "Teresa", "Halina", "Ewelina"],
)
SURNAMES = """
    Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak
    Dąbrowski Kozłowski Jankowski Mazur Wojciechowski Kwiatkowski Krawczyk Kaczmarek Piotrowski
    Grabowski Zając Pawłowski Michalski Król Wieczorek Jabłoński Wróbel Nowakowski Majewski
    Olszewski Stępień Malinowski Jaworski Adamczyk Dudek Nowicki Pawlak Górski Witkowski Walczak
    Sikora Baran Rutkowski Michalak Szewczyk Ostrowski Tomaszewski Pietrzak Duda Zalewski
    Wróblewski Jasiński Marczak Bąk Jakubowski Zawadzki Sadowski Chmielewski Włodarczyk Borkowski
    Czarnecki Sawicki Sokołowski Urbański Kubiak Maciejewski Szczepański Kucharski Wilk Kalinowski
    Lis Mazurek Wysocki Adamski Kaźmierczak Wasilewski Sobczak Czerwiński Andrzejewski Cieślak
    Głowacki Zakrzewski Kołodziej Sikorski Krajewski Gajewski Szymczak Szulc Baranowski Laskowski
    Brzeziński Makowski Ziółkowski Przybylski
""".split()
TITLES = ["strona internetowa", "sklep online", "kampania reklamowa", "audyt SEO"]
_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


class BenchError(Exception):
    """The benchmark could not run or its results are not valid."""


# --- what is sent -----------------------------------------------------------------------------
def person(k: int) -> str:
    firsts = MALE_NAMES + FEMALE_NAMES
    female = k % len(firsts) >= len(MALE_NAMES)
    index = k // len(firsts) % len(SURNAMES)
    round_ = k // (len(firsts) * len(SURNAMES))
    last = SURNAMES[index]
    if round_:  # double-barrelled from the second round on: Nowak-Kowalski
        last += "-" + SURNAMES[(index + round_) % len(SURNAMES)]
    if female:
        last = "-".join(feminine(part) for part in last.split("-"))
    return f"{firsts[k % len(firsts)]} {last}"


def feminine(surname: str) -> str:
    for male_end, female_end in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(male_end):
            return surname.removesuffix(male_end) + female_end
    return surname


def line_for(k: int) -> str:
    """The k-th one-line lead, as a sales rep would type it after `/lead`."""
    name = person(k)
    email = f"{name.replace(' ', '.')}{k}@firma.pl".translate(_ASCII).lower()
    phone = f"+48 600 {k % 1000:03d} {k // 1000 % 1000:03d}"
    return f"{name} {phone} {email} 5000 zł {TITLES[k % len(TITLES)]}"


def update_for(update_id: int, k: int, telegram_id: int, command: str) -> bytes:
    text = f"{command} {line_for(k)}"
    user = {"id": telegram_id, "is_bot": False, "first_name": "Rep", "language_code": "pl"}
    message = {
        "message_id": k + 1,
        "date": int(time.time()),
        "chat": {"id": telegram_id, "type": "private", "first_name": "Rep"},
        "from": user,
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
    }
    return json.dumps({"update_id": update_id, "message": message}, ensure_ascii=False).encode()


def detect_command() -> str:
    """`/lead` once its handler exists, else `/help` (the pipeline is then measured only)."""
    for path in sorted((ROOT / "handlers").glob("*.py")):
        if '"lead"' in path.read_text(encoding="utf-8"):
            return "/lead"
    return "/help"


# --- processes --------------------------------------------------------------------------------
async def start_process(args: list[str], log_path: Path) -> tuple[asyncio.subprocess.Process, Any]:
    """Start `python -m ...`, return it with the JSON line it prints when it is ready."""
    with log_path.open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *args,
            cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
    except TimeoutError:
        line = b""
    if not line:
        await stop_process(proc)
        raise BenchError(f"{' '.join(args[:3])} did not start; see {log_path}:\n{tail(log_path)}")
    return proc, json.loads(line)


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the resident set's high-water mark since the process started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmHWM in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used so far (all cores; no idle, no iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# --- databases --------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    import asyncpg

    name = f"crm_bench_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncio.wait_for(asyncpg.connect(admin_url), 10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise BenchError(f"PostgreSQL at {admin_url} is not reachable: {exc}") from exc
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"postgresql+asyncpg://{admin_url.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncio.wait_for(asyncpg.connect(admin_url), 10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def prepare_database(database_url: str, users: int) -> list[int]:
    """Migrate, then bind `users` sales reps to Telegram ids through real invites."""
    from bot.factory import create_runtime
    from crm.context import Crm
    from crm.enums import Role
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    runtime = create_runtime(make_settings("1:" + "x" * 30, "http://127.0.0.1", database_url))
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        telegram_ids = []
        for n in range(users):
            telegram_id = FIRST_TELEGRAM_ID + n
            async with sessionmaker() as session:
                crm = Crm(session, runtime)
                invite = await crm.users.create_invite(Role.REP, f"Handlowiec {n + 1}", "Sprzedaż")
                await crm.users.redeem(invite.code, telegram_id, "pl")
            telegram_ids.append(telegram_id)
        return telegram_ids
    finally:
        await engine.dispose()


async def count_elements(
    database_url: str, tables: tuple[str, ...] = ("leads", "deals", "contacts", "companies")
) -> dict[str, int]:
    """Rows per table (the bench checks what the bot stored)."""
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {
                table: int(
                    (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                )
                for table in tables
            }
    finally:
        await engine.dispose()


# --- targets and phases -----------------------------------------------------------------------
@dataclass
class Phase:
    updates: int  # posted and answered
    seconds: float  # from the first post to the last answer
    rate: float  # updates/s
    cut_by_budget: bool  # stopped by --phase-seconds before --updates
    latencies_ms: list[float]
    statuses: dict[int, int]
    bot_cpu_seconds: float
    loadgen_cpu_seconds: float
    other_cpu_seconds: float  # the rest of the machine: the database server, other programs
    replies: int  # sendMessage calls the fake Bot API got during the phase


@dataclass
class Target:
    name: str
    token: str
    database_url: str | None = None
    telegram_ids: list[int] = field(default_factory=lambda: [FIRST_TELEGRAM_ID])
    pid: int = 0
    url: str = ""
    log_path: Path = Path()
    sent: int = 0  # updates posted so far, warm-up included
    phases: list[Phase] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    elements: dict[str, int] = field(default_factory=dict)

    def next_update(self, command: str) -> bytes:
        k = self.sent
        self.sent += 1
        return update_for(k + 1, k, self.telegram_ids[k % len(self.telegram_ids)], command)


@dataclass(frozen=True)
class FakeApi:
    url: str
    pid: int


async def sendmessage_count(http: aiohttp.ClientSession, api: FakeApi, token: str) -> int:
    async with http.get(f"{api.url}/stats") as response:
        stats = await response.json()
    return int(stats["calls"].get(token, {}).get("sendmessage", 0))


async def run_phase(
    http: aiohttp.ClientSession,
    api: FakeApi,
    target: Target,
    command: str,
    *,
    limit: int,
    budget: float,
    concurrency: int,
) -> Phase:
    """Post up to `limit` updates, `concurrency` at a time; stop taking new ones after
    `budget` seconds (those in flight are answered and timed, but the rate only counts the
    answers within the budget, so a slow target is not penalized for the drain)."""
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
    }
    latencies: list[float] = []
    answered_at: list[float] = []
    statuses: Counter[int] = Counter()

    def updates() -> Iterator[bytes]:
        for _ in range(limit):
            if time.perf_counter() >= deadline:
                return
            yield target.next_update(command)

    async def worker() -> None:
        for body in queue:  # one shared generator: each update is taken by exactly one worker
            posted = time.perf_counter()
            async with http.post(target.url, data=body, headers=headers) as response:
                await response.read()
            answered = time.perf_counter()
            latencies.append((answered - posted) * 1000)
            answered_at.append(answered)
            statuses[response.status] += 1

    replies_before = await sendmessage_count(http, api, target.token)
    bot_cpu, loadgen_cpu = cpu_seconds(target.pid), time.process_time()
    api_cpu, machine_cpu = cpu_seconds(api.pid), machine_cpu_seconds()
    started = time.perf_counter()
    deadline = started + budget
    queue = updates()
    try:
        async with asyncio.timeout(budget + PHASE_GRACE):
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    except TimeoutError:
        raise BenchError(
            f"{target.name}: updates still unanswered {PHASE_GRACE:.0f} s after "
            f"the phase's time budget; see {target.log_path}"
        ) from None
    seconds = time.perf_counter() - started
    bot_cpu, loadgen_cpu = cpu_seconds(target.pid) - bot_cpu, time.process_time() - loadgen_cpu
    api_cpu, machine_cpu = cpu_seconds(api.pid) - api_cpu, machine_cpu_seconds() - machine_cpu
    replies = await sendmessage_count(http, api, target.token) - replies_before
    cut = len(latencies) < limit
    rate = sum(1 for t in answered_at if t <= deadline) / budget if cut else limit / seconds
    return Phase(
        updates=len(latencies),
        seconds=seconds,
        rate=rate,
        cut_by_budget=cut,
        latencies_ms=latencies,
        statuses=dict(statuses),
        bot_cpu_seconds=bot_cpu,
        loadgen_cpu_seconds=loadgen_cpu,
        other_cpu_seconds=max(machine_cpu - bot_cpu - loadgen_cpu - api_cpu, 0.0),
        replies=replies,
    )


def check_phase(target: Target, phase: Phase, what: str) -> list[str]:
    problems = []
    bad = {status: n for status, n in phase.statuses.items() if status != 200}
    if bad:
        problems.append(f"{target.name} {what}: non-200 answers {bad}")
    if phase.replies != phase.updates:
        problems.append(
            f"{target.name} {what}: {phase.updates} updates but {phase.replies} sendMessage"
        )
    return problems


# --- the run ----------------------------------------------------------------------------------
@dataclass
class Options:
    updates: int
    concurrency: int
    backends: list[str]
    repetitions: int
    warmup: int
    users: int
    phase_seconds: float
    command: str
    postgres_url: str
    log_level: str


async def run(opts: Options, workdir: Path) -> tuple[list[Target], dict[str, Any], list[str]]:
    problems: list[str] = []
    api_proc, ready = await start_process(["bench.fakeapi"], workdir / "fakeapi.log")
    api = FakeApi(f"http://127.0.0.1:{ready['port']}", api_proc.pid)
    targets = [Target("echo", "1000000001:bench-echo-token-0123456789")]
    for n, backend in enumerate(opts.backends, start=2):
        targets.append(Target(f"crm-{backend}", f"100000000{n}:bench-crm-token-0123456789"))
    servers: list[asyncio.subprocess.Process] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            for target in targets:
                args = ["bench.server", "--token", target.token, "--api-url", api.url]
                args += ["--log-level", opts.log_level]
                if target.name == "echo":
                    args += ["--target", "echo"]
                else:
                    target.database_url = await stack.enter_async_context(
                        database_for(target.name, opts.postgres_url, workdir)
                    )
                    target.telegram_ids = await prepare_database(target.database_url, opts.users)
                    args += ["--target", "crm", "--database-url", target.database_url]
                target.log_path = workdir / f"{target.name}.log"
                proc, ready = await start_process(args, target.log_path)
                servers.append(proc)
                target.pid = proc.pid
                target.url = f"http://127.0.0.1:{ready['port']}{ready['path']}"
            problems += await measure(opts, api, targets)
            for target in targets:
                target.peak_rss_mib = peak_rss_mib(target.pid)
            for proc in servers:
                await stop_process(proc)
            for target in targets:
                if target.database_url:
                    target.elements = await count_elements(target.database_url)
                errors = [
                    line
                    for line in target.log_path.read_text(errors="replace").splitlines()
                    if " ERROR " in line or " CRITICAL " in line
                ]
                if errors:
                    problems.append(
                        f"{target.name}: {len(errors)} ERROR lines in its log, the first: "
                        f"{errors[0]}\n{tail(target.log_path, 15)}"
                    )
        async with aiohttp.ClientSession() as http, http.get(f"{api.url}/stats") as response:
            stats = await response.json()
    finally:
        for proc in servers:
            await stop_process(proc)
        await stop_process(api_proc)
    replies = {
        t.name: dict(Counter(stats["replies"].get(t.token, {})).most_common(10)) for t in targets
    }
    return targets, replies, problems


@contextlib.asynccontextmanager
async def database_for(name: str, postgres_url: str, workdir: Path) -> AsyncIterator[str]:
    if name == "crm-sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'crm.db'}"
        return
    async with postgres_database(postgres_url) as url:
        yield url


async def measure(opts: Options, api: FakeApi, targets: list[Target]) -> list[str]:
    problems: list[str] = []
    connector = aiohttp.TCPConnector(limit=opts.concurrency * len(targets))
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        for target in targets:
            phase = await run_phase(
                http, api, target, opts.command,
                limit=opts.warmup, budget=opts.phase_seconds, concurrency=opts.concurrency,
            )  # fmt: skip
            problems += check_phase(target, phase, "warm-up")
            log(f"{target.name}: warm-up {phase.rate:.0f} updates/s")
        for round_ in range(opts.repetitions):
            order = targets[round_ % len(targets) :] + targets[: round_ % len(targets)]
            for target in order:
                phase = await run_phase(
                    http, api, target, opts.command,
                    limit=opts.updates, budget=opts.phase_seconds, concurrency=opts.concurrency,
                )  # fmt: skip
                problems += check_phase(target, phase, f"phase {round_ + 1}")
                target.phases.append(phase)
                log(
                    f"{target.name}: phase {round_ + 1}/{opts.repetitions}: {phase.updates} "
                    f"updates{' (time budget)' if phase.cut_by_budget else ''}, "
                    f"{phase.rate:.0f} updates/s, bot CPU "
                    f"{phase.bot_cpu_seconds / phase.seconds:.0%}, rest of the machine "
                    f"{phase.other_cpu_seconds / phase.seconds:.0%}"
                )
    return problems


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- results ----------------------------------------------------------------------------------
def summarize(target: Target) -> dict[str, Any]:
    latencies = [ms for phase in target.phases for ms in phase.latencies_ms]
    if len(latencies) == 1:
        latencies *= 2  # quantiles() needs two points
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    updates = sum(phase.updates for phase in target.phases)
    return {
        "target": target.name,
        "updates_per_second": statistics.median(phase.rate for phase in target.phases),
        "updates_per_second_runs": [round(phase.rate, 1) for phase in target.phases],
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "max_ms": max(latencies),
        "peak_rss_mib": target.peak_rss_mib,
        "bot_cpu_ms_per_update": sum(p.bot_cpu_seconds for p in target.phases) * 1000 / updates,
        "bot_cpu_share": sum(p.bot_cpu_seconds for p in target.phases)
        / sum(p.seconds for p in target.phases),
        "loadgen_cpu_share": sum(p.loadgen_cpu_seconds for p in target.phases)
        / sum(p.seconds for p in target.phases),
        "other_cpu_share_per_phase": [
            round(p.other_cpu_seconds / p.seconds, 2) for p in target.phases
        ],
        "updates_measured": updates,
        "phases_cut_by_time_budget": sum(phase.cut_by_budget for phase in target.phases),
        "elements_in_database": target.elements or None,
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    echo = next(row["updates_per_second"] for row in rows if row["target"] == "echo")
    lines = [
        "| target | updates/s | p50 ms | p99 ms | vs echo | peak RSS MiB | bot CPU ms/update |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['target']} | {row['updates_per_second']:.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} | {row['updates_per_second'] / echo:.2f} "
            f"| {row['peak_rss_mib']:.0f} | {row['bot_cpu_ms_per_update']:.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_bench", description=__doc__)
    parser.add_argument("--updates", type=int, default=2000, help="per measured phase")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--backends", default="sqlite,postgres", help="of sqlite,postgres")
    parser.add_argument("--repetitions", type=int, default=3, help="measured phases per target")
    parser.add_argument("--warmup", type=int, default=100, help="updates before measuring")
    parser.add_argument("--users", type=int, default=8, help="bound CRM users sending")
    parser.add_argument(
        "--phase-seconds", type=float, default=15.0,
        help="time budget of a phase: it ends after --updates or this, whichever is first",
    )  # fmt: skip
    parser.add_argument(
        "--command", choices=["auto", "/lead", "/help"], default="auto",
        help="what the CRM gets; auto: /lead once its handler exists, else /help",
    )  # fmt: skip
    parser.add_argument("--postgres-url", default=PG_ADMIN_URL, help="an admin DSN")
    parser.add_argument("--log-level", default="WARNING", help="of the bot processes")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(backends) <= {"sqlite", "postgres"} or len(set(backends)) != len(backends):
        parser.error("--backends: a comma-separated list of sqlite and postgres")
    if min(args.updates, args.concurrency, args.repetitions, args.users) < 1:
        parser.error("--updates, --concurrency, --repetitions and --users must be ≥ 1")
    if args.phase_seconds <= 0:
        parser.error("--phase-seconds must be positive")
    return Options(
        updates=args.updates,
        concurrency=args.concurrency,
        backends=backends,
        repetitions=args.repetitions,
        warmup=max(args.warmup, 0) or 1,
        users=args.users,
        phase_seconds=args.phase_seconds,
        command=detect_command() if args.command == "auto" else args.command,
        postgres_url=re.sub(r"^postgresql\+asyncpg://", "postgresql://", args.postgres_url),
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    log(
        f"{opts.command} ×{opts.updates} ×{opts.repetitions} at concurrency {opts.concurrency}, "
        f"targets: echo, {', '.join('crm-' + b for b in opts.backends)}"
    )
    started, started_at = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp:
        try:
            targets, replies, problems = asyncio.run(run(opts, Path(tmp)))
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    rows = [summarize(target) for target in targets]
    table = markdown_table(rows)
    print(table)
    for row in rows:
        runs = ", ".join(f"{rate:.0f}" for rate in row["updates_per_second_runs"])
        others = ", ".join(f"{share:.2f}" for share in row["other_cpu_share_per_phase"])
        print(
            f"{row['target']}: updates/s per phase {runs}; CPU cores used by the rest of the "
            f"machine (database server, other programs) per phase {others}; "
            f"elements in the database {row['elements_in_database']}"
        )
    for name, kinds in replies.items():
        if name == "echo":
            continue  # it repeats each text: nothing to see
        top = sorted(kinds.items(), key=lambda item: -item[1])[:4]
        print(f"{name} replies: " + "; ".join(f"{n}× {text!r}" for text, n in top))
    result = {
        "command": opts.command,
        "options": asdict(opts),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started": started_at,
        "wall_seconds": round(time.monotonic() - started, 1),
        "results": rows,
        "replies": replies,
        "problems": problems,
        "table": table,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if problems:
        print("\nINVALID RUN:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
