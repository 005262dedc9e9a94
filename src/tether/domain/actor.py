"""Who made a change, for the log: the Management API's client, a dashboard admin, the CLI.

Its own module so that every service taking an actor (applications, connections, users, admins)
can name it without importing another service."""

from __future__ import annotations

from dataclasses import dataclass

from tether.domain.audit import NO_REQUEST, RequestInfo


@dataclass(frozen=True)
class Actor:
    """Who is calling, for the log: a machine (client id) or a user (user id)."""

    client_id: str | None
    user_id: str | None = None
    request: RequestInfo = NO_REQUEST
