"""Storage fixtures: an empty database per test, a unit-of-work factory over it, and two seeded
tenants.

``engine`` overrides the shared fixture on PostgreSQL only: instead of a new schema with
``metadata.create_all`` for every test (DDL that costs a second or more on a busy server), one
schema is created for the session and emptied with DELETEs before each test. Each test still
starts from an empty database with the current schema. SQLite keeps a fresh file per test.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import PG_URL
from tests.storage.support import Seeded, seed_side
from tether.storage.db import create_engine
from tether.storage.tables import metadata
from tether.storage.uow import SqlUnitOfWorkFactory


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_schema() -> AsyncIterator[str | None]:
    """PostgreSQL: one schema with the current tables for the whole session. SQLite: None."""
    if not PG_URL:
        yield None
        return
    schema = "ts_" + secrets.token_hex(6)
    admin = create_async_engine(PG_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        setup = create_engine(PG_URL, schema=schema)
        async with setup.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await setup.dispose()
        yield schema
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture
async def engine(pg_schema: str | None, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database with the current schema."""
    if pg_schema is None:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
    else:
        eng = create_engine(PG_URL, schema=pg_schema)
        async with eng.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    yield eng
    await eng.dispose()


@pytest.fixture
def uows(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


@pytest.fixture
async def seeded(uows: SqlUnitOfWorkFactory) -> Seeded:
    """Tenants A and B, each with a database connection and one user with a primary identity."""
    return Seeded(await seed_side(uows, name="tenant-a"), await seed_side(uows, name="tenant-b"))
