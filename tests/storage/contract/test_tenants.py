"""Repository contract: tenants and their signing keys.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.domain.models import KeyState
from tether.storage.uow import SqlUnitOfWorkFactory

# ---------------------------------------------------------------------------------------- tenants


async def test_tenant_round_trip_and_lookups(uows: SqlUnitOfWorkFactory) -> None:
    tenant = r.tenant(is_default=True)
    other = r.tenant()
    async with uows() as uow:
        await uow.tenants.add(tenant)
        await uow.tenants.add(other)
        await uow.commit()
    async with uows() as uow:
        assert await uow.tenants.get(tenant.id) == tenant
        assert await uow.tenants.by_name(tenant.name) == tenant
        assert await uow.tenants.default() == tenant
        assert await uow.tenants.get("ten_missing") is None
        assert await uow.tenants.by_name("missing") is None
        got = await uow.tenants.get(tenant.id)
    assert got is not None
    assert got.is_default is True and isinstance(got.settings, dict)
    assert got.settings["nested"] == r.NESTED


async def test_no_default_tenant_is_none(uows: SqlUnitOfWorkFactory) -> None:
    async with uows() as uow:
        await uow.tenants.add(r.tenant())
        await uow.commit()
    async with uows() as uow:
        assert await uow.tenants.default() is None


async def test_tenants_list_in_creation_order(uows: SqlUnitOfWorkFactory) -> None:
    made = [r.tenant(created=s) for s in (30, 10, 20)]
    async with uows() as uow:
        for tenant in made:
            await uow.tenants.add(tenant)
        await uow.commit()
    async with uows() as uow:
        listed = await uow.tenants.list()
    assert listed == sorted(made, key=lambda x: x.created_at)


async def test_tenant_update_rewrites_every_field(uows: SqlUnitOfWorkFactory) -> None:
    tenant = r.tenant()
    async with uows() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    changed = replace(
        tenant,
        name="renamed",
        public_url="https://renamed.example.com",
        is_default=True,
        settings={"merge": "auth0", "new": [1, {"x": None}]},
        created_at=r.at(99),
    )
    async with uows() as uow:
        await uow.tenants.update(changed)
        await uow.commit()
    async with uows() as uow:
        assert await uow.tenants.get(tenant.id) == changed


# ------------------------------------------------------------------------------------------- keys


async def test_keys_round_trip_order_and_retired_filter(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tid = seeded.a.tenant.id
    retired = r.key(tid, state=KeyState.RETIRED, created=1)
    current = r.key(tid, state=KeyState.CURRENT, created=3)
    nxt = r.key(tid, state=KeyState.NEXT, created=2)
    async with uows() as uow:
        for k in (current, retired, nxt):
            await uow.keys.add(k)
        await uow.keys.add(r.key(seeded.b.tenant.id))
        await uow.commit()
    async with uows() as uow:
        live = await uow.keys.list(tid)
        everything = await uow.keys.list(tid, include_retired=True)
    assert live == [nxt, current]
    assert everything == [retired, nxt, current]
    assert all(type(k.state) is KeyState for k in everything)
    assert all(isinstance(k.encrypted_private_key, bytes) for k in everything)
    assert everything[0].encrypted_private_key == retired.encrypted_private_key


async def test_key_update_changes_state_and_rotation_time(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    k = r.key(seeded.a.tenant.id, state=KeyState.CURRENT)
    async with uows() as uow:
        await uow.keys.add(k)
        await uow.commit()
    rotated = replace(k, state=KeyState.PREVIOUS, rotated_at=r.at(500))
    async with uows() as uow:
        await uow.keys.update(rotated)
        await uow.commit()
    async with uows() as uow:
        assert await uow.keys.list(seeded.a.tenant.id) == [rotated]


async def test_keys_are_tenant_scoped(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    async with uows() as uow:
        await uow.keys.add(r.key(seeded.a.tenant.id))
        await uow.commit()
    async with uows() as uow:
        assert await uow.keys.list(seeded.b.tenant.id, include_retired=True) == []
