"""`POST /inbound/{token}` into a bound triage group, beside `GET /healthz` of the same server.

    .venv/bin/python -m bench.inbound_bench [--posts N] [--concurrency C]
                                             [--backends sqlite,postgres]

One process, on loopback: the fast fake Bot API (`bench.fakeapi`), the product's webhook app
(`open_app` + `create_webhook_app`, as `crmbot run` serves it) on a fresh migrated database
with one bound triage group and one inbound source, and the load generator. Every post is a
distinct realistic form (JSON), so each makes a lead, a request and — paced by the group's
send slot, one per 60 / SEND_GROUP_PER_MINUTE s as Telegram allows — a card. The rate limit
is lifted (INBOUND_RATE_PER_MINUTE) so that the endpoint is measured, not the limiter.

The baseline, measured in the same run at the same concurrency, is `GET /healthz`: the same
aiohttp server answering a constant JSON, i.e. what the HTTP stack and the load generator
cost by themselves. Every inbound answer must be 201 and the database must hold exactly one
lead per post, otherwise the run fails (exit status 1). Throughput is posts answered per
second of wall time; p50/p99 are over every request of the measured phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN = "123456789:BENCH-token-for-the-fake-bot-api-server"
GROUP_ID = -1_001_234_567_890


def form_for(k: int) -> dict[str, str]:
    names = ["Jan Kowalski", "Anna Nowak", "Ольга Смирнова", "Piotr Wiśniewski", "Иван Петров"]
    return {
        "name": f"{names[k % len(names)]} {k}",
        "phone": f"+48 6{k % 100:02d} {k // 100 % 1000:03d} {k % 1000:03d}",
        "email": f"client{k}@example.pl",
        "message": f"Dzień dobry, proszę o ofertę nr {k} na 10 licencji.",
        "utm_source": "google",
    }


@contextlib.asynccontextmanager
async def database(backend: str, workdir: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'inbound-{uuid.uuid4().hex[:6]}.db'}"
        return
    import asyncpg

    name = f"bench_inbound_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield (
            PG_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
            + f"/{name}"
        )
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # a started TCPSite has its server
    return runner, f"http://127.0.0.1:{port}"


async def load(
    url: str, bodies: list[dict[str, str]] | None, count: int, concurrency: int
) -> tuple[float, list[float], list[int]]:
    """`count` requests at `concurrency`: wall seconds, latencies, statuses."""
    latencies: list[float] = []
    statuses: list[int] = []
    counter = iter(range(count))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for k in counter:
                started = time.perf_counter()
                if bodies is None:
                    async with http.get(url) as response:
                        await response.read()
                else:
                    async with http.post(url, json=bodies[k]) as response:
                        await response.read()
                latencies.append(time.perf_counter() - started)
                statuses.append(response.status)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, statuses


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def bench_backend(
    backend: str, opts: argparse.Namespace, workdir: Path
) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from bench.fakeapi import FakeBotApi
    from bench.server import make_settings
    from bot.app import open_app
    from bot.runner import create_webhook_app
    from crm.context import Crm
    from crm.enums import Role
    from crm.users import actor_of
    from storage.models import Lead, User

    api_runner, api_url = await serve(FakeBotApi().app())
    rows: list[dict[str, Any]] = []
    try:
        async with database(backend, workdir) as url:
            settings = make_settings(TOKEN, api_url, url)
            settings = type(settings)(
                **{
                    **{f: getattr(settings, f) for f in settings.__dataclass_fields__},
                    "inbound": settings.inbound.model_copy(
                        update={"inbound_rate_per_minute": 100_000}
                    ),
                }
            )
            async with open_app(settings) as app:
                async with app.sessionmaker() as session:
                    crm = Crm(session, app.runtime)
                    await crm.repos.pipelines.set_setting("crm_mode", "classic")
                    admin = await crm.repos.users.add(User(name="Admin", role=Role.ADMIN))
                    await crm.triage.bind(actor_of(admin), GROUP_ID, None, "Zapytania")
                    token = (await crm.inbound.add_source("Bench", chat_id=GROUP_ID)).token
                app.runtime.catalog.invalidate()
                runner, base = await serve(create_webhook_app(app))
                try:
                    total = opts.warmup + opts.posts
                    bodies = [form_for(k) for k in range(total)]
                    inbound = f"{base}/inbound/{token}"
                    await load(inbound, bodies[: opts.warmup], opts.warmup, opts.concurrency)
                    await load(f"{base}/healthz", None, opts.warmup, opts.concurrency)
                    wall, lat, statuses = await load(
                        inbound, bodies[opts.warmup :], opts.posts, opts.concurrency
                    )
                    base_wall, base_lat, _ = await load(
                        f"{base}/healthz", None, opts.posts, opts.concurrency
                    )
                finally:
                    await runner.cleanup()
                async with app.sessionmaker() as session:
                    leads = await session.scalar(select(func.count()).select_from(Lead))
            bad = [s for s in statuses if s != 201]
            if bad or leads != total:
                raise SystemExit(
                    f"{backend}: {len(bad)} non-201 answers, {leads} leads of {total}"
                )
            rows.append(row(f"inbound-{backend}", wall, lat, opts))
            rows.append(row(f"healthz-{backend} (baseline)", base_wall, base_lat, opts))
    finally:
        await api_runner.cleanup()
    return rows


def row(name: str, wall: float, lat: list[float], opts: argparse.Namespace) -> dict[str, Any]:
    return {
        "target": name,
        "requests": len(lat),
        "per_second": round(len(lat) / wall),
        "p50_ms": round(p(lat, 0.50), 1),
        "p99_ms": round(p(lat, 0.99), 1),
        "mean_ms": round(statistics.fmean(lat) * 1000, 1),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| target | requests | per second | p50 ms | p99 ms | mean ms |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    lines = [
        f"| {r['target']} | {r['requests']} | {r['per_second']} | {r['p50_ms']} | "
        f"{r['p99_ms']} | {r['mean_ms']} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound_bench", description=__doc__)
    parser.add_argument("--posts", type=int, default=2000, help="measured posts per backend")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=100, help="posts before measuring")
    parser.add_argument("--backends", default="sqlite,postgres", help="of sqlite,postgres")
    opts = parser.parse_args(argv)

    async def run() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory() as tmp:
            for backend in opts.backends.split(","):
                rows.extend(await bench_backend(backend.strip(), opts, Path(tmp)))
        return rows

    print(markdown(asyncio.run(run())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
