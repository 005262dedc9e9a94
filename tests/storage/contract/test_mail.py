"""Repository contract: the mail outbox.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.storage import tables as t
from tether.storage.uow import SqlUnitOfWorkFactory

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


async def test_outbox_add_all_writes_every_mail(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    a = seeded.a.tenant.id
    mails = [r.mail(a, created=1, to="ann@example.com"), r.mail(a, created=2, to="bob@example.com")]
    async with uows() as uow:
        await uow.outbox.add_all(mails)
        await uow.commit()
    async with uows() as uow:
        assert await uow.outbox.list(a) == list(reversed(mails))
