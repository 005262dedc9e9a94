"""Tenant logs (port Logs)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tether.domain.log_filter import LogFilter
from tether.domain.models import LogEvent
from tether.storage import tables as t
from tether.storage.repositories.base import Repository, threaded, to_record, to_values

#: Built once: a statement built per call costs SQLAlchemy more than the INSERT itself.
_INSERT = t.log_events.insert()


class Logs(Repository):
    async def add(self, event: LogEvent) -> None:
        await self._c.execute(_INSERT, to_values(event, t.log_events))

    async def add_many(self, events: Sequence[LogEvent]) -> None:
        """One executemany for a group commit's batch (domain/event_writer.py)."""
        if events:
            await self._c.execute(_INSERT, [to_values(event, t.log_events) for event in events])

    async def get(self, tenant_id: str, log_id: str) -> LogEvent | None:
        row = (
            await self._c.execute(
                sa.select(t.log_events).where(
                    t.log_events.c.tenant_id == tenant_id, t.log_events.c.log_id == log_id
                )
            )
        ).first()
        return to_record(LogEvent, row) if row else None

    @staticmethod
    def _where(tenant_id: str, flt: LogFilter) -> builtins.list[Any]:
        c = t.log_events.c
        where: builtins.list[Any] = [c.tenant_id == tenant_id]
        if flt.types:
            where.append(c.type.in_(flt.types))
        for column, value in (
            (c.user_id, flt.user_id),
            (c.client_id, flt.client_id),
            (c.connection, flt.connection),
            (c.ip, flt.ip),
        ):
            if value is not None:
                where.append(column == value)
        if flt.date_from is not None:
            where.append(c.date >= flt.date_from)
        if flt.date_to is not None:
            where.append(c.date <= flt.date_to)
        return where

    async def search(
        self, tenant_id: str, flt: LogFilter, *, offset: int, limit: int
    ) -> tuple[builtins.list[LogEvent], int]:
        where = self._where(tenant_id, flt)
        total = await self._c.scalar(
            threaded(sa.select(sa.func.count()).select_from(t.log_events).where(*where))
        )
        c = t.log_events.c
        order = [c.date.desc(), c.log_id.desc()] if flt.descending else [c.date, c.log_id]
        rows = await self._c.execute(
            threaded(
                sa.select(t.log_events).where(*where).order_by(*order).offset(offset).limit(limit)
            )
        )
        return [to_record(LogEvent, r) for r in rows], int(total or 0)

    async def after(
        self, tenant_id: str, flt: LogFilter, *, from_id: str | None, take: int
    ) -> builtins.list[LogEvent]:
        c = t.log_events.c
        where = self._where(tenant_id, flt)
        if from_id:
            anchor = (
                await self._c.execute(
                    sa.select(c.date, c.log_id).where(c.tenant_id == tenant_id, c.log_id == from_id)
                )
            ).first()
            if anchor is not None:
                where.append(
                    sa.or_(
                        c.date > anchor.date,
                        sa.and_(c.date == anchor.date, c.log_id > anchor.log_id),
                    )
                )
        rows = await self._c.execute(
            sa.select(t.log_events).where(*where).order_by(c.date, c.log_id).limit(take)
        )
        return [to_record(LogEvent, r) for r in rows]

    async def list(
        self, tenant_id: str, *, user_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[LogEvent]:
        q = sa.select(t.log_events).where(t.log_events.c.tenant_id == tenant_id)
        if user_id is not None:
            q = q.where(t.log_events.c.user_id == user_id)
        rows = await self._c.execute(
            q.order_by(t.log_events.c.date.desc(), t.log_events.c.log_id)
            .offset(offset)
            .limit(limit)
        )
        return [to_record(LogEvent, r) for r in rows]
