"""Repository contract: connections.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.storage.uow import SqlUnitOfWorkFactory

# ------------------------------------------------------------------------------------ connections


async def test_connection_round_trip_order_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    made = [r.connection(a, strategy="google-oauth2", created=s) for s in (9, 7, 8)]
    async with uows() as uow:
        for c in made:
            await uow.connections.add(c)
        await uow.commit()
    async with uows() as uow:
        assert await uow.connections.get(a, made[0].id) == made[0]
        assert await uow.connections.by_name(a, made[1].name) == made[1]
        listed = await uow.connections.list(a)
        assert listed == sorted([*made, seeded.a.conn], key=lambda c: c.created_at or 0)
        assert await uow.connections.get(b, made[0].id) is None
        assert await uow.connections.by_name(b, made[1].name) is None
        assert await uow.connections.list(b) == [seeded.b.conn]
        assert await uow.connections.get(a, "con_missing") is None


async def test_connection_set_enabled_clients(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    a, b = seeded.a, seeded.b
    async with uows() as uow:
        await uow.connections.set_enabled_clients(a.tenant.id, a.conn.id, ("x", "y", "z"))
        # Through the wrong tenant: nothing changes.
        await uow.connections.set_enabled_clients(b.tenant.id, a.conn.id, ["evil"])
        await uow.commit()
    async with uows() as uow:
        got = await uow.connections.get(a.tenant.id, a.conn.id)
        assert got == replace(a.conn, enabled_clients=["x", "y", "z"])
    async with uows() as uow:
        await uow.connections.set_enabled_clients(a.tenant.id, a.conn.id, [])
        await uow.commit()
    async with uows() as uow:
        got = await uow.connections.get(a.tenant.id, a.conn.id)
        assert got is not None and got.enabled_clients == []
