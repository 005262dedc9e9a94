"""What a log query asks for (``GET /api/v2/logs``): the port (ports/repositories.py) and the
service (logs.py) both name it, so it lives apart from either."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
