"""A tenant and its configuration: signing keys, applications, APIs (resource servers), client
grants, connections."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tether.domain.models.base import JSON


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
