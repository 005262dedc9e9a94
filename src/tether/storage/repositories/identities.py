"""Identities and password credentials (ports Identities, Credentials): the rows a user is
signed in through, read with their user in users.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tether.domain.models import Identity, PasswordCredential, User
from tether.storage import tables as t
from tether.storage.repositories import sign_in
from tether.storage.repositories.base import Repository, to_record, to_values


def identity_from_row(row: Any) -> Identity:
    return to_record(Identity, row, connection_name=row.connection_name)


def identity_query() -> sa.Select[Any]:
    return sa.select(t.identities, t.connections.c.name.label("connection_name")).join(
        t.connections, t.connections.c.id == t.identities.c.connection_id
    )


# Built once, run with parameters: the SET columns are the parameters named after columns, the
# rest bind the WHERE clause. Building a statement per call (its bind parameters, its cache
# key) cost more CPU than running it (issue 13, decision 6).
_UPDATE = t.identities.update().where(
    t.identities.c.id == sa.bindparam("b_id"),
    t.identities.c.tenant_id == sa.bindparam("b_tenant"),
)
_UPDATE_OWNED = _UPDATE.where(t.identities.c.user_pk == sa.bindparam("b_owner"))


class Identities(Repository):
    async def add(self, identity: Identity) -> None:
        await self._c.execute(t.identities.insert(), to_values(identity, t.identities))

    async def find(self, tenant_id: str, connection_id: str, subject: str) -> Identity | None:
        row = (
            await self._c.execute(
                identity_query().where(
                    t.identities.c.tenant_id == tenant_id,
                    t.identities.c.connection_id == connection_id,
                    t.identities.c.subject == subject,
                )
            )
        ).first()
        return identity_from_row(row) if row else None

    async def with_subject(self, tenant_id: str, provider: str, subject: str) -> list[Identity]:
        """Every identity of this provider with this subject, on whichever connection: one
        statement instead of a lookup per connection (a server-side link names only the
        provider and the user id)."""
        rows = await self._c.execute(
            identity_query()
            .where(
                t.identities.c.tenant_id == tenant_id,
                t.identities.c.provider == provider,
                t.identities.c.subject == subject,
            )
            .order_by(t.identities.c.connection_id)
        )
        return [identity_from_row(r) for r in rows]

    async def for_user(self, tenant_id: str, user_pk: str) -> list[Identity]:
        rows = await self._c.execute(
            identity_query()
            .where(t.identities.c.tenant_id == tenant_id, t.identities.c.user_pk == user_pk)
            .order_by(t.identities.c.is_primary.desc(), t.identities.c.linked_at)
        )
        return [identity_from_row(r) for r in rows]

    async def update(self, identity: Identity) -> None:
        values = to_values(identity, t.identities)
        values.pop("id", None)
        await self._c.execute(
            t.identities.update()
            .where(t.identities.c.id == identity.id, t.identities.c.tenant_id == identity.tenant_id)
            .values(values)
        )

    async def update_fields(
        self, identity: Identity, names: Sequence[str], *, owner: str | None = None
    ) -> bool:
        """Write only the columns ``names`` of ``identity`` (a link or unlink changes its owner
        and its link record, not its provider, subject or, mostly, its profile). With ``owner``
        the row is written only while it still belongs to that user, so a move that lost a race
        writes nothing. True when the row was written."""
        params = {name: getattr(identity, name) for name in names}
        params.update(b_id=identity.id, b_tenant=identity.tenant_id)
        if owner is not None:
            params["b_owner"] = owner
        result = await self._c.execute(_UPDATE if owner is None else _UPDATE_OWNED, params)
        return int(result.rowcount) == 1

    async def by_id(self, identity_id: str) -> Identity | None:
        row = (
            await self._c.execute(identity_query().where(t.identities.c.id == identity_id))
        ).first()
        return identity_from_row(row) if row else None


class Credentials(Repository):
    async def add(self, credential: PasswordCredential) -> None:
        await self._c.execute(
            t.password_credentials.insert(), to_values(credential, t.password_credentials)
        )

    async def by_email(
        self, tenant_id: str, connection_id: str, email: str
    ) -> PasswordCredential | None:
        row = (
            await self._c.execute(
                sa.select(t.password_credentials).where(
                    t.password_credentials.c.tenant_id == tenant_id,
                    t.password_credentials.c.connection_id == connection_id,
                    t.password_credentials.c.email == email,
                )
            )
        ).first()
        return to_record(PasswordCredential, row) if row else None

    async def for_identity(self, identity_id: str) -> PasswordCredential | None:
        row = (
            await self._c.execute(
                sa.select(t.password_credentials).where(
                    t.password_credentials.c.identity_id == identity_id
                )
            )
        ).first()
        return to_record(PasswordCredential, row) if row else None

    async def set_email(self, identity_id: str, email: str) -> None:
        await self._c.execute(
            t.password_credentials.update()
            .where(t.password_credentials.c.identity_id == identity_id)
            .values(email=email)
        )

    async def set_hash(self, identity_id: str, password_hash: str, at: datetime) -> None:
        await self._c.execute(
            t.password_credentials.update()
            .where(t.password_credentials.c.identity_id == identity_id)
            .values(password_hash=password_hash, updated_at=at)
        )

    async def with_user(
        self, tenant_id: str, connection_id: str, email: str
    ) -> tuple[PasswordCredential, User | None] | None:
        """A password sign-in's one read (issue 13, decision 4; storage/repositories/sign_in.py)."""
        return await sign_in.credential_with_user(self._c, tenant_id, connection_id, email)
