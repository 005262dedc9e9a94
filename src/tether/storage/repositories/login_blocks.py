"""Brute-force counters (domain/brute_force.py): one row per (tenant, connection, identifier, IP).

The count is taken by one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, so
concurrent attempts each get their own number: PostgreSQL takes the row lock, SQLite its one
write lock, and no two attempts read the same count (ASVS 5.0 §6.3.1)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.domain.models import LoginBlock
from tether.storage import tables as t

_T = t.login_blocks
_C = _T.c


#: The row of one (tenant, connection, identifier, IP), as bind parameters.
_THIS_ROW = sa.and_(
    _C.tenant_id == sa.bindparam("b_tenant"),
    _C.connection == sa.bindparam("b_connection"),
    _C.identifier == sa.bindparam("b_identifier"),
    _C.ip == sa.bindparam("b_ip"),
)
_CLEAR = _T.delete().where(_THIS_ROW)


def _count_attempt(insert: Any) -> Any:
    """``count_attempt``'s upsert, built once per dialect and run with parameters: a sign-in
    runs it every time, and building it (its CASE expressions, their bind parameters and
    cache key) cost more CPU than running it (issue 13, decision 4)."""
    now = sa.bindparam("b_now", type_=_C.updated_at.type)
    block_until = sa.bindparam("b_block_until", type_=_C.blocked_until.type)
    #: The block a first failure starts: ``block_until`` when one failure is the limit.
    first_block = sa.bindparam("b_first_block", type_=_C.blocked_until.type)
    stmt = insert(_T).values(
        tenant_id=sa.bindparam("b_tenant"),
        connection=sa.bindparam("b_connection"),
        identifier=sa.bindparam("b_identifier"),
        ip=sa.bindparam("b_ip"),
        failures=1,
        blocked_until=first_block,
        updated_at=now,
    )
    lapsed = sa.and_(_C.blocked_until.is_not(None), _C.blocked_until <= now)
    # A lapsed block starts a fresh count; the attempt that reaches the limit sets the block
    # at once, so a process that dies during that check cannot leave the IP unblocked.
    reaches = _C.failures + 1 == sa.bindparam("b_limit", type_=sa.Integer)
    return stmt.on_conflict_do_update(
        index_elements=[_C.tenant_id, _C.connection, _C.identifier, _C.ip],
        set_={
            "failures": sa.case((lapsed, 1), else_=_C.failures + 1),
            "blocked_until": sa.case(
                (lapsed, first_block),
                (reaches, block_until),
                else_=_C.blocked_until,
            ),
            "blocked_at": sa.case((lapsed, None), else_=_C.blocked_at),
            "unblock_hash": sa.case((lapsed, None), else_=_C.unblock_hash),
            "updated_at": now,
        },
    ).returning(_C.failures)


_COUNT_ATTEMPT = {"sqlite": _count_attempt(sqlite_insert), "postgresql": _count_attempt(pg_insert)}


def _row(tenant_id: str, connection: str, identifier: str, ip: str) -> dict[str, Any]:
    return {
        "b_tenant": tenant_id,
        "b_connection": connection,
        "b_identifier": identifier,
        "b_ip": ip,
    }


def _block(row: Any) -> LoginBlock:
    data = dict(row._mapping)
    return LoginBlock(
        tenant_id=data["tenant_id"],
        connection=data["connection"],
        identifier=data["identifier"],
        ip=data["ip"],
        failures=data["failures"],
        updated_at=data["updated_at"],
        blocked_until=data["blocked_until"],
        blocked_at=data["blocked_at"],
        unblock_hash=data["unblock_hash"],
    )


class LoginBlocks:
    def __init__(self, conn: AsyncConnection):
        self._c = conn

    async def count_attempt(
        self,
        tenant_id: str,
        connection: str,
        identifier: str,
        ip: str,
        *,
        limit: int,
        block_until: datetime,
        now: datetime,
    ) -> int:
        params = _row(tenant_id, connection, identifier, ip)
        params.update(
            b_now=now,
            b_block_until=block_until,
            b_first_block=block_until if limit <= 1 else None,
            b_limit=limit,
        )
        upsert = _COUNT_ATTEMPT[self._c.dialect.name]
        return int((await self._c.execute(upsert, params)).scalar_one())

    async def clear(self, tenant_id: str, connection: str, identifier: str, ip: str) -> None:
        await self._c.execute(_CLEAR, _row(tenant_id, connection, identifier, ip))

    async def confirm(
        self,
        tenant_id: str,
        connection: str,
        identifier: str,
        ip: str,
        *,
        at: datetime,
        unblock_hash: str,
    ) -> bool:
        result = await self._c.execute(
            _T.update()
            .where(_THIS_ROW, _C.blocked_until.is_not(None))
            .values(blocked_at=sa.bindparam("b_at"), unblock_hash=sa.bindparam("b_hash")),
            {**_row(tenant_id, connection, identifier, ip), "b_at": at, "b_hash": unblock_hash},
        )
        return result.rowcount == 1

    async def blocked(
        self, tenant_id: str, identifiers: Sequence[str], limit: int, now: datetime
    ) -> builtins.list[LoginBlock]:
        if not identifiers:
            return []
        rows = await self._c.execute(
            sa.select(_T)
            .where(
                _C.tenant_id == tenant_id,
                _C.identifier.in_(list(identifiers)),
                _C.failures >= limit,
                _C.blocked_until > now,
            )
            .order_by(_C.identifier, _C.connection, _C.ip)
        )
        return [_block(row) for row in rows]

    async def unblock(self, tenant_id: str, identifiers: Sequence[str]) -> int:
        if not identifiers:
            return 0
        result = await self._c.execute(
            _T.delete().where(_C.tenant_id == tenant_id, _C.identifier.in_(list(identifiers)))
        )
        return int(result.rowcount)

    async def take_unblock(
        self, tenant_id: str, unblock_hash: str, now: datetime
    ) -> LoginBlock | None:
        row = (
            await self._c.execute(
                sa.select(_T).where(_C.tenant_id == tenant_id, _C.unblock_hash == unblock_hash)
            )
        ).first()
        if row is None:
            return None
        block = _block(row)
        result = await self._c.execute(
            _T.delete().where(_THIS_ROW, _C.unblock_hash == sa.bindparam("b_hash")),
            {
                **_row(tenant_id, block.connection, block.identifier, block.ip),
                "b_hash": unblock_hash,
            },
        )
        return block if result.rowcount == 1 else None
