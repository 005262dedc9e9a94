"""Concurrent units of work, and the mapping of a busy or unreachable database to Unavailable.

Invariant 5: of concurrent attempts to link the same identity, exactly one succeeds and the
others get Conflict. On PostgreSQL the loser blocks on the unique index until the winner
commits; on SQLite BEGIN IMMEDIATE serialises the two. Either way the loser must see Conflict,
never Unavailable and never a second row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import backend
from tests.storage import records as r
from tests.storage.support import Seeded, count
from tether.domain.errors import Conflict, Unavailable
from tether.domain.models import LogEvent, User
from tether.storage import tables as t
from tether.storage.db import create_engine
from tether.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

#: About SQLite's single write lock: not collected on PostgreSQL (tests/conftest.py), whose
#: locking the other tests here cover.
sqlite_only = pytest.mark.sqlite_only


def _outcomes(results: list[object]) -> tuple[int, int]:
    """(successes, conflicts); anything else fails the test with the exception itself."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, Conflict):
            raise result
    return (
        sum(result is None for result in results),
        sum(isinstance(result, Conflict) for result in results),
    )


async def _two_users(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> tuple[User, User]:
    a = seeded.a
    first, second = r.user(a.tenant.id), r.user(a.tenant.id)
    async with uows() as uow:
        for u in (first, second):
            await uow.users.add(u)
            await uow.identities.add(r.identity(u, a.conn, is_primary=True))
        await uow.commit()
    return first, second


async def test_racing_links_of_one_identity_one_wins_one_conflicts(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a = seeded.a
    github = r.connection(a.tenant.id, name="github", strategy="github")
    async with uows() as uow:
        await uow.connections.add(github)
        await uow.commit()
    first, second = await _two_users(uows, seeded)

    for round_ in range(4):
        subject = f"gh-{round_}"

        async def link(u: User, subject: str = subject) -> None:
            async with uows() as uow:
                await uow.identities.add(r.identity(u, github, subject=subject))
                await uow.logs.add(r.log_event(a.tenant.id, user_id=u.user_id))
                await uow.commit()

        results = await asyncio.gather(link(first), link(second), return_exceptions=True)
        assert _outcomes(results) == (1, 1), results
        assert await count(engine, t.identities, t.identities.c.subject == subject) == 1
    # Every winner logged its link; no loser left a log event behind.
    assert await count(engine, t.log_events) == 4


async def test_loser_waits_for_the_winner_then_conflicts(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """The loser starts while the winner's insert is written but not committed."""
    a = seeded.a
    first, second = await _two_users(uows, seeded)
    written = asyncio.Event()

    async def winner() -> None:
        async with uows() as uow:
            await uow.identities.add(r.identity(first, a.conn, subject="contested"))
            written.set()
            await asyncio.sleep(0.3)  # the loser is now blocked on the row or the lock
            await uow.commit()

    async def loser() -> None:
        await written.wait()
        async with uows() as uow:
            await uow.identities.add(r.identity(second, a.conn, subject="contested"))
            await uow.commit()

    results = await asyncio.gather(winner(), loser(), return_exceptions=True)
    assert results[0] is None
    assert isinstance(results[1], Conflict), results
    found = await _owner_of(uows, seeded, "contested")
    assert found == first.pk


async def test_if_the_first_rolls_back_the_second_commits(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a = seeded.a
    first, second = await _two_users(uows, seeded)
    written = asyncio.Event()

    async def abandons() -> None:
        async with uows() as uow:
            await uow.identities.add(r.identity(first, a.conn, subject="released"))
            written.set()
            await asyncio.sleep(0.3)
            await uow.rollback()

    async def takes() -> None:
        await written.wait()
        async with uows() as uow:
            await uow.identities.add(r.identity(second, a.conn, subject="released"))
            await uow.commit()

    results = await asyncio.gather(abandons(), takes(), return_exceptions=True)
    assert results == [None, None]
    assert await _owner_of(uows, seeded, "released") == second.pk


async def test_racing_sign_ups_leave_one_user(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """Two sign-ups for one upstream account: one user, one identity, no orphan user row."""
    a = seeded.a

    async def sign_up() -> None:
        u = r.user(a.tenant.id, user_id="auth0|same-subject")
        u.pk = r.uid("usr_")
        async with uows() as uow:
            await uow.users.add(u)
            await uow.identities.add(r.identity(u, a.conn, subject="same-subject", is_primary=True))
            await uow.commit()

    results = await asyncio.gather(*(sign_up() for _ in range(3)), return_exceptions=True)
    assert _outcomes(results) == (1, 2), results
    assert await count(engine, t.users, t.users.c.user_id == "auth0|same-subject") == 1
    assert await count(engine, t.identities, t.identities.c.subject == "same-subject") == 1


async def test_racing_refresh_token_rotations_one_wins(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    token = r.refresh_token(seeded.a.user)
    async with uows() as uow:
        await uow.refresh_tokens.add(token)
        await uow.commit()
    marked = asyncio.Event()

    async def rotate(replacement: str, *, first: bool) -> bool:
        if not first:
            await marked.wait()
        async with uows() as uow:
            won = await uow.refresh_tokens.mark_used(token.id, r.at(100), replacement)
            if first:
                marked.set()
                await asyncio.sleep(0.3)
            await uow.commit()
            return won

    results = await asyncio.gather(rotate("rt_one", first=True), rotate("rt_two", first=False))
    assert results == [True, False]
    async with uows() as uow:
        got = await uow.refresh_tokens.by_hash(token.tenant_id, token.token_hash)
    assert got is not None and got.replaced_by == "rt_one"


async def test_racing_ticket_redemptions_one_wins(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    tkt = r.ticket(seeded.a.primary)
    async with uows() as uow:
        await uow.password_tickets.add(tkt)
        await uow.commit()

    async def redeem() -> bool:
        async with uows() as uow:
            won = await uow.password_tickets.mark_used(tkt.id, r.at(1))
            await uow.commit()
            return won

    results = await asyncio.gather(*(redeem() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]


async def _owner_of(uows: SqlUnitOfWorkFactory, seeded: Seeded, subject: str) -> str | None:
    async with uows() as uow:
        found = await uow.identities.find(seeded.a.tenant.id, seeded.a.conn.id, subject)
    return found.user_pk if found else None


# ------------------------------------------------------------------------------------ Unavailable


async def _assert_unavailable_quickly(
    enter: Callable[[], Awaitable[object]], *, within: float
) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        await asyncio.wait_for(enter(), timeout=within + 5)
    assert time.monotonic() - started < within
    assert caught.value.code == "temporarily_unavailable"


async def test_unreachable_postgresql_is_unavailable() -> None:
    """Nothing listens on port 1: the factory's unit of work fails fast with Unavailable."""
    dead = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    factory = SqlUnitOfWorkFactory(dead)

    async def enter() -> None:
        async with factory() as uow:
            await uow.tenants.list()

    try:
        await _assert_unavailable_quickly(enter, within=3)
        await _assert_unavailable_quickly(enter, within=3)  # and again: nothing is stuck
        assert dead.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await dead.dispose()


def _sqlite_url(engine: AsyncEngine) -> str:
    database = engine.url.database
    assert database and Path(database).exists()
    return f"sqlite+aiosqlite:///{database}"


@sqlite_only
async def test_sqlite_writer_locked_out_is_unavailable_not_hung(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    impatient = create_engine(_sqlite_url(engine), busy_timeout_ms=200)
    factory = SqlUnitOfWorkFactory(impatient)

    async def enter() -> None:
        async with factory() as uow:
            await uow.logs.add(r.log_event(seeded.a.tenant.id))
            await uow.commit()

    try:
        async with uows() as holder:  # BEGIN IMMEDIATE: holds the write lock until it leaves
            await holder.logs.add(r.log_event(seeded.a.tenant.id))
            await _assert_unavailable_quickly(enter, within=2)
            await _assert_unavailable_quickly(enter, within=2)
            # The failed attempts gave their connections back to the pool.
            assert impatient.pool.checkedout() == 0  # type: ignore[attr-defined]
            await holder.commit()
        # Once the lock is free the same engine works again.
        await enter()
        assert await count(engine, t.log_events) == 2
    finally:
        await impatient.dispose()


@sqlite_only
async def test_sqlite_lock_shorter_than_busy_timeout_is_waited_out(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """The busy timeout is a wait, not a fail-fast: a brief lock costs latency, not an error."""
    patient = create_engine(_sqlite_url(engine), busy_timeout_ms=3000)
    locked = asyncio.Event()

    async def hold() -> None:
        async with uows() as uow:
            await uow.logs.add(r.log_event(seeded.a.tenant.id))
            locked.set()
            await asyncio.sleep(0.3)
            await uow.commit()

    async def write() -> None:
        await locked.wait()
        async with SqlUnitOfWork(patient) as uow:
            await uow.logs.add(r.log_event(seeded.a.tenant.id))
            await uow.commit()

    try:
        await asyncio.gather(hold(), write())
        assert await count(engine, t.log_events) == 2
    finally:
        await patient.dispose()


async def test_racing_code_redemptions_one_wins(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    c = r.code(seeded.a.user)
    async with uows() as uow:
        await uow.codes.add(c)
        await uow.commit()

    async def redeem(n: int) -> bool:
        async with uows() as uow:
            won = await uow.codes.redeem(c.id, r.at(n), f"rtf_{n}")
            await uow.commit()
            return won

    results = await asyncio.gather(*(redeem(n) for n in range(4)))
    assert sorted(results) == [False, False, False, True]
    async with uows() as uow:
        got = await uow.codes.by_hash(c.tenant_id, c.code_hash)
    assert got is not None and got.refresh_family_id == f"rtf_{results.index(True)}"


async def test_racing_consent_saves_both_succeed(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    """Two tabs accept the same consent screen: saving is an upsert, neither gets a Conflict."""
    u = seeded.a.user
    saved = asyncio.Event()

    async def save(scope: list[str], *, first: bool) -> None:
        if not first:
            await saved.wait()
        async with uows() as uow:
            await uow.consents.save(r.consent(u, scope=scope))
            if first:
                saved.set()
                await asyncio.sleep(0.3)
            await uow.commit()

    results = await asyncio.gather(
        save(["openid"], first=True),
        save(["openid", "email"], first=False),
        return_exceptions=True,
    )
    assert results == [None, None]
    async with uows() as uow:
        got = await uow.consents.get(u.tenant_id, u.pk, "client-a")
    assert got is not None and got.scope == ["openid", "email"]


async def test_a_committed_unit_of_work_holds_no_write_lock(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """After commit() the unit of work may stay open (a response to build, an error to raise):
    it must not keep other writers waiting, and its next statement still runs in a transaction.
    On SQLite a transaction re-begun at once would hold BEGIN IMMEDIATE's write lock."""
    tid = seeded.a.tenant.id
    other = (
        create_engine(_sqlite_url(engine), busy_timeout_ms=200) if backend() == "sqlite" else engine
    )
    try:
        async with uows() as first:
            await first.logs.add(r.log_event(tid, date=1))
            await first.commit()
            async with SqlUnitOfWork(other) as second:
                await second.logs.add(r.log_event(tid, date=2))
                await second.commit()
            # The first goes on, transactionally: this write is rolled back with it.
            await first.logs.add(r.log_event(tid, date=3))
            await first.rollback()
            await first.logs.add(r.log_event(tid, date=4))
        assert [e.date for e in await _logs(uows, tid)] == [r.at(2), r.at(1)]
    finally:
        if other is not engine:
            await other.dispose()


async def _logs(uows: SqlUnitOfWorkFactory, tenant_id: str) -> list[LogEvent]:
    async with uows() as uow:
        return await uow.logs.list(tenant_id)
