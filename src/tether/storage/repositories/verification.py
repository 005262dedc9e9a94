"""Email verification tickets (port VerificationTicketRepo, domain/verification.py).

A ticket is spent by one conditional ``UPDATE ... WHERE used_at IS NULL``: of two requests that
use the same link at once, exactly one sees a row changed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.domain.models import VerificationTicket
from tether.storage import tables as t
from tether.storage.repositories.base import to_record, to_values

_T = t.verification_tickets
_C = _T.c


class VerificationTickets:
    def __init__(self, conn: AsyncConnection):
        self._c = conn

    async def add(self, ticket: VerificationTicket) -> None:
        await self._c.execute(_T.insert(), to_values(ticket, _T))

    async def by_hash(self, tenant_id: str, ticket_hash: str) -> VerificationTicket | None:
        row = (
            await self._c.execute(
                sa.select(_T).where(_C.tenant_id == tenant_id, _C.ticket_hash == ticket_hash)
            )
        ).first()
        return to_record(VerificationTicket, row) if row else None

    async def mark_used(self, ticket_id: str, at: datetime) -> bool:
        result = await self._c.execute(
            _T.update().where(_C.id == ticket_id, _C.used_at.is_(None)).values(used_at=at)
        )
        return result.rowcount == 1

    async def spend_for_user(self, tenant_id: str, user_pk: str, at: datetime) -> int:
        result = await self._c.execute(
            _T.update()
            .where(_C.tenant_id == tenant_id, _C.user_pk == user_pk, _C.used_at.is_(None))
            .values(used_at=at)
        )
        return int(result.rowcount)
