"""Users with their identities (port Users); identities and credentials are in identities.py.

One aggregate: a user is read with its identities, and deleting a user retires its ids and takes
its identities with it."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tether.domain.models import Identity, User
from tether.domain.user_search import Query, Sort
from tether.storage import tables as t
from tether.storage.repositories.base import Repository, threaded, to_record, to_values
from tether.storage.repositories.identities import identity_from_row, identity_query
from tether.storage.search import user_query_clause


def _user_with_identities_query() -> sa.Select[Any]:
    """One user's row joined with its identities (one row each, ``idn_``-labelled), in the
    order ``_with_identities`` gives them: one statement instead of two for a single user.
    Built once (statements are immutable; ``where`` makes a new one)."""
    global _USER_WITH_IDENTITIES
    if _USER_WITH_IDENTITIES is not None:
        return _USER_WITH_IDENTITIES
    _USER_WITH_IDENTITIES = (
        sa.select(
            t.users,
            *(c.label(f"idn_{c.name}") for c in t.identities.c),
            t.connections.c.name.label("idn_connection_name"),
        )
        .select_from(
            t.users.outerjoin(t.identities, t.identities.c.user_pk == t.users.c.pk).outerjoin(
                t.connections, t.connections.c.id == t.identities.c.connection_id
            )
        )
        .order_by(t.identities.c.is_primary.desc(), t.identities.c.linked_at)
    )
    return _USER_WITH_IDENTITIES


_USER_WITH_IDENTITIES: sa.Select[Any] | None = None

# What a link and an unlink run, built once and run with parameters (building a statement per
# call, its bind parameters and its cache key, cost more CPU than running it; issue 13,
# decision 6). In UPDATEs the SET columns are the parameters named after columns.
_BY_USER_IDS = (
    t.users.c.tenant_id == sa.bindparam("b_tenant"),
    t.users.c.user_id.in_(sa.bindparam("b_ids", expanding=True)),
)
_LOCK_BY_USER_ID = (
    sa.select(t.users.c.pk).where(*_BY_USER_IDS).order_by(t.users.c.pk).with_for_update()
)
_THIS_USER = (t.users.c.tenant_id == sa.bindparam("b_tenant"), t.users.c.pk == sa.bindparam("b_pk"))
_UPDATE = t.users.update().where(*_THIS_USER)
_DELETE = t.users.delete().where(*_THIS_USER)
#: Every password sign-in runs it (decision 4).
_RECORD_LOGIN = _UPDATE.values(
    last_login=sa.bindparam("at", type_=t.users.c.last_login.type),
    last_ip=sa.bindparam("ip", type_=t.users.c.last_ip.type),
    logins_count=t.users.c.logins_count + 1,
)
_INSERT_UNLESS_TAKEN: dict[str, Any] = {
    "sqlite": sqlite_insert(t.users).on_conflict_do_nothing(),
    "postgresql": pg_insert(t.users).on_conflict_do_nothing(),
}


def _for_change_read() -> sa.Select[Any]:
    global _FOR_CHANGE_READ
    if _FOR_CHANGE_READ is None:
        _FOR_CHANGE_READ = _user_with_identities_query().where(*_BY_USER_IDS)
    return _FOR_CHANGE_READ


_FOR_CHANGE_READ: sa.Select[Any] | None = None


@functools.cache
def _one_user_query(key: str) -> sa.Select[Any]:
    """One user, by ``tenant_id`` and ``key`` (``user_id`` or ``pk``) as bound parameters, with
    its identities. Built once: SQLAlchemy memoizes a statement's cache key, so a read skips
    building its WHERE clause and the cache-key walk over the whole join (about 65 us of CPU
    a read, issue 13 decision 5)."""
    return _user_with_identities_query().where(
        t.users.c.tenant_id == sa.bindparam("tenant_id"), t.users.c[key] == sa.bindparam("key")
    )


_IDENTITY_FIELDS = [f.name for f in fields(Identity)]


class Users(Repository):
    async def add(self, user: User) -> None:
        await self._c.execute(t.users.insert(), to_values(user, t.users))

    async def _one_with_identities(self, key: str, tenant_id: str, value: str) -> User | None:
        statement = _one_user_query(key)
        rows = (await self._c.execute(statement, {"tenant_id": tenant_id, "key": value})).all()
        if not rows:
            return None
        user = to_record(User, rows[0])
        for row in rows:
            data = row._mapping
            if data["idn_id"] is not None:
                user.identities.append(
                    Identity(**{name: data[f"idn_{name}"] for name in _IDENTITY_FIELDS})
                )
        return user

    async def _with_identities(self, rows: Sequence[Any]) -> list[User]:
        users = [to_record(User, r) for r in rows]
        if not users:
            return users
        by_pk = {u.pk: u for u in users}
        idn = await self._c.execute(
            identity_query()
            .where(t.identities.c.user_pk.in_(list(by_pk)))
            .order_by(t.identities.c.is_primary.desc(), t.identities.c.linked_at)
        )
        for row in idn:
            by_pk[row.user_pk].identities.append(identity_from_row(row))
        return users

    async def for_change(self, tenant_id: str, user_ids: builtins.list[str]) -> dict[str, User]:
        """These users (by user_id) with their identities, as the transaction will change them:
        each row locked until it ends; the ones that do not exist are left out.

        On SQLite the transaction holds the database's write lock from its first statement
        (BEGIN IMMEDIATE), so one joined read is all it takes. On PostgreSQL the rows are locked
        first, all in one ``SELECT ... ORDER BY pk FOR UPDATE`` (primary-key order, as every
        other locker takes them: two links of the same users wait, they do not deadlock), then
        read by a second statement, whose snapshot (READ COMMITTED) is taken after the locks
        were granted and so sees what a transaction we waited for committed."""
        params = {"b_tenant": tenant_id, "b_ids": user_ids}
        if self._c.dialect.name != "sqlite":
            locked = await self._c.scalars(_LOCK_BY_USER_ID, params)
            if not locked.all():
                return {}
        rows = (await self._c.execute(_for_change_read(), params)).all()
        users: dict[str, User] = {}
        for row in rows:
            user = users.get(row.user_id)
            if user is None:
                user = users[row.user_id] = to_record(User, row)
            data = row._mapping
            if data["idn_id"] is not None:
                user.identities.append(
                    Identity(**{name: data[f"idn_{name}"] for name in _IDENTITY_FIELDS})
                )
        return users

    async def add_unless_taken(self, user: User) -> bool:
        """Insert ``user`` unless its user_id is a live user's already (one statement: ``INSERT
        ... ON CONFLICT DO NOTHING``, on SQLite and PostgreSQL alike). True when inserted."""
        insert = _INSERT_UNLESS_TAKEN.get(self._c.dialect.name)
        if insert is None:
            raise NotImplementedError(self._c.dialect.name)
        result = await self._c.execute(insert, to_values(user, t.users))
        return int(result.rowcount) == 1

    async def update_fields(self, tenant_id: str, pk: str, values: dict[str, Any]) -> None:
        """Write only these columns of one user (a link changes its metadata and updated_at, an
        unlink its updated_at: no need to send the whole row back)."""
        if "tokens_valid_after" in values:
            # Only set_tokens_valid_after moves the instant (see ``update``).
            raise ValueError("tokens_valid_after is moved by set_tokens_valid_after only")
        await self._c.execute(_UPDATE, {**values, "b_tenant": tenant_id, "b_pk": pk})

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        return await self._one_with_identities("user_id", tenant_id, user_id)

    async def by_pk(self, tenant_id: str, pk: str) -> User | None:
        return await self._one_with_identities("pk", tenant_id, pk)

    async def list(self, tenant_id: str, *, offset: int, limit: int) -> builtins.list[User]:
        rows = (
            await self._c.execute(
                threaded(
                    sa.select(t.users)
                    .where(t.users.c.tenant_id == tenant_id)
                    .order_by(t.users.c.created_at, t.users.c.pk)
                    .offset(offset)
                    .limit(limit)
                )
            )
        ).all()
        return await self._with_identities(rows)

    async def count(self, tenant_id: str) -> int:
        value = await self._c.scalar(
            threaded(
                sa.select(sa.func.count())
                .select_from(t.users)
                .where(t.users.c.tenant_id == tenant_id)
            )
        )
        return int(value or 0)

    async def update(self, user: User) -> None:
        values = to_values(user, t.users)
        # Only set_tokens_valid_after moves the instant: a concurrent update that read the user
        # before a block or a password change must not write the older instant back.
        values.pop("tokens_valid_after", None)
        await self._c.execute(t.users.update().where(t.users.c.pk == user.pk).values(values))

    async def set_tokens_valid_after(self, tenant_id: str, pk: str, at: datetime) -> None:
        await self._c.execute(
            t.users.update()
            .where(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)
            .values(tokens_valid_after=at)
        )

    async def token_cutoffs_since(
        self, since: datetime
    ) -> builtins.list[tuple[str, str, datetime]]:
        """(tenant_id, user_id, instant) of every user whose instant is ``since`` or later, and
        of every user id retired since then (a retired id's tokens all end), in every tenant."""
        moved = sa.select(
            t.users.c.tenant_id, t.users.c.user_id, t.users.c.tokens_valid_after
        ).where(t.users.c.tokens_valid_after >= since)
        retired = sa.select(
            t.retired_user_ids.c.tenant_id,
            t.retired_user_ids.c.user_id,
            t.retired_user_ids.c.retired_at,
        ).where(t.retired_user_ids.c.retired_at >= since)
        rows = (await self._c.execute(moved.union_all(retired))).all()
        return [(r[0], r[1], r[2]) for r in rows]

    async def record_login(self, tenant_id: str, pk: str, at: datetime, ip: str | None) -> None:
        await self._c.execute(
            _RECORD_LOGIN, {"b_tenant": tenant_id, "b_pk": pk, "at": at, "ip": ip}
        )

    async def user_id_taken(self, tenant_id: str, user_id: str) -> bool:
        live = await self._c.scalar(
            sa.select(sa.func.count())
            .select_from(t.users)
            .where(t.users.c.tenant_id == tenant_id, t.users.c.user_id == user_id)
        )
        retired = await self._c.scalar(
            sa.select(sa.func.count())
            .select_from(t.retired_user_ids)
            .where(
                t.retired_user_ids.c.tenant_id == tenant_id, t.retired_user_ids.c.user_id == user_id
            )
        )
        return bool(live or retired)

    async def by_email(self, tenant_id: str, email: str) -> builtins.list[User]:
        rows = (
            await self._c.execute(
                sa.select(t.users)
                .where(
                    t.users.c.tenant_id == tenant_id,
                    sa.func.lower(t.users.c.email) == email.lower(),
                )
                .order_by(t.users.c.created_at, t.users.c.pk)
            )
        ).all()
        return await self._with_identities(rows)

    async def search(
        self,
        tenant_id: str,
        query: Query | None,
        *,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[builtins.list[User], int]:
        where = [t.users.c.tenant_id == tenant_id]
        if query is not None:
            where.append(user_query_clause(query))
        total = await self._c.scalar(
            threaded(sa.select(sa.func.count()).select_from(t.users).where(*where))
        )
        order: builtins.list[Any] = [t.users.c.created_at, t.users.c.pk]
        if sort is not None:
            column = t.users.c[sort.field]
            order = [column.desc() if sort.descending else column.asc(), t.users.c.pk]
        rows = (
            await self._c.execute(
                threaded(
                    sa.select(t.users).where(*where).order_by(*order).offset(offset).limit(limit)
                )
            )
        ).all()
        return await self._with_identities(rows), int(total or 0)

    async def lock(self, tenant_id: str, pks: builtins.list[str]) -> builtins.list[str]:
        if self._c.dialect.name == "sqlite":
            # The transaction holds the database's write lock already (BEGIN IMMEDIATE): which
            # of them exist is all there is to find out, in one statement.
            rows = await self._c.scalars(
                sa.select(t.users.c.pk).where(
                    t.users.c.tenant_id == tenant_id, t.users.c.pk.in_(pks)
                )
            )
            there = set(rows)
            return [pk for pk in pks if pk in there]
        found = []
        for pk in pks:  # one at a time, in the caller's order: no deadlock between two linkers
            q = sa.select(t.users.c.pk).where(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)
            if self._c.dialect.name == "postgresql":
                q = q.with_for_update()
            value = await self._c.scalar(q)
            if value is not None:
                found.append(str(value))
        return found

    async def delete_row(self, tenant_id: str, pk: str) -> None:
        await self._c.execute(_DELETE, {"b_tenant": tenant_id, "b_pk": pk})

    async def delete(self, tenant_id: str, pk: str, *, retired_at: datetime) -> None:
        # The user row first, as link and unlink take it (users before identities): a delete
        # racing a link then waits for it instead of deadlocking, and retires the identities
        # the link moved in rather than dropping them unretired by cascade.
        await self.lock(tenant_id, [pk])
        ids = (
            await self._c.execute(
                sa.select(t.identities.c.provider, t.identities.c.subject).where(
                    t.identities.c.tenant_id == tenant_id, t.identities.c.user_pk == pk
                )
            )
        ).all()
        own = await self._c.scalar(
            sa.select(t.users.c.user_id).where(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)
        )
        retired = {f"{p}|{s}" for p, s in ids} | ({own} if own else set())
        existing = set(
            (
                await self._c.execute(
                    sa.select(t.retired_user_ids.c.user_id).where(
                        t.retired_user_ids.c.tenant_id == tenant_id,
                        t.retired_user_ids.c.user_id.in_(list(retired)),
                    )
                )
            ).scalars()
        )
        fresh = [
            {"tenant_id": tenant_id, "user_id": uid, "retired_at": retired_at}
            for uid in sorted(retired - existing)
        ]
        if fresh:
            await self._c.execute(t.retired_user_ids.insert(), fresh)
        # Identities, credentials, sessions, codes and refresh tokens go with the user (ON DELETE
        # CASCADE); deleting them first keeps SQLite without foreign keys honest too.
        # Scoped by tenant like the user row: a pk from another tenant must delete nothing.
        await self._c.execute(
            t.identities.delete().where(
                t.identities.c.tenant_id == tenant_id, t.identities.c.user_pk == pk
            )
        )
        await self._c.execute(
            t.users.delete().where(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)
        )
