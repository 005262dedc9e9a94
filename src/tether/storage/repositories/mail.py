"""The mail outbox (port Outbox)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tether.domain.models import Mail
from tether.storage import tables as t
from tether.storage.repositories.base import Repository, to_record, to_values

_INSERT = t.mail_outbox.insert()


class Outbox(Repository):
    async def add(self, mail: Mail) -> None:
        values = to_values(mail, t.mail_outbox, to="recipient")
        await self._c.execute(t.mail_outbox.insert(), values)

    async def add_all(self, mails: builtins.list[Mail]) -> None:
        # One statement for them all (the driver's executemany), the INSERT built once.
        rows = [to_values(mail, t.mail_outbox, to="recipient") for mail in mails]
        await self._c.execute(_INSERT, rows)

    @staticmethod
    def _mail(row: Any) -> Mail:
        return to_record(Mail, row, to=row.recipient)

    async def list(self, tenant_id: str | None, *, limit: int = 50) -> builtins.list[Mail]:
        q = sa.select(t.mail_outbox)
        if tenant_id is not None:
            q = q.where(t.mail_outbox.c.tenant_id == tenant_id)
        rows = await self._c.execute(q.order_by(t.mail_outbox.c.created_at.desc()).limit(limit))
        return [self._mail(r) for r in rows]

    async def pending(self, limit: int = 20) -> builtins.list[Mail]:
        rows = await self._c.execute(
            sa.select(t.mail_outbox)
            .where(t.mail_outbox.c.sent_at.is_(None), t.mail_outbox.c.attempts < 5)
            .order_by(t.mail_outbox.c.created_at)
            .limit(limit)
        )
        return [self._mail(r) for r in rows]

    async def mark_sent(self, mail_id: str, at: datetime) -> None:
        await self._c.execute(
            t.mail_outbox.update()
            .where(t.mail_outbox.c.id == mail_id)
            .values(sent_at=at, attempts=t.mail_outbox.c.attempts + 1, last_error=None)
        )

    async def mark_failed(self, mail_id: str, error: str) -> None:
        await self._c.execute(
            t.mail_outbox.update()
            .where(t.mail_outbox.c.id == mail_id)
            .values(attempts=t.mail_outbox.c.attempts + 1, last_error=error[:500])
        )
