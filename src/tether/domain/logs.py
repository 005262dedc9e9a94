"""Reading log events (``GET /api/v2/logs``, ``/logs/{id}``, ``/users/{id}/logs``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tether.domain.errors import NotFound
from tether.domain.models import LogEvent

if TYPE_CHECKING:  # ports.py names LogFilter in its signatures
    from tether.domain.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class LogFilter:
    """Equality filters and a date window; every field optional."""

    types: tuple[str, ...] = ()
    user_id: str | None = None
    client_id: str | None = None
    connection: str | None = None
    ip: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    descending: bool = True


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
