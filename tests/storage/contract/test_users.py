"""Repository contract: users, identities and password credentials: one aggregate.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded, count
from tether.domain.models import User
from tether.domain.user_search import Sort
from tether.storage import tables as t
from tether.storage.uow import SqlUnitOfWorkFactory

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


# ------------------------------------------------------------------- what linking writes (issue 13)


async def test_for_change_reads_several_users_with_identities_and_leaves_out_missing_ones(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    other = r.user(a.tenant.id)
    other_primary = r.identity(other, a.conn, is_primary=True, subject=other.user_id.split("|")[1])
    linked = r.identity(a.user, a.conn, linked=40)
    async with uows() as uow:
        await uow.users.add(other)
        await uow.identities.add(other_primary)
        await uow.identities.add(linked)
        await uow.commit()
    async with uows() as uow:
        found = await uow.users.for_change(
            a.tenant.id, [a.user.user_id, other.user_id, "auth0|nobody", b.user.user_id]
        )
        assert await uow.users.for_change(a.tenant.id, ["auth0|nobody"]) == {}
    # B's user is another tenant's: left out like the one that does not exist.
    assert set(found) == {a.user.user_id, other.user_id}
    assert found[a.user.user_id] == await _read(uows, a.tenant.id, a.user.user_id)
    assert found[a.user.user_id].identities == [a.primary, linked]
    assert found[other.user_id].identities == [other_primary]


async def _read(uows: SqlUnitOfWorkFactory, tenant_id: str, user_id: str) -> User | None:
    async with uows() as uow:
        return await uow.users.get(tenant_id, user_id)


async def test_add_unless_taken_refuses_a_live_user_id_in_one_statement(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    twin = replace(r.user(a.tenant.id), user_id=a.user.user_id)
    fresh = r.user(a.tenant.id)
    # The same user_id in another tenant is another user.
    elsewhere = replace(r.user(b.tenant.id), user_id=a.user.user_id)
    async with uows() as uow:
        assert await uow.users.add_unless_taken(twin) is False
        assert await uow.users.add_unless_taken(fresh) is True
        assert await uow.users.add_unless_taken(elsewhere) is True
        await uow.commit()
    assert _bare(await _read(uows, a.tenant.id, a.user.user_id)) == a.user
    assert _bare(await _read(uows, a.tenant.id, fresh.user_id)) == fresh
    assert _bare(await _read(uows, b.tenant.id, a.user.user_id)) == elsewhere


async def test_user_update_fields_writes_only_those_columns(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    async with uows() as uow:
        await uow.users.update_fields(
            a.tenant.id, a.user.pk, {"updated_at": r.at(500), "user_metadata": {"x": 1}}
        )
        # Scoped by tenant: another tenant's pk writes nothing.
        await uow.users.update_fields(b.tenant.id, a.user.pk, {"name": "Mallory"})
        await uow.commit()
    after = _bare(await _read(uows, a.tenant.id, a.user.user_id))
    assert after == replace(a.user, updated_at=r.at(500), user_metadata={"x": 1})


async def test_identity_update_fields_writes_only_those_columns_while_the_owner_holds(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a = seeded.a
    other = r.user(a.tenant.id)
    moving = r.identity(other, a.conn, is_primary=True, subject=other.user_id.split("|")[1])
    async with uows() as uow:
        await uow.users.add(other)
        await uow.identities.add(moving)
        await uow.commit()
    changed = replace(
        moving,
        user_pk=a.user.pk,
        is_primary=False,
        link_reason={"method": "link_with"},
        profile_data={"ignored": True},  # not among the columns written
    )
    names = ("user_pk", "is_primary", "link_reason")
    async with uows() as uow:
        # Not the owner any more (a racing link took it): nothing written.
        assert await uow.identities.update_fields(changed, names, owner=a.user.pk) is False
        assert await uow.identities.update_fields(changed, names, owner=other.pk) is True
        await uow.commit()
    async with uows() as uow:
        stored = await uow.identities.by_id(moving.id)
    assert stored == replace(changed, profile_data=moving.profile_data)


async def test_identities_with_subject_on_any_connection_of_one_tenant(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    google = r.connection(a.tenant.id, name="google-oauth2", strategy="google-oauth2")
    other = r.connection(a.tenant.id, name="google-workspace", strategy="google-oauth2")
    first = r.identity(a.user, google, subject="1234", provider="google-oauth2")
    second = r.identity(a.user, other, subject="1234", provider="google-oauth2")
    async with uows() as uow:
        for c in (google, other):
            await uow.connections.add(c)
        await uow.identities.add(first)
        await uow.identities.add(second)
        await uow.commit()
    async with uows() as uow:
        found = await uow.identities.with_subject(a.tenant.id, "google-oauth2", "1234")
        assert await uow.identities.with_subject(a.tenant.id, "github", "1234") == []
        assert await uow.identities.with_subject(b.tenant.id, "google-oauth2", "1234") == []
    assert sorted(i.id for i in found) == sorted([first.id, second.id])
