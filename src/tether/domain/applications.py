"""Applications (OAuth clients), APIs (resource servers) and client grants, with Auth0's names."""

from __future__ import annotations

import builtins
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from tether.domain.actor import Actor
from tether.domain.audit import Audit, LogType
from tether.domain.clock import Clock
from tether.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tether.domain.ids import new_client_id, new_id, new_secret
from tether.domain.models import Api, Application, AppType, ClientGrant, Tenant
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.sealing import Sealer
from tether.domain.text import check_text
from tether.protocol.errors import InvalidClient
from tether.protocol.grants import GrantType

#: Auth0's defaults per application type.
DEFAULT_GRANTS: dict[AppType, list[str]] = {
    AppType.SPA: [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    AppType.NATIVE: [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    AppType.REGULAR_WEB: [
        GrantType.AUTHORIZATION_CODE,
        GrantType.REFRESH_TOKEN,
        GrantType.CLIENT_CREDENTIALS,
    ],
    AppType.NON_INTERACTIVE: [GrantType.CLIENT_CREDENTIALS],
}

ALLOWED_GRANTS = {g.value for g in GrantType} | {"implicit"}
ORIGINS_CACHE_SECONDS = 5.0
AUTH_METHODS = {"none", "client_secret_post", "client_secret_basic"}
#: Bounds that keep every value inside its column and a client object a sane size.
MAX_URLS = 100
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 512
MAX_API_SCOPES = 1000
MAX_SCOPE_VALUE = 280
MAX_SCOPE_DESCRIPTION = 500


def _audit_details(actor: Actor, method: str, path: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"request": {"method": method, "path": path}}
    if actor.user_id:
        details["actor"] = actor.user_id
    details.update(extra)
    return details


@dataclass(frozen=True)
class NewApplication:
    name: str
    app_type: AppType = AppType.REGULAR_WEB
    callbacks: tuple[str, ...] = ()
    allowed_logout_urls: tuple[str, ...] = ()
    web_origins: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    grant_types: tuple[str, ...] | None = None
    token_endpoint_auth_method: str | None = None
    description: str = ""
    is_first_party: bool = True
    cross_origin_authentication: bool = False
    cross_origin_loc: str | None = None


@dataclass(frozen=True)
class ApplicationChanges:
    """A ``PATCH /api/v2/clients/{id}`` body: ``None`` leaves a setting as it is."""

    name: str | None = None
    description: str | None = None
    app_type: AppType | None = None
    callbacks: tuple[str, ...] | None = None
    allowed_logout_urls: tuple[str, ...] | None = None
    web_origins: tuple[str, ...] | None = None
    allowed_origins: tuple[str, ...] | None = None
    grant_types: tuple[str, ...] | None = None
    token_endpoint_auth_method: str | None = None
    is_first_party: bool | None = None
    cross_origin_authentication: bool | None = None
    cross_origin_loc: str | None = None  # "" clears it

    @property
    def names(self) -> builtins.list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def _check_urls(field: str, values: Sequence[str], *, origin_only: bool = False) -> list[str]:
    if len(values) > MAX_URLS:
        raise InvalidInput(f"{field}: at most {MAX_URLS} URLs.")
    out = []
    for value in values:
        check_text(field, value, max_length=MAX_URL_LENGTH, min_length=1)
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  # a port that is not a number is not a URL
        except ValueError as exc:
            raise InvalidInput(f"{field}: {value!r} is not a valid URL.") from exc
        if parts.scheme not in ("http", "https") and not (not origin_only and parts.scheme):
            raise InvalidInput(f"{field}: {value!r} is not an absolute URL.")
        if not parts.netloc and parts.scheme in ("http", "https"):
            raise InvalidInput(f"{field}: {value!r} has no host.")
        if parts.fragment:
            raise InvalidInput(f"{field}: {value!r} must not have a fragment.")
        if origin_only and (parts.path not in ("", "/") or parts.query):
            raise InvalidInput(f"{field}: {value!r} must be an origin (scheme, host and port).")
        out.append(value.rstrip("/") if origin_only else value)
    return out


def validate_new_application(spec: NewApplication) -> Application:
    """Turn a request into an Application, refusing what Auth0 would refuse."""
    name = check_text("name", spec.name.strip(), min_length=1, max_length=128)
    description = check_text(
        "description", spec.description, max_length=MAX_DESCRIPTION, single_line=False
    )
    if len(set(spec.grant_types or ())) != len(spec.grant_types or ()):
        raise InvalidInput("grant_types: each grant may appear once.")
    grants = (
        list(spec.grant_types)
        if spec.grant_types is not None
        else list(DEFAULT_GRANTS[spec.app_type])
    )
    for grant in grants:
        if grant not in ALLOWED_GRANTS:
            raise InvalidInput(f"grant_types: {grant!r} is not a grant Tether supports.")
    method = spec.token_endpoint_auth_method or (
        "none" if spec.app_type in (AppType.SPA, AppType.NATIVE) else "client_secret_post"
    )
    if method not in AUTH_METHODS:
        raise InvalidInput(f"token_endpoint_auth_method: {method!r} is not supported.")
    if method == "none" and GrantType.CLIENT_CREDENTIALS in grants:
        raise InvalidInput("grant_types: client_credentials needs a confidential application.")
    return Application(
        id=new_id("app_"),
        tenant_id="",
        client_id=new_client_id(),
        name=name,
        app_type=spec.app_type,
        encrypted_secret=None,
        token_endpoint_auth_method=method,
        grant_types=[str(g) for g in grants],
        callbacks=_check_urls("callbacks", spec.callbacks),
        allowed_logout_urls=_check_urls("allowed_logout_urls", spec.allowed_logout_urls),
        web_origins=_check_urls("web_origins", spec.web_origins, origin_only=True),
        allowed_origins=_check_urls("allowed_origins", spec.allowed_origins, origin_only=True),
        is_first_party=spec.is_first_party,
        description=description,
        cross_origin_authentication=spec.cross_origin_authentication,
        cross_origin_loc=(
            _check_urls("cross_origin_loc", [spec.cross_origin_loc])[0]
            if spec.cross_origin_loc
            else None
        ),
    )


def apply_application_changes(app: Application, changes: ApplicationChanges) -> Application:
    """The application as ``changes`` would leave it, checked like a new one."""

    def pick(name: str, current: Any) -> Any:
        value = getattr(changes, name)
        return current if value is None else value

    spec = NewApplication(
        name=pick("name", app.name),
        app_type=pick("app_type", app.app_type),
        callbacks=tuple(pick("callbacks", app.callbacks)),
        allowed_logout_urls=tuple(pick("allowed_logout_urls", app.allowed_logout_urls)),
        web_origins=tuple(pick("web_origins", app.web_origins)),
        allowed_origins=tuple(pick("allowed_origins", app.allowed_origins)),
        grant_types=tuple(pick("grant_types", app.grant_types)),
        token_endpoint_auth_method=pick(
            "token_endpoint_auth_method", app.token_endpoint_auth_method
        ),
        description=pick("description", app.description),
        is_first_party=pick("is_first_party", app.is_first_party),
        cross_origin_authentication=pick(
            "cross_origin_authentication", app.cross_origin_authentication
        ),
        cross_origin_loc=pick("cross_origin_loc", app.cross_origin_loc) or None,
    )
    checked = validate_new_application(spec)
    return replace(
        checked,
        id=app.id,
        tenant_id=app.tenant_id,
        client_id=app.client_id,
        encrypted_secret=app.encrypted_secret,
        created_at=app.created_at,
    )


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    client_secret: str | None  # shown once to the creator; also readable by read:client_keys


class ApplicationService:
    def __init__(
        self, uow: UnitOfWorkFactory, sealer: Sealer, clock: Clock, audit: Audit | None = None
    ):
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._audit = audit or Audit(clock)
        self._origins: dict[str, tuple[float, frozenset[str]]] = {}

    def forget_origins(self, tenant: Tenant) -> None:
        """Drop the cached web origins after a change, so CORS follows it at once here."""
        self._origins.pop(tenant.id, None)

    async def add(
        self, uow: UnitOfWork, tenant: Tenant, spec: NewApplication
    ) -> CreatedApplication:
        app = validate_new_application(spec)
        app.tenant_id = tenant.id
        app.created_at = self._clock.now()
        secret = None
        if not app.is_public:
            secret = new_secret()
            app.encrypted_secret = self._sealer.seal(tenant.id, secret.encode())
        await uow.applications.add(app)
        return CreatedApplication(app, secret)

    async def create(
        self,
        tenant: Tenant,
        spec: NewApplication,
        *,
        api_identifier: str | None = None,
        scopes: list[str] | None = None,
    ) -> CreatedApplication:
        """Create an application; with ``api_identifier``, also the client grant for it."""
        async with self._uow() as uow:
            created = await self.add(uow, tenant, spec)
            if api_identifier is not None:
                await self._add_grant(
                    uow, tenant, created.application.client_id, api_identifier, scopes or []
                )
            await uow.commit()
        return created

    async def _add_grant(
        self, uow: UnitOfWork, tenant: Tenant, client_id: str, audience: str, scopes: list[str]
    ) -> ClientGrant:
        api = await uow.apis.by_identifier(tenant.id, audience)
        if api is None:
            raise NotFound(f"No API with identifier {audience}.", code="inexistent_resource_server")
        scopes = _check_grant_scopes(api, scopes)
        if await uow.client_grants.find(tenant.id, client_id, audience):
            raise Conflict("A client grant for this client and audience already exists.")
        grant = ClientGrant(new_id("cgr_"), tenant.id, client_id, audience, scopes)
        await uow.client_grants.add(grant)
        return grant

    async def grant(
        self, tenant: Tenant, client_id: str, audience: str, scopes: list[str]
    ) -> ClientGrant:
        async with self._uow() as uow:
            if await uow.applications.by_client_id(tenant.id, client_id) is None:
                raise NotFound("Client not found.", code="inexistent_client")
            grant = await self._add_grant(uow, tenant, client_id, audience, scopes)
            await uow.commit()
        return grant

    async def list(self, tenant: Tenant) -> builtins.list[Application]:
        async with self._uow() as uow:
            return await uow.applications.list(tenant.id)

    async def get(self, tenant: Tenant, client_id: str) -> Application:
        async with self._uow() as uow:
            app = await uow.applications.by_client_id(tenant.id, client_id)
        if app is None:
            raise NotFound("Client not found.", code="inexistent_client")
        return app

    async def web_origins(self, tenant: Tenant) -> frozenset[str]:
        """Every origin any application of the tenant allows (web origins and CORS origins),
        cached briefly: browsers ask on every token request."""
        now = time.monotonic()
        cached = self._origins.get(tenant.id)
        if cached and now - cached[0] < ORIGINS_CACHE_SECONDS:
            return cached[1]
        origins = frozenset(
            o for app in await self.list(tenant) for o in (*app.web_origins, *app.allowed_origins)
        )
        self._origins[tenant.id] = (now, origins)
        return origins

    def secret_of(self, app: Application) -> str | None:
        if app.encrypted_secret is None:
            return None
        return self._sealer.open(app.tenant_id, app.encrypted_secret).decode()

    async def delete(self, tenant: Tenant, client_id: str) -> None:
        """Delete an application (the CLI's ``apps delete``): see ``remove``."""
        async with self._uow() as uow:
            await self._remove(uow, tenant, client_id)
            await uow.commit()
        self.forget_origins(tenant)

    @staticmethod
    async def _remove(uow: UnitOfWork, tenant: Tenant, client_id: str) -> Application:
        """The application, its client grants, and its place in every connection's
        ``enabled_clients``, in ``uow``."""
        app = await uow.applications.by_client_id(tenant.id, client_id)
        if app is None:
            raise NotFound("Client not found.", code="inexistent_client")
        for connection in await uow.connections.list(tenant.id):
            if client_id in connection.enabled_clients:
                await uow.connections.set_enabled_clients(
                    tenant.id,
                    connection.id,
                    [c for c in connection.enabled_clients if c != client_id],
                )
        await uow.applications.delete(tenant.id, client_id)
        return app

    # -- the Management API's /clients and /client-grants ----------------------------

    async def page(
        self,
        tenant: Tenant,
        *,
        page: int,
        per_page: int,
        app_types: Sequence[str] | None = None,
        is_first_party: bool | None = None,
    ) -> tuple[builtins.list[Application], int]:
        """One page of the tenant's applications, oldest first, and how many match."""
        found = [
            a
            for a in await self.list(tenant)
            if (not app_types or a.app_type.value in app_types)
            and (is_first_party is None or a.is_first_party == is_first_party)
        ]
        return found[page * per_page : (page + 1) * per_page], len(found)

    async def register(
        self, tenant: Tenant, spec: NewApplication, actor: Actor
    ) -> CreatedApplication:
        """``POST /api/v2/clients``: create an application and log who did."""
        async with self._uow() as uow:
            created = await self.add(uow, tenant, spec)
            await self._record(uow, tenant, actor, "Create a client", created.application, "POST")
            await uow.commit()
        self.forget_origins(tenant)
        return created

    async def update(
        self, tenant: Tenant, client_id: str, changes: ApplicationChanges, actor: Actor
    ) -> Application:
        """``PATCH /api/v2/clients/{id}``. Becoming confidential mints a secret; becoming public
        (``token_endpoint_auth_method: none``) drops it."""
        async with self._uow() as uow:
            app = await uow.applications.by_client_id(tenant.id, client_id)
            if app is None:
                raise NotFound("Client not found.", code="inexistent_client")
            updated = apply_application_changes(app, changes)
            if updated.is_public:
                updated.encrypted_secret = None
            elif updated.encrypted_secret is None:
                updated.encrypted_secret = self._sealer.seal(tenant.id, new_secret().encode())
            await uow.applications.update(updated)
            await self._record(
                uow, tenant, actor, "Update a client", updated, "PATCH", fields=changes.names
            )
            await uow.commit()
        self.forget_origins(tenant)
        return updated

    async def remove(self, tenant: Tenant, client_id: str, actor: Actor) -> None:
        """``DELETE /api/v2/clients/{id}``: the application, its client grants, and its place in
        every connection's ``enabled_clients``."""
        async with self._uow() as uow:
            app = await self._remove(uow, tenant, client_id)
            await self._record(uow, tenant, actor, "Delete a client", app, "DELETE")
            await uow.commit()
        self.forget_origins(tenant)

    async def _record(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        app: Application,
        method: str,
        **extra: Any,
    ) -> None:
        path = "/api/v2/clients" + ("" if method == "POST" else f"/{app.client_id}")
        await self._audit.record(
            uow,
            tenant.id,
            LogType.SUCCESS_API_OPERATION,
            actor.request,
            description=description,
            client_id=actor.client_id,
            details=_audit_details(
                actor, method, path, client={"client_id": app.client_id, "name": app.name}, **extra
            ),
        )

    async def grants_page(
        self,
        tenant: Tenant,
        *,
        page: int,
        per_page: int,
        client_id: str | None = None,
        audience: str | None = None,
    ) -> tuple[builtins.list[ClientGrant], int]:
        found = [
            g
            for g in await self.client_grants(tenant, client_id)
            if audience is None or g.audience == audience
        ]
        return found[page * per_page : (page + 1) * per_page], len(found)

    async def add_client_grant(
        self,
        tenant: Tenant,
        client_id: str,
        audience: str,
        scopes: builtins.list[str],
        actor: Actor,
    ) -> ClientGrant:
        """``POST /api/v2/client-grants``."""
        check_text("client_id", client_id, min_length=1, max_length=64)
        check_text("audience", audience, min_length=1, max_length=600)
        async with self._uow() as uow:
            if await uow.applications.by_client_id(tenant.id, client_id) is None:
                raise NotFound("Client not found.", code="inexistent_client")
            grant = await self._add_grant(uow, tenant, client_id, audience, scopes)
            await self._record_grant(uow, tenant, actor, "Create client grant", grant, "POST")
            await uow.commit()
        return grant

    async def update_client_grant(
        self, tenant: Tenant, grant_id: str, scopes: builtins.list[str] | None, actor: Actor
    ) -> ClientGrant:
        """``PATCH /api/v2/client-grants/{id}``: the scopes (the client and API stay)."""
        async with self._uow() as uow:
            grant = await uow.client_grants.get(tenant.id, grant_id)
            if grant is None:
                raise NotFound("The client grant does not exist.", code="inexistent_client_grant")
            if scopes is not None:
                api = await uow.apis.by_identifier(tenant.id, grant.audience)
                if api is None:
                    raise NotFound(
                        f"No API with identifier {grant.audience}.",
                        code="inexistent_resource_server",
                    )
                grant.scope = _check_grant_scopes(api, scopes)
                await uow.client_grants.update(grant)
            await self._record_grant(uow, tenant, actor, "Update client grant", grant, "PATCH")
            await uow.commit()
        return grant

    async def remove_client_grant(self, tenant: Tenant, grant_id: str, actor: Actor) -> None:
        """``DELETE /api/v2/client-grants/{id}``."""
        async with self._uow() as uow:
            grant = await uow.client_grants.get(tenant.id, grant_id)
            if grant is None or not await uow.client_grants.delete(tenant.id, grant_id):
                raise NotFound("The client grant does not exist.", code="inexistent_client_grant")
            await self._record_grant(uow, tenant, actor, "Delete client grant", grant, "DELETE")
            await uow.commit()

    async def _record_grant(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        grant: ClientGrant,
        method: str,
    ) -> None:
        path = "/api/v2/client-grants" + ("" if method == "POST" else f"/{grant.id}")
        await self._audit.record(
            uow,
            tenant.id,
            LogType.SUCCESS_API_OPERATION,
            actor.request,
            description=description,
            client_id=actor.client_id,
            details=_audit_details(
                actor,
                method,
                path,
                client_grant={
                    "id": grant.id,
                    "client_id": grant.client_id,
                    "audience": grant.audience,
                    "scope": list(grant.scope),
                },
            ),
        )

    async def client_grants(
        self, tenant: Tenant, client_id: str | None = None
    ) -> builtins.list[ClientGrant]:
        async with self._uow() as uow:
            return await uow.client_grants.list(tenant.id, client_id)

    async def find(self, tenant: Tenant, client_id: str) -> Application | None:
        """The application with this ``client_id``, or None; a read-only unit of work."""
        async with self._uow(read_only=True) as uow:
            return await uow.applications.by_client_id(tenant.id, client_id)

    async def authenticate(
        self, tenant: Tenant, client_id: str, secret: str | None, method: str
    ) -> Application:
        """RFC 6749 §2.3.1 / §3.2.1: a confidential client must prove its secret; a public one
        must send none. Every failure is the same ``invalid_client``. Only reads: a read-only
        unit of work, so on SQLite it takes no write lock."""
        app = await self.find(tenant, client_id)
        if app is None:
            raise InvalidClient("Unknown client or wrong client credentials.")
        if app.is_public:
            if secret is not None:
                raise InvalidClient("This client is public and must not send a secret.")
            return app
        expected = self.secret_of(app)
        if secret is None or expected is None:
            raise InvalidClient("Client authentication required.")
        if not hmac.compare_digest(expected.encode(), secret.encode()):
            raise InvalidClient("Unknown client or wrong client credentials.")
        return app


def _check_grant_scopes(api: Api, scopes: Sequence[str]) -> list[str]:
    """The scopes, each once and in the order given, all defined by ``api``."""
    unknown = set(scopes) - set(api.scope_values)
    if unknown:
        shown = ", ".join(sorted(unknown))
        if len(shown) > 200:
            shown = shown[:200] + "..."
        raise InvalidInput(f"scope: {shown} not defined by {api.identifier}.")
    return list(dict.fromkeys(scopes))


@dataclass(frozen=True)
class NewApi:
    name: str
    identifier: str
    scopes: tuple[str, ...] = ()
    token_lifetime: int = 86400
    allow_offline_access: bool = False


@dataclass(frozen=True)
class ApiChanges:
    """A ``PATCH /api/v2/resource-servers/{id}`` body: ``None`` leaves a setting as it is."""

    name: str | None = None
    identifier: str | None = None
    scopes: tuple[tuple[str, str], ...] | None = None  # (value, description)
    token_lifetime: int | None = None
    allow_offline_access: bool | None = None

    @property
    def names(self) -> builtins.list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def check_api_scopes(scopes: Sequence[tuple[str, str]]) -> builtins.list[dict[str, str]]:
    """An API's scopes as stored: ``{value, description}``, each value once, no spaces."""
    if len(scopes) > MAX_API_SCOPES:
        raise InvalidInput(f"scopes: at most {MAX_API_SCOPES}.")
    seen: set[str] = set()
    out = []
    for value, description in scopes:
        check_text("scopes.value", value, min_length=1, max_length=MAX_SCOPE_VALUE)
        if any(ch.isspace() for ch in value):
            raise InvalidInput(f"scopes.value: {value!r} must not contain spaces.")
        if value in seen:
            raise InvalidInput(f"scopes.value: {value!r} appears twice.")
        seen.add(value)
        check_text("scopes.description", description, max_length=MAX_SCOPE_DESCRIPTION)
        out.append({"value": value, "description": description})
    return out


def _check_identifier(value: str) -> str:
    identifier = value.strip()
    check_text("identifier", identifier, min_length=1, max_length=600)
    return identifier


def _check_token_lifetime(value: int) -> int:
    if not 60 <= value <= 30 * 86400:
        raise InvalidInput("token_lifetime: must be between 60 seconds and 30 days.")
    return value


class ApiService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: Audit | None = None):
        self._uow = uow
        self._clock = clock
        self._audit = audit or Audit(clock)

    async def add(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        spec: NewApi,
        *,
        system: bool = False,
        scopes: list[dict[str, str]] | None = None,
    ) -> Api:
        identifier = _check_identifier(spec.identifier)
        _check_token_lifetime(spec.token_lifetime)
        name = check_text("name", spec.name.strip(), max_length=256) or identifier[:256]
        checked = check_api_scopes(
            [(s["value"], s.get("description", "")) for s in scopes]
            if scopes is not None
            else [(s, s) for s in spec.scopes]
        )
        if await uow.apis.by_identifier(tenant.id, identifier):
            raise Conflict("An API with this identifier already exists.")
        api = Api(
            id=new_id("api_"),
            tenant_id=tenant.id,
            name=name,
            identifier=identifier,
            scopes=checked,
            token_lifetime=spec.token_lifetime,
            allow_offline_access=spec.allow_offline_access,
            is_system=system,
            created_at=self._clock.now(),
        )
        await uow.apis.add(api)
        return api

    async def create(self, tenant: Tenant, spec: NewApi) -> Api:
        async with self._uow() as uow:
            api = await self.add(uow, tenant, spec)
            await uow.commit()
        return api

    async def list(self, tenant: Tenant) -> builtins.list[Api]:
        async with self._uow() as uow:
            return await uow.apis.list(tenant.id)

    async def get(self, tenant: Tenant, identifier: str) -> Api:
        async with self._uow() as uow:
            api = await uow.apis.by_identifier(tenant.id, identifier)
        if api is None:
            raise NotFound("No API with this identifier.", code="inexistent_resource_server")
        return api

    # -- the Management API's /resource-servers ------------------------------------

    async def page(
        self,
        tenant: Tenant,
        *,
        page: int,
        per_page: int,
        identifiers: Sequence[str] | None = None,
    ) -> tuple[builtins.list[Api], int]:
        found = [
            a for a in await self.list(tenant) if not identifiers or a.identifier in identifiers
        ]
        return found[page * per_page : (page + 1) * per_page], len(found)

    @staticmethod
    async def _find(uow: UnitOfWork, tenant: Tenant, id_or_identifier: str) -> Api:
        api = await uow.apis.get(tenant.id, id_or_identifier)
        if api is None:
            api = await uow.apis.by_identifier(tenant.id, id_or_identifier)
        if api is None:
            raise NotFound("The resource server does not exist.", code="inexistent_resource_server")
        return api

    async def find(self, tenant: Tenant, id_or_identifier: str) -> Api:
        """By id, else by identifier (Auth0 accepts either in the path)."""
        async with self._uow() as uow:
            return await self._find(uow, tenant, id_or_identifier)

    async def register(
        self,
        tenant: Tenant,
        spec: NewApi,
        actor: Actor,
        *,
        scopes: builtins.list[dict[str, str]] | None = None,
    ) -> Api:
        """``POST /api/v2/resource-servers``."""
        async with self._uow() as uow:
            api = await self.add(uow, tenant, spec, scopes=scopes)
            await self._record(uow, tenant, actor, "Create a resource server", api, "POST")
            await uow.commit()
        return api

    async def update(
        self, tenant: Tenant, id_or_identifier: str, changes: ApiChanges, actor: Actor
    ) -> Api:
        """``PATCH /api/v2/resource-servers/{id}``. Scopes removed from the API are removed from
        its client grants too, so no token carries a scope the API no longer defines. The
        Management API keeps its identifier (it follows the tenant's public URL) and scopes."""
        async with self._uow() as uow:
            api = await self._find(uow, tenant, id_or_identifier)
            old_identifier = api.identifier
            if changes.identifier is not None:
                identifier = _check_identifier(changes.identifier)
                if identifier != api.identifier:
                    if api.is_system:
                        raise InvalidInput(
                            "The Management API's identifier cannot be changed: it follows the "
                            "tenant's public URL.",
                            code="operation_not_supported",
                        )
                    if await uow.apis.by_identifier(tenant.id, identifier):
                        raise Conflict("An API with this identifier already exists.")
                    api.identifier = identifier
            if changes.scopes is not None:
                scopes = check_api_scopes(changes.scopes)
                if api.is_system and scopes != api.scopes:
                    raise InvalidInput(
                        "The Management API's scopes cannot be changed.",
                        code="operation_not_supported",
                    )
                api.scopes = scopes
            if changes.name is not None:
                api.name = check_text("name", changes.name.strip(), min_length=1, max_length=256)
            if changes.token_lifetime is not None:
                api.token_lifetime = _check_token_lifetime(changes.token_lifetime)
            if changes.allow_offline_access is not None:
                api.allow_offline_access = changes.allow_offline_access
            if api.identifier != old_identifier:
                await uow.apis.retarget(tenant.id, old_identifier, api.identifier)
            await uow.apis.update(api)
            defined = set(api.scope_values)
            for grant in await uow.client_grants.list(tenant.id):
                if grant.audience == api.identifier and not set(grant.scope) <= defined:
                    grant.scope = [s for s in grant.scope if s in defined]
                    await uow.client_grants.update(grant)
            await self._record(
                uow, tenant, actor, "Update a resource server", api, "PATCH", fields=changes.names
            )
            await uow.commit()
        return api

    async def remove(self, tenant: Tenant, id_or_identifier: str, actor: Actor) -> None:
        """``DELETE /api/v2/resource-servers/{id}``: the API and its client grants."""
        async with self._uow() as uow:
            api = await self._find(uow, tenant, id_or_identifier)
            if api.is_system:
                raise Forbidden(
                    "The Management API cannot be deleted.", code="operation_not_supported"
                )
            await uow.apis.delete(tenant.id, api.id)
            await self._record(uow, tenant, actor, "Delete a resource server", api, "DELETE")
            await uow.commit()

    async def _record(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        api: Api,
        method: str,
        **extra: Any,
    ) -> None:
        path = "/api/v2/resource-servers" + ("" if method == "POST" else f"/{api.id}")
        await self._audit.record(
            uow,
            tenant.id,
            LogType.SUCCESS_API_OPERATION,
            actor.request,
            description=description,
            client_id=actor.client_id,
            details=_audit_details(
                actor,
                method,
                path,
                resource_server={"id": api.id, "identifier": api.identifier, "name": api.name},
                **extra,
            ),
        )
