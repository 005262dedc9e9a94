"""Invariants the database enforces (DESIGN.md, "Data model and its invariants"), and the unit of
work's all-or-nothing commit. A broken rule surfaces as the domain's Conflict, never as a
SQLAlchemy exception."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded, count
from tether.domain.errors import Conflict
from tether.storage import tables as t
from tether.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

# ---------------------------------------------------------------------- identity uniqueness (2)


async def test_duplicate_identity_in_a_later_transaction_is_a_conflict(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a = seeded.a
    other = r.user(a.tenant.id)
    dup = r.identity(other, a.conn, subject=a.primary.subject, is_primary=True)
    with pytest.raises(Conflict) as caught:
        async with uows() as uow:
            await uow.users.add(other)
            await uow.identities.add(dup)
            await uow.commit()
    assert caught.value.code == "conflict"
    assert await count(engine, t.identities, t.identities.c.subject == a.primary.subject) == 1
    # The user added before the failing identity went with it: no user without an identity.
    assert await count(engine, t.users, t.users.c.pk == other.pk) == 0


async def test_duplicate_identity_in_one_transaction_is_a_conflict(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a = seeded.a
    first = r.identity(a.user, a.conn, subject="same")
    second = r.identity(a.user, a.conn, subject="same")
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.identities.add(first)
            await uow.identities.add(second)
            await uow.commit()
    assert await count(engine, t.identities, t.identities.c.subject == "same") == 0


async def test_same_subject_on_another_connection_or_tenant_is_allowed(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a, b = seeded.a, seeded.b
    github = r.connection(a.tenant.id, name="github", strategy="github")
    async with uows() as uow:
        await uow.connections.add(github)
        await uow.identities.add(r.identity(a.user, github, subject="12345"))
        await uow.identities.add(r.identity(a.user, a.conn, subject="12345"))
        await uow.identities.add(r.identity(b.user, b.conn, subject="12345"))
        await uow.commit()
    assert await count(engine, t.identities, t.identities.c.subject == "12345") == 3


# ----------------------------------------------------------------------- one primary identity (1)


async def test_second_primary_identity_for_a_user_is_a_conflict(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a = seeded.a
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.identities.add(r.identity(a.user, a.conn, is_primary=True))
            await uow.commit()
    user_rows = t.identities.c.user_pk == a.user.pk
    assert await count(engine, t.identities, user_rows) == 1
    # Any number of secondaries is fine; the partial index only counts primaries.
    async with uows() as uow:
        await uow.identities.add(r.identity(a.user, a.conn))
        await uow.identities.add(r.identity(a.user, a.conn))
        await uow.commit()
    assert await count(engine, t.identities, user_rows) == 3
    assert await count(engine, t.identities, user_rows, t.identities.c.is_primary) == 1


async def test_primary_can_move_within_one_transaction(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """Demote then promote, as linking does when the secondary becomes primary."""
    a = seeded.a
    secondary = r.identity(a.user, a.conn, linked=5)
    async with uows() as uow:
        await uow.identities.add(secondary)
        await uow.commit()
    async with engine.begin() as conn:
        await conn.execute(
            t.identities.update().where(t.identities.c.id == a.primary.id).values(is_primary=False)
        )
        await conn.execute(
            t.identities.update().where(t.identities.c.id == secondary.id).values(is_primary=True)
        )
    async with uows() as uow:
        ids = await uow.identities.for_user(a.tenant.id, a.user.pk)
    assert [(i.id, i.is_primary) for i in ids] == [(secondary.id, True), (a.primary.id, False)]


# --------------------------------------------------------------------------- one default tenant


async def test_second_default_tenant_is_a_conflict(
    uows: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    first = r.tenant(is_default=True)
    async with uows() as uow:
        await uow.tenants.add(first)
        await uow.tenants.add(r.tenant())
        await uow.tenants.add(r.tenant())
        await uow.commit()
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.tenants.add(r.tenant(is_default=True))
            await uow.commit()
    second = r.tenant()
    async with uows() as uow:
        await uow.tenants.add(second)
        await uow.commit()
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.tenants.update(replace(second, is_default=True))
            await uow.commit()
    assert await count(engine, t.tenants, t.tenants.c.is_default) == 1
    async with uows() as uow:
        assert await uow.tenants.default() == first


# ----------------------------------------------------------------------------------- foreign keys


async def test_identity_for_a_missing_user_is_a_conflict(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    ghost = r.user(seeded.a.tenant.id)  # never added
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.identities.add(r.identity(ghost, seeded.a.conn, is_primary=True))
            await uow.commit()
    assert await count(engine, t.identities, t.identities.c.user_pk == ghost.pk) == 0


async def test_identity_on_a_missing_connection_is_a_conflict(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    ghost = r.connection(seeded.a.tenant.id)  # never added
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.identities.add(r.identity(seeded.a.user, ghost))
            await uow.commit()


async def test_rows_of_a_missing_tenant_are_a_conflict(uows: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.users.add(r.user("ten_missing"))
            await uow.commit()
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.connections.add(r.connection("ten_missing"))
            await uow.commit()


async def test_deleting_a_user_cascades_to_its_identities_and_tokens(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """ON DELETE CASCADE only works when foreign keys are on (SQLite's default is off)."""
    a = seeded.a
    async with uows() as uow:
        await uow.refresh_tokens.add(r.refresh_token(a.user))
        await uow.credentials.add(r.credential(a.primary))
        await uow.commit()
    async with engine.begin() as conn:
        await conn.execute(t.users.delete().where(t.users.c.pk == a.user.pk))
    assert await count(engine, t.identities, t.identities.c.user_pk == a.user.pk) == 0
    assert await count(engine, t.refresh_tokens, t.refresh_tokens.c.user_pk == a.user.pk) == 0
    assert await count(engine, t.password_credentials) == 0
    assert await count(engine, t.identities, t.identities.c.user_pk == seeded.b.user.pk) == 1


# ------------------------------------------------------------------- the other unique constraints

Dup = Callable[[SqlUnitOfWork, Seeded], Awaitable[None]]


async def _dup_user_id(uow: SqlUnitOfWork, s: Seeded) -> None:
    await uow.users.add(r.user(s.a.tenant.id, user_id=s.a.user.user_id))


async def _dup_tenant_name(uow: SqlUnitOfWork, s: Seeded) -> None:
    await uow.tenants.add(r.tenant(name=s.a.tenant.name))


async def _dup_connection_name(uow: SqlUnitOfWork, s: Seeded) -> None:
    await uow.connections.add(r.connection(s.a.tenant.id, name=s.a.conn.name))


async def _dup_client_id(uow: SqlUnitOfWork, s: Seeded) -> None:
    app = r.application(s.a.tenant.id)
    await uow.applications.add(app)
    await uow.applications.add(replace(r.application(s.a.tenant.id), client_id=app.client_id))


async def _dup_api_identifier(uow: SqlUnitOfWork, s: Seeded) -> None:
    await uow.apis.add(r.api(s.a.tenant.id, identifier="https://same/"))
    await uow.apis.add(r.api(s.a.tenant.id, identifier="https://same/"))


async def _dup_client_grant(uow: SqlUnitOfWork, s: Seeded) -> None:
    await uow.client_grants.add(r.grant(s.a.tenant.id, "c1", "https://same/"))
    await uow.client_grants.add(r.grant(s.a.tenant.id, "c1", "https://same/"))


async def _dup_kid(uow: SqlUnitOfWork, s: Seeded) -> None:
    k = r.key(s.a.tenant.id)
    await uow.keys.add(k)
    await uow.keys.add(replace(r.key(s.a.tenant.id), kid=k.kid))


async def _dup_credential_email(uow: SqlUnitOfWork, s: Seeded) -> None:
    other = r.identity(s.a.user, s.a.conn)
    await uow.identities.add(other)
    await uow.credentials.add(r.credential(s.a.primary, email="same@example.com"))
    await uow.credentials.add(r.credential(other, email="same@example.com"))


async def _dup_refresh_hash(uow: SqlUnitOfWork, s: Seeded) -> None:
    tok = r.refresh_token(s.a.user)
    await uow.refresh_tokens.add(tok)
    await uow.refresh_tokens.add(replace(r.refresh_token(s.a.user), token_hash=tok.token_hash))


async def _dup_ticket_hash(uow: SqlUnitOfWork, s: Seeded) -> None:
    tkt = r.ticket(s.a.primary)
    await uow.password_tickets.add(tkt)
    await uow.password_tickets.add(replace(r.ticket(s.a.primary), ticket_hash=tkt.ticket_hash))


async def _dup_log_id(uow: SqlUnitOfWork, s: Seeded) -> None:
    e = r.log_event(s.a.tenant.id)
    await uow.logs.add(e)
    await uow.logs.add(replace(r.log_event(s.a.tenant.id), log_id=e.log_id))


@pytest.mark.parametrize(
    "dup",
    [
        _dup_user_id,
        _dup_tenant_name,
        _dup_connection_name,
        _dup_client_id,
        _dup_api_identifier,
        _dup_client_grant,
        _dup_kid,
        _dup_credential_email,
        _dup_refresh_hash,
        _dup_ticket_hash,
        _dup_log_id,
    ],
    ids=lambda f: f.__name__.removeprefix("_dup_"),
)
async def test_unique_keys_are_conflicts(
    dup: Dup, uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    with pytest.raises(Conflict):
        async with uows() as uow:
            await dup(uow, seeded)
            await uow.commit()


async def test_retired_user_id_cannot_be_retired_twice(
    seeded: Seeded, engine: AsyncEngine, uows: SqlUnitOfWorkFactory
) -> None:
    row = {"tenant_id": seeded.a.tenant.id, "user_id": "auth0|gone", "retired_at": r.at(0)}
    async with engine.begin() as conn:
        await conn.execute(t.retired_user_ids.insert().values(row))
    # Through the unit of work, so the IntegrityError is mapped like any other.
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow._conn.execute(t.retired_user_ids.insert().values(row))  # type: ignore[union-attr]
            await uow.commit()


# -------------------------------------------------------------------------------- all or nothing


class Boom(Exception):
    pass


async def test_exception_after_two_inserts_leaves_no_rows(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a = seeded.a
    newcomer = r.user(a.tenant.id)
    with pytest.raises(Boom):  # not a database error: it passes through untranslated
        async with uows() as uow:
            await uow.users.add(newcomer)
            await uow.identities.add(r.identity(newcomer, a.conn, is_primary=True))
            await uow.logs.add(r.log_event(a.tenant.id, user_id=newcomer.user_id))
            raise Boom
    assert await count(engine, t.users, t.users.c.pk == newcomer.pk) == 0
    assert await count(engine, t.identities, t.identities.c.user_pk == newcomer.pk) == 0
    assert await count(engine, t.log_events) == 0


async def test_leaving_without_commit_writes_nothing(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    newcomer = r.user(seeded.a.tenant.id)
    async with uows() as uow:
        await uow.users.add(newcomer)
        await uow.users.record_login(seeded.a.tenant.id, seeded.a.user.pk, r.at(5000), "x")
    assert await count(engine, t.users, t.users.c.pk == newcomer.pk) == 0
    async with uows() as uow:
        kept = await uow.users.by_pk(seeded.a.tenant.id, seeded.a.user.pk)
    assert kept is not None and kept.logins_count == seeded.a.user.logins_count


async def test_rollback_discards_and_the_unit_of_work_goes_on(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    discarded, kept = r.log_event(seeded.a.tenant.id), r.log_event(seeded.a.tenant.id)
    async with uows() as uow:
        await uow.logs.add(discarded)
        await uow.rollback()
        await uow.logs.add(kept)
        await uow.commit()
    async with uows() as uow:
        assert await uow.logs.list(seeded.a.tenant.id) == [kept]


async def test_committed_work_survives_a_later_failure(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    first, second = r.log_event(seeded.a.tenant.id, date=1), r.log_event(seeded.a.tenant.id)
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.logs.add(first)
            await uow.commit()
            await uow.logs.add(second)
            await uow.logs.add(replace(r.log_event(seeded.a.tenant.id), log_id=second.log_id))
            await uow.commit()
    logs = t.log_events.c.log_id
    assert await count(engine, t.log_events, logs == first.log_id) == 1
    assert await count(engine, t.log_events, logs == second.log_id) == 0


async def test_failed_link_leaves_neither_identity_nor_log_event(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """Invariant 4: a link and its log event commit together or not at all."""
    a, b = seeded.a, seeded.b
    # The log event is written first; the link itself then breaks the (connection, subject) key.
    log = r.log_event(a.tenant.id, user_id=a.user.user_id)
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.logs.add(log)
            await uow.identities.add(r.identity(a.user, a.conn, subject=a.primary.subject))
            await uow.commit()
    assert await count(engine, t.log_events, t.log_events.c.log_id == log.log_id) == 0
    assert await _identity_ids(engine) == {a.primary.id, b.primary.id}


async def _identity_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.scalars(sa.select(t.identities.c.id))).all())
