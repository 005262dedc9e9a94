"""The databases the repository contract (tests/storage/contract/) runs on.

As Ory Kratos runs one persister test suite against every database it supports, each backend
here hands the same tests an empty database with the current schema; adding a database is one
class and one entry in ``BACKENDS``. ``TETHER_TEST_DATABASE_URL`` picks PostgreSQL, its absence
SQLite (tests/conftest.py ``backend``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import PG_URL
from tether.storage.db import create_engine
from tether.storage.tables import metadata


class Backend(Protocol):
    """A database for the session: ``start`` once, then an empty engine for each test."""

    async def start(self) -> None: ...

    async def empty_engine(self, tmp_path: Path) -> AsyncEngine: ...

    async def stop(self) -> None: ...


class Sqlite:
    """A fresh file per test: creating SQLite's tables costs milliseconds."""

    async def start(self) -> None:
        return None

    async def empty_engine(self, tmp_path: Path) -> AsyncEngine:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        return engine

    async def stop(self) -> None:
        return None


class Postgres:
    """One schema for the session, emptied with DELETEs before each test: DDL for every test
    would cost a second or more on a busy server."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._schema = "ts_" + secrets.token_hex(6)

    async def start(self) -> None:
        admin = create_async_engine(self._url)
        try:
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'CREATE SCHEMA "{self._schema}"'))
        finally:
            await admin.dispose()
        setup = create_engine(self._url, schema=self._schema)
        try:
            async with setup.begin() as conn:
                await conn.run_sync(metadata.create_all)
        finally:
            await setup.dispose()

    async def empty_engine(self, tmp_path: Path) -> AsyncEngine:
        engine = create_engine(self._url, schema=self._schema)
        async with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
        return engine

    async def stop(self) -> None:
        admin = create_async_engine(self._url)
        try:
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{self._schema}" CASCADE'))
        finally:
            await admin.dispose()


#: Backend name (tests/conftest.py ``backend()``) -> how to make it.
BACKENDS: dict[str, Callable[[], Backend]] = {
    "sqlite": Sqlite,
    "postgresql": lambda: Postgres(PG_URL),
}
