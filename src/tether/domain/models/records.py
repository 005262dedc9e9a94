"""Records: an Auth0 log event and a mail of the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tether.domain.models.base import JSON


@dataclass
class LogEvent:
    log_id: str
    tenant_id: str
    date: datetime
    type: str
    description: str = ""
    client_id: str | None = None
    client_name: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    connection: str | None = None
    connection_id: str | None = None
    strategy: str | None = None
    details: JSON = field(default_factory=dict)


@dataclass
class Mail:
    id: str
    tenant_id: str
    to: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
