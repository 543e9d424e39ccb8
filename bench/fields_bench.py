"""Issue 14: a deal card with 30 custom fields, and a stage move checked for 3 required fields,
each beside the same request without custom fields, through the real webhook (issue 14).

    .venv/bin/python -m bench.fields_bench [--requests N] [--repetitions R]
                                           [--concurrency C] [--backends sqlite,postgres]

The processes and helpers are `bench.webhook_bench`'s: the fast fake Bot API (`bench.fakeapi`),
one bot process per backend (`bench.server --target crm`: the product's `open_app` +
`create_webhook_app` on a fresh, migrated database) and the bare aiogram echo handler
(`bench.server --target echo`) as the same run's floor; this process posts the updates with
the webhook's secret and times each one until its 200 (`handle_in_background=False`: the
handler and its `sendMessage` are done by then).

Before a bot process starts, its database gets (through the domain services, as an admin and
one sales rep would make them):

- 30 custom deal fields of every kind (`FieldService.add`): 8 strings, 5 numbers, 4 dates,
  4 yes/no, 4 lists, 3 money, 2 links to a contact;
- `--card-deals` deals of the rep without any custom value ("card-plain") and as many with
  all 30 fields filled (`FieldService.set_value`, "card-30-fields");
- 3 of those fields (a string, a number, a date) required at one open stage
  (`FieldService.require`), and deals with those 3 filled to move there ("move-3-required");
  the same number of deals with the same 3 values to move into another open stage that
  requires nothing ("move-plain"). Every measured move is a different deal's first move.

The requests: a card is the rep typing `/D<id>` (`handlers.elements.code_tapped`: the card
and its buttons); a move is the rep pressing a stage button (`StageCb`, `handlers.stages.
stage_chosen`: `StageService.move`, which asks `FieldService.missing`, then the card again).
Phases are interleaved and rotated across targets as in `webhook_bench`; a target's figures
are the median of its phases' rates, the p50/p99 over all its requests and the bot's CPU per
request. The ratios compare each target with its plain twin of the same run. Every request
must be answered 200 with exactly one `sendMessage`, every deal moved must be at its new stage
afterwards and the bot's log must have no ERROR, otherwise the run fails (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.server import make_settings
from bench.webhook_bench import (
    PG_ADMIN_URL,
    BenchError,
    FakeApi,
    Target,
    check_phase,
    database_for,
    log,
    peak_rss_mib,
    prepare_database,
    run_phase,
    start_process,
    stop_process,
    summarize,
    tail,
)

RESULTS = Path(__file__).resolve().parent / "results"
# (kind, how many) of the 30 fields; the first string, number and date are the required three.
KINDS = [
    ("string", 8), ("number", 5), ("date", 4), ("bool", 4), ("list", 4), ("money", 3),
    ("link", 2),
]  # fmt: skip
LIST_OPTIONS = ["Mała", "Średnia", "Duża", "Strategiczna", "Partner"]


@dataclass
class Scenario:
    """A request kind on one bot process: what it posts and the deals it posts about."""

    name: str
    backend: str
    make: Callable[[int, int, int], bytes]  # (update id, deal id, Telegram id) → update
    deal_ids: list[int]
    reuse: bool  # cards: the same deals over and over; moves: every deal once
    stage_id: int = 0  # moves: where to


@dataclass
class BenchTarget(Target):
    """A `webhook_bench.Target` whose updates are the scenario's requests."""

    scenario: Scenario | None = None
    update_ids: Any = None

    def next_update(self, command: str) -> bytes:
        assert self.scenario is not None
        k = self.sent
        self.sent += 1
        ids = self.scenario.deal_ids
        if not self.scenario.reuse and k >= len(ids):
            raise BenchError(f"{self.name}: more moves asked for than deals prepared")
        deal_id = ids[k % len(ids)]
        return self.scenario.make(next(self.update_ids), deal_id, self.telegram_ids[0])


def card_update(update_id: int, deal_id: int, telegram_id: int) -> bytes:
    text = f"/D{deal_id}"
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": telegram_id, "type": "private", "first_name": "Rep"},
        "from": _user(telegram_id),
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def move_update(stage_id: int) -> Callable[[int, int, int], bytes]:
    from bot.callbacks import StageCb

    def make(update_id: int, deal_id: int, telegram_id: int) -> bytes:
        query = {
            "id": str(update_id),
            "from": _user(telegram_id),
            "chat_instance": "bench",
            "data": StageCb(kind="D", id=deal_id, stage=stage_id).pack(),
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": telegram_id, "type": "private", "first_name": "Rep"},
                "from": {"id": 1, "is_bot": True, "first_name": "CRM", "username": "b"},
                "text": f"D{deal_id}: wybierz nowy etap",
            },
        }
        return json.dumps({"update_id": update_id, "callback_query": query}).encode()

    return make


def _user(telegram_id: int) -> dict[str, Any]:
    return {"id": telegram_id, "is_bot": False, "first_name": "Rep", "language_code": "pl"}


def value_text(kind: str, n: int, k: int, contact_code: str) -> str:
    """The k-th deal's typed value for the n-th field of `kind`, as a rep would type it."""
    if kind == "string":
        return f"Umowa ramowa nr {k}/{n} — dostawa do magazynu w Poznaniu"
    if kind == "number":
        return str(1000 + 37 * k + n)
    if kind == "date":
        return (date(2027, 1, 15) + timedelta(days=(k + n) % 300)).strftime("%d.%m.%Y")
    if kind == "bool":
        return "tak" if (k + n) % 2 else "nie"
    if kind == "list":
        return LIST_OPTIONS[(k + n) % len(LIST_OPTIONS)]
    if kind == "money":
        return f"{1500 + k % 100},50 zł"
    return contact_code


@dataclass
class Prepared:
    telegram_id: int
    scenarios: list[Scenario] = field(default_factory=list)
    seconds: float = 0.0


async def prepare(database_url: str, backend: str, card_deals: int, moves: int) -> Prepared:
    """Migrate, bind a rep, make the fields and the deals (see the module docstring)."""
    from bot.factory import create_runtime
    from crm.context import Crm
    from crm.elements import ElementInput
    from crm.enums import EntityType, FieldKind, Role
    from crm.field_book import Reading
    from crm.users import actor_of
    from storage.db import create_engine, create_sessionmaker

    started = time.perf_counter()
    (telegram_id,) = await prepare_database(database_url, 1)
    runtime = create_runtime(make_settings("1:" + "x" * 30, "http://127.0.0.1", database_url))
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            crm = Crm(session, runtime)
            rep_user = await crm.repos.users.by_telegram_id(telegram_id)
            assert rep_user is not None
            rep = actor_of(rep_user)
            admin = actor_of((await crm.users.create_invite(Role.ADMIN, "Szef")).user)
            fields: list[tuple[int, str, int]] = []  # (field id, kind, n of that kind)
            for kind, count in KINDS:
                for n in range(count):
                    options = (
                        LIST_OPTIONS
                        if kind == "list"
                        else [EntityType.CONTACT.value]
                        if kind == "link"
                        else []
                    )
                    info = await crm.fields.add(
                        admin, EntityType.DEAL, FieldKind(kind), f"Pole {kind} {n + 1}", options
                    )
                    fields.append((info.id, kind, n))
            contact = await crm.elements.create(
                rep, EntityType.CONTACT, ElementInput(name="Jan Kowalski")
            )
            contact_code = contact.primary.code
            pipeline = (await crm.stages.pipelines())[0]
            stages = await crm.stages.stages(pipeline.id)
            open_stages = [s for s in stages if s.semantic not in ("success", "failure")]
            if len(open_stages) < 3:
                raise BenchError(f"the default pipeline has {len(open_stages)} open stages")
            required_stage, plain_stage = open_stages[1], open_stages[2]
            required = [fields[0], fields[8], fields[13]]  # first string, number, date
            assert [f[1] for f in required] == ["string", "number", "date"]
            for field_id, _kind, _n in required:
                await crm.fields.require(admin, field_id, [required_stage.id])
        reading = Reading("pl", "Europe/Warsaw", "PLN", runtime.clock.now())

        async def deals(count: int, filled: list[tuple[int, str, int]], offset: int) -> list[int]:
            ids = []
            for k in range(count):
                async with sessions() as session:
                    crm = Crm(session, runtime)
                    created = await crm.elements.create(
                        rep,
                        EntityType.DEAL,
                        ElementInput(title=f"Wdrożenie CRM {offset + k}", amount=None),
                    )
                    ref = created.primary
                    for field_id, kind, n in filled:
                        text = value_text(kind, n, offset + k, contact_code)
                        await crm.fields.set_value(rep, ref, field_id, text, reading)
                    ids.append(ref.id)
            return ids

        prepared = Prepared(telegram_id)
        prepared.scenarios = [
            Scenario(f"card-plain-{backend}", backend, card_update, await deals(card_deals, [], 0),
                     reuse=True),
            Scenario(f"card-30-fields-{backend}", backend, card_update,
                     await deals(card_deals, fields, 1000), reuse=True),
            Scenario(f"move-plain-{backend}", backend, move_update(plain_stage.id),
                     await deals(moves, required, 2000), reuse=False, stage_id=plain_stage.id),
            Scenario(f"move-3-required-{backend}", backend, move_update(required_stage.id),
                     await deals(moves, required, 2000 + moves), reuse=False,
                     stage_id=required_stage.id),
        ]  # fmt: skip
        async with sessions() as session:
            crm = Crm(session, runtime)
            sample = prepared.scenarios[1].deal_ids[0]
            values = await crm.repos.fields.values_of(EntityType.DEAL.value, sample)
            if len(values) != len(fields):
                raise BenchError(f"deal {sample} has {len(values)} values, not {len(fields)}")
        prepared.seconds = time.perf_counter() - started
        return prepared
    finally:
        await engine.dispose()


async def stages_of(database_url: str, deal_ids: Sequence[int]) -> list[int]:
    from sqlalchemy import select

    from storage.db import create_engine
    from storage.models import Deal

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Deal.id, Deal.stage_id).where(Deal.id.in_(list(deal_ids)))
            )
            by_id = {deal_id: stage_id for deal_id, stage_id in rows.all()}
        return [by_id.get(i, 0) for i in deal_ids]
    finally:
        await engine.dispose()


@dataclass
class Options:
    requests: int
    repetitions: int
    warmup: int
    concurrency: int
    backends: list[str]
    card_deals: int
    phase_seconds: float
    postgres_url: str
    log_level: str


async def run(opts: Options, workdir: Path) -> tuple[list[BenchTarget], list[str], dict[str, Any]]:
    problems: list[str] = []
    api_proc, ready = await start_process(["bench.fakeapi"], workdir / "fakeapi.log")
    api = FakeApi(f"http://127.0.0.1:{ready['port']}", api_proc.pid)
    update_ids = iter(range(1, 10**9))
    echo = BenchTarget("echo", "1000000001:bench-echo-token-0123456789", update_ids=update_ids)
    targets: list[BenchTarget] = [echo]
    servers: list[asyncio.subprocess.Process] = []
    moves = opts.warmup + opts.requests * opts.repetitions
    setup: dict[str, Any] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            args = ["bench.server", "--token", echo.token, "--api-url", api.url,
                    "--log-level", opts.log_level, "--target", "echo"]  # fmt: skip
            echo.log_path = workdir / "echo.log"
            proc, ready = await start_process(args, echo.log_path)
            servers.append(proc)
            echo.pid, echo.url = proc.pid, f"http://127.0.0.1:{ready['port']}{ready['path']}"
            echo.scenario = Scenario("echo", "", card_update, [1], reuse=True)
            for n, backend in enumerate(opts.backends, start=2):
                url = await stack.enter_async_context(
                    database_for(f"crm-{backend}", opts.postgres_url, workdir)
                )
                log(f"{backend}: preparing {opts.card_deals}×2 card deals and {moves}×2 moves …")
                prepared = await prepare(url, backend, opts.card_deals, moves)
                setup[backend] = round(prepared.seconds, 1)
                token = f"100000000{n}:bench-crm-token-0123456789"
                log_path = workdir / f"crm-{backend}.log"
                args = ["bench.server", "--token", token, "--api-url", api.url, "--log-level",
                        opts.log_level, "--target", "crm", "--database-url", url]  # fmt: skip
                proc, ready = await start_process(args, log_path)
                servers.append(proc)
                for scenario in prepared.scenarios:
                    targets.append(
                        BenchTarget(
                            scenario.name, token, database_url=url,
                            telegram_ids=[prepared.telegram_id], pid=proc.pid,
                            url=f"http://127.0.0.1:{ready['port']}{ready['path']}",
                            log_path=log_path, scenario=scenario, update_ids=update_ids,
                        )
                    )  # fmt: skip
            problems += await measure(opts, api, targets)
            for target in targets:
                target.peak_rss_mib = peak_rss_mib(target.pid)
            for proc in servers:
                await stop_process(proc)
            problems += await check_moves(targets)
            for log_path in {t.log_path for t in targets}:
                errors = [
                    line
                    for line in log_path.read_text(errors="replace").splitlines()
                    if " ERROR " in line or " CRITICAL " in line
                ]
                if errors:
                    problems.append(
                        f"{log_path.name}: {len(errors)} ERROR lines, the first: {errors[0]}\n"
                        f"{tail(log_path, 15)}"
                    )
    finally:
        for proc in servers:
            await stop_process(proc)
        await stop_process(api_proc)
    return targets, problems, setup


async def measure(opts: Options, api: FakeApi, targets: list[BenchTarget]) -> list[str]:
    problems: list[str] = []
    connector = aiohttp.TCPConnector(limit=opts.concurrency * len(targets))
    async with aiohttp.ClientSession(connector=connector) as http:

        async def phase(target: BenchTarget, limit: int, what: str) -> Any:
            result = await run_phase(
                http, api, target, "",
                limit=limit, budget=opts.phase_seconds, concurrency=opts.concurrency,
            )  # fmt: skip
            problems.extend(check_phase(target, result, what))
            return result

        for target in targets:
            result = await phase(target, opts.warmup, "warm-up")
            log(f"{target.name}: warm-up {result.rate:.0f}/s")
        for round_ in range(opts.repetitions):
            order = targets[round_ % len(targets) :] + targets[: round_ % len(targets)]
            for target in order:
                result = await phase(target, opts.requests, f"phase {round_ + 1}")
                target.phases.append(result)
                log(
                    f"{target.name}: phase {round_ + 1}/{opts.repetitions}: {result.updates} "
                    f"requests, {result.rate:.0f}/s, p50 "
                    f"{statistics.median(result.latencies_ms):.1f} ms, bot CPU "
                    f"{result.bot_cpu_seconds * 1000 / max(result.updates, 1):.2f} ms/request, "
                    f"rest of the machine {result.other_cpu_seconds / result.seconds:.0%}"
                )
    return problems


async def check_moves(targets: list[BenchTarget]) -> list[str]:
    """Every deal a move phase posted about is at its target stage now (none was refused)."""
    problems = []
    for target in targets:
        scenario = target.scenario
        if scenario is None or scenario.reuse or target.database_url is None:
            continue
        moved = scenario.deal_ids[: target.sent]
        stages = await stages_of(target.database_url, moved)
        wrong = sum(1 for s in stages if s != scenario.stage_id)
        if wrong:
            problems.append(f"{target.name}: {wrong} of {len(moved)} deals not at the new stage")
    return problems


def markdown_table(rows: list[dict[str, Any]]) -> str:
    by_name = {row["target"]: row for row in rows}
    lines = [
        "| target | requests/s | p50 ms | p99 ms | bot CPU ms/request | vs plain (p50) "
        "| vs plain (CPU) | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        name = row["target"]
        twin = re.sub(r"^(card|move)-(30-fields|3-required)-", r"\1-plain-", name)
        plain = by_name.get(twin) if twin != name else None
        ratio_p50 = f"{row['p50_ms'] / plain['p50_ms']:.2f}×" if plain else ""
        ratio_cpu = (
            f"{row['bot_cpu_ms_per_update'] / plain['bot_cpu_ms_per_update']:.2f}×"
            if plain
            else ""
        )
        lines.append(
            f"| {name} | {row['updates_per_second']:.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} | {row['bot_cpu_ms_per_update']:.2f} | {ratio_p50} "
            f"| {ratio_cpu} | {row['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.fields_bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=300, help="per measured phase")
    parser.add_argument("--repetitions", type=int, default=3, help="measured phases per target")
    parser.add_argument("--warmup", type=int, default=30, help="requests before measuring")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    parser.add_argument("--backends", default="postgres", help="of sqlite,postgres")
    parser.add_argument("--card-deals", type=int, default=20, help="deals of each card kind")
    parser.add_argument("--phase-seconds", type=float, default=30.0, help="time budget")
    parser.add_argument("--postgres-url", default=PG_ADMIN_URL, help="an admin DSN")
    parser.add_argument("--log-level", default="WARNING", help="of the bot processes")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(backends) <= {"sqlite", "postgres"} or len(set(backends)) != len(backends):
        parser.error("--backends: a comma-separated list of sqlite and postgres")
    if min(args.requests, args.repetitions, args.concurrency, args.card_deals) < 1:
        parser.error("--requests, --repetitions, --concurrency and --card-deals must be ≥ 1")
    return Options(
        requests=args.requests,
        repetitions=args.repetitions,
        warmup=max(args.warmup, 1),
        concurrency=args.concurrency,
        backends=backends,
        card_deals=args.card_deals,
        phase_seconds=args.phase_seconds,
        postgres_url=re.sub(r"^postgresql\+asyncpg://", "postgresql://", args.postgres_url),
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with tempfile.TemporaryDirectory(prefix="crm-fields-bench-") as tmp:
        try:
            targets, problems, setup = asyncio.run(run(opts, Path(tmp)))
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    rows = [summarize(target) for target in targets]
    table = markdown_table(rows)
    print(table)
    for row in rows:
        runs = ", ".join(f"{rate:.0f}" for rate in row["updates_per_second_runs"])
        others = ", ".join(f"{share:.2f}" for share in row["other_cpu_share_per_phase"])
        print(f"{row['target']}: per phase {runs}/s; rest of the machine (cores) {others}")
    print(f"set-up seconds per backend: {setup}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fields_latest.json").write_text(
        json.dumps(
            {"started": started_at, "options": opts.__dict__, "results": rows,
             "setup_seconds": setup, "problems": problems, "table": table},
            indent=2, ensure_ascii=False,
        ) + "\n"
    )  # fmt: skip
    if problems:
        print("\nINVALID RUN:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
