"""Every migration upgrades, downgrades and upgrades again, on SQLite and on PostgreSQL,
and the models match the migrated schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage import migrate
from storage.base import Base
from storage.db import create_engine
from tests.conftest import PgDatabases

REVISIONS = [
    rev.revision
    for rev in reversed(
        list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions())
    )
]


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}"
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    return databases.create()


@pytest.mark.parametrize("revision", REVISIONS)
async def test_stairway(fresh_url: str, revision: str) -> None:
    engine = create_engine(fresh_url)
    try:
        index = REVISIONS.index(revision)
        if index:
            await migrate.upgrade(engine, REVISIONS[index - 1])
        await migrate.upgrade(engine, revision)
        await migrate.downgrade(engine, "-1")
        await migrate.upgrade(engine, revision)
    finally:
        await engine.dispose()


async def test_head_matches_the_models_and_downgrades_to_nothing(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == [], f"models and migrations differ: {diff}"
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        await engine.dispose()


async def test_instances_starting_together_migrate_once(fresh_url: str) -> None:
    engines = [create_engine(fresh_url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
        async with engines[0].connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert version == [(REVISIONS[-1],)]
    finally:
        for engine in engines:
            await engine.dispose()
