"""Plain records of the dashboard and the Linked accounts page (storage maps rows to these).

Kept apart from the services (domain/admins.py, domain/account/) so ports/ can name them
without importing the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Admin:
    """A user who may use the dashboard of its tenant."""

    tenant_id: str
    user_pk: str
    created_at: datetime


@dataclass
class AccountFlow:
    """A sign-in the dashboard or the account page started through /authorize. ``id`` is the
    SHA-256 of the ``state`` sent."""

    id: str
    tenant_id: str
    client_id: str
    purpose: str
    code_verifier: str
    nonce: str
    return_to: str
    created_at: datetime
    expires_at: datetime
    user_pk: str | None = None
    session_id: str | None = None
    used_at: datetime | None = None
