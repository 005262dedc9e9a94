"""Browser state: sessions, parked login transactions, consents and upstream (federated) flows
(ports Sessions, Transactions, Consents, UpstreamFlows)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tether.domain.models import Consent, LoginTransaction, Session, UpstreamFlow
from tether.storage import tables as t
from tether.storage.repositories.base import Repository, revoke_for_user, to_record, to_values

_REVOKE_FOR_USER = revoke_for_user(t.sessions)


class Sessions(Repository):
    async def add(self, session: Session) -> None:
        await self._c.execute(t.sessions.insert(), to_values(session, t.sessions))

    async def by_token_hash(self, tenant_id: str, token_hash: str) -> Session | None:
        row = (
            await self._c.execute(
                sa.select(t.sessions).where(
                    t.sessions.c.tenant_id == tenant_id, t.sessions.c.token_hash == token_hash
                )
            )
        ).first()
        return to_record(Session, row) if row else None

    async def touch(self, session_id: str, at: datetime) -> None:
        await self._c.execute(
            t.sessions.update().where(t.sessions.c.id == session_id).values(last_seen_at=at)
        )

    async def revoke(self, session_id: str, at: datetime) -> None:
        await self._c.execute(
            t.sessions.update()
            .where(t.sessions.c.id == session_id, t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_for_user(self, tenant_id: str, user_pk: str, at: datetime) -> int:
        result = await self._c.execute(
            _REVOKE_FOR_USER, {"b_tenant": tenant_id, "b_user": user_pk, "at": at}
        )
        return int(result.rowcount)


class Transactions(Repository):
    async def add(self, tx: LoginTransaction) -> None:
        await self._c.execute(t.login_transactions.insert(), to_values(tx, t.login_transactions))

    async def get(self, tenant_id: str, tx_id: str) -> LoginTransaction | None:
        row = (
            await self._c.execute(
                sa.select(t.login_transactions).where(
                    t.login_transactions.c.tenant_id == tenant_id,
                    t.login_transactions.c.id == tx_id,
                )
            )
        ).first()
        return to_record(LoginTransaction, row) if row else None

    async def update(self, tx: LoginTransaction) -> None:
        await self._c.execute(
            t.login_transactions.update()
            .where(t.login_transactions.c.id == tx.id)
            .values(user_pk=tx.user_pk, auth_time=tx.auth_time, session_id=tx.session_id)
        )

    async def complete(self, tx_id: str, at: datetime) -> bool:
        result = await self._c.execute(
            t.login_transactions.update()
            .where(
                t.login_transactions.c.id == tx_id, t.login_transactions.c.completed_at.is_(None)
            )
            .values(completed_at=at)
        )
        return result.rowcount == 1


class Consents(Repository):
    async def get(self, tenant_id: str, user_pk: str, client_id: str) -> Consent | None:
        row = (
            await self._c.execute(
                sa.select(t.consents).where(
                    t.consents.c.tenant_id == tenant_id,
                    t.consents.c.user_pk == user_pk,
                    t.consents.c.client_id == client_id,
                )
            )
        ).first()
        return to_record(Consent, row) if row else None

    async def save(self, consent: Consent) -> None:
        # An upsert, not delete-then-insert: two concurrent saves (two tabs accepting the same
        # consent) would otherwise both insert, and the second would fail on the primary key.
        insert = pg_insert if self._c.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(t.consents).values(to_values(consent, t.consents))
        await self._c.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    t.consents.c.tenant_id,
                    t.consents.c.user_pk,
                    t.consents.c.client_id,
                ],
                set_={"scope": stmt.excluded.scope, "granted_at": stmt.excluded.granted_at},
            )
        )


class UpstreamFlows(Repository):
    async def add(self, flow: UpstreamFlow) -> None:
        await self._c.execute(t.upstream_flows.insert(), to_values(flow, t.upstream_flows))

    async def take(self, tenant_id: str, flow_id: str, at: datetime) -> UpstreamFlow | None:
        c = t.upstream_flows.c
        result = await self._c.execute(
            t.upstream_flows.update()
            .where(
                c.tenant_id == tenant_id, c.id == flow_id, c.used_at.is_(None), c.expires_at > at
            )
            .values(used_at=at)
        )
        if result.rowcount != 1:
            return None
        row = (await self._c.execute(sa.select(t.upstream_flows).where(c.id == flow_id))).first()
        return to_record(UpstreamFlow, row) if row else None
