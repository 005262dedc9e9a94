"""Tether admins and account-page flows (ports Admins, AccountFlows)."""

from __future__ import annotations

import builtins
from datetime import datetime

import sqlalchemy as sa

from tether.domain.account_records import AccountFlow, Admin
from tether.storage import tables as t
from tether.storage.repositories.base import Repository, to_record, to_values


class Admins(Repository):
    async def add(self, admin: Admin) -> None:
        await self._c.execute(t.admins.insert(), to_values(admin, t.admins))

    async def get(self, tenant_id: str, user_pk: str) -> Admin | None:
        c = t.admins.c
        row = (
            await self._c.execute(
                sa.select(t.admins).where(c.tenant_id == tenant_id, c.user_pk == user_pk)
            )
        ).first()
        return to_record(Admin, row) if row else None

    async def remove(self, tenant_id: str, user_pk: str) -> bool:
        c = t.admins.c
        result = await self._c.execute(
            t.admins.delete().where(c.tenant_id == tenant_id, c.user_pk == user_pk)
        )
        return result.rowcount == 1

    async def list(self, tenant_id: str) -> builtins.list[Admin]:
        c = t.admins.c
        rows = await self._c.execute(
            sa.select(t.admins).where(c.tenant_id == tenant_id).order_by(c.created_at, c.user_pk)
        )
        return [to_record(Admin, r) for r in rows]


class AccountFlows(Repository):
    async def add(self, flow: AccountFlow) -> None:
        await self._c.execute(t.account_flows.insert(), to_values(flow, t.account_flows))

    async def take(self, tenant_id: str, flow_id: str, at: datetime) -> AccountFlow | None:
        c = t.account_flows.c
        result = await self._c.execute(
            t.account_flows.update()
            .where(
                c.tenant_id == tenant_id, c.id == flow_id, c.used_at.is_(None), c.expires_at > at
            )
            .values(used_at=at)
        )
        if result.rowcount != 1:
            return None
        row = (await self._c.execute(sa.select(t.account_flows).where(c.id == flow_id))).first()
        return to_record(AccountFlow, row) if row else None
