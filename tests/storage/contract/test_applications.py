"""Repository contract: applications, APIs and client grants.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.domain.models import AppType
from tether.storage.uow import SqlUnitOfWorkFactory

# ----------------------------------------------------------------------------------- applications


async def test_application_round_trip(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    tid = seeded.a.tenant.id
    confidential = r.application(tid, created=1)
    public = r.application(tid, created=2, secret=False)
    async with uows() as uow:
        await uow.applications.add(confidential)
        await uow.applications.add(public)
        await uow.commit()
    async with uows() as uow:
        got = await uow.applications.by_client_id(tid, confidential.client_id)
        assert got == confidential
        assert got is not None and type(got.app_type) is AppType
        assert got.is_first_party is False
        pub = await uow.applications.by_client_id(tid, public.client_id)
        assert pub == public and pub is not None and pub.encrypted_secret is None
        assert await uow.applications.by_client_id(tid, "missing") is None


async def test_applications_list_in_creation_order(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tid = seeded.a.tenant.id
    apps = [r.application(tid, created=s) for s in (5, 1, 3)]
    async with uows() as uow:
        for app in apps:
            await uow.applications.add(app)
        await uow.applications.add(r.application(seeded.b.tenant.id))
        await uow.commit()
    async with uows() as uow:
        assert await uow.applications.list(tid) == sorted(apps, key=lambda a: a.created_at or 0)


async def test_application_update_rewrites_every_field(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    app = r.application(seeded.a.tenant.id)
    async with uows() as uow:
        await uow.applications.add(app)
        await uow.commit()
    changed = replace(
        app,
        name="Renamed",
        description="",
        app_type=AppType.SPA,
        encrypted_secret=None,
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        callbacks=[],
        allowed_logout_urls=["https://x.example/"],
        web_origins=[],
        allowed_origins=["https://y.example"],
        is_first_party=True,
    )
    async with uows() as uow:
        await uow.applications.update(changed)
        await uow.commit()
    async with uows() as uow:
        assert await uow.applications.by_client_id(app.tenant_id, app.client_id) == changed


async def test_application_delete_takes_its_grants_and_is_tenant_scoped(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    app = r.application(a)
    twin = replace(r.application(b), client_id=app.client_id)  # same client_id, other tenant
    async with uows() as uow:
        await uow.applications.add(app)
        await uow.applications.add(twin)
        await uow.client_grants.add(r.grant(a, app.client_id, "https://api-1/"))
        await uow.client_grants.add(r.grant(a, app.client_id, "https://api-2/"))
        await uow.client_grants.add(r.grant(b, app.client_id, "https://api-1/"))
        await uow.commit()
    async with uows() as uow:
        assert await uow.applications.delete(a, app.client_id) is True
        assert await uow.applications.delete(a, app.client_id) is False
        assert await uow.applications.delete(a, "missing") is False
        await uow.commit()
    async with uows() as uow:
        assert await uow.applications.by_client_id(a, app.client_id) is None
        assert await uow.client_grants.list(a) == []
        assert await uow.applications.by_client_id(b, app.client_id) == twin
        assert len(await uow.client_grants.list(b)) == 1


async def test_applications_are_tenant_scoped(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    app = r.application(seeded.a.tenant.id)
    async with uows() as uow:
        await uow.applications.add(app)
        await uow.commit()
    async with uows() as uow:
        assert await uow.applications.by_client_id(seeded.b.tenant.id, app.client_id) is None
        assert await uow.applications.list(seeded.b.tenant.id) == []
        assert await uow.applications.delete(seeded.b.tenant.id, app.client_id) is False
        await uow.commit()
    async with uows() as uow:
        assert await uow.applications.by_client_id(seeded.a.tenant.id, app.client_id) == app


# ------------------------------------------------------------------------------------------- apis


async def test_api_round_trip_order_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    apis = [r.api(a, created=s) for s in (2, 0, 1)]
    async with uows() as uow:
        for x in apis:
            await uow.apis.add(x)
        await uow.commit()
    async with uows() as uow:
        assert await uow.apis.by_identifier(a, apis[0].identifier) == apis[0]
        assert await uow.apis.list(a) == sorted(apis, key=lambda x: x.created_at or 0)
        assert await uow.apis.by_identifier(b, apis[0].identifier) is None
        assert await uow.apis.list(b) == []
        assert await uow.apis.by_identifier(a, "https://missing/") is None


async def test_api_retarget_moves_its_grants_in_its_tenant_only(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    old, new = "https://old.example/", "https://new.example/"
    api_a, api_b = r.api(a, identifier=old), r.api(b, identifier=old)
    async with uows() as uow:
        await uow.apis.add(api_a)
        await uow.apis.add(api_b)
        await uow.client_grants.add(r.grant(a, "c1", old))
        await uow.client_grants.add(r.grant(a, "c2", "https://unrelated/"))
        await uow.client_grants.add(r.grant(b, "c1", old))
        await uow.commit()
    async with uows() as uow:
        await uow.apis.retarget(a, old, new)
        await uow.commit()
    async with uows() as uow:
        assert await uow.apis.by_identifier(a, old) is None
        assert await uow.apis.by_identifier(a, new) == replace(api_a, identifier=new)
        assert await uow.client_grants.find(a, "c1", new) is not None
        assert await uow.client_grants.find(a, "c1", old) is None
        assert await uow.client_grants.find(a, "c2", "https://unrelated/") is not None
        assert await uow.apis.by_identifier(b, old) == api_b
        assert await uow.client_grants.find(b, "c1", old) is not None


# ---------------------------------------------------------------------------------- client grants


async def test_client_grants_round_trip_order_filter_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    g3 = r.grant(a, "c1", "https://api-3/", id="cgr_3")
    g1 = r.grant(a, "c1", "https://api-1/", id="cgr_1")
    g2 = r.grant(a, "c2", "https://api-1/", id="cgr_2")
    async with uows() as uow:
        for g in (g3, g1, g2):
            await uow.client_grants.add(g)
        await uow.commit()
    async with uows() as uow:
        assert await uow.client_grants.find(a, "c1", "https://api-1/") == g1
        assert await uow.client_grants.find(a, "c1", "https://api-2/") is None
        assert await uow.client_grants.list(a) == [g1, g2, g3]
        assert await uow.client_grants.list(a, "c1") == [g1, g3]
        assert await uow.client_grants.list(a, "nobody") == []
        assert await uow.client_grants.find(b, "c1", "https://api-1/") is None
        assert await uow.client_grants.list(b) == []
