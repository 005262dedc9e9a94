"""Reading log events (``GET /api/v2/logs``, ``/logs/{id}``, ``/users/{id}/logs``)."""

from __future__ import annotations

from typing import Any

from tether.domain.audit import Audit, LogType, RequestInfo
from tether.domain.errors import NotFound
from tether.domain.log_filter import LogFilter
from tether.domain.models import LogEvent
from tether.domain.ports import UnitOfWorkFactory


class LogService:
    def __init__(self, uow: UnitOfWorkFactory, audit: Audit):
        self._uow = uow
        self._audit = audit

    async def record(
        self,
        tenant_id: str,
        type_: LogType,
        request: RequestInfo,
        *,
        description: str = "",
        client_id: str | None = None,
        user_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """One event that describes no change of its own (a failed Management API call), in
        its own transaction. Events of a change commit with that change instead."""
        async with self._uow() as uow:
            await self._audit.record(
                uow,
                tenant_id,
                type_,
                request,
                description=description,
                client_id=client_id,
                user_id=user_id,
                details=details,
            )
            await uow.commit()

    async def page(
        self, tenant_id: str, flt: LogFilter, *, offset: int, limit: int
    ) -> tuple[list[LogEvent], int]:
        async with self._uow(read_only=True) as uow:
            return await uow.logs.search(tenant_id, flt, offset=offset, limit=limit)

    async def after(
        self, tenant_id: str, flt: LogFilter, *, from_id: str | None, take: int
    ) -> list[LogEvent]:
        """Checkpoint paging: events after ``from_id`` in log order, oldest first."""
        async with self._uow(read_only=True) as uow:
            return await uow.logs.after(tenant_id, flt, from_id=from_id, take=take)

    async def get(self, tenant_id: str, log_id: str) -> LogEvent:
        async with self._uow(read_only=True) as uow:
            event = await uow.logs.get(tenant_id, log_id)
        if event is None:
            raise NotFound("Log event not found.", code="inexistent_log")
        return event
