"""Who may call the Management API (auth0-wire.md §1.6).

Bearer access tokens whose ``aud`` is the tenant's Management API: machine tokens carry the
scopes of their client grant; user tokens carry ``*:current_user*`` scopes and may act only on
``{id} == sub``. 401 bodies carry ``attributes.error`` and no errorCode, as Auth0's do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from starlette.requests import Request

from tether.domain.actor import Actor
from tether.domain.audit import RequestInfo
from tether.domain.clock import epoch
from tether.domain.errors import DomainError
from tether.domain.models import Tenant
from tether.protocol import jose
from tether.protocol.scopes import parse_scope
from tether.web.context import note_client, request_info, services
from tether.web.management.errors import ManagementError, unauthorized

#: The 401 message for a user token issued before the user's access ended.
ENDED = "Invalid token: issued before the user's access was ended; sign in again"


@dataclass(frozen=True)
class Caller:
    tenant: Tenant
    subject: str
    client_id: str | None
    scopes: frozenset[str]
    http: Request = field(repr=False, compare=False)

    @cached_property
    def request(self) -> RequestInfo:
        """The request's details for log events: built when a change or a failure is logged,
        not for every read (building the URL is a measurable share of a read's CPU)."""
        return request_info(self.http)

    @property
    def is_machine(self) -> bool:
        return self.subject.endswith("@clients")

    @property
    def actor(self) -> Actor:
        return Actor(
            client_id=self.client_id,
            user_id=None if self.is_machine else self.subject,
            request=self.request,
        )

    def require(self, any_of: Iterable[str]) -> str:
        """The first of ``any_of`` the token holds; 403 insufficient_scope otherwise."""
        wanted = list(any_of)
        for scope in wanted:
            if scope in self.scopes:
                return scope
        raise ManagementError(
            403, f"Insufficient scope, expected any of: {','.join(wanted)}", "insufficient_scope"
        )

    def require_for_user(self, user_id: str, machine: Iterable[str], own: Iterable[str]) -> None:
        """A machine scope acts on anyone; a current-user scope only on the token's subject."""
        machine, own = list(machine), list(own)
        granted = self.require([*machine, *own])
        if granted in own and granted not in machine and user_id != self.subject:
            raise ManagementError(
                403,
                "User to be acted on does not match subject in bearer token.",
                "unowned_resource",
            )


#: What an ID token may do as a bearer when the tenant's legacy setting is on (auth0-wire.md §1.5).
LEGACY_ID_TOKEN_SCOPES = frozenset({"read:current_user", "update:current_user_identities"})


async def _legacy_id_token(request: Request, tenant: Tenant, token: str) -> Caller | None:
    """The seed's AngularJS sample sends the user's ID token as the bearer. Accepted only when
    the tenant turns ``legacy_id_token_bearer`` on, only for an ID token issued to one of its
    applications, and only as the current user (the routes allow it on linking and GET user)."""
    if not tenant.settings.get("legacy_id_token_bearer"):
        return None
    c = services(request)
    keyset = await c.keys.keyset(tenant)
    try:
        claims = jose.verify(
            token, keyset.public_jwks, issuer=tenant.issuer, audience=None, now=epoch(c.clock.now())
        )
    except jose.TokenRejected:
        return None
    aud, sub = claims.get("aud"), claims.get("sub")
    if not isinstance(aud, str) or not isinstance(sub, str) or "scope" in claims:
        return None
    try:
        await c.applications.get(tenant, aud)
    except DomainError:
        return None
    if not await c.access.token_accepted(tenant.id, sub, claims.get("iat")):
        raise unauthorized(ENDED)
    return Caller(tenant, sub, aud, LEGACY_ID_TOKEN_SCOPES, request)


async def authenticate(request: Request, tenant: Tenant, *, allow_id_token: bool = False) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header or scheme.lower() != "bearer" or not token:
        raise ManagementError(401, "Missing authentication")
    c = services(request)
    keyset = await c.keys.keyset(tenant)
    try:
        # Remembered by the token's hash until it expires (domain/keys.py): no signature check
        # for a bearer seen before. The tokens-valid-after check below runs every time.
        claims = c.keys.verify(
            tenant, keyset, token, audience=tenant.management_audience, now=epoch(c.clock.now())
        )
    except jose.TokenRejected as exc:
        if allow_id_token and exc.reason == "aud":
            legacy = await _legacy_id_token(request, tenant, token)
            if legacy is not None:
                return legacy
        if exc.reason == "expired":
            raise unauthorized("Expired token received for JSON Web Token validation") from exc
        if exc.reason in ("signature", "kid", "alg"):
            raise unauthorized("Invalid signature received for JSON Web Token validation") from exc
        raise unauthorized("Invalid token") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise unauthorized("Invalid token")
    if not await c.access.token_accepted(tenant.id, subject, claims.get("iat")):
        # The user was blocked, deleted, unlinked from or changed a credential after this
        # token was issued (domain/access.py; no SQL here: an in-process read model). Machine
        # subjects (``<client>@clients``) never have an instant, so any token may be asked.
        raise unauthorized(ENDED)
    azp = claims.get("azp")
    note_client(request, azp)
    return Caller(
        tenant=tenant,
        subject=subject,
        client_id=azp if isinstance(azp, str) else None,
        scopes=_scopes(str(claims.get("scope") or "")),
        http=request,
    )


@lru_cache(maxsize=256)
def _scopes(scope: str) -> frozenset[str]:
    """A token's ``scope`` claim as a set, parsed once per distinct claim: a machine token's
    claim lists every Management scope, and the same few claims come again and again."""
    return frozenset(parse_scope(scope))
