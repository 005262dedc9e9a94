"""Repository contract: refresh tokens, password tickets and authorization codes.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.storage.uow import SqlUnitOfWorkFactory

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
