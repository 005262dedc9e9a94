""" "Keep separate" answers to the link prompt at sign-in (port LinkChoiceRepo)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.storage import tables as t

_T = t.link_choices
_C = _T.c


class LinkChoices:
    def __init__(self, conn: AsyncConnection):
        self._c = conn

    async def keep_apart(self, tenant_id: str, user_pk: str, other_pk: str, at: datetime) -> None:
        insert = pg_insert if self._c.dialect.name == "postgresql" else sqlite_insert
        await self._c.execute(
            insert(_T)
            .values(tenant_id=tenant_id, user_pk=user_pk, other_pk=other_pk, created_at=at)
            .on_conflict_do_nothing(index_elements=[_C.user_pk, _C.other_pk])
        )

    async def kept_apart(self, tenant_id: str, user_pk: str) -> set[str]:
        """The users ``user_pk`` was kept apart from, whichever side answered."""
        rows = await self._c.execute(
            sa.select(_C.user_pk, _C.other_pk).where(
                _C.tenant_id == tenant_id, sa.or_(_C.user_pk == user_pk, _C.other_pk == user_pk)
            )
        )
        return {b if a == user_pk else a for a, b in rows}
