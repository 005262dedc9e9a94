"""Repositories: rows to domain records and back. One class per port in domain/ports.py."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.domain.account_records import AccountFlow, Admin
from tether.domain.logs import LogFilter
from tether.domain.models import (
    Api,
    Application,
    AppType,
    AuthorizationCode,
    ClientGrant,
    Connection,
    Consent,
    Identity,
    KeyState,
    LogEvent,
    LoginTransaction,
    Mail,
    PasswordCredential,
    PasswordlessCode,
    PasswordTicket,
    RefreshToken,
    Session,
    SigningKey,
    Tenant,
    UpstreamFlow,
    User,
)
from tether.domain.user_search import Query, Sort
from tether.storage import tables as t
from tether.storage.search import user_query_clause

R = TypeVar("R")


def _record(cls: type[R], row: Any, **extra: Any) -> R:
    data = dict(row._mapping)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in names}
    values.update(extra)
    return cls(**values)


def _values(record: Any, table: sa.Table, **renames: str) -> dict[str, Any]:
    columns = set(table.c.keys())
    out: dict[str, Any] = {}
    for f in fields(record):
        column = renames.get(f.name, f.name)
        if column in columns:
            out[column] = getattr(record, f.name)
    return out


class _Repo:
    def __init__(self, conn: AsyncConnection):
        self._c = conn


class Tenants(_Repo):
    async def add(self, tenant: Tenant) -> None:
        await self._c.execute(t.tenants.insert().values(_values(tenant, t.tenants)))

    async def _one(self, where: Any) -> Tenant | None:
        row = (await self._c.execute(sa.select(t.tenants).where(where))).first()
        return _record(Tenant, row) if row else None

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._one(t.tenants.c.id == tenant_id)

    async def by_name(self, name: str) -> Tenant | None:
        return await self._one(t.tenants.c.name == name)

    async def default(self) -> Tenant | None:
        return await self._one(t.tenants.c.is_default == sa.true())

    async def list(self) -> builtins.list[Tenant]:
        rows = await self._c.execute(sa.select(t.tenants).order_by(t.tenants.c.created_at))
        return [_record(Tenant, r) for r in rows]

    async def update(self, tenant: Tenant) -> None:
        await self._c.execute(
            t.tenants.update().where(t.tenants.c.id == tenant.id).values(_values(tenant, t.tenants))
        )


class Keys(_Repo):
    async def add(self, key: SigningKey) -> None:
        await self._c.execute(t.signing_keys.insert().values(_values(key, t.signing_keys)))

    async def list(
        self, tenant_id: str, *, include_retired: bool = False
    ) -> builtins.list[SigningKey]:
        q = sa.select(t.signing_keys).where(t.signing_keys.c.tenant_id == tenant_id)
        if not include_retired:
            q = q.where(t.signing_keys.c.state != KeyState.RETIRED.value)
        rows = await self._c.execute(q.order_by(t.signing_keys.c.created_at))
        return [_record(SigningKey, r, state=KeyState(r.state)) for r in rows]

    async def update(self, key: SigningKey) -> None:
        await self._c.execute(
            t.signing_keys.update()
            .where(t.signing_keys.c.id == key.id)
            .values(state=key.state.value, rotated_at=key.rotated_at)
        )


class Applications(_Repo):
    async def add(self, app: Application) -> None:
        values = _values(app, t.applications)
        values["app_type"] = app.app_type.value
        await self._c.execute(t.applications.insert().values(values))

    async def by_client_id(self, tenant_id: str, client_id: str) -> Application | None:
        row = (
            await self._c.execute(
                sa.select(t.applications).where(
                    t.applications.c.tenant_id == tenant_id, t.applications.c.client_id == client_id
                )
            )
        ).first()
        return _record(Application, row, app_type=AppType(row.app_type)) if row else None

    async def list(self, tenant_id: str) -> builtins.list[Application]:
        rows = await self._c.execute(
            sa.select(t.applications)
            .where(t.applications.c.tenant_id == tenant_id)
            .order_by(t.applications.c.created_at)
        )
        return [_record(Application, r, app_type=AppType(r.app_type)) for r in rows]

    async def update(self, app: Application) -> None:
        values = _values(app, t.applications)
        values["app_type"] = app.app_type.value
        await self._c.execute(
            t.applications.update().where(t.applications.c.id == app.id).values(values)
        )

    async def delete(self, tenant_id: str, client_id: str) -> bool:
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


class Apis(_Repo):
    async def add(self, api: Api) -> None:
        await self._c.execute(t.apis.insert().values(_values(api, t.apis)))

    async def by_identifier(self, tenant_id: str, identifier: str) -> Api | None:
        row = (
            await self._c.execute(
                sa.select(t.apis).where(
                    t.apis.c.tenant_id == tenant_id, t.apis.c.identifier == identifier
                )
            )
        ).first()
        return _record(Api, row) if row else None

    async def list(self, tenant_id: str) -> builtins.list[Api]:
        rows = await self._c.execute(
            sa.select(t.apis).where(t.apis.c.tenant_id == tenant_id).order_by(t.apis.c.created_at)
        )
        return [_record(Api, r) for r in rows]

    async def retarget(self, tenant_id: str, old_identifier: str, new_identifier: str) -> None:
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
        return _record(Api, row) if row else None

    async def update(self, api: Api) -> None:
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


class ClientGrants(_Repo):
    async def add(self, grant: ClientGrant) -> None:
        await self._c.execute(t.client_grants.insert().values(_values(grant, t.client_grants)))

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
        return _record(ClientGrant, row) if row else None

    async def list(
        self, tenant_id: str, client_id: str | None = None
    ) -> builtins.list[ClientGrant]:
        q = sa.select(t.client_grants).where(t.client_grants.c.tenant_id == tenant_id)
        if client_id is not None:
            q = q.where(t.client_grants.c.client_id == client_id)
        return [
            _record(ClientGrant, r) for r in await self._c.execute(q.order_by(t.client_grants.c.id))
        ]

    async def get(self, tenant_id: str, grant_id: str) -> ClientGrant | None:
        row = (
            await self._c.execute(
                sa.select(t.client_grants).where(
                    t.client_grants.c.tenant_id == tenant_id, t.client_grants.c.id == grant_id
                )
            )
        ).first()
        return _record(ClientGrant, row) if row else None

    async def update(self, grant: ClientGrant) -> None:
        await self._c.execute(
            t.client_grants.update()
            .where(t.client_grants.c.tenant_id == grant.tenant_id, t.client_grants.c.id == grant.id)
            .values(scope=list(grant.scope))
        )

    async def delete(self, tenant_id: str, grant_id: str) -> bool:
        result = await self._c.execute(
            t.client_grants.delete().where(
                t.client_grants.c.tenant_id == tenant_id, t.client_grants.c.id == grant_id
            )
        )
        return bool(result.rowcount)


class Connections(_Repo):
    async def add(self, connection: Connection) -> None:
        await self._c.execute(t.connections.insert().values(_values(connection, t.connections)))

    async def _one(self, *where: Any) -> Connection | None:
        row = (await self._c.execute(sa.select(t.connections).where(*where))).first()
        return _record(Connection, row) if row else None

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
        return [_record(Connection, r) for r in rows]

    async def set_enabled_clients(
        self, tenant_id: str, connection_id: str, client_ids: Sequence[str]
    ) -> None:
        await self._c.execute(
            t.connections.update()
            .where(t.connections.c.tenant_id == tenant_id, t.connections.c.id == connection_id)
            .values(enabled_clients=list(client_ids))
        )

    async def update(self, connection: Connection) -> None:
        await self._c.execute(
            t.connections.update()
            .where(
                t.connections.c.tenant_id == connection.tenant_id,
                t.connections.c.id == connection.id,
            )
            .values(options=connection.options, enabled_clients=list(connection.enabled_clients))
        )

    async def delete(self, tenant_id: str, connection_id: str) -> bool:
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


def _identity(row: Any) -> Identity:
    return _record(Identity, row, connection_name=row.connection_name)


def _identity_query() -> sa.Select[Any]:
    return sa.select(t.identities, t.connections.c.name.label("connection_name")).join(
        t.connections, t.connections.c.id == t.identities.c.connection_id
    )


class Identities(_Repo):
    async def add(self, identity: Identity) -> None:
        await self._c.execute(t.identities.insert().values(_values(identity, t.identities)))

    async def find(self, tenant_id: str, connection_id: str, subject: str) -> Identity | None:
        row = (
            await self._c.execute(
                _identity_query().where(
                    t.identities.c.tenant_id == tenant_id,
                    t.identities.c.connection_id == connection_id,
                    t.identities.c.subject == subject,
                )
            )
        ).first()
        return _identity(row) if row else None

    async def for_user(self, tenant_id: str, user_pk: str) -> list[Identity]:
        rows = await self._c.execute(
            _identity_query()
            .where(t.identities.c.tenant_id == tenant_id, t.identities.c.user_pk == user_pk)
            .order_by(t.identities.c.is_primary.desc(), t.identities.c.linked_at)
        )
        return [_identity(r) for r in rows]

    async def update(self, identity: Identity) -> None:
        values = _values(identity, t.identities)
        values.pop("id", None)
        await self._c.execute(
            t.identities.update()
            .where(t.identities.c.id == identity.id, t.identities.c.tenant_id == identity.tenant_id)
            .values(values)
        )

    async def move(self, tenant_id: str, from_user_pk: str, to_user_pk: str) -> int:
        # Drop the primary mark first: the partial unique index allows one primary per user.
        await self._c.execute(
            t.identities.update()
            .where(t.identities.c.tenant_id == tenant_id, t.identities.c.user_pk == from_user_pk)
            .values(is_primary=False)
        )
        result = await self._c.execute(
            t.identities.update()
            .where(t.identities.c.tenant_id == tenant_id, t.identities.c.user_pk == from_user_pk)
            .values(user_pk=to_user_pk)
        )
        return int(result.rowcount)

    async def by_id(self, identity_id: str) -> Identity | None:
        row = (
            await self._c.execute(_identity_query().where(t.identities.c.id == identity_id))
        ).first()
        return _identity(row) if row else None


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
_IDENTITY_FIELDS = [f.name for f in fields(Identity)]


class Users(_Repo):
    async def add(self, user: User) -> None:
        await self._c.execute(t.users.insert().values(_values(user, t.users)))

    async def _one_with_identities(self, *where: Any) -> User | None:
        rows = (await self._c.execute(_user_with_identities_query().where(*where))).all()
        if not rows:
            return None
        user = _record(User, rows[0])
        for row in rows:
            data = row._mapping
            if data["idn_id"] is not None:
                user.identities.append(
                    Identity(**{name: data[f"idn_{name}"] for name in _IDENTITY_FIELDS})
                )
        return user

    async def _with_identities(self, rows: Sequence[Any]) -> list[User]:
        users = [_record(User, r) for r in rows]
        if not users:
            return users
        by_pk = {u.pk: u for u in users}
        idn = await self._c.execute(
            _identity_query()
            .where(t.identities.c.user_pk.in_(list(by_pk)))
            .order_by(t.identities.c.is_primary.desc(), t.identities.c.linked_at)
        )
        for row in idn:
            by_pk[row.user_pk].identities.append(_identity(row))
        return users

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        return await self._one_with_identities(
            t.users.c.tenant_id == tenant_id, t.users.c.user_id == user_id
        )

    async def by_pk(self, tenant_id: str, pk: str) -> User | None:
        return await self._one_with_identities(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)

    async def list(self, tenant_id: str, *, offset: int, limit: int) -> builtins.list[User]:
        rows = (
            await self._c.execute(
                sa.select(t.users)
                .where(t.users.c.tenant_id == tenant_id)
                .order_by(t.users.c.created_at, t.users.c.pk)
                .offset(offset)
                .limit(limit)
            )
        ).all()
        return await self._with_identities(rows)

    async def count(self, tenant_id: str) -> int:
        value = await self._c.scalar(
            sa.select(sa.func.count()).select_from(t.users).where(t.users.c.tenant_id == tenant_id)
        )
        return int(value or 0)

    async def update(self, user: User) -> None:
        values = _values(user, t.users)
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
            t.users.update()
            .where(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)
            .values(last_login=at, last_ip=ip, logins_count=t.users.c.logins_count + 1)
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
        total = await self._c.scalar(sa.select(sa.func.count()).select_from(t.users).where(*where))
        order: builtins.list[Any] = [t.users.c.created_at, t.users.c.pk]
        if sort is not None:
            column = t.users.c[sort.field]
            order = [column.desc() if sort.descending else column.asc(), t.users.c.pk]
        rows = (
            await self._c.execute(
                sa.select(t.users).where(*where).order_by(*order).offset(offset).limit(limit)
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
        await self._c.execute(
            t.users.delete().where(t.users.c.tenant_id == tenant_id, t.users.c.pk == pk)
        )

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


class Credentials(_Repo):
    async def add(self, credential: PasswordCredential) -> None:
        await self._c.execute(
            t.password_credentials.insert().values(_values(credential, t.password_credentials))
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
        return _record(PasswordCredential, row) if row else None

    async def for_identity(self, identity_id: str) -> PasswordCredential | None:
        row = (
            await self._c.execute(
                sa.select(t.password_credentials).where(
                    t.password_credentials.c.identity_id == identity_id
                )
            )
        ).first()
        return _record(PasswordCredential, row) if row else None

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


class RefreshTokens(_Repo):
    async def add(self, token: RefreshToken) -> None:
        await self._c.execute(t.refresh_tokens.insert().values(_values(token, t.refresh_tokens)))

    async def by_hash(self, tenant_id: str, token_hash: str) -> RefreshToken | None:
        row = (
            await self._c.execute(
                sa.select(t.refresh_tokens).where(
                    t.refresh_tokens.c.tenant_id == tenant_id,
                    t.refresh_tokens.c.token_hash == token_hash,
                )
            )
        ).first()
        return _record(RefreshToken, row) if row else None

    async def mark_used(self, token_id: str, at: datetime, replaced_by: str) -> bool:
        result = await self._c.execute(
            t.refresh_tokens.update()
            .where(t.refresh_tokens.c.id == token_id, t.refresh_tokens.c.used_at.is_(None))
            .values(used_at=at, replaced_by=replaced_by)
        )
        return result.rowcount == 1

    async def revoke_family(self, family_id: str, at: datetime) -> int:
        result = await self._c.execute(
            t.refresh_tokens.update()
            .where(
                t.refresh_tokens.c.family_id == family_id, t.refresh_tokens.c.revoked_at.is_(None)
            )
            .values(revoked_at=at)
        )
        return int(result.rowcount)

    async def revoke_for_user(self, tenant_id: str, user_pk: str, at: datetime) -> int:
        result = await self._c.execute(
            t.refresh_tokens.update()
            .where(
                t.refresh_tokens.c.tenant_id == tenant_id,
                t.refresh_tokens.c.user_pk == user_pk,
                t.refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return int(result.rowcount)


class PasswordTickets(_Repo):
    async def add(self, ticket: PasswordTicket) -> None:
        await self._c.execute(
            t.password_tickets.insert().values(_values(ticket, t.password_tickets))
        )

    async def by_hash(self, tenant_id: str, ticket_hash: str) -> PasswordTicket | None:
        row = (
            await self._c.execute(
                sa.select(t.password_tickets).where(
                    t.password_tickets.c.tenant_id == tenant_id,
                    t.password_tickets.c.ticket_hash == ticket_hash,
                )
            )
        ).first()
        return _record(PasswordTicket, row) if row else None

    async def mark_used(self, ticket_id: str, at: datetime) -> bool:
        result = await self._c.execute(
            t.password_tickets.update()
            .where(t.password_tickets.c.id == ticket_id, t.password_tickets.c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    async def spend_for_user(self, tenant_id: str, user_pk: str, at: datetime) -> int:
        """Mark every outstanding ticket of the user used: none outlives a credential change."""
        result = await self._c.execute(
            t.password_tickets.update()
            .where(
                t.password_tickets.c.tenant_id == tenant_id,
                t.password_tickets.c.user_pk == user_pk,
                t.password_tickets.c.used_at.is_(None),
            )
            .values(used_at=at)
        )
        return int(result.rowcount)


class Logs(_Repo):
    async def add(self, event: LogEvent) -> None:
        await self._c.execute(t.log_events.insert().values(_values(event, t.log_events)))

    async def get(self, tenant_id: str, log_id: str) -> LogEvent | None:
        row = (
            await self._c.execute(
                sa.select(t.log_events).where(
                    t.log_events.c.tenant_id == tenant_id, t.log_events.c.log_id == log_id
                )
            )
        ).first()
        return _record(LogEvent, row) if row else None

    @staticmethod
    def _where(tenant_id: str, flt: LogFilter) -> builtins.list[Any]:
        c = t.log_events.c
        where: builtins.list[Any] = [c.tenant_id == tenant_id]
        if flt.types:
            where.append(c.type.in_(flt.types))
        for column, value in (
            (c.user_id, flt.user_id),
            (c.client_id, flt.client_id),
            (c.connection, flt.connection),
            (c.ip, flt.ip),
        ):
            if value is not None:
                where.append(column == value)
        if flt.date_from is not None:
            where.append(c.date >= flt.date_from)
        if flt.date_to is not None:
            where.append(c.date <= flt.date_to)
        return where

    async def search(
        self, tenant_id: str, flt: LogFilter, *, offset: int, limit: int
    ) -> tuple[builtins.list[LogEvent], int]:
        where = self._where(tenant_id, flt)
        total = await self._c.scalar(
            sa.select(sa.func.count()).select_from(t.log_events).where(*where)
        )
        c = t.log_events.c
        order = [c.date.desc(), c.log_id.desc()] if flt.descending else [c.date, c.log_id]
        rows = await self._c.execute(
            sa.select(t.log_events).where(*where).order_by(*order).offset(offset).limit(limit)
        )
        return [_record(LogEvent, r) for r in rows], int(total or 0)

    async def after(
        self, tenant_id: str, flt: LogFilter, *, from_id: str | None, take: int
    ) -> builtins.list[LogEvent]:
        c = t.log_events.c
        where = self._where(tenant_id, flt)
        if from_id:
            anchor = (
                await self._c.execute(
                    sa.select(c.date, c.log_id).where(c.tenant_id == tenant_id, c.log_id == from_id)
                )
            ).first()
            if anchor is not None:
                where.append(
                    sa.or_(
                        c.date > anchor.date,
                        sa.and_(c.date == anchor.date, c.log_id > anchor.log_id),
                    )
                )
        rows = await self._c.execute(
            sa.select(t.log_events).where(*where).order_by(c.date, c.log_id).limit(take)
        )
        return [_record(LogEvent, r) for r in rows]

    async def list(
        self, tenant_id: str, *, user_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[LogEvent]:
        q = sa.select(t.log_events).where(t.log_events.c.tenant_id == tenant_id)
        if user_id is not None:
            q = q.where(t.log_events.c.user_id == user_id)
        rows = await self._c.execute(
            q.order_by(t.log_events.c.date.desc(), t.log_events.c.log_id)
            .offset(offset)
            .limit(limit)
        )
        return [_record(LogEvent, r) for r in rows]


class Outbox(_Repo):
    async def add(self, mail: Mail) -> None:
        values = _values(mail, t.mail_outbox, to="recipient")
        await self._c.execute(t.mail_outbox.insert().values(values))

    @staticmethod
    def _mail(row: Any) -> Mail:
        return _record(Mail, row, to=row.recipient)

    async def list(self, tenant_id: str | None, *, limit: int = 50) -> builtins.list[Mail]:
        q = sa.select(t.mail_outbox)
        if tenant_id is not None:
            q = q.where(t.mail_outbox.c.tenant_id == tenant_id)
        rows = await self._c.execute(q.order_by(t.mail_outbox.c.created_at.desc()).limit(limit))
        return [self._mail(r) for r in rows]

    async def pending(self, limit: int = 20) -> builtins.list[Mail]:
        rows = await self._c.execute(
            sa.select(t.mail_outbox)
            .where(t.mail_outbox.c.sent_at.is_(None), t.mail_outbox.c.attempts < 5)
            .order_by(t.mail_outbox.c.created_at)
            .limit(limit)
        )
        return [self._mail(r) for r in rows]

    async def mark_sent(self, mail_id: str, at: datetime) -> None:
        await self._c.execute(
            t.mail_outbox.update()
            .where(t.mail_outbox.c.id == mail_id)
            .values(sent_at=at, attempts=t.mail_outbox.c.attempts + 1, last_error=None)
        )

    async def mark_failed(self, mail_id: str, error: str) -> None:
        await self._c.execute(
            t.mail_outbox.update()
            .where(t.mail_outbox.c.id == mail_id)
            .values(attempts=t.mail_outbox.c.attempts + 1, last_error=error[:500])
        )


class Sessions(_Repo):
    async def add(self, session: Session) -> None:
        await self._c.execute(t.sessions.insert().values(_values(session, t.sessions)))

    async def by_token_hash(self, tenant_id: str, token_hash: str) -> Session | None:
        row = (
            await self._c.execute(
                sa.select(t.sessions).where(
                    t.sessions.c.tenant_id == tenant_id, t.sessions.c.token_hash == token_hash
                )
            )
        ).first()
        return _record(Session, row) if row else None

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
            t.sessions.update()
            .where(
                t.sessions.c.tenant_id == tenant_id,
                t.sessions.c.user_pk == user_pk,
                t.sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return int(result.rowcount)


class Transactions(_Repo):
    async def add(self, tx: LoginTransaction) -> None:
        await self._c.execute(
            t.login_transactions.insert().values(_values(tx, t.login_transactions))
        )

    async def get(self, tenant_id: str, tx_id: str) -> LoginTransaction | None:
        row = (
            await self._c.execute(
                sa.select(t.login_transactions).where(
                    t.login_transactions.c.tenant_id == tenant_id,
                    t.login_transactions.c.id == tx_id,
                )
            )
        ).first()
        return _record(LoginTransaction, row) if row else None

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


class Codes(_Repo):
    async def add(self, code: AuthorizationCode) -> None:
        await self._c.execute(
            t.authorization_codes.insert().values(_values(code, t.authorization_codes))
        )

    async def by_hash(self, tenant_id: str, code_hash: str) -> AuthorizationCode | None:
        row = (
            await self._c.execute(
                sa.select(t.authorization_codes).where(
                    t.authorization_codes.c.tenant_id == tenant_id,
                    t.authorization_codes.c.code_hash == code_hash,
                )
            )
        ).first()
        return _record(AuthorizationCode, row) if row else None

    async def redeem(self, code_id: str, at: datetime, refresh_family_id: str | None) -> bool:
        result = await self._c.execute(
            t.authorization_codes.update()
            .where(t.authorization_codes.c.id == code_id, t.authorization_codes.c.used_at.is_(None))
            .values(used_at=at, refresh_family_id=refresh_family_id)
        )
        return result.rowcount == 1


class Consents(_Repo):
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
        return _record(Consent, row) if row else None

    async def save(self, consent: Consent) -> None:
        # An upsert, not delete-then-insert: two concurrent saves (two tabs accepting the same
        # consent) would otherwise both insert, and the second would fail on the primary key.
        insert = pg_insert if self._c.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(t.consents).values(_values(consent, t.consents))
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


class Passwordless(_Repo):
    async def add(self, code: PasswordlessCode) -> None:
        await self._c.execute(
            t.passwordless_codes.insert().values(_values(code, t.passwordless_codes))
        )

    async def latest(
        self, tenant_id: str, connection_id: str, email: str
    ) -> PasswordlessCode | None:
        c = t.passwordless_codes.c
        row = (
            await self._c.execute(
                sa.select(t.passwordless_codes)
                .where(c.tenant_id == tenant_id, c.connection_id == connection_id, c.email == email)
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(1)
            )
        ).first()
        return _record(PasswordlessCode, row) if row else None

    async def use(self, code_id: str, at: datetime) -> bool:
        c = t.passwordless_codes.c
        result = await self._c.execute(
            t.passwordless_codes.update()
            .where(c.id == code_id, c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    async def fail(self, code_id: str) -> None:
        c = t.passwordless_codes.c
        await self._c.execute(
            t.passwordless_codes.update().where(c.id == code_id).values(attempts=c.attempts + 1)
        )


class UpstreamFlows(_Repo):
    async def add(self, flow: UpstreamFlow) -> None:
        await self._c.execute(t.upstream_flows.insert().values(_values(flow, t.upstream_flows)))

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
        return _record(UpstreamFlow, row) if row else None


class Admins(_Repo):
    async def add(self, admin: Admin) -> None:
        await self._c.execute(t.admins.insert().values(_values(admin, t.admins)))

    async def get(self, tenant_id: str, user_pk: str) -> Admin | None:
        c = t.admins.c
        row = (
            await self._c.execute(
                sa.select(t.admins).where(c.tenant_id == tenant_id, c.user_pk == user_pk)
            )
        ).first()
        return _record(Admin, row) if row else None

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
        return [_record(Admin, r) for r in rows]


class AccountFlows(_Repo):
    async def add(self, flow: AccountFlow) -> None:
        await self._c.execute(t.account_flows.insert().values(_values(flow, t.account_flows)))

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
        return _record(AccountFlow, row) if row else None
