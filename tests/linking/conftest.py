"""Fixtures for the linking tests: the web tests' RSA key pool, and on PostgreSQL one schema for
the folder's session, emptied before each test (SQLite keeps a fresh file per test)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import PG_URL, World, make_settings
from tests.linking.support import machine_token
from tests.web.conftest import reuse_rsa_keys
from tether.config import Settings
from tether.storage.db import create_engine
from tether.storage.tables import metadata

__all__ = ["reuse_rsa_keys"]


async def _admin(statement: str) -> None:
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(statement))
    await admin.dispose()


@pytest.fixture(scope="session")
def linking_pg_schema() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    schema = "l_" + secrets.token_hex(6)

    async def create() -> None:
        await _admin(f'CREATE SCHEMA "{schema}"')
        eng = create_engine(PG_URL, schema=schema)
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await eng.dispose()

    asyncio.run(create())
    yield schema
    asyncio.run(_admin(f'DROP SCHEMA "{schema}" CASCADE'))


async def empty(engine: AsyncEngine) -> None:
    """Delete every row, children first (one round trip)."""
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        tables = reversed(metadata.sorted_tables)
        await driver.execute("; ".join(f'DELETE FROM "{t.name}"' for t in tables))  # noqa: S608


@pytest.fixture
async def engine(tmp_path: Path, linking_pg_schema: str | None) -> AsyncIterator[AsyncEngine]:
    if linking_pg_schema is None:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield eng
        await eng.dispose()
        return
    eng = create_engine(PG_URL, schema=linking_pg_schema)
    await empty(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shared settings, with room for bursts of Management API calls (the concurrency tests
    send 50 at once with one token; Auth0's default is 50 a second)."""
    return make_settings(tmp_path, management_rate_limit="100000/second")


@pytest.fixture
async def admin_token(http: httpx.AsyncClient, world: World) -> str:
    """A Management API machine token with every scope (update:users, read:users, read:logs)."""
    return await machine_token(http, world.machine)
