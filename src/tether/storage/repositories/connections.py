"""Connections (port Connections)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tether.domain.models import Connection
from tether.storage import tables as t
from tether.storage.repositories.base import ConfigRepository, to_record, to_values


class Connections(ConfigRepository):
    async def add(self, connection: Connection) -> None:
        self._touch(connection.tenant_id)
        await self._c.execute(t.connections.insert(), to_values(connection, t.connections))

    async def _one(self, *where: Any) -> Connection | None:
        row = (await self._c.execute(sa.select(t.connections).where(*where))).first()
        return to_record(Connection, row) if row else None

    async def get(self, tenant_id: str, connection_id: str) -> Connection | None:
        return await self._one(
            t.connections.c.tenant_id == tenant_id, t.connections.c.id == connection_id
        )

    async def by_name(self, tenant_id: str, name: str) -> Connection | None:
        return await self._one(t.connections.c.tenant_id == tenant_id, t.connections.c.name == name)

    async def list(self, tenant_id: str) -> builtins.list[Connection]:
        rows = await self._c.execute(
            sa.select(t.connections)
            .where(t.connections.c.tenant_id == tenant_id)
            .order_by(t.connections.c.created_at)
        )
        return [to_record(Connection, r) for r in rows]

    async def set_enabled_clients(
        self, tenant_id: str, connection_id: str, client_ids: Sequence[str]
    ) -> None:
        self._touch(tenant_id)
        await self._c.execute(
            t.connections.update()
            .where(t.connections.c.tenant_id == tenant_id, t.connections.c.id == connection_id)
            .values(enabled_clients=list(client_ids))
        )

    async def update(self, connection: Connection) -> None:
        self._touch(connection.tenant_id)
        await self._c.execute(
            t.connections.update()
            .where(
                t.connections.c.tenant_id == connection.tenant_id,
                t.connections.c.id == connection.id,
            )
            .values(options=connection.options, enabled_clients=list(connection.enabled_clients))
        )

    async def delete(self, tenant_id: str, connection_id: str) -> bool:
        self._touch(tenant_id)
        result = await self._c.execute(
            t.connections.delete().where(
                t.connections.c.tenant_id == tenant_id, t.connections.c.id == connection_id
            )
        )
        return bool(result.rowcount)

    async def identity_count(self, tenant_id: str, connection_id: str) -> int:
        count = await self._c.scalar(
            sa.select(sa.func.count())
            .select_from(t.identities)
            .where(
                t.identities.c.tenant_id == tenant_id,
                t.identities.c.connection_id == connection_id,
            )
        )
        return int(count or 0)
