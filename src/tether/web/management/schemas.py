"""The Management API's bodies, with Auth0's names: requests (unknown fields are refused, as
Auth0 refuses them, "Payload validation error") and responses, the Auth0 JSON shapes every
route's ``response_model`` names and FastAPI enforces (views.py ``ManagementRoute``). Response
fields are declared in the order Auth0 sends them, which is the order they are serialized in."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Str = Field(default=None, max_length=2048)
Name = Field(default=None, max_length=300)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateUser(_Body):
    connection: str = Field(min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    email_verified: bool | None = None
    verify_email: bool | None = None
    username: str | None = Field(default=None, max_length=128)
    phone_number: str | None = Field(default=None, max_length=32)
    phone_verified: bool | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    blocked: bool | None = None
    given_name: str | None = Name
    family_name: str | None = Name
    name: str | None = Name
    nickname: str | None = Name
    picture: str | None = Str
    user_id: str | None = Field(default=None, max_length=255)


class UpdateUser(_Body):
    connection: str | None = Field(default=None, max_length=128)
    client_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    email_verified: bool | None = None
    verify_email: bool | None = None
    username: str | None = Field(default=None, max_length=128)
    phone_number: str | None = Field(default=None, max_length=32)
    phone_verified: bool | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    blocked: bool | None = None
    given_name: str | None = Name
    family_name: str | None = Name
    name: str | None = Name
    nickname: str | None = Name
    picture: str | None = Str


class IdentityRef(_Body):
    """Auth0's ``identity`` in verification requests: which identity's address to verify."""

    user_id: str = Field(max_length=255)
    provider: str = Field(max_length=64)


class VerificationEmailJob(_Body):
    """``POST /jobs/verification-email``."""

    user_id: str = Field(min_length=1, max_length=320)
    client_id: str | None = Field(default=None, max_length=64)
    identity: IdentityRef | None = None
    organization_id: str | None = Field(default=None, max_length=64)


class EmailVerificationTicket(_Body):
    """``POST /tickets/email-verification``."""

    user_id: str = Field(min_length=1, max_length=320)
    result_url: str | None = Field(default=None, max_length=2048)
    client_id: str | None = Field(default=None, max_length=64)
    organization_id: str | None = Field(default=None, max_length=64)
    ttl_sec: int | None = Field(default=None, ge=0)
    includeEmailInRedirect: bool | None = None  # Auth0's name
    identity: IdentityRef | None = None


class Ticket(BaseModel):
    ticket: str


class VerificationJob(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["verification_email"]
    status: str
    created_at: str
    id: str


class Identity(BaseModel):
    """An ``identities[]`` item (auth0-wire.md §2.1), fields in the order Auth0 sends them."""

    model_config = ConfigDict(extra="allow")
    connection: str
    provider: str
    user_id: str | int
    isSocial: bool | None = None
    profileData: dict[str, Any] | None = None


class User(BaseModel):
    """The user object (auth0-wire.md §2.1), fields in the order Auth0 sends them; an absent
    value is left out, not null. Providers may add fields at the root."""

    model_config = ConfigDict(extra="allow")
    user_id: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    identities: list[Identity] | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    last_login: str | None = None
    last_ip: str | None = None
    logins_count: int | None = None
    blocked: bool | None = None


class UsersPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    users: list[User]


class LogEvent(BaseModel):
    """A log event; every field may be left out by ``fields``."""

    model_config = ConfigDict(extra="allow")
    log_id: str | None = None
    date: str | None = None
    type: str | None = None


class LogsPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    logs: list[LogEvent]


class Error(BaseModel):
    statusCode: int
    error: str
    message: str
    errorCode: str | None = None
    attributes: dict[str, Any] | None = None


#: Error responses every endpoint may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "Invalid request"},
    401: {"model": Error, "description": "Missing or invalid token"},
    403: {"model": Error, "description": "Insufficient scope or not the token's user"},
    413: {"model": Error, "description": "Request body over the server's size limit"},
    429: {"model": Error, "description": "Too many requests"},
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``ERRORS`` plus the given statuses (404, 409), each in Auth0's error body."""
    described = {
        404: "No such resource (errorCode inexistent_*)",
        409: "Conflicts with an existing resource",
    }
    return {
        **ERRORS,
        **{s: {"model": Error, "description": described.get(s, "Error")} for s in statuses},
    }


# -- /clients ----------------------------------------------------------------------------

AppTypeName = Literal["spa", "regular_web", "native", "non_interactive"]
AuthMethod = Literal["none", "client_secret_post", "client_secret_basic"]
UrlList = Annotated[list[Annotated[str, Field(max_length=2048)]], Field(max_length=100)]
GrantList = Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=16)]


class CreateClient(_Body):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=512)
    app_type: AppTypeName | None = None
    callbacks: UrlList | None = None
    allowed_logout_urls: UrlList | None = None
    web_origins: UrlList | None = None
    allowed_origins: UrlList | None = None
    grant_types: GrantList | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    is_first_party: bool | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_loc: str | None = Field(default=None, max_length=2048)


class UpdateClient(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=512)
    app_type: AppTypeName | None = None
    callbacks: UrlList | None = None
    allowed_logout_urls: UrlList | None = None
    web_origins: UrlList | None = None
    allowed_origins: UrlList | None = None
    grant_types: GrantList | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    is_first_party: bool | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_loc: str | None = Field(default=None, max_length=2048)


class JwtConfiguration(BaseModel):
    alg: str


class Client(BaseModel):
    """Auth0's client object. ``client_secret`` only for the creator and ``read:client_keys``;
    every field may be left out by ``fields``."""

    tenant: str | None = None
    client_id: str | None = None
    name: str | None = None
    description: str | None = None
    app_type: str | None = None
    is_first_party: bool | None = None
    oidc_conformant: bool | None = None
    callbacks: list[str] | None = None
    allowed_logout_urls: list[str] | None = None
    web_origins: list[str] | None = None
    allowed_origins: list[str] | None = None
    grant_types: list[str] | None = None
    token_endpoint_auth_method: str | None = None
    jwt_configuration: JwtConfiguration | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_loc: str | None = None
    client_secret: str | None = None


class ClientsPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    clients: list[Client]


# -- /connections ------------------------------------------------------------------------

Strategy = Literal["auth0", "email", "oidc", "google-oauth2", "github", "oauth2"]
ClientIds = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=1000)]


class CreateConnection(_Body):
    name: str = Field(min_length=1, max_length=128)
    strategy: Strategy
    options: dict[str, Any] | None = None
    enabled_clients: ClientIds | None = None


class UpdateConnection(_Body):
    options: dict[str, Any] | None = None
    enabled_clients: ClientIds | None = None


class Connection(BaseModel):
    id: str | None = None
    name: str | None = None
    strategy: str | None = None
    options: dict[str, Any] | None = None
    enabled_clients: list[str] | None = None
    realms: list[str] | None = None
    is_domain_connection: bool | None = None


class ConnectionsPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    connections: list[Connection]


# -- /resource-servers -------------------------------------------------------------------


class ResourceServerScope(_Body):
    value: str = Field(min_length=1, max_length=280)
    description: str | None = Field(default=None, max_length=500)


ScopeList = Annotated[list[ResourceServerScope], Field(max_length=1000)]
TokenLifetime = Annotated[int, Field(ge=60, le=30 * 86400)]


class CreateResourceServer(_Body):
    identifier: str = Field(min_length=1, max_length=600)
    name: str | None = Field(default=None, max_length=256)
    scopes: ScopeList | None = None
    signing_alg: Literal["RS256"] | None = None
    token_lifetime: TokenLifetime | None = None
    allow_offline_access: bool | None = None


class UpdateResourceServer(_Body):
    identifier: str | None = Field(default=None, min_length=1, max_length=600)
    name: str | None = Field(default=None, min_length=1, max_length=256)
    scopes: ScopeList | None = None
    signing_alg: Literal["RS256"] | None = None
    token_lifetime: TokenLifetime | None = None
    allow_offline_access: bool | None = None


class ResourceServerScopeOut(BaseModel):
    value: str
    description: str | None = None


class ResourceServer(BaseModel):
    id: str | None = None
    name: str | None = None
    identifier: str | None = None
    scopes: list[ResourceServerScopeOut] | None = None
    signing_alg: str | None = None
    token_lifetime: int | None = None
    allow_offline_access: bool | None = None
    is_system: bool | None = None


class ResourceServersPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    resource_servers: list[ResourceServer]


# -- /client-grants ----------------------------------------------------------------------

GrantScopes = Annotated[list[Annotated[str, Field(max_length=280)]], Field(max_length=1000)]


class CreateClientGrant(_Body):
    client_id: str = Field(min_length=1, max_length=64)
    audience: str = Field(min_length=1, max_length=600)
    scope: GrantScopes


class UpdateClientGrant(_Body):
    scope: GrantScopes | None = None


class ClientGrant(BaseModel):
    id: str | None = None
    client_id: str | None = None
    audience: str | None = None
    scope: list[str] | None = None


class ClientGrantsPage(BaseModel):
    start: int
    limit: int
    length: int
    total: int
    client_grants: list[ClientGrant]


# -- /user-blocks ------------------------------------------------------------------------


class BlockedFor(BaseModel):
    identifier: str
    ip: str
    connection: str


class UserBlocks(BaseModel):
    """Auth0's ``GET /api/v2/user-blocks`` answer: the (identifier, IP) pairs blocked by
    brute-force protection."""

    blocked_for: list[BlockedFor]
