"""Contract tests for every repository, through SqlUnitOfWork.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is checked
is what the database kept, not what a connection still holds. Records compare equal field by
field (dataclass equality), which covers JSON, bytes, datetimes with microseconds, booleans and
enums at once.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded, count
from tether.domain.logs import LogFilter
from tether.domain.models import AppType, KeyState, User
from tether.domain.user_search import Sort
from tether.storage import tables as t
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


# ------------------------------------------------------------------------------------------ users


def _bare(user: User | None) -> User | None:
    return None if user is None else replace(user, identities=[])


async def test_user_round_trip_with_identities_primary_first(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    side = seeded.a
    google = r.connection(side.tenant.id, name="google-oauth2", strategy="google-oauth2")
    later = r.identity(side.user, google, linked=50, provider="google-oauth2")
    earlier = r.identity(side.user, google, linked=20, provider="google-oauth2")
    async with uows() as uow:
        await uow.connections.add(google)
        await uow.identities.add(later)
        await uow.identities.add(earlier)
        await uow.commit()
    async with uows() as uow:
        by_id = await uow.users.get(side.tenant.id, side.user.user_id)
        by_pk = await uow.users.by_pk(side.tenant.id, side.user.pk)
    assert by_id is not None and by_id == by_pk
    assert _bare(by_id) == side.user
    assert by_id.identities == [side.primary, earlier, later]
    assert by_id.identities[1].connection_name == "google-oauth2"
    assert by_id.identities[1].is_social is True and by_id.identities[0].is_primary is True


async def test_users_are_tenant_scoped(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    a, b = seeded.a, seeded.b
    async with uows() as uow:
        assert await uow.users.get(b.tenant.id, a.user.user_id) is None
        assert await uow.users.by_pk(b.tenant.id, a.user.pk) is None
        assert [u.pk for u in await uow.users.list(b.tenant.id, offset=0, limit=10)] == [b.user.pk]
        assert await uow.users.count(b.tenant.id) == 1
        assert await uow.users.user_id_taken(b.tenant.id, a.user.user_id) is False
        await uow.users.record_login(b.tenant.id, a.user.pk, r.at(1000), "198.51.100.1")
        await uow.commit()
    async with uows() as uow:
        untouched = await uow.users.by_pk(a.tenant.id, a.user.pk)
    assert _bare(untouched) == a.user


async def test_same_user_id_in_two_tenants_is_two_users(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    twin = r.user(seeded.b.tenant.id, user_id=seeded.a.user.user_id)
    async with uows() as uow:
        await uow.users.add(twin)
        await uow.commit()
    async with uows() as uow:
        in_a = await uow.users.get(seeded.a.tenant.id, seeded.a.user.user_id)
        in_b = await uow.users.get(seeded.b.tenant.id, seeded.a.user.user_id)
    assert in_a is not None and in_b is not None
    assert (in_a.pk, in_b.pk) == (seeded.a.user.pk, twin.pk)
    assert in_b.identities == []


async def test_users_list_pages_in_creation_order_and_count(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tid = seeded.b.tenant.id
    made = [r.user(tid, created=s) for s in (400, 100, 300, 200)]
    # Two users created at the same instant: pk breaks the tie, so pages never overlap.
    made += [replace(r.user(tid, created=250), pk="usr_" + c * 8) for c in "ba"]
    async with uows() as uow:
        for u in made:
            await uow.users.add(u)
        await uow.commit()
    expected = sorted([*made, seeded.b.user], key=lambda u: (u.created_at, u.pk))
    async with uows() as uow:
        assert await uow.users.count(tid) == len(expected)
        pages = [await uow.users.list(tid, offset=o, limit=2) for o in range(0, 8, 2)]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    flat = [u for page in pages for u in page]
    assert [u.pk for u in flat] == [u.pk for u in expected]
    assert [_bare(u) for u in flat if u.pk != seeded.b.user.pk] == [
        u for u in expected if u.pk != seeded.b.user.pk
    ]
    listed_seed = next(u for u in flat if u.pk == seeded.b.user.pk)
    assert listed_seed.identities == [seeded.b.primary]


async def test_user_update_rewrites_every_field(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    u = seeded.a.user
    changed = replace(
        u,
        user_id="google-oauth2|1234",
        email=None,
        email_verified=False,
        updated_at=r.at(777),
        username=None,
        name="New Name",
        given_name=None,
        family_name=None,
        nickname=None,
        picture=None,
        user_metadata={},
        app_metadata={"roles": [], "deep": {"a": [None]}},
        blocked=False,
        last_login=None,
        logins_count=0,
        last_ip=None,
    )
    async with uows() as uow:
        await uow.users.update(changed)
        await uow.commit()
    async with uows() as uow:
        got = await uow.users.get(u.tenant_id, "google-oauth2|1234")
        assert await uow.users.get(u.tenant_id, u.user_id) is None
    assert _bare(got) == changed


async def test_record_login_increments(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    u = seeded.a.user
    async with uows() as uow:
        await uow.users.record_login(u.tenant_id, u.pk, r.at(1000), "198.51.100.7")
        await uow.commit()
    async with uows() as uow:
        await uow.users.record_login(u.tenant_id, u.pk, r.at(2000), None)
        await uow.commit()
    async with uows() as uow:
        got = await uow.users.by_pk(u.tenant_id, u.pk)
    assert got is not None
    assert got.logins_count == u.logins_count + 2
    assert got.last_login == r.at(2000)
    assert got.last_ip is None
    assert _bare(got) == replace(
        u, logins_count=u.logins_count + 2, last_login=r.at(2000), last_ip=None
    )


async def test_user_id_taken_sees_live_and_retired_ids(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    async with engine.begin() as conn:
        await conn.execute(
            t.retired_user_ids.insert().values(
                tenant_id=a, user_id="auth0|retired", retired_at=r.at(0)
            )
        )
    async with uows() as uow:
        assert await uow.users.user_id_taken(a, seeded.a.user.user_id) is True
        assert await uow.users.user_id_taken(a, "auth0|retired") is True
        assert await uow.users.user_id_taken(a, "auth0|never-issued") is False
        assert await uow.users.user_id_taken(b, "auth0|retired") is False


# ------------------------------------------------------------------------------------- identities


async def test_identity_round_trip_and_lookups(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    side = seeded.a
    secondary = r.identity(side.user, side.conn, linked=30)
    async with uows() as uow:
        await uow.identities.add(secondary)
        await uow.commit()
    async with uows() as uow:
        found = await uow.identities.find(side.tenant.id, side.conn.id, secondary.subject)
        assert found == secondary
        assert await uow.identities.by_id(secondary.id) == secondary
        assert await uow.identities.for_user(side.tenant.id, side.user.pk) == [
            side.primary,
            secondary,
        ]
        assert await uow.identities.find(side.tenant.id, side.conn.id, "nobody") is None
        assert await uow.identities.by_id("idn_missing") is None
    assert found is not None
    assert found.link_reason == {"method": "verified_email", "by": "user"}
    assert side.primary.link_reason is None


async def test_identities_are_tenant_scoped(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    a, b = seeded.a, seeded.b
    async with uows() as uow:
        assert await uow.identities.find(b.tenant.id, a.conn.id, a.primary.subject) is None
        assert await uow.identities.for_user(b.tenant.id, a.user.pk) == []


# ------------------------------------------------------------------------------------ credentials


async def test_credential_round_trip_set_hash_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    cred = r.credential(a.primary)
    async with uows() as uow:
        await uow.credentials.add(cred)
        await uow.commit()
    async with uows() as uow:
        assert await uow.credentials.by_email(a.tenant.id, a.conn.id, cred.email) == cred
        assert await uow.credentials.for_identity(a.primary.id) == cred
        assert await uow.credentials.by_email(a.tenant.id, a.conn.id, "other@x.com") is None
        assert await uow.credentials.by_email(b.tenant.id, a.conn.id, cred.email) is None
        assert await uow.credentials.for_identity(b.primary.id) is None
        await uow.credentials.set_hash(a.primary.id, "$argon2id$new", r.at(900))
        await uow.commit()
    async with uows() as uow:
        got = await uow.credentials.for_identity(a.primary.id)
    assert got == replace(cred, password_hash="$argon2id$new", updated_at=r.at(900))


# --------------------------------------------------------------------------------- refresh tokens


async def test_refresh_token_round_trip_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    token = r.refresh_token(seeded.a.user)
    bare = replace(r.refresh_token(seeded.a.user), audience=None, auth_time=None, session_id=None)
    async with uows() as uow:
        await uow.refresh_tokens.add(token)
        await uow.refresh_tokens.add(bare)
        await uow.commit()
    async with uows() as uow:
        assert await uow.refresh_tokens.by_hash(seeded.a.tenant.id, token.token_hash) == token
        assert await uow.refresh_tokens.by_hash(seeded.a.tenant.id, bare.token_hash) == bare
        assert await uow.refresh_tokens.by_hash(seeded.b.tenant.id, token.token_hash) is None
        assert await uow.refresh_tokens.by_hash(seeded.a.tenant.id, "0" * 64) is None


async def test_refresh_token_mark_used_once(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    token = r.refresh_token(seeded.a.user)
    async with uows() as uow:
        await uow.refresh_tokens.add(token)
        await uow.commit()
    async with uows() as uow:
        assert await uow.refresh_tokens.mark_used(token.id, r.at(100), "rt_next") is True
        await uow.commit()
    async with uows() as uow:
        assert await uow.refresh_tokens.mark_used(token.id, r.at(200), "rt_other") is False
        assert await uow.refresh_tokens.mark_used("rt_missing", r.at(200), "rt_x") is False
        await uow.commit()
    async with uows() as uow:
        got = await uow.refresh_tokens.by_hash(token.tenant_id, token.token_hash)
    assert got == replace(token, used_at=r.at(100), replaced_by="rt_next")


async def test_revoke_family_counts_only_live_tokens_of_that_family(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    u = seeded.a.user
    family = [r.refresh_token(u, family_id="fam_1") for _ in range(3)]
    stranger = r.refresh_token(u, family_id="fam_2")
    async with uows() as uow:
        for tok in (*family, stranger):
            await uow.refresh_tokens.add(tok)
        await uow.commit()
    async with uows() as uow:
        assert await uow.refresh_tokens.revoke_family("fam_1", r.at(300)) == 3
        await uow.commit()
    async with uows() as uow:
        assert await uow.refresh_tokens.revoke_family("fam_1", r.at(400)) == 0
        assert await uow.refresh_tokens.revoke_family("fam_missing", r.at(400)) == 0
        await uow.commit()
    async with uows() as uow:
        for tok in family:
            got = await uow.refresh_tokens.by_hash(u.tenant_id, tok.token_hash)
            assert got is not None and got.revoked_at == r.at(300)
        other = await uow.refresh_tokens.by_hash(u.tenant_id, stranger.token_hash)
        assert other == stranger


async def test_revoke_for_user_counts_and_is_tenant_scoped(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.user, seeded.b.user
    mine = [r.refresh_token(a) for _ in range(2)]
    already = replace(r.refresh_token(a), revoked_at=r.at(1))
    theirs = r.refresh_token(b)
    async with uows() as uow:
        for tok in (*mine, already, theirs):
            await uow.refresh_tokens.add(tok)
        await uow.commit()
    async with uows() as uow:
        assert await uow.refresh_tokens.revoke_for_user(b.tenant_id, a.pk, r.at(50)) == 0
        assert await uow.refresh_tokens.revoke_for_user(a.tenant_id, a.pk, r.at(50)) == 2
        assert await uow.refresh_tokens.revoke_for_user(a.tenant_id, a.pk, r.at(60)) == 0
        await uow.commit()
    async with uows() as uow:
        kept = await uow.refresh_tokens.by_hash(a.tenant_id, already.token_hash)
        assert kept is not None and kept.revoked_at == r.at(1)
        other = await uow.refresh_tokens.by_hash(b.tenant_id, theirs.token_hash)
        assert other is not None and other.revoked_at is None


# ------------------------------------------------------------------------------- password tickets


async def test_password_ticket_round_trip_mark_used_once_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tkt = r.ticket(seeded.a.primary)
    async with uows() as uow:
        await uow.password_tickets.add(tkt)
        await uow.commit()
    async with uows() as uow:
        assert await uow.password_tickets.by_hash(seeded.a.tenant.id, tkt.ticket_hash) == tkt
        assert await uow.password_tickets.by_hash(seeded.b.tenant.id, tkt.ticket_hash) is None
        assert await uow.password_tickets.mark_used(tkt.id, r.at(10)) is True
        assert await uow.password_tickets.mark_used(tkt.id, r.at(20)) is False
        await uow.commit()
    async with uows() as uow:
        assert await uow.password_tickets.mark_used(tkt.id, r.at(30)) is False
        assert await uow.password_tickets.mark_used("tkt_missing", r.at(30)) is False
        got = await uow.password_tickets.by_hash(seeded.a.tenant.id, tkt.ticket_hash)
    assert got == replace(tkt, used_at=r.at(10))


# ------------------------------------------------------------------------------------------- logs


async def test_logs_newest_first_filtered_paged_and_isolated(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    events = [r.log_event(a, date=s, user_id="auth0|ann") for s in (1, 3, 2)]
    events.append(r.log_event(a, date=4, user_id="auth0|bob"))
    # Same instant: log_id breaks the tie.
    tie = [replace(r.log_event(a, date=5), log_id=f"9002tie{c}") for c in "ba"]
    async with uows() as uow:
        for e in (*events, *tie):
            await uow.logs.add(e)
        await uow.logs.add(r.log_event(b, date=9))
        await uow.commit()
    everything = sorted([*events, *tie], key=lambda e: e.log_id)
    everything.sort(key=lambda e: e.date, reverse=True)
    async with uows() as uow:
        assert await uow.logs.list(a) == everything
        assert await uow.logs.list(a, limit=2) == everything[:2]
        assert await uow.logs.list(a, limit=2, offset=2) == everything[2:4]
        ann = await uow.logs.list(a, user_id="auth0|ann")
        assert ann == [e for e in everything if e.user_id == "auth0|ann"]
        assert [e.date for e in ann] == [r.at(3), r.at(2), r.at(1)]
        assert await uow.logs.list(b, user_id="auth0|ann") == []
        assert len(await uow.logs.list(b)) == 1


# ----------------------------------------------------------------------------------------- outbox


async def test_outbox_round_trip_and_listing(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    mails = [r.mail(a, created=s) for s in (2, 1, 3)]
    other = r.mail(b, created=4, to="bob@example.com")
    async with uows() as uow:
        for m in (*mails, other):
            await uow.outbox.add(m)
        await uow.commit()
    async with uows() as uow:
        assert await uow.outbox.list(a) == sorted(mails, key=lambda m: m.created_at, reverse=True)
        assert await uow.outbox.list(a, limit=1) == [mails[2]]
        assert await uow.outbox.list(b) == [other]
        everyone = await uow.outbox.list(None)
    assert [m.id for m in everyone] == [other.id, mails[2].id, mails[0].id, mails[1].id]
    assert everyone[0].to == "bob@example.com"


async def test_outbox_pending_mark_sent_and_mark_failed(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    first, second, third = r.mail(a, created=1), r.mail(b, created=2), r.mail(a, created=3)
    async with uows() as uow:
        for m in (third, first, second):
            await uow.outbox.add(m)
        await uow.commit()
    async with uows() as uow:
        # Pending spans tenants (the delivery worker serves them all), oldest first.
        assert await uow.outbox.pending() == [first, second, third]
        assert await uow.outbox.pending(limit=2) == [first, second]
        await uow.outbox.mark_failed(first.id, "421 try later " + "e" * 1000)
        await uow.outbox.mark_sent(second.id, r.at(60))
        await uow.commit()
    async with uows() as uow:
        pending = await uow.outbox.pending()
        sent = next(m for m in await uow.outbox.list(b) if m.id == second.id)
    assert [m.id for m in pending] == [first.id, third.id]
    failed = pending[0]
    assert failed.attempts == 1 and failed.sent_at is None
    assert failed.last_error is not None and failed.last_error.startswith("421 try later")
    assert len(failed.last_error) == 500
    assert sent == replace(second, sent_at=r.at(60), attempts=1, last_error=None)

    # A failure then a success clears the error; five failures stop retrying.
    async with uows() as uow:
        await uow.outbox.mark_sent(first.id, r.at(61))
        for _ in range(5):
            await uow.outbox.mark_failed(third.id, "boom")
        await uow.commit()
    async with uows() as uow:
        assert await uow.outbox.pending() == []
        by_id = {m.id: m for m in await uow.outbox.list(a)}
    assert by_id[first.id].last_error is None and by_id[first.id].attempts == 2
    assert by_id[third.id].attempts == 5 and by_id[third.id].last_error == "boom"
    assert by_id[third.id].sent_at is None
    rows = await _raw_outbox(engine)
    assert rows[first.id] == (r.at(61), 2)


async def _raw_outbox(engine: AsyncEngine) -> dict[str, tuple[object, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.mail_outbox.c.id, t.mail_outbox.c.sent_at, t.mail_outbox.c.attempts)
        )
        return {row.id: (row.sent_at, row.attempts) for row in rows}


# --------------------------------------------------------------------------------------- sessions


async def test_session_round_trip_touch_revoke_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    s = r.session(seeded.a.user)
    async with uows() as uow:
        await uow.sessions.add(s)
        await uow.commit()
    async with uows() as uow:
        assert await uow.sessions.by_token_hash(s.tenant_id, s.token_hash) == s
        assert await uow.sessions.by_token_hash(seeded.b.tenant.id, s.token_hash) is None
        assert await uow.sessions.by_token_hash(s.tenant_id, "0" * 64) is None
        await uow.sessions.touch(s.id, r.at(100))
        await uow.commit()
    async with uows() as uow:
        assert await uow.sessions.by_token_hash(s.tenant_id, s.token_hash) == replace(
            s, last_seen_at=r.at(100)
        )
        await uow.sessions.revoke(s.id, r.at(200))
        await uow.sessions.revoke(s.id, r.at(300))  # the first revocation time stays
        await uow.commit()
    async with uows() as uow:
        got = await uow.sessions.by_token_hash(s.tenant_id, s.token_hash)
    assert got == replace(s, last_seen_at=r.at(100), revoked_at=r.at(200))


async def test_sessions_revoke_for_user_counts_live_ones_in_the_tenant(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.user, seeded.b.user
    live = [r.session(a) for _ in range(2)]
    dead = replace(r.session(a), revoked_at=r.at(5))
    theirs = r.session(b)
    async with uows() as uow:
        for s in (*live, dead, theirs):
            await uow.sessions.add(s)
        await uow.commit()
    async with uows() as uow:
        assert await uow.sessions.revoke_for_user(b.tenant_id, a.pk, r.at(9)) == 0
        assert await uow.sessions.revoke_for_user(a.tenant_id, a.pk, r.at(9)) == 2
        assert await uow.sessions.revoke_for_user(a.tenant_id, a.pk, r.at(10)) == 0
        await uow.commit()
    async with uows() as uow:
        kept = await uow.sessions.by_token_hash(a.tenant_id, dead.token_hash)
        other = await uow.sessions.by_token_hash(b.tenant_id, theirs.token_hash)
    assert kept == dead
    assert other == theirs


# ---------------------------------------------------------------------------- login transactions


async def test_login_transaction_round_trip_update_complete_once(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tx = r.login_transaction(seeded.a.tenant.id)
    async with uows() as uow:
        await uow.transactions.add(tx)
        await uow.commit()
    async with uows() as uow:
        assert await uow.transactions.get(tx.tenant_id, tx.id) == tx
        assert await uow.transactions.get(seeded.b.tenant.id, tx.id) is None
        assert await uow.transactions.get(tx.tenant_id, "tx_missing") is None
        signed_in = replace(tx, user_pk=seeded.a.user.pk, auth_time=r.at(30), session_id="ses_1")
        await uow.transactions.update(signed_in)
        await uow.commit()
    async with uows() as uow:
        assert await uow.transactions.get(tx.tenant_id, tx.id) == signed_in
        assert await uow.transactions.complete(tx.id, r.at(40)) is True
        assert await uow.transactions.complete(tx.id, r.at(50)) is False
        await uow.commit()
    async with uows() as uow:
        assert await uow.transactions.complete(tx.id, r.at(60)) is False
        got = await uow.transactions.get(tx.tenant_id, tx.id)
    assert got == replace(signed_in, completed_at=r.at(40))


# ----------------------------------------------------------------------------- authorization codes


async def test_authorization_code_round_trip_redeem_once_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    c = r.code(seeded.a.user)
    bare = replace(
        r.code(seeded.a.user), audience=None, nonce=None, code_challenge=None, session_id=None
    )
    async with uows() as uow:
        await uow.codes.add(c)
        await uow.codes.add(bare)
        await uow.commit()
    async with uows() as uow:
        assert await uow.codes.by_hash(c.tenant_id, c.code_hash) == c
        assert await uow.codes.by_hash(c.tenant_id, bare.code_hash) == bare
        assert await uow.codes.by_hash(seeded.b.tenant.id, c.code_hash) is None
        assert await uow.codes.redeem(c.id, r.at(10), "rtf_1") is True
        assert await uow.codes.redeem(c.id, r.at(11), "rtf_2") is False
        assert await uow.codes.redeem(bare.id, r.at(12), None) is True
        await uow.commit()
    async with uows() as uow:
        assert await uow.codes.redeem(c.id, r.at(13), "rtf_3") is False
        got = await uow.codes.by_hash(c.tenant_id, c.code_hash)
        got_bare = await uow.codes.by_hash(c.tenant_id, bare.code_hash)
    assert got == replace(c, used_at=r.at(10), refresh_family_id="rtf_1")
    assert got_bare == replace(bare, used_at=r.at(12))


# --------------------------------------------------------------------------------------- consents


async def test_consent_save_replaces_and_is_scoped(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    u = seeded.a.user
    first = r.consent(u)
    other_app = r.consent(u, "client-b", scope=["openid"])
    async with uows() as uow:
        assert await uow.consents.get(u.tenant_id, u.pk, "client-a") is None
        await uow.consents.save(first)
        await uow.consents.save(other_app)
        await uow.commit()
    async with uows() as uow:
        assert await uow.consents.get(u.tenant_id, u.pk, "client-a") == first
        assert await uow.consents.get(u.tenant_id, u.pk, "client-b") == other_app
        assert await uow.consents.get(seeded.b.tenant.id, u.pk, "client-a") is None
        assert await uow.consents.get(u.tenant_id, seeded.b.user.pk, "client-a") is None
    wider = replace(first, scope=["openid", "read:orders", "write:orders"], granted_at=r.at(9))
    async with uows() as uow:
        await uow.consents.save(wider)
        await uow.commit()
    async with uows() as uow:
        assert await uow.consents.get(u.tenant_id, u.pk, "client-a") == wider
        assert await uow.consents.get(u.tenant_id, u.pk, "client-b") == other_app


# ------------------------------------------------------------------- users: email, search, delete


async def test_users_by_email_ignores_case_and_is_tenant_scoped(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tid = seeded.a.tenant.id
    later = replace(r.user(tid, created=500), email="Ann@Example.COM")
    other = replace(r.user(tid, created=600), email="bob@example.com")
    async with uows() as uow:
        await uow.users.add(later)
        await uow.users.add(other)
        await uow.commit()
    async with uows() as uow:
        found = await uow.users.by_email(tid, "ANN@example.com")
        assert [u.pk for u in found] == [seeded.a.user.pk, later.pk]
        assert found[0].identities == [seeded.a.primary]
        assert await uow.users.by_email(tid, "nobody@example.com") == []
        in_b = await uow.users.by_email(seeded.b.tenant.id, "ann@example.com")
        assert [u.pk for u in in_b] == [seeded.b.user.pk]


async def test_users_search_without_query_sorts_pages_and_counts(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tid = seeded.b.tenant.id
    made = [replace(r.user(tid, created=s), name=n) for s, n in ((30, "b"), (10, "c"), (20, "a"))]
    async with uows() as uow:
        for u in made:
            await uow.users.add(u)
        await uow.commit()
    async with uows() as uow:
        page, total = await uow.users.search(tid, None, sort=None, offset=0, limit=2)
        assert total == 4
        everyone = sorted([*made, seeded.b.user], key=lambda u: (u.created_at, u.pk))
        assert [u.pk for u in page] == [u.pk for u in everyone[:2]]
        by_name, _ = await uow.users.search(
            tid, None, sort=Sort("name", descending=True), offset=0, limit=10
        )
        assert [u.name for u in by_name if u.pk != seeded.b.user.pk] == ["c", "b", "a"]
        none, total_a = await uow.users.search(
            seeded.a.tenant.id, None, sort=None, offset=5, limit=5
        )
        assert (none, total_a) == ([], 1)


async def test_user_delete_retires_every_user_id_and_takes_dependents(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a = seeded.a
    google = r.connection(a.tenant.id, name="google-oauth2", strategy="google-oauth2")
    linked = r.identity(a.user, google, subject="g-1", provider="google-oauth2", linked=9)
    async with uows() as uow:
        await uow.connections.add(google)
        await uow.identities.add(linked)
        await uow.credentials.add(r.credential(a.primary))
        await uow.refresh_tokens.add(r.refresh_token(a.user))
        await uow.sessions.add(r.session(a.user))
        await uow.codes.add(r.code(a.user))
        await uow.password_tickets.add(r.ticket(a.primary))
        await uow.consents.save(r.consent(a.user))
        await uow.commit()
    async with uows() as uow:
        await uow.users.delete(a.tenant.id, a.user.pk, retired_at=r.at(1000))
        await uow.commit()
    async with uows() as uow:
        assert await uow.users.by_pk(a.tenant.id, a.user.pk) is None
        assert await uow.users.user_id_taken(a.tenant.id, a.user.user_id) is True
        assert await uow.users.user_id_taken(a.tenant.id, "google-oauth2|g-1") is True
        assert await uow.users.user_id_taken(seeded.b.tenant.id, "google-oauth2|g-1") is False
    for table in (
        t.identities,
        t.password_credentials,
        t.refresh_tokens,
        t.sessions,
        t.authorization_codes,
        t.password_tickets,
        t.consents,
    ):
        assert await count(engine, table, table.c.tenant_id == a.tenant.id) == 0, table.name
    assert await count(engine, t.identities, t.identities.c.user_pk == seeded.b.user.pk) == 1


async def test_user_delete_of_an_already_retired_id_and_through_another_tenant(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a, b = seeded.a, seeded.b
    # Through the wrong tenant: nothing of A's user moves, not even its identities.
    async with uows() as uow:
        await uow.users.delete(b.tenant.id, a.user.pk, retired_at=r.at(1))
        await uow.commit()
    async with uows() as uow:
        kept = await uow.users.by_pk(a.tenant.id, a.user.pk)
        assert kept is not None and kept.identities == [a.primary]
        assert await uow.users.user_id_taken(b.tenant.id, a.user.user_id) is False
    # An id retired before (say, by an earlier unlink) is no obstacle.
    async with engine.begin() as conn:
        await conn.execute(
            t.retired_user_ids.insert().values(
                tenant_id=a.tenant.id, user_id=a.user.user_id, retired_at=r.at(0)
            )
        )
    async with uows() as uow:
        await uow.users.delete(a.tenant.id, a.user.pk, retired_at=r.at(2))
        await uow.commit()
    assert await count(engine, t.users, t.users.c.pk == a.user.pk) == 0
    assert (
        await count(engine, t.retired_user_ids, t.retired_user_ids.c.tenant_id == a.tenant.id) == 1
    )


async def test_credential_set_email(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    a = seeded.a
    cred = r.credential(a.primary)
    async with uows() as uow:
        await uow.credentials.add(cred)
        await uow.commit()
    async with uows() as uow:
        await uow.credentials.set_email(a.primary.id, "new@example.com")
        await uow.commit()
    async with uows() as uow:
        assert await uow.credentials.by_email(a.tenant.id, a.conn.id, cred.email) is None
        got = await uow.credentials.by_email(a.tenant.id, a.conn.id, "new@example.com")
    assert got == replace(cred, email="new@example.com")


# --------------------------------------------------------------------- logs: get, search, after


async def test_logs_get_search_and_checkpoint_paging(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a.tenant.id, seeded.b.tenant.id
    events = [
        replace(r.log_event(a, date=s, user_id=u), type=ty, log_id=f"9002{n:02d}")
        for n, (s, u, ty) in enumerate(
            [(1, "auth0|ann", "s"), (2, "auth0|bob", "f"), (2, "auth0|ann", "s"), (4, None, "sapi")]
        )
    ]
    async with uows() as uow:
        for e in events:
            await uow.logs.add(e)
        await uow.logs.add(replace(r.log_event(b, date=3), log_id="9002b0"))
        await uow.commit()
    oldest_first = sorted(events, key=lambda e: (e.date, e.log_id))
    async with uows() as uow:
        assert await uow.logs.get(a, events[0].log_id) == events[0]
        assert await uow.logs.get(b, events[0].log_id) is None

        page, total = await uow.logs.search(a, LogFilter(), offset=0, limit=2)
        assert total == 4 and page == oldest_first[::-1][:2]
        page, total = await uow.logs.search(a, LogFilter(descending=False), offset=1, limit=2)
        assert total == 4 and page == oldest_first[1:3]
        ann, total = await uow.logs.search(
            a, LogFilter(user_id="auth0|ann", types=("s",)), offset=0, limit=10
        )
        assert total == 2 and {e.log_id for e in ann} == {"900200", "900202"}
        window, total = await uow.logs.search(
            a, LogFilter(date_from=r.at(2), date_to=r.at(2)), offset=0, limit=10
        )
        assert total == 2 and {e.log_id for e in window} == {"900201", "900202"}

        # Checkpoints walk the log oldest first, ties on date broken by log_id.
        first = await uow.logs.after(a, LogFilter(), from_id=None, take=2)
        assert first == oldest_first[:2]
        rest = await uow.logs.after(a, LogFilter(), from_id=first[-1].log_id, take=10)
        assert rest == oldest_first[2:]
        assert await uow.logs.after(a, LogFilter(), from_id=rest[-1].log_id, take=10) == []
        # Another tenant's id is no anchor here.
        assert await uow.logs.after(b, LogFilter(), from_id=events[0].log_id, take=10) == [
            await uow.logs.get(b, "9002b0")
        ]
