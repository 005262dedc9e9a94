"""Shaping responses: ``fields``/``include_fields`` and the ``include_totals`` envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tether.domain.models import LogEvent, iso8601


def pick_fields(item: dict[str, Any], fields: str | None, include: bool) -> dict[str, Any]:
    if not fields:
        return item
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if include:
        return {k: v for k, v in item.items() if k in names}
    return {k: v for k, v in item.items() if k not in names}


def envelope(
    key: str, items: Sequence[Any], *, start: int, limit: int, total: int
) -> dict[str, Any]:
    return {"start": start, "limit": limit, "length": len(items), "total": total, key: list(items)}


def log_view(event: LogEvent) -> dict[str, Any]:
    view: dict[str, Any] = {
        "log_id": event.log_id,
        "date": iso8601(event.date),
        "type": event.type,
        "description": event.description or None,
        "client_id": event.client_id,
        "client_name": event.client_name,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "user_id": event.user_id,
        "user_name": event.user_name,
        "connection": event.connection,
        "connection_id": event.connection_id,
        "strategy": event.strategy,
        "details": event.details or None,
    }
    view["_id"] = event.log_id
    return {k: v for k, v in view.items() if v is not None}
