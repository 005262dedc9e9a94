"""Client grants: which APIs an application may ask tokens for with client credentials, and
with which scopes (Auth0's ``/client-grants``; the token endpoint reads them from the
configuration read model). The part of ``ApplicationService`` that writes them."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from tether.domain.actor import Actor, operation_details, record_change
from tether.domain.audit import Audit
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.ids import new_id
from tether.domain.models import Api, ClientGrant, Tenant
from tether.domain.paging import page_of
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.text import check_text


class ClientGrants:
    """Adds, changes, lists and removes client grants, each change with its log event."""

    def __init__(self, uow: UnitOfWorkFactory, audit: Audit):
        self._uow = uow
        self._audit = audit

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
        return page_of(found, page, per_page)

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
            await self._record_grant(uow, tenant, actor, "Create client grant", grant, "created")
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
            await self._record_grant(uow, tenant, actor, "Update client grant", grant, "updated")
            await uow.commit()
        return grant

    async def remove_client_grant(self, tenant: Tenant, grant_id: str, actor: Actor) -> None:
        """``DELETE /api/v2/client-grants/{id}``."""
        async with self._uow() as uow:
            grant = await uow.client_grants.get(tenant.id, grant_id)
            if grant is None or not await uow.client_grants.delete(tenant.id, grant_id):
                raise NotFound("The client grant does not exist.", code="inexistent_client_grant")
            await self._record_grant(uow, tenant, actor, "Delete client grant", grant, "deleted")
            await uow.commit()

    async def _record_grant(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        grant: ClientGrant,
        change: str,
    ) -> None:
        await record_change(
            self._audit,
            uow,
            tenant.id,
            actor,
            description,
            operation_details(
                actor,
                f"client_grant_{change}",
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
        async with self._uow(read_only=True) as uow:
            return await uow.client_grants.list(tenant.id, client_id)


def _check_grant_scopes(api: Api, scopes: Sequence[str]) -> list[str]:
    """The scopes, each once and in the order given, all defined by ``api``."""
    unknown = set(scopes) - set(api.scope_values)
    if unknown:
        shown = ", ".join(sorted(unknown))
        if len(shown) > 200:
            shown = shown[:200] + "..."
        raise InvalidInput(f"scope: {shown} not defined by {api.identifier}.")
    return list(dict.fromkeys(scopes))
