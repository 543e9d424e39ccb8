"""Issue 15: `crmbot import` of contacts and deals and `crmbot export` of deals on PostgreSQL.

    .venv/bin/python -m bench.import_bench [--rows 100000] [--profile]

Writes two files in Bitrix24's export format into a temporary directory — Russian headers,
`;` after every field, every field quoted (`"` doubled), UTF-8 with a BOM:

- contacts: ID, first and last name (unique pairs: 40 Russian first names × double surnames
  from 120 roots), a company of 2,000 (`ООО …`), a work phone and e-mail (never repeated),
  comment, source, created at;
- deals: ID, title, stage (Bitrix24's codes), pipeline (empty: the default), amount, currency,
  the full name of one of the imported contacts (each contact once while there are
  contacts), closed, responsible (empty: the first admin), comment, created at.

Then, each in its own process, as an administrator would run them (`python -m bot.cli`, the
`crmbot` entry point, with this worktree's code), against a fresh PostgreSQL database it
creates (migrated, one admin) and drops `WITH (FORCE)` at the end:

    crmbot import --type contacts contacts.csv
    crmbot import --type deals deals.csv
    crmbot export --type deals --out export.csv

Per step: wall time, rows/s, the child's peak RSS (its `VmHWM`, read every 50 ms until it
exits), its CPU (`os.wait4`), and the CPU the rest of the machine used meanwhile (PostgreSQL, other
programs). `--profile` runs each child under cProfile and prints where its time went. The run
fails (exit status 1) if a step exits non-zero, or if the database does not hold the contacts
and deals the files had (less what the importer reported as skipped duplicates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.webhook_bench import (
    PG_ADMIN_URL,
    BenchError,
    count_elements,
    log,
    machine_cpu_seconds,
    peak_rss_mib,
    postgres_database,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
RSS_LIMIT_MIB = 200
RSS_POLL_SECONDS = 0.05

FIRST_NAMES = """
    Иван Пётр Алексей Сергей Дмитрий Андрей Михаил Николай Владимир Павел Артём Максим
    Егор Кирилл Роман Олег Виктор Юрий Григорий Фёдор Анна Ольга Мария Елена Татьяна
    Наталья Ирина Светлана Екатерина Юлия Дарья Ксения Полина Вера Любовь Галина Людмила
    Валентина Алина Софья
""".split()
ROOTS = """
    Петр Иван Сидор Кузнец Смирн Попов Волк Сокол Лебед Козл Новик Мороз Павл Семён Голуб
    Виноград Богдан Ворон Фёдор Михайл Тарас Беляк Комар Орл Зайц Медвед Жук Гусь Карп Лис
    Бобр Ёжик Сом Щук Окун Ерш Чиж Дрозд Стриж Щегл Грач Сорок Галк Уткин Кречет Ястреб
    Филин Сыч Журавл Аист Цапл Чайк Баран Бык Телятник Козлит Конюх Пастух Мельник Кузьм
    Гончар Плотник Столяр Бондар Кожев Шуб Сапож Портн Ткач Пряд Пекар Мясник Рыбак Охот
    Бортник Пасеч Садовн Огород Лесн Полев Речн Озёр Морск Горн Дол Холм Берёз Дуб Клён Липк
    Ольх Осин Рябин Сосн Елин Кедр Пихт Тополь Вяз Ясен Калин Малин Смородин Вишн Черёмух
    Яблок Груш Слив Персик Абрикос Лимон Апельсин Мандарин Банан Ананас Кокос
""".split()
SOURCES = ["CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER", "RECOMMENDATION", ""]
STAGES = ["NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON", "LOSE"]
CONTACT_HEADER = ["ID", "Имя", "Фамилия", "Компания", "Рабочий телефон", "Рабочий e-mail",
                  "Комментарий", "Источник", "Дата создания"]  # fmt: skip
DEAL_HEADER = ["ID", "Название сделки", "Стадия сделки", "Воронка", "Сумма", "Валюта",
               "Контакт", "Сделка закрыта", "Ответственный", "Комментарий",
               "Дата создания"]  # fmt: skip
START = datetime(2025, 1, 1, 9, 0, 0)


def surname(j: int) -> str:
    """The j-th surname: a root with an ending, then from the second round double-barrelled;
    distinct for every j below (roots × 3)²."""
    base = [r + end for end in ("ов", "ин", "ский") for r in ROOTS]
    b, a = j % len(base), j // len(base)
    return base[b] if a == 0 else f"{base[b]}-{base[(a + b) % len(base)]}"


def person(k: int) -> tuple[str, str]:
    first = FIRST_NAMES[k % len(FIRST_NAMES)]
    last = surname(k // len(FIRST_NAMES))
    if k % len(FIRST_NAMES) >= 20:  # the second half of the first names are women's
        last = "-".join(
            p[:-4] + "ская" if p.endswith("ский") else p + "а" for p in last.split("-")
        )
    return first, last


def cells(row: Sequence[str]) -> str:
    """Bitrix24's line: every field quoted, `"` doubled, every field followed by `;`."""
    return "".join('"' + c.replace('"', '""') + '";' for c in row) + "\n"


def contact_rows(count: int) -> Iterator[list[str]]:
    for k in range(count):
        first, last = person(k)
        created = START + timedelta(minutes=7 * k)
        yield [
            str(10_000 + k), first, last,
            f"ООО «{ROOTS[k % len(ROOTS)]}{k % 2000:04d}»" if k % 3 else "",
            f"+7 9{k % 100:02d} {k // 100 % 1000:03d}-{k // 100_000 % 100:02d}-{k % 97:02d}",
            f"client{k}@example.ru",
            "Звонил по рекламе; просит перезвонить после обеда" if k % 5 == 0 else "",
            SOURCES[k % len(SOURCES)],
            created.strftime("%d.%m.%Y %H:%M:%S"),
        ]  # fmt: skip


def deal_rows(count: int, contacts: int) -> Iterator[list[str]]:
    for k in range(count):
        first, last = person(k % contacts) if contacts else ("Пётр", "Новиков")
        stage = STAGES[k % len(STAGES)]
        created = START + timedelta(minutes=5 * k)
        yield [
            str(500_000 + k), f"Внедрение CRM №{k}", stage, "",
            f"{1000 + k % 50_000:,},{k % 100:02d}".replace(",", " ", 1) if k % 4 else "",
            "RUB", f"{first} {last}", "Да" if stage in ("WON", "LOSE") else "Нет", "",
            "Договор на подписании" if k % 6 == 0 else "",
            created.strftime("%d.%m.%Y %H:%M:%S"),
        ]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: Iterator[list[str]]) -> int:
    """Stream the rows to a file (UTF-8 with a BOM); returns its size in bytes."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(cells(header))
        for row in rows:
            out.write(cells(row))
    return path.stat().st_size


async def prepare(database_url: str) -> None:
    """Migrate and make the first admin (the importer's identity on the command line)."""
    from bench.server import make_settings
    from bot.factory import create_runtime
    from crm.context import Crm
    from crm.enums import Role
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    runtime = create_runtime(make_settings("1:" + "x" * 30, "http://127.0.0.1", database_url))
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            await Crm(session, runtime).users.create_invite(Role.ADMIN, "Administrator")
    finally:
        await engine.dispose()


# `--indexes`: an experiment, not the schema. The importer's name lookups filter on
# `search_text`, which no index covers: `contacts_named` (= or prefix LIKE: a deal's contact by
# full name), `companies_titled` (=), and the duplicate check's `name_candidates`
# (LIKE '%…%' ORs over contacts and leads). The database's collation is C, so a plain B-tree
# serves = and a prefix LIKE; '%…%' needs trigrams.
EXPERIMENT_INDEXES = {
    "btree": [
        "CREATE INDEX bench_contacts_search ON contacts (search_text)",
        "CREATE INDEX bench_companies_search ON companies (search_text)",
    ],
    "trgm": [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX bench_contacts_trgm ON contacts USING gin (search_text gin_trgm_ops)",
        "CREATE INDEX bench_leads_trgm ON leads USING gin (search_text gin_trgm_ops)",
        "CREATE INDEX bench_companies_trgm ON companies USING gin (search_text gin_trgm_ops)",
    ],
}


# `--seed-sql` and `--preload`: rows made without the importer, by `COPY` (as fast as
# PostgreSQL takes them): the k-th contact is `person(k)` with the search text the product
# gives a contact (its folded name and search key), the k-th deal is hers, at a rotating open
# stage. `--seed-sql` makes the export's rows when importing them would take too long;
# `--preload` puts N contacts and deals in the database before the import, so that the
# import is timed against tables of that size.
async def copy_rows(database_url: str, first: int, count: int) -> float:
    import asyncpg

    from crm import names
    from crm.elements import fold

    started = time.perf_counter()
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        admin = await conn.fetchval("SELECT min(id) FROM users WHERE role = 'admin'")
        pipeline = await conn.fetchval("SELECT min(id) FROM pipelines")
        stages = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM stages WHERE pipeline_id = $1 AND semantic = 'process' "
                "ORDER BY sort",
                pipeline,
            )
        ]
        base = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM contacts"))
        contacts, deals = [], []
        for n, k in enumerate(range(first, first + count)):
            first_name, last_name = person(k)
            name = f"{first_name} {last_name}"
            at = START + timedelta(minutes=7 * k)
            contacts.append(
                (base + n + 1, name, first_name, last_name, admin, admin,
                 fold(name, names.search_key(name)), True, at, at)
            )  # fmt: skip
            title = f"Внедрение CRM №{k}"
            amount = 100_000 + (k * 7919) % 5_000_000 if k % 4 else None
            deals.append(
                (title, pipeline, stages[k % len(stages)], admin, admin, base + n + 1, amount,
                 "RUB", at, at, at, at, at, fold(title, name))
            )  # fmt: skip
        await conn.copy_records_to_table(
            "contacts", records=contacts,
            columns=["id", "name", "first_name", "last_name", "responsible_id",
                     "created_by_id", "search_text", "export_allowed", "created_at",
                     "updated_at"],
        )  # fmt: skip
        await conn.execute("SELECT setval('contacts_id_seq', (SELECT max(id) FROM contacts))")
        await conn.copy_records_to_table(
            "deals", records=deals,
            columns=["title", "pipeline_id", "stage_id", "responsible_id", "created_by_id",
                     "contact_id", "amount_minor", "currency", "created_at", "updated_at",
                     "stage_changed_at", "touched_at", "last_activity_at", "search_text"],
        )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def add_indexes(database_url: str, which: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for kind in ("btree", "trgm") if which == "both" else (which,):
            for sql in EXPERIMENT_INDEXES[kind]:
                await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Step:
    name: str
    rows: int
    seconds: float
    rows_per_second: float
    peak_rss_mib: float
    cpu_seconds: float
    other_cpu_cores: float  # the rest of the machine during the step (PostgreSQL included)
    exit_status: int
    output: str


def run_step(
    name: str, cli_args: list[str], rows: int, database_url: str, workdir: Path, profile: bool
) -> Step:
    """One `crmbot` command in its own process; its own rusage comes from `os.wait4`."""
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")},
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", str(workdir / f"{name}.prof")]
    command += ["-m", "bot.cli", *cli_args]
    out_path = workdir / f"{name}.out"
    machine_before = machine_cpu_seconds()
    started = time.perf_counter()
    peak = 0.0
    with out_path.open("wb") as out:
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=out)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            # VmHWM of the child's own memory. Not `ru_maxrss`: Linux folds the parent's
            # high-water mark into the child's at exec, so it reports max(this process, child).
            with contextlib.suppress(OSError, BenchError):
                peak = max(peak, peak_rss_mib(proc.pid))
            time.sleep(RSS_POLL_SECONDS)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    other = max(machine_cpu_seconds() - machine_before - cpu, 0.0)
    output = out_path.read_text(errors="replace")
    step = Step(
        name=name,
        rows=rows,
        seconds=round(seconds, 2),
        rows_per_second=round(rows / seconds, 1),
        peak_rss_mib=round(peak, 1),
        cpu_seconds=round(cpu, 2),
        other_cpu_cores=round(other / seconds, 2),
        exit_status=proc.returncode,
        output=output[-2000:],
    )
    log(
        f"{name}: {rows} rows in {seconds:.1f} s = {step.rows_per_second:.0f} rows/s, peak RSS "
        f"{step.peak_rss_mib:.0f} MiB, CPU {cpu:.1f} s, rest of the machine "
        f"{step.other_cpu_cores:.2f} cores, exit {proc.returncode}\n  "
        + "\n  ".join(output.strip().splitlines()[-6:])
    )
    if profile:
        stats = pstats.Stats(str(workdir / f"{name}.prof"), stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    return step


async def _with_database(opts: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rows = opts.rows
    contacts_csv, deals_csv = workdir / "contacts.csv", workdir / "deals.csv"
    began = time.perf_counter()
    sizes = {
        "contacts.csv": write_csv(contacts_csv, CONTACT_HEADER, contact_rows(rows)),
        "deals.csv": write_csv(deals_csv, DEAL_HEADER, deal_rows(rows, rows)),
    }
    log(f"files written in {time.perf_counter() - began:.1f} s: {sizes}")
    async with postgres_database(opts.postgres_url) as url:
        await prepare(url)
        if opts.indexes:
            await add_indexes(url, opts.indexes)
        commands = [
            ("import contacts", ["import", "--type", "contacts", str(contacts_csv)]),
            ("import deals", ["import", "--type", "deals", str(deals_csv)]),
            ("export deals", ["export", "--type", "deals", "--out", str(workdir / "export.csv")]),
        ]
        if opts.seed_sql:
            log(f"{rows} contacts and deals made by COPY in {await copy_rows(url, 0, rows):.1f} s")
            commands = commands[2:]
        elif opts.preload:
            seconds = await copy_rows(url, rows, opts.preload)
            log(f"preloaded {opts.preload} contacts and deals by COPY in {seconds:.1f} s")
        steps = []
        for name, args in commands:
            count = (
                rows + opts.preload if name.startswith("export") and not opts.seed_sql else rows
            )
            step = await asyncio.to_thread(run_step, name, args, count, url, workdir, opts.profile)
            steps.append(step)
            if step.exit_status != 0:
                raise BenchError(f"{name} exited {step.exit_status}:\n{step.output}")
        stored = await count_elements(url, ("contacts", "companies", "deals", "timeline"))
    exported = sum(1 for _ in (workdir / "export.csv").open(encoding="utf-8-sig")) - 1
    return {"sizes": sizes, "steps": steps, "stored": stored, "exported_lines": exported}


def check(result: dict[str, Any], rows: int, preload: int) -> list[str]:
    """The files' rows are in the database (what the importer created, less nothing), the
    export has a line per deal, and no step went over the RSS limit."""
    problems = []
    steps: list[Step] = result["steps"]
    stored = result["stored"]
    for step in steps:
        if step.peak_rss_mib > RSS_LIMIT_MIB:
            problems.append(f"{step.name}: peak RSS {step.peak_rss_mib} MiB > {RSS_LIMIT_MIB}")
    if len(steps) == 3:
        contacts, deals = (_reported(s.output) for s in steps[:2])
        if contacts["created"] + contacts["skipped"] + contacts["rejected"] != rows:
            problems.append(f"import contacts reported {contacts} of {rows} rows")
        # A deal naming a contact the import skipped or rejected makes that contact.
        if stored["contacts"] - preload < contacts["created"]:
            problems.append(f"{stored['contacts']} contacts stored, {contacts['created']} made")
        if stored["deals"] - preload != deals["created"] or deals["created"] != rows:
            problems.append(f"{stored['deals']} deals stored, {deals} reported, {rows} rows")
    if result["exported_lines"] != stored["deals"]:
        problems.append(f"{result['exported_lines']} lines exported of {stored['deals']} deals")
    return problems


def _reported(output: str) -> dict[str, int]:
    """The CLI's report line: `1951 created, 40 skipped as duplicates, 9 rejected`."""
    found = {}
    for what in ("created", "skipped", "rejected"):
        match = re.search(rf"(\d+) {what}", output)
        found[what] = int(match.group(1)) if match else 0
    return found


def markdown(steps: list[Step]) -> str:
    lines = [
        "| step | rows | seconds | rows/s | peak RSS MiB | CPU s | rest of the machine (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        lines.append(
            f"| {s.name} | {s.rows:,} | {s.seconds:.1f} | {s.rows_per_second:,.0f} "
            f"| {s.peak_rss_mib:.0f} | {s.cpu_seconds:.1f} | {s.other_cpu_cores:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="contacts, and as many deals")
    parser.add_argument("--profile", action="store_true", help="cProfile every step")
    parser.add_argument("--postgres-url", default=PG_ADMIN_URL, help="an admin DSN")
    parser.add_argument(
        "--seed-sql",
        action="store_true",
        help="no import: make the rows by COPY, then time the export alone",
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=0,
        metavar="N",
        help="first put N other contacts and deals in the database (by COPY): the import is "
        "timed against tables of that size",
    )
    parser.add_argument(
        "--indexes",
        choices=["btree", "trgm", "both"],
        help="experiment: add indexes on search_text first (not the schema)",
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="write the files, outputs and profiles "
        "here and keep them (default: a temporary directory)",
    )
    opts = parser.parse_args(argv)
    if opts.rows < 1:
        parser.error("--rows must be ≥ 1")
    opts.postgres_url = re.sub(r"^postgresql\+asyncpg://", "postgresql://", opts.postgres_url)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with tempfile.TemporaryDirectory(prefix="crm-import-bench-") as tmp:
        workdir = Path(opts.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            result = asyncio.run(_with_database(opts, workdir))
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    problems = check(result, opts.rows, 0 if opts.seed_sql else opts.preload)
    table = markdown(result["steps"])
    print(table)
    print(f"files: {result['sizes']}; stored: {result['stored']}; "
          f"exported lines: {result['exported_lines']}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import_latest.json").write_text(
        json.dumps(
            {**result, "steps": [asdict(s) for s in result["steps"]], "started": started_at,
             "rows": opts.rows, "problems": problems, "table": table},
            indent=2, ensure_ascii=False,
        ) + "\n"
    )  # fmt: skip
    if problems:
        print("\nINVALID RUN:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
