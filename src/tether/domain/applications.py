"""Applications (OAuth clients), APIs (resource servers) and client grants, with Auth0's names."""

from __future__ import annotations

import builtins
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from tether.domain.clock import Clock
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.ids import new_client_id, new_id, new_secret
from tether.domain.models import Api, Application, AppType, ClientGrant, Tenant
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.sealing import Sealer
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


def _check_urls(field: str, values: tuple[str, ...], *, origin_only: bool = False) -> list[str]:
    out = []
    for value in values:
        parts = urlsplit(value)
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
    name = spec.name.strip()
    if not name or len(name) > 128:
        raise InvalidInput("name: must be 1 to 128 characters.")
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
        description=spec.description,
    )


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    client_secret: str | None  # shown once to the creator; also readable by read:client_keys


class ApplicationService:
    def __init__(self, uow: UnitOfWorkFactory, sealer: Sealer, clock: Clock):
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._origins: dict[str, tuple[float, frozenset[str]]] = {}

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
        unknown = set(scopes) - set(api.scope_values)
        if unknown:
            raise InvalidInput(f"scope: {', '.join(sorted(unknown))} not defined by {audience}.")
        if await uow.client_grants.find(tenant.id, client_id, audience):
            raise Conflict("A client grant for this client and audience already exists.")
        grant = ClientGrant(new_id("cgr_"), tenant.id, client_id, audience, list(scopes))
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
        async with self._uow() as uow:
            if not await uow.applications.delete(tenant.id, client_id):
                raise NotFound("Client not found.", code="inexistent_client")
            await uow.commit()

    async def client_grants(
        self, tenant: Tenant, client_id: str | None = None
    ) -> builtins.list[ClientGrant]:
        async with self._uow() as uow:
            return await uow.client_grants.list(tenant.id, client_id)

    async def authenticate(
        self, uow: UnitOfWork, tenant: Tenant, client_id: str, secret: str | None, method: str
    ) -> Application:
        """RFC 6749 §2.3.1 / §3.2.1: a confidential client must prove its secret; a public one
        must send none. Every failure is the same ``invalid_client``."""
        app = await uow.applications.by_client_id(tenant.id, client_id)
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


@dataclass(frozen=True)
class NewApi:
    name: str
    identifier: str
    scopes: tuple[str, ...] = ()
    token_lifetime: int = 86400
    allow_offline_access: bool = False


class ApiService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock):
        self._uow = uow
        self._clock = clock

    async def add(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        spec: NewApi,
        *,
        system: bool = False,
        scopes: list[dict[str, str]] | None = None,
    ) -> Api:
        identifier = spec.identifier.strip()
        if not identifier or len(identifier) > 600:
            raise InvalidInput("identifier: must be 1 to 600 characters.")
        if not 60 <= spec.token_lifetime <= 30 * 86400:
            raise InvalidInput("token_lifetime: must be between 60 seconds and 30 days.")
        if await uow.apis.by_identifier(tenant.id, identifier):
            raise Conflict("An API with this identifier already exists.")
        api = Api(
            id=new_id("api_"),
            tenant_id=tenant.id,
            name=spec.name.strip() or identifier,
            identifier=identifier,
            scopes=scopes
            if scopes is not None
            else [{"value": s, "description": s} for s in spec.scopes],
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
