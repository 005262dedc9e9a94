"""Plain records the services work with. Storage maps rows to and from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

JSON = dict[str, Any]


@dataclass
class Tenant:
    id: str
    name: str
    public_url: str  # no trailing slash
    is_default: bool
    created_at: datetime
    settings: JSON = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        """OIDC issuer: the public URL with a trailing slash, as Auth0's SDKs expect."""
        return self.public_url + "/"

    @property
    def management_audience(self) -> str:
        return self.issuer + "api/v2/"

    @property
    def host(self) -> str:
        return self.public_url.split("://", 1)[-1].split("/", 1)[0].lower()


class KeyState(StrEnum):
    NEXT = "next"
    CURRENT = "current"
    PREVIOUS = "previous"
    RETIRED = "retired"


@dataclass
class SigningKey:
    id: str
    tenant_id: str
    kid: str
    state: KeyState
    encrypted_private_key: bytes
    public_jwk: JSON
    created_at: datetime
    rotated_at: datetime | None = None


class AppType(StrEnum):
    SPA = "spa"
    REGULAR_WEB = "regular_web"
    NATIVE = "native"
    NON_INTERACTIVE = "non_interactive"


@dataclass
class Application:
    id: str
    tenant_id: str
    client_id: str
    name: str
    app_type: AppType
    encrypted_secret: bytes | None
    token_endpoint_auth_method: str
    grant_types: list[str]
    callbacks: list[str] = field(default_factory=list)
    allowed_logout_urls: list[str] = field(default_factory=list)
    web_origins: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    is_first_party: bool = True
    created_at: datetime | None = None
    description: str = ""
    #: Auth0's "Allow Cross-Origin Authentication": embedded login (Lock, auth0-js
    #: ``login``) through POST /co/authenticate from the app's allowed origins.
    cross_origin_authentication: bool = False
    #: Auth0's ``cross_origin_loc``: the app page that answers the /co/verify fallback.
    cross_origin_loc: str | None = None

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


@dataclass
class Api:
    """A resource server: ``identifier`` is the ``aud`` of its access tokens."""

    id: str
    tenant_id: str
    name: str
    identifier: str
    scopes: list[dict[str, str]]
    token_lifetime: int = 86400
    allow_offline_access: bool = False
    is_system: bool = False
    created_at: datetime | None = None

    @property
    def scope_values(self) -> list[str]:
        return [s["value"] for s in self.scopes]


@dataclass
class ClientGrant:
    id: str
    tenant_id: str
    client_id: str
    audience: str
    scope: list[str]


@dataclass
class Connection:
    id: str
    tenant_id: str
    name: str
    strategy: str
    options: JSON
    enabled_clients: list[str]
    created_at: datetime | None = None

    @property
    def is_database(self) -> bool:
        return self.strategy == "auth0"


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
