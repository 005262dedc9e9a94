"""Storage fixtures: an empty database per test on the backend under test (backends.py), a
unit-of-work factory over it, and two seeded tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import backend
from tests.storage.backends import BACKENDS, Backend
from tests.storage.support import Seeded, seed_side
from tether.storage.uow import SqlUnitOfWorkFactory


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database() -> AsyncIterator[Backend]:
    """The backend the storage tests run on, started once for the session."""
    db = BACKENDS[backend()]()
    await db.start()
    try:
        yield db
    finally:
        await db.stop()


@pytest.fixture
async def engine(database: Backend, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database with the current schema."""
    eng = await database.empty_engine(tmp_path)
    yield eng
    await eng.dispose()


@pytest.fixture
def uows(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


@pytest.fixture
async def seeded(uows: SqlUnitOfWorkFactory) -> Seeded:
    """Tenants A and B, each with a database connection and one user with a primary identity."""
    return Seeded(await seed_side(uows, name="tenant-a"), await seed_side(uows, name="tenant-b"))
