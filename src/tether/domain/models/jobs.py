"""Jobs and their failed rows (Auth0 Management API v2, "Jobs": the job object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tether.domain.models import Identity, PasswordCredential, User


class JobType(StrEnum):
    USERS_IMPORT = "users_import"
    USERS_EXPORT = "users_export"
    #: POST /jobs/verification-email: done when it answers (the mail is in the outbox).
    VERIFICATION_EMAIL = "verification_email"


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED)


@dataclass
class Job:
    id: str
    tenant_id: str
    type: str
    status: str
    created_at: datetime
    updated_at: datetime
    connection_id: str | None = None
    external_id: str | None = None
    upsert: bool = False
    send_completion_email: bool = False
    format: str | None = None
    limit: int | None = None
    fields: list[dict[str, str]] | None = None
    total: int = 0
    cursor: int = 0
    inserted: int = 0
    updated: int = 0
    failed: int = 0
    status_details: str | None = None
    location_expires_at: datetime | None = None
    lease_until: datetime | None = None
    #: set by the runner while it works; not stored
    started_at: datetime | None = field(default=None, compare=False)
    #: the connection's name, which Auth0's job object shows as ``connection``; not stored
    connection_name: str | None = field(default=None, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class RowError:
    """One problem with one imported row: Auth0's code, a message, the field (``path``)."""

    code: str
    message: str
    path: str = ""

    def view(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "path": self.path}


@dataclass
class JobError:
    """A failed row of an import: the row as sent (hash values redacted) and its errors."""

    position: int
    user: dict[str, Any]
    errors: list[dict[str, str]]


@dataclass
class NewUserRows:
    """The rows an import writes for one new user: inserted together or not at all."""

    user: User
    identity: Identity
    credential: PasswordCredential


@dataclass
class UserUpdate:
    """An upsert of an existing user: the columns to replace, and maybe its password hash."""

    user_pk: str
    identity_id: str
    values: dict[str, Any]
    password_hash: str | None = None
    blocks: bool = False
