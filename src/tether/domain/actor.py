"""Who made a change, for the log: the Management API's client, a dashboard admin, the CLI.

Its own module so that every service taking an actor (applications, connections, users, admins)
can name it without importing another service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.models import Connection, User
from tether.domain.ports import UnitOfWork


@dataclass(frozen=True)
class Actor:
    """Who is calling, for the log: a machine (client id) or a user (user id)."""

    client_id: str | None
    user_id: str | None = None
    request: RequestInfo = NO_REQUEST

    @property
    def who(self) -> str | None:
        """The log's ``actor``: the person if one acted, else the machine."""
        return self.user_id or self.client_id


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


async def record_change(
    audit: Audit,
    uow: UnitOfWork,
    tenant_id: str,
    actor: Actor,
    description: str,
    details: dict[str, Any],
    *,
    user: User | None = None,
    connection: Connection | None = None,
    type_: LogType = LogType.SUCCESS_API_OPERATION,
) -> None:
    """The log event of a change ``actor`` made (Auth0's ``sapi`` unless ``type_`` says
    otherwise), added to ``uow``: it commits with the change."""
    await audit.record(
        uow,
        tenant_id,
        type_,
        actor.request,
        description=description,
        client_id=actor.client_id,
        user=user,
        connection=connection,
        details=details,
    )
