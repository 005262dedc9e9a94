"""Helpers shared by the storage tests (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tether.domain.models import Connection, Identity, Tenant, User
from tether.storage.uow import SqlUnitOfWorkFactory


@dataclass
class Side:
    """One tenant with a database connection and a user whose primary identity is on it."""

    tenant: Tenant
    conn: Connection
    user: User
    primary: Identity


@dataclass
class Seeded:
    a: Side
    b: Side


async def seed_side(uows: SqlUnitOfWorkFactory, *, name: str) -> Side:
    tenant = r.tenant(name=name)
    conn = r.connection(tenant.id, name="Username-Password-Authentication")
    user = r.user(tenant.id)
    primary = r.identity(user, conn, is_primary=True, subject=user.user_id.split("|", 1)[1])
    async with uows() as uow:
        await uow.tenants.add(tenant)
        await uow.connections.add(conn)
        await uow.users.add(user)
        await uow.identities.add(primary)
        await uow.commit()
    return Side(tenant, conn, user, primary)


async def count(engine: AsyncEngine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    """Rows in ``table`` seen from a fresh connection (so only committed rows count)."""
    async with engine.connect() as conn:
        value = await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where))
    return int(value or 0)
