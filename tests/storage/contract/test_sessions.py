"""Repository contract: sessions, parked login transactions and consents.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.storage.uow import SqlUnitOfWorkFactory

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
