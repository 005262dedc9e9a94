"""Tenants and their signing keys (ports Tenants, Keys)."""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa

from tether.domain.models import KeyState, SigningKey, Tenant
from tether.storage import tables as t
from tether.storage.repositories.base import ConfigRepository, to_record, to_values


class Tenants(ConfigRepository):
    async def add(self, tenant: Tenant) -> None:
        self._touch(tenant.id)
        await self._c.execute(t.tenants.insert(), to_values(tenant, t.tenants))

    async def _one(self, where: Any) -> Tenant | None:
        row = (await self._c.execute(sa.select(t.tenants).where(where))).first()
        return to_record(Tenant, row) if row else None

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._one(t.tenants.c.id == tenant_id)

    async def by_name(self, name: str) -> Tenant | None:
        return await self._one(t.tenants.c.name == name)

    async def default(self) -> Tenant | None:
        return await self._one(t.tenants.c.is_default == sa.true())

    async def list(self) -> builtins.list[Tenant]:
        rows = await self._c.execute(sa.select(t.tenants).order_by(t.tenants.c.created_at))
        return [to_record(Tenant, r) for r in rows]

    async def with_versions(self) -> builtins.list[tuple[Tenant, int]]:
        """Every tenant and its configuration version, in one statement (the read model's poll)."""
        rows = await self._c.execute(sa.select(t.tenants).order_by(t.tenants.c.created_at))
        return [(to_record(Tenant, r), int(r.config_version)) for r in rows]

    async def update(self, tenant: Tenant) -> None:
        self._touch(tenant.id)
        await self._c.execute(
            t.tenants.update()
            .where(t.tenants.c.id == tenant.id)
            .values(to_values(tenant, t.tenants))
        )


class Keys(ConfigRepository):
    async def add(self, key: SigningKey) -> None:
        self._touch(key.tenant_id)
        await self._c.execute(t.signing_keys.insert(), to_values(key, t.signing_keys))

    async def list(
        self, tenant_id: str, *, include_retired: bool = False
    ) -> builtins.list[SigningKey]:
        q = sa.select(t.signing_keys).where(t.signing_keys.c.tenant_id == tenant_id)
        if not include_retired:
            q = q.where(t.signing_keys.c.state != KeyState.RETIRED.value)
        rows = await self._c.execute(q.order_by(t.signing_keys.c.created_at))
        return [to_record(SigningKey, r, state=KeyState(r.state)) for r in rows]

    async def update(self, key: SigningKey) -> None:
        self._touch(key.tenant_id)
        await self._c.execute(
            t.signing_keys.update()
            .where(t.signing_keys.c.id == key.id)
            .values(state=key.state.value, rotated_at=key.rotated_at)
        )

    async def set_sealed(self, key_id: str, encrypted_private_key: bytes) -> None:
        await self._c.execute(
            t.signing_keys.update()
            .where(t.signing_keys.c.id == key_id)
            .values(encrypted_private_key=encrypted_private_key)
        )
