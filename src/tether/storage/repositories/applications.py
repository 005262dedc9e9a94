"""Applications, APIs (resource servers) and client grants (ports Applications, Apis, ClientGrants)."""

from __future__ import annotations

import builtins

import sqlalchemy as sa

from tether.domain.models import Api, Application, AppType, ClientGrant
from tether.storage import tables as t
from tether.storage.repositories.base import ConfigRepository, to_record, to_values


class Applications(ConfigRepository):
    async def add(self, app: Application) -> None:
        self._touch(app.tenant_id)
        values = to_values(app, t.applications)
        values["app_type"] = app.app_type.value
        await self._c.execute(t.applications.insert(), values)

    async def by_client_id(self, tenant_id: str, client_id: str) -> Application | None:
        row = (
            await self._c.execute(
                sa.select(t.applications).where(
                    t.applications.c.tenant_id == tenant_id, t.applications.c.client_id == client_id
                )
            )
        ).first()
        return to_record(Application, row, app_type=AppType(row.app_type)) if row else None

    async def list(self, tenant_id: str) -> builtins.list[Application]:
        rows = await self._c.execute(
            sa.select(t.applications)
            .where(t.applications.c.tenant_id == tenant_id)
            .order_by(t.applications.c.created_at)
        )
        return [to_record(Application, r, app_type=AppType(r.app_type)) for r in rows]

    async def update(self, app: Application) -> None:
        self._touch(app.tenant_id)
        values = to_values(app, t.applications)
        values["app_type"] = app.app_type.value
        await self._c.execute(
            t.applications.update().where(t.applications.c.id == app.id).values(values)
        )

    async def delete(self, tenant_id: str, client_id: str) -> bool:
        self._touch(tenant_id)
        await self._c.execute(
            t.client_grants.delete().where(
                t.client_grants.c.tenant_id == tenant_id, t.client_grants.c.client_id == client_id
            )
        )
        result = await self._c.execute(
            t.applications.delete().where(
                t.applications.c.tenant_id == tenant_id, t.applications.c.client_id == client_id
            )
        )
        return bool(result.rowcount)


class Apis(ConfigRepository):
    async def add(self, api: Api) -> None:
        self._touch(api.tenant_id)
        await self._c.execute(t.apis.insert(), to_values(api, t.apis))

    async def by_identifier(self, tenant_id: str, identifier: str) -> Api | None:
        row = (
            await self._c.execute(
                sa.select(t.apis).where(
                    t.apis.c.tenant_id == tenant_id, t.apis.c.identifier == identifier
                )
            )
        ).first()
        return to_record(Api, row) if row else None

    async def list(self, tenant_id: str) -> builtins.list[Api]:
        rows = await self._c.execute(
            sa.select(t.apis).where(t.apis.c.tenant_id == tenant_id).order_by(t.apis.c.created_at)
        )
        return [to_record(Api, r) for r in rows]

    async def retarget(self, tenant_id: str, old_identifier: str, new_identifier: str) -> None:
        self._touch(tenant_id)
        await self._c.execute(
            t.apis.update()
            .where(t.apis.c.tenant_id == tenant_id, t.apis.c.identifier == old_identifier)
            .values(identifier=new_identifier)
        )
        await self._c.execute(
            t.client_grants.update()
            .where(
                t.client_grants.c.tenant_id == tenant_id,
                t.client_grants.c.audience == old_identifier,
            )
            .values(audience=new_identifier)
        )

    async def get(self, tenant_id: str, api_id: str) -> Api | None:
        row = (
            await self._c.execute(
                sa.select(t.apis).where(t.apis.c.tenant_id == tenant_id, t.apis.c.id == api_id)
            )
        ).first()
        return to_record(Api, row) if row else None

    async def update(self, api: Api) -> None:
        self._touch(api.tenant_id)
        await self._c.execute(
            t.apis.update()
            .where(t.apis.c.tenant_id == api.tenant_id, t.apis.c.id == api.id)
            .values(
                name=api.name,
                scopes=api.scopes,
                token_lifetime=api.token_lifetime,
                allow_offline_access=api.allow_offline_access,
            )
        )

    async def delete(self, tenant_id: str, api_id: str) -> bool:
        self._touch(tenant_id)
        api = await self.get(tenant_id, api_id)
        if api is None:
            return False
        await self._c.execute(
            t.client_grants.delete().where(
                t.client_grants.c.tenant_id == tenant_id,
                t.client_grants.c.audience == api.identifier,
            )
        )
        result = await self._c.execute(
            t.apis.delete().where(t.apis.c.tenant_id == tenant_id, t.apis.c.id == api_id)
        )
        return bool(result.rowcount)


class ClientGrants(ConfigRepository):
    async def add(self, grant: ClientGrant) -> None:
        self._touch(grant.tenant_id)
        await self._c.execute(t.client_grants.insert(), to_values(grant, t.client_grants))

    async def find(self, tenant_id: str, client_id: str, audience: str) -> ClientGrant | None:
        row = (
            await self._c.execute(
                sa.select(t.client_grants).where(
                    t.client_grants.c.tenant_id == tenant_id,
                    t.client_grants.c.client_id == client_id,
                    t.client_grants.c.audience == audience,
                )
            )
        ).first()
        return to_record(ClientGrant, row) if row else None

    async def list(
        self, tenant_id: str, client_id: str | None = None
    ) -> builtins.list[ClientGrant]:
        q = sa.select(t.client_grants).where(t.client_grants.c.tenant_id == tenant_id)
        if client_id is not None:
            q = q.where(t.client_grants.c.client_id == client_id)
        return [
            to_record(ClientGrant, r)
            for r in await self._c.execute(q.order_by(t.client_grants.c.id))
        ]

    async def get(self, tenant_id: str, grant_id: str) -> ClientGrant | None:
        row = (
            await self._c.execute(
                sa.select(t.client_grants).where(
                    t.client_grants.c.tenant_id == tenant_id, t.client_grants.c.id == grant_id
                )
            )
        ).first()
        return to_record(ClientGrant, row) if row else None

    async def update(self, grant: ClientGrant) -> None:
        self._touch(grant.tenant_id)
        await self._c.execute(
            t.client_grants.update()
            .where(t.client_grants.c.tenant_id == grant.tenant_id, t.client_grants.c.id == grant.id)
            .values(scope=list(grant.scope))
        )

    async def delete(self, tenant_id: str, grant_id: str) -> bool:
        self._touch(tenant_id)
        result = await self._c.execute(
            t.client_grants.delete().where(
                t.client_grants.c.tenant_id == tenant_id, t.client_grants.c.id == grant_id
            )
        )
        return bool(result.rowcount)
