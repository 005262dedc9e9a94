"""Tenants: one process serves several, each with its own issuer, keys, applications, APIs,
connections and users. A request's Host picks the tenant; the default tenant answers any
host no other tenant claims."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from tether.domain.applications import ApiService, NewApi
from tether.domain.clock import Clock
from tether.domain.configuration import Configuration
from tether.domain.connections import DEFAULT_DATABASE, ConnectionService
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.ids import new_id
from tether.domain.keys import KeyService
from tether.domain.management_scopes import MANAGEMENT_API_NAME, MANAGEMENT_SCOPES
from tether.domain.models import Tenant
from tether.domain.ports import UnitOfWorkFactory

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _url_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, str) and v.startswith(("http://", "https://")) for v in value
    )


#: Tenant settings and what each accepts (README, "Tenant settings").
SETTINGS: dict[str, Callable[[object], bool]] = {
    "session_absolute_seconds": _positive_int,
    "session_idle_seconds": _positive_int,
    "session_cookie_samesite": lambda v: v in ("lax", "none", "strict"),
    "allowed_logout_urls": _url_list,
    "default_audience": lambda v: isinstance(v, str),
    "default_directory": lambda v: isinstance(v, str),
    "legacy_id_token_bearer": lambda v: isinstance(v, bool),
    "linking.metadata_merge": lambda v: v in ("discard", "merge"),
    "linking.require_verified_email": lambda v: isinstance(v, bool),
    # The link prompt at sign-in (domain/sign_in_linking/).
    "linking.on_sign_in": lambda v: v in ("prompt", "off"),
    # Email verification (domain/verification.py): mail a link on database sign-up.
    "email_verification.on_signup": lambda v: isinstance(v, bool),
    # Brute-force protection (domain/brute_force.py): on/off, consecutive failures per
    # account and IP before that IP is blocked, and how long a block lasts.
    "brute_force.enabled": lambda v: isinstance(v, bool),
    "brute_force.max_attempts": _positive_int,
    "brute_force.block_seconds": _positive_int,
}


def normalise_public_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "public_url: must be an absolute http(s) URL, e.g. https://id.example.com"
        )
    if parts.query or parts.fragment:
        raise InvalidInput("public_url: must not have a query or fragment.")
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class TenantService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        keys: KeyService,
        apis: ApiService,
        connections: ConnectionService,
        clock: Clock,
        configuration: Configuration,
    ):
        self._uow = uow
        self._configuration = configuration
        self._keys = keys
        self._apis = apis
        self._connections = connections
        self._clock = clock

    async def create(self, name: str, public_url: str, *, default: bool = False) -> Tenant:
        """A tenant with its keys, the Management API and the default database connection."""
        if not _NAME.match(name):
            raise InvalidInput("name: lower-case letters, digits and dashes, at most 63.")
        tenant = Tenant(
            id=new_id("ten_"),
            name=name,
            public_url=normalise_public_url(public_url),
            is_default=default,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            if await uow.tenants.by_name(name):
                raise Conflict(f"A tenant named {name} already exists.")
            if default and await uow.tenants.default():
                raise Conflict("There is already a default tenant.")
            for other in await uow.tenants.list():
                # Not the default's host either: resolve() would hand its issuer to this one.
                if other.host == tenant.host and not default:
                    raise Conflict(f"Tenant {other.name} already serves {tenant.host}.")
            await uow.tenants.add(tenant)
            await self._keys.create_initial(uow.keys, tenant.id)
            await self._apis.add(
                uow.apis,
                tenant,
                NewApi(name=MANAGEMENT_API_NAME, identifier=tenant.management_audience),
                system=True,
                scopes=MANAGEMENT_SCOPES,
            )
            await self._connections.add(uow.connections, tenant, DEFAULT_DATABASE, "auth0")
            await uow.commit()
        return tenant

    async def ensure_default(self, public_url: str) -> tuple[Tenant, bool]:
        """The default tenant, created on first start. Its public URL follows the setting."""
        async with self._uow() as uow:
            tenant = await uow.tenants.default()
            if tenant is not None:
                url = normalise_public_url(public_url)
                if tenant.public_url != url:
                    # The Management API's identifier is derived from the issuer, so it moves
                    # with it, and so do the client grants that name it.
                    old_audience = tenant.management_audience
                    tenant.public_url = url
                    await uow.tenants.update(tenant)
                    await uow.apis.retarget(tenant.id, old_audience, tenant.management_audience)
                    await uow.commit()
                return tenant, False
        return await self.create("default", public_url, default=True), True

    async def update_settings(self, tenant: Tenant, changes: dict[str, object]) -> Tenant:
        """Set (or, with ``None``, remove) tenant settings; known keys are type-checked."""
        for key, value in changes.items():
            check = SETTINGS.get(key)
            if check is None:
                raise InvalidInput(
                    f"Unknown tenant setting {key!r}; known: {', '.join(sorted(SETTINGS))}."
                )
            if value is not None and not check(value):
                raise InvalidInput(f"Tenant setting {key!r} does not accept {value!r}.")
        async with self._uow() as uow:
            current = await uow.tenants.get(tenant.id)
            if current is None:
                raise NotFound("No such tenant.", code="inexistent_tenant")
            settings = dict(current.settings)
            for key, value in changes.items():
                section, dot, name = key.partition(".")
                if not dot:
                    if value is None:
                        settings.pop(key, None)
                    else:
                        settings[key] = value
                    continue
                # A dotted setting lives in its section's object: linking.metadata_merge is
                # settings["linking"]["metadata_merge"].
                nested = dict(settings.get(section) or {})
                if value is None:
                    nested.pop(name, None)
                else:
                    nested[name] = value
                if nested:
                    settings[section] = nested
                else:
                    settings.pop(section, None)
            current.settings = settings
            await uow.tenants.update(current)
            await uow.commit()
        return current

    async def list(self) -> builtins.list[Tenant]:
        """Every tenant, from this process's configuration read model (no SQL per call)."""
        return await self._configuration.tenants()

    async def get(self, name: str | None) -> Tenant:
        """A tenant by name; ``None`` means the default tenant."""
        for tenant in await self.list():
            if (name is None and tenant.is_default) or tenant.name == name:
                return tenant
        raise NotFound(
            f"No tenant named {name}." if name else "No default tenant yet: run `tether init`.",
            code="inexistent_tenant",
        )

    async def resolve(self, host: str) -> Tenant | None:
        """The tenant serving ``host`` (``name[:port]``), else the default tenant."""
        host = host.lower()
        tenants = await self.list()
        for tenant in tenants:
            if not tenant.is_default and tenant.host == host:
                return tenant
        return next((t for t in tenants if t.is_default), None)
