"""Reports on a big database: the digest of a 50-rep department and the stalled-deals query.

    .venv/bin/python -m bench.report_bench [--deals 1000000] [--activities 5000000]
                                           [--runs 7] [--reuse] [--admin-url URL]

Builds (once; `--reuse` keeps the database of a previous run) a migrated PostgreSQL database
with set-based SQL (`generate_series`, no row-by-row inserts):

- 10 departments of 50 reps and a manager each (500 reps);
- `--deals` deals over the last two years, spread evenly over the reps: 30 % open (at any
  in-progress stage), 35 % won, 35 % lost; amounts 100–100 000, 80 % in PLN, 12 % EUR,
  8 % USD; EUR and USD have a rate for every day of the two years (1,460 rate rows);
- their timeline: a `created` entry each, a `stage` entry for each closed deal (at its close)
  and for half of the open ones, an `activity_done` entry per completed activity;
- `--activities` activities bound to the deals (responsible: the deal's), deadlines within
  the deal's life, 85 % completed; the rest open, part of them overdue;
- `deals.touched_at` / `last_activity_at` from that timeline, as the product keeps them.

Then, with the product's `ReportService` for the manager of department 1 (50 reps,
~100,000 deals, ~500,000 activities), it times `digest()` for this week and this month
(report currency PLN, and EUR: every amount converted), `stalled()` for this week and the
charts' data (`charts()`: the funnel of the default pipeline, six weeks of won/lost), each
`--runs` times after one warm-up, and prints the medians, then `EXPLAIN (ANALYZE, BUFFERS)`
of every statement of one digest. Results also go to `bench/results/reports.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event

from crm.context import Crm, Runtime
from crm.enums import Role
from crm.periods import Period, PeriodKind
from crm.permissions import Actor
from storage import migrate
from storage.db import create_engine, create_sessionmaker

DB = "crm_bench_reports"
RESULTS = Path(__file__).parent / "results" / "reports.json"


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


BUILD = [
    (
        "departments",
        "INSERT INTO departments (id, name) SELECT d, 'Dział ' || d FROM generate_series(1, 10) d",
    ),
    (
        "users",
        "INSERT INTO users (id, name, role, department_id, is_active, is_reachable) "
        "SELECT u, 'Rep ' || u, CASE WHEN u > 500 THEN 'manager' ELSE 'rep' END, "
        "CASE WHEN u > 500 THEN u - 500 ELSE (u - 1) / 50 + 1 END, true, true "
        "FROM generate_series(1, 510) u",
    ),
    ("users_seq", "SELECT setval('users_id_seq', 510)"),
    (
        "rates",
        "INSERT INTO currency_rates (currency, rate, valid_from, valid_from_at) "
        "SELECT c, CASE c WHEN 'EUR' THEN (4.20 + 0.1 * sin(n / 30.0))::numeric(10,4)::text "
        "ELSE (3.90 + 0.1 * cos(n / 45.0))::numeric(10,4)::text END, "
        "(current_date - n), (current_date - n)::timestamp AT TIME ZONE 'Europe/Warsaw' "
        "FROM generate_series(0, 729) n, unnest(ARRAY['EUR', 'USD']) c",
    ),
    # Deals: i % 500 picks the rep; the kind (open / won / lost) and the dates from hashes of i.
    (
        "deals",
        """
        INSERT INTO deals (id, title, pipeline_id, stage_id, responsible_id, created_by_id,
                           amount_minor, currency, closed_at, created_at, updated_at,
                           stage_changed_at, touched_at, last_activity_at, search_text)
        SELECT i, 'Deal ' || i, 1,
               CASE WHEN k < 30 THEN :open_stages[1 + (i % array_length(:open_stages, 1))]
                    WHEN k < 65 THEN :won ELSE :lost END,
               1 + (i % 500), 1 + (i % 500),
               (10000 + (i * 7919) % 9990000)::bigint,
               CASE WHEN i % 25 < 20 THEN 'PLN' WHEN i % 25 < 23 THEN 'EUR' ELSE 'USD' END,
               CASE WHEN k >= 30 THEN least(now(), c + ((i * 13) % 60) * interval '1 day') END,
               c, c, c, c, c, ''
        FROM (SELECT i, (i * 37) % 100 AS k,
                     now() - ((i * 104729) % (730 * 24 * 60)) * interval '1 minute' AS c
              FROM generate_series(1::bigint, :deals) i) g
    """,
    ),
    ("deals_seq", "SELECT setval('deals_id_seq', :deals)"),
    (
        "timeline_created",
        """
        INSERT INTO timeline (entity, entity_id, kind, author_id, created_at, data)
        SELECT 'deal', id, 'created', responsible_id, created_at, '{}'::json FROM deals
    """,
    ),
    (
        "timeline_stage",
        """
        INSERT INTO timeline (entity, entity_id, kind, author_id, created_at, data)
        SELECT 'deal', id, 'stage', responsible_id,
               coalesce(closed_at, least(now(), created_at + ((id * 17) % 40) * interval '1 day')),
               '{}'::json
        FROM deals WHERE closed_at IS NOT NULL OR id % 2 = 0
    """,
    ),
    # Activities: a deal d gets activities i with (i % deals) + 1 = d; deadlines within its
    # life; 85 % done at their deadline (the open ones stay open, overdue when past).
    (
        "activities",
        """
        INSERT INTO activities (id, subject, deadline, responsible_id, created_by_id,
                                completed_at, created_at, updated_at)
        SELECT i, 'Call ' || i, dl, d.responsible_id, d.responsible_id,
               CASE WHEN (i * 31) % 100 < 85 AND dl <= now() THEN dl END, d.created_at,
               d.created_at
        FROM generate_series(1::bigint, :activities) i
        JOIN deals d ON d.id = (i % :deals) + 1
        CROSS JOIN LATERAL (SELECT d.created_at + (((i * 7) % 1000) / 1000.0)
               * (coalesce(d.closed_at, now() + interval '14 days') - d.created_at) AS dl) x
    """,
    ),
    ("activities_seq", "SELECT setval('activities_id_seq', :activities)"),
    (
        "bindings",
        """
        INSERT INTO activity_bindings (activity_id, entity, entity_id, position)
        SELECT i, 'deal', (i % :deals) + 1, 0 FROM generate_series(1::bigint, :activities) i
    """,
    ),
    (
        "timeline_done",
        """
        INSERT INTO timeline (entity, entity_id, kind, author_id, created_at, data)
        SELECT 'deal', b.entity_id, 'activity_done', a.responsible_id, a.completed_at,
               '{}'::json
        FROM activities a JOIN activity_bindings b ON b.activity_id = a.id
        WHERE a.completed_at IS NOT NULL
    """,
    ),
    (
        "deal_moments",
        """
        UPDATE deals d SET touched_at = t.touched, last_activity_at = t.worked
        FROM (SELECT entity_id, max(created_at) AS touched, max(created_at) AS worked
              FROM timeline WHERE entity = 'deal' GROUP BY entity_id) t
        WHERE t.entity_id = d.id
    """,
    ),
    ("vacuum", "VACUUM ANALYZE"),
]


async def build(admin_url: str, url: str, deals: int, activities: int) -> dict[str, float]:
    conn = await asyncpg.connect(_pg(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB}"')
    finally:
        await conn.close()
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(_pg(url))
    timings: dict[str, float] = {}
    try:
        rows = await conn.fetch(
            "SELECT id, semantic FROM stages WHERE pipeline_id = 1 ORDER BY sort"
        )
        open_stages = [r["id"] for r in rows if r["semantic"] == "process"]
        won = next(r["id"] for r in rows if r["semantic"] == "success")
        lost = next(r["id"] for r in rows if r["semantic"] == "failure")
        values = {
            ":open_stages": "(ARRAY[" + ",".join(map(str, open_stages)) + "])",
            ":won": str(won),
            ":lost": str(lost),
            ":deals": str(deals),
            ":activities": str(activities),
        }
        for name, sql in BUILD:
            for key, value in values.items():
                sql = sql.replace(key, value)
            started = time.perf_counter()
            await conn.execute(sql)
            timings[name] = round(time.perf_counter() - started, 1)
            print(f"  {name}: {timings[name]} s", flush=True)
    finally:
        await conn.close()
    return timings


async def measure(url: str, runs: int) -> dict[str, Any]:
    engine = create_engine(url)
    statements: list[tuple[str, Any]] = []
    capturing = False

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if capturing:
            statements.append((statement, parameters))

    sessions = create_sessionmaker(engine)
    runtime = Runtime()
    manager = Actor(user_id=501, role=Role.MANAGER, department_id=1)
    results: dict[str, Any] = {}
    try:
        now = runtime.clock.now()
        week = Period.of(PeriodKind.WEEK, now, "Europe/Warsaw")
        month = Period.of(PeriodKind.MONTH, now, "Europe/Warsaw")

        async def digest(period: Period, currency: str | None) -> None:
            async with sessions() as session:
                d = await Crm(session, runtime).reports.digest(manager, period, currency=currency)
                assert len(d.reps) == 51, len(d.reps)

        async def stalled(period: Period) -> None:
            async with sessions() as session:
                await Crm(session, runtime).reports.stalled(manager, period)

        async with sessions() as session:
            weekly = await Crm(session, runtime).reports.digest(manager, week)

        async def charts() -> None:
            async with sessions() as session:
                data = await Crm(session, runtime).reports.charts(manager, weekly)
                assert len(data.trend) == 6 and data.funnel, data

        async def unplanned() -> None:
            async with sessions() as session:
                await Crm(session, runtime).reports.unplanned(manager)

        cases: dict[str, Callable[[], Awaitable[None]]] = {
            "digest, this week, PLN": lambda: digest(week, None),
            "digest, this week, EUR (all converted)": lambda: digest(week, "EUR"),
            "digest, this month, PLN": lambda: digest(month, None),
            "digest, last month, PLN (a past period)": lambda: digest(month.previous(), None),
            "stalled deals, this week (count + first 10)": lambda: stalled(week),
            "the charts' data: funnel + 6-week trend (not the digest)": lambda: charts(),
            "open deals with no next activity (count)": lambda: unplanned(),
        }
        for name, case in cases.items():
            await case()  # warm-up
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await case()
                times.append(time.perf_counter() - started)
            results[name] = {
                "median_s": round(statistics.median(times), 4),
                "min_s": round(min(times), 4),
                "max_s": round(max(times), 4),
            }
            print(
                f"{name}: median {results[name]['median_s'] * 1000:.0f} ms "
                f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})",
                flush=True,
            )
        async with sessions() as session:
            d = await Crm(session, runtime).reports.digest(manager, week)
            results["figures"] = {
                "deals": d.totals.deals,
                "won": d.totals.won,
                "lost": d.totals.lost,
                "stalled": d.totals.stalled,
                "overdue": d.totals.overdue,
                "stage_moves": d.totals.stage_moves,
            }
        capturing = True
        await digest(week, "EUR")
        capturing = False
        plans = []
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            transaction = driver.transaction()
            await transaction.start()
            await driver.execute("SET LOCAL jit = off")  # as the reports run (ReportRepo.prepare)
            for statement, parameters in statements:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                args = list(parameters) if isinstance(parameters, tuple | list) else []
                rows = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *args)
                plans.append({"sql": " ".join(statement.split())[:300],
                              "plan": [r[0] for r in rows]})  # fmt: skip
            await transaction.rollback()
        results["plans"] = plans
    finally:
        await engine.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--admin-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the database already built")
    args = parser.parse_args()
    url = args.admin_url.rsplit("/", 1)[0] + f"/{DB}"
    out: dict[str, Any] = {"deals": args.deals, "activities": args.activities}
    if not args.reuse:
        started = time.perf_counter()
        out["build_s"] = await build(args.admin_url, url, args.deals, args.activities)
        out["build_total_s"] = round(time.perf_counter() - started, 1)
        print(f"built in {out['build_total_s']} s", flush=True)
    out.update(await measure(url, args.runs))
    for plan in out["plans"]:
        print("\n-- " + plan["sql"])
        print("\n".join(plan["plan"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
