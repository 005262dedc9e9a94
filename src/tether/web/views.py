"""Auth0's JSON shape of a log event (auth0-wire.md, Logs): what ``GET /api/v2/logs`` answers and
what the dashboard's log page shows as raw JSON, so the two never differ."""

from __future__ import annotations

from typing import Any

from tether.domain.models import LogEvent, iso8601


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
