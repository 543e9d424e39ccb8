"""Fixtures: databases on SQLite and PostgreSQL, Redis, and the end-to-end harness.

Tests that touch the database run once per backend. PostgreSQL and Redis are the machine's
real services; a test creates its own database (and Redis key prefix) and drops it after.
Without the services those tests skip with the reason — except under CI=true, where a
missing service fails the run.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.factory import create_storage
from crm.context import Crm, Runtime
from storage import migrate
from storage.db import create_engine, create_sessionmaker
from tests.harness import TOKEN, WEBHOOK_SECRET, FakeClock, Harness, running_harness

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URLS = [
    url
    for url in (
        os.environ.get("TEST_POSTGRES_URL"),
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        "postgresql+asyncpg://root@127.0.0.1:5432/postgres",
    )
    if url
]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgres"]
T = TypeVar("T")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


# pytest-xdist (`-n auto` in pyproject's addopts) spreads the tests over the CPUs one by one,
# except these files, which run one after another on one worker: the fault suite's `crmbot
# scheduler` processes hold 2.4 s leases and must get the CPU on time, and the start-up tests
# launch six `crmbot` processes at once; so they never overlap each other. (xdist's own
# `--dist loadgroup` marks do nothing with pytest 9, which ignores the node id it rewrites.)
PROCESS_HEAVY = {"test_reminder_faults.py", "test_startup_failures.py"}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ProcessHeavyTogether(LoadScopeScheduling):
        """Each test is its own unit of work, except that PROCESS_HEAVY is one unit: the
        largest, so it is handed out first (xdist orders units by size)."""

        def _split_scope(self, nodeid: str) -> str:
            if Path(nodeid.split("::", 1)[0]).name in PROCESS_HEAVY:
                return "process-heavy"
            return nodeid

    return ProcessHeavyTogether(config, log)


# The garbage collector took a fifth of an end-to-end test file's CPU (9 of 40 s over
# test_e2e_crm and test_e2e_rights): each test allocates hundreds of thousands of objects and
# keeps many (its app, its engine, models built on first use), and each default collection
# (every 700 allocations, an older generation every 10 of those) walked them again. Fewer,
# larger collections: 2.6 s (4.8 s at 10,000; peak RSS 282 -> 420 MB). Cycles still go within
# a test or a few, and the session's last collection (pytest's own, after the unfreeze
# below) reports any unraisable one.
gc.set_threshold(50_000, 20, 20)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what the session holds from here to its end (modules, the collected tests): the
    collector's passes then walk only what the tests allocate."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.unfreeze()  # so that pytest's closing collection sees everything again


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code, even when an event loop is running here
    (session fixtures may be first requested from inside an async test)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def service_missing(what: str, why: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but not reachable: {why}")
    pytest.skip(f"{what} not reachable ({why}); start it to run these tests")


# --- PostgreSQL -------------------------------------------------------------------------------
async def _pg_admin_url() -> tuple[str | None, str]:
    import asyncpg

    last_error = ""
    for url in PG_ADMIN_URLS:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        try:
            conn = await asyncio.wait_for(asyncpg.connect(dsn), 5)
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            continue
        await conn.close()
        return url, ""
    return None, last_error


async def _pg_execute(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PgDatabases:
    """Creates uniquely named databases and drops them all at the end of the session.

    CREATE DATABASE costs ~0.4 s here (PostgreSQL copies and fsyncs the template's ~8 MB of
    catalogs), which was most of a PostgreSQL test's set-up. So a background thread keeps
    `AHEAD` databases of each template made in advance, and drops used ones behind the
    tests: a test still gets a database of its own, never used before, copied from the same
    template; only the waiting moves off the test's path.
    """

    AHEAD = 2

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
        self._ahead: dict[str | None, collections.deque[Future[str]]] = {}

    def url_of(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def _create_now(self, template: str | None) -> str:
        name = f"crm_test_{uuid.uuid4().hex[:12]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self._lock:
            self.created.append(name)
        asyncio.run(_pg_execute(self.admin_url, f'CREATE DATABASE "{name}"{clause}'))
        return name

    def _drop_now(self, name: str) -> None:
        asyncio.run(_pg_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        with self._lock:
            self.created.remove(name)

    def create(self, template: str | None = None, ahead_count: int = AHEAD) -> str:
        ahead = self._ahead.setdefault(template, collections.deque())
        while len(ahead) < ahead_count + 1:
            ahead.append(self._worker.submit(self._create_now, template))
        return self.url_of(ahead.popleft().result())

    def drop(self, url: str) -> None:
        """Dropped in the background: nothing connects to a used database again."""
        self._worker.submit(self._drop_now, url.rsplit("/", 1)[1])

    def drop_all(self) -> None:
        for ahead in self._ahead.values():
            for made in ahead:
                if not made.cancel():  # not started: never made
                    made.exception()  # wait for it, whatever happened
        self._worker.shutdown(wait=True)
        for name in list(self.created):
            self._drop_now(name)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    url, why = run_blocking(_pg_admin_url())
    if url is None:
        service_missing("PostgreSQL", why)
    dbs = PgDatabases(url)  # type: ignore[arg-type]
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def pg_template(pg_databases: PgDatabases) -> str:
    """A migrated database that each test copies (CREATE DATABASE … TEMPLATE: ~50 ms)."""
    url = pg_databases.create(ahead_count=0)  # made once
    run_blocking(_migrate(url))
    return url.rsplit("/", 1)[1]


# --- SQLite -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "crm.db"
    run_blocking(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


# --- one migrated, empty database per test ----------------------------------------------------
@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "crm.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    url = databases.create(template=request.getfixturevalue("pg_template"))
    yield url
    databases.drop(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def runtime(clock: FakeClock) -> Runtime:
    return Runtime(clock=clock)


@pytest.fixture
async def crm(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime
) -> AsyncIterator[Crm]:
    async with sessionmaker() as session:
        yield Crm(session, runtime)


# --- Redis ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RedisTarget:
    url: str
    prefix: str  # every key this test writes starts with it; deleted afterwards


@pytest.fixture
def redis_target() -> Iterator[RedisTarget]:
    from redis import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except Exception as exc:
        client.close()
        service_missing("Redis", f"{type(exc).__name__}: {exc}")
    target = RedisTarget(REDIS_URL, f"crmtest{uuid.uuid4().hex[:10]}")
    yield target
    for key in client.scan_iter(match=f"{target.prefix}:*"):
        client.delete(key)
    client.close()


# --- settings and the end-to-end harness ------------------------------------------------------
def make_settings(
    database_url: str, api_url: str = "", redis_url: str | None = None, **extra: dict
) -> Settings:
    overrides: dict[str, dict] = {
        "telegram": {
            "bot_token": TOKEN,
            "telegram_api_url": api_url or None,
            "bot_username": None,
        },
        "webhook": {
            "webhook_url": "https://crm.example.test/telegram/webhook",
            "webhook_secret": WEBHOOK_SECRET,
        },
        "database": {"database_url": database_url},
        "redis": {"redis_url": redis_url},
        "locale": {"default_locale": "pl", "default_timezone": "Europe/Warsaw"},
        "scheduler": {"run_scheduler": False},
    }
    for section, values in extra.items():
        overrides.setdefault(section, {}).update(values)
    return load_settings(env_file=None, **overrides)


@pytest.fixture(params=["polling"])
def delivery(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def harness(
    database_url: str,
    backend: str,
    delivery: str,
    clock: FakeClock,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    """SQLite runs the embedded way (memory FSM); PostgreSQL the grown-up way (Redis FSM)."""
    redis: RedisTarget | None = (
        request.getfixturevalue("redis_target") if backend == "postgres" else None
    )

    def settings_for(api_url: str) -> Settings:
        return make_settings(database_url, api_url, redis.url if redis else None)

    storage = create_storage(settings_for(""), prefix=redis.prefix) if redis else None
    async with running_harness(settings_for, delivery, clock, storage=storage) as h:
        yield h


@pytest.fixture
def fresh(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock
) -> Callable[[], AbstractAsyncContextManager[Crm]]:
    """`async with fresh() as crm2:` reads what is committed, through a new session and a
    runtime with nothing cached: a service that forgets to commit fails the test."""

    @asynccontextmanager
    async def open_fresh() -> AsyncIterator[Crm]:
        async with sessionmaker() as session:
            yield Crm(session, Runtime(clock=clock))

    return open_fresh
