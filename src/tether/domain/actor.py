"""Who made a change, for the log: the Management API's client, a dashboard admin, the CLI.

Its own module so that every service taking an actor (applications, connections, users, admins)
can name it without importing another service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.domain.audit import NO_REQUEST, RequestInfo


@dataclass(frozen=True)
class Actor:
    """Who is calling, for the log: a machine (client id) or a user (user id)."""

    client_id: str | None
    user_id: str | None = None
    request: RequestInfo = NO_REQUEST


def operation_details(actor: Actor, event: str, **extra: Any) -> dict[str, Any]:
    """A change's log details: what happened (``event``, e.g. ``client_updated``), who did it,
    and, when a surface with routes made it, Auth0's ``request`` (method and path as that
    surface received them)."""
    details: dict[str, Any] = {"event": event}
    if actor.request.method and actor.request.path:
        details["request"] = {"method": actor.request.method, "path": actor.request.path}
    if actor.user_id:
        details["actor"] = actor.user_id
    details.update(extra)
    return details
