"""Reading log events (``GET /api/v2/logs``, ``/logs/{id}``, ``/users/{id}/logs``)."""

from __future__ import annotations

from tether.domain.errors import NotFound
from tether.domain.log_filter import LogFilter
from tether.domain.models import LogEvent
from tether.domain.ports import UnitOfWorkFactory


class LogService:
    def __init__(self, uow: UnitOfWorkFactory):
        self._uow = uow

    async def page(
        self, tenant_id: str, flt: LogFilter, *, offset: int, limit: int
    ) -> tuple[list[LogEvent], int]:
        async with self._uow() as uow:
            return await uow.logs.search(tenant_id, flt, offset=offset, limit=limit)

    async def after(
        self, tenant_id: str, flt: LogFilter, *, from_id: str | None, take: int
    ) -> list[LogEvent]:
        """Checkpoint paging: events after ``from_id`` in log order, oldest first."""
        async with self._uow() as uow:
            return await uow.logs.after(tenant_id, flt, from_id=from_id, take=take)

    async def get(self, tenant_id: str, log_id: str) -> LogEvent:
        async with self._uow() as uow:
            event = await uow.logs.get(tenant_id, log_id)
        if event is None:
            raise NotFound("Log event not found.", code="inexistent_log")
        return event
