"""Sign-in state: refresh tokens, sessions, login transactions, authorization and passwordless
codes, consents, upstream flows, login tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tether.domain.models.base import JSON


@dataclass
class RefreshToken:
    id: str
    tenant_id: str
    family_id: str
    token_hash: str
    client_id: str
    user_pk: str
    audience: str | None
    scope: list[str]
    created_at: datetime
    expires_at: datetime
    auth_time: datetime | None = None
    session_id: str | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    replaced_by: str | None = None


@dataclass
class Session:
    """A browser's single sign-on session. ``id`` is public (the ``sid`` claim); the cookie holds
    a separate secret stored only as ``token_hash``."""

    id: str
    tenant_id: str
    token_hash: str
    user_pk: str
    created_at: datetime
    auth_time: datetime
    last_seen_at: datetime
    expires_at: datetime
    idle_expires_at: datetime
    revoked_at: datetime | None = None
    amr: list[str] = field(default_factory=list)


@dataclass
class LoginTransaction:
    """An /authorize request parked while the person signs in (Auth0's ``state`` on /u/login)."""

    id: str
    tenant_id: str
    client_id: str
    request: JSON
    created_at: datetime
    expires_at: datetime
    user_pk: str | None = None
    auth_time: datetime | None = None
    session_id: str | None = None
    completed_at: datetime | None = None


@dataclass
class AuthorizationCode:
    id: str
    tenant_id: str
    code_hash: str
    client_id: str
    redirect_uri: str
    user_pk: str
    scope: list[str]
    audience: str | None
    nonce: str | None
    code_challenge: str | None
    auth_time: datetime
    session_id: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    refresh_family_id: str | None = None


@dataclass
class Consent:
    tenant_id: str
    user_pk: str
    client_id: str
    scope: list[str]
    granted_at: datetime


@dataclass
class PasswordlessCode:
    """A one-time sign-in code sent by mail; only its keyed MAC is stored."""

    id: str
    tenant_id: str
    connection_id: str
    client_id: str
    email: str
    code_mac: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None


@dataclass
class UpstreamFlow:
    """A trip to an upstream provider: ``id`` is the ``state`` sent there."""

    id: str
    tenant_id: str
    tx_id: str
    connection_id: str
    nonce: str
    code_verifier: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass
class LoginTicket:
    """A cross-origin sign-in to redeem once at /authorize (``id``: SHA-256 of the ticket)."""

    id: str
    tenant_id: str
    client_id: str
    user_pk: str
    realm: str
    origin: str
    co_id: str
    verifier_hash: str
    amr: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
