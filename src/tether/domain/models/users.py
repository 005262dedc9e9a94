"""A user, its identities and what hangs on them: password credentials, reset and verification
tickets, login blocks; Auth0's date format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tether.domain.models.base import JSON


@dataclass
class Identity:
    """One way a person signs in: (connection, subject) with what the provider said of them."""

    id: str
    tenant_id: str
    user_pk: str
    connection_id: str
    connection_name: str
    provider: str
    subject: str
    is_primary: bool
    is_social: bool
    profile_data: JSON = field(default_factory=dict)
    linked_at: datetime | None = None
    link_reason: JSON | None = None
    #: While linked as a secondary: the user it was (profile, metadata), to give back on unlink.
    detached: JSON | None = None
    #: Linked while its user's email was unverified: detached when the mailbox owner proves
    #: that address (``MailboxProof``). Always false on a primary identity.
    linked_unverified: bool = False

    @property
    def user_id(self) -> str:
        return f"{self.provider}|{self.subject}"


@dataclass
class User:
    pk: str
    tenant_id: str
    user_id: str
    email: str | None
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    user_metadata: JSON = field(default_factory=dict)
    app_metadata: JSON = field(default_factory=dict)
    blocked: bool = False
    last_login: datetime | None = None
    logins_count: int = 0
    last_ip: str | None = None
    #: User tokens issued (``iat``) before this instant are refused (domain/access.py).
    tokens_valid_after: datetime | None = None
    identities: list[Identity] = field(default_factory=list)

    def profile_claims(self) -> JSON:
        """The OIDC standard claims of this user (OIDC Core §5.1)."""
        return {
            "name": self.name or self.email,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "nickname": self.nickname,
            "picture": self.picture,
            "email": self.email,
            "email_verified": self.email_verified if self.email else None,
            "updated_at": _iso(self.updated_at),
        }


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso8601(value: datetime | None) -> str | None:
    """Auth0's date format: ISO-8601 UTC with milliseconds and ``Z``."""
    return None if value is None else _iso(value)


@dataclass
class PasswordCredential:
    identity_id: str
    tenant_id: str
    connection_id: str
    email: str
    password_hash: str
    updated_at: datetime


@dataclass
class PasswordTicket:
    id: str
    tenant_id: str
    ticket_hash: str
    user_pk: str
    identity_id: str
    expires_at: datetime
    used_at: datetime | None = None


@dataclass
class VerificationTicket:
    """A single-use email verification link (Auth0's email verification ticket): it verifies
    ``email`` for the user only while that is still the user's address."""

    id: str
    tenant_id: str
    ticket_hash: str
    user_pk: str
    email: str
    expires_at: datetime
    created_at: datetime
    result_url: str | None = None
    include_email: bool = False
    used_at: datetime | None = None


@dataclass
class LoginBlock:
    """Consecutive failed sign-ins for one identifier from one IP on one connection; a block
    once ``failures`` reached the tenant's limit and ``blocked_until`` is still ahead."""

    tenant_id: str
    connection: str
    identifier: str
    ip: str
    failures: int
    updated_at: datetime
    blocked_until: datetime | None = None
    blocked_at: datetime | None = None
    unblock_hash: str | None = None
