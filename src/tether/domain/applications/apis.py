"""APIs (resource servers): Auth0's ``/resource-servers``, their scopes and token lifetimes."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from tether.domain.actor import Actor, operation_details, record_change
from tether.domain.applications.specs import (
    MAX_API_SCOPES,
    MAX_SCOPE_DESCRIPTION,
    MAX_SCOPE_VALUE,
)
from tether.domain.audit import Audit
from tether.domain.clock import Clock
from tether.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tether.domain.ids import new_id
from tether.domain.models import Api, Tenant
from tether.domain.paging import page_of
from tether.domain.ports import ApiRepo, UnitOfWork, UnitOfWorkFactory
from tether.domain.text import check_text


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
        apis: ApiRepo,
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
        if await apis.by_identifier(tenant.id, identifier):
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
        await apis.add(api)
        return api

    async def create(self, tenant: Tenant, spec: NewApi) -> Api:
        async with self._uow() as uow:
            api = await self.add(uow.apis, tenant, spec)
            await uow.commit()
        return api

    async def list(self, tenant: Tenant) -> builtins.list[Api]:
        async with self._uow(read_only=True) as uow:
            return await uow.apis.list(tenant.id)

    async def get(self, tenant: Tenant, identifier: str) -> Api:
        async with self._uow(read_only=True) as uow:
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
        return page_of(found, page, per_page)

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
        async with self._uow(read_only=True) as uow:
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
            api = await self.add(uow.apis, tenant, spec, scopes=scopes)
            await self._record(uow, tenant, actor, "Create a resource server", api, "created")
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
                uow, tenant, actor, "Update a resource server", api, "updated", fields=changes.names
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
            await self._record(uow, tenant, actor, "Delete a resource server", api, "deleted")
            await uow.commit()

    async def _record(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        api: Api,
        change: str,
        **extra: Any,
    ) -> None:
        await record_change(
            self._audit,
            uow,
            tenant.id,
            actor,
            description,
            operation_details(
                actor,
                f"resource_server_{change}",
                resource_server={"id": api.id, "identifier": api.identifier, "name": api.name},
                **extra,
            ),
        )
