"""Storage fixtures: a unit-of-work factory over the shared ``engine`` and two seeded tenants."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage.support import Seeded, seed_side
from tether.storage.uow import SqlUnitOfWorkFactory


@pytest.fixture
def uows(engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


@pytest.fixture
async def seeded(uows: SqlUnitOfWorkFactory) -> Seeded:
    """Tenants A and B, each with a database connection and one user with a primary identity."""
    return Seeded(await seed_side(uows, name="tenant-a"), await seed_side(uows, name="tenant-b"))
