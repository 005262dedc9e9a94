"""Jobs and bulk user writes (domain/ports/jobs.py): many rows per statement (executemany), so
an import of 100,000 users is a few hundred transactions, not 300,000 statements."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.domain.models import Identity, User
from tether.domain.models.jobs import Job, JobError, JobStatus, JobType, NewUserRows, UserUpdate
from tether.storage import tables as t
from tether.storage.repositories.base import threaded

_JOB_FIELDS = [f.name for f in fields(Job) if f.name not in ("started_at", "connection_name")]
_ACTIVE = (JobStatus.PENDING.value, JobStatus.PROCESSING.value)


def _job(row: Any) -> Job:
    data = row._mapping
    return Job(**{name: data[name] for name in _JOB_FIELDS})


def _job_values(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in _JOB_FIELDS}


_JOB_COLUMNS = [t.jobs.c[name] for name in _JOB_FIELDS]


class Jobs:
    def __init__(self, conn: AsyncConnection):
        self._c = conn

    async def add(self, job: Job, input_: bytes | None = None) -> None:
        await self._c.execute(t.jobs.insert().values(**_job_values(job), input=input_))

    async def get(self, tenant_id: str, job_id: str) -> Job | None:
        row = (
            await self._c.execute(
                sa.select(*_JOB_COLUMNS).where(
                    t.jobs.c.tenant_id == tenant_id, t.jobs.c.id == job_id
                )
            )
        ).first()
        return _job(row) if row else None

    async def by_id(self, job_id: str) -> Job | None:
        row = (await self._c.execute(sa.select(*_JOB_COLUMNS).where(t.jobs.c.id == job_id))).first()
        return _job(row) if row else None

    async def list(self, tenant_id: str, limit: int) -> builtins.list[Job]:
        rows = await self._c.execute(
            sa.select(*_JOB_COLUMNS)
            .where(t.jobs.c.tenant_id == tenant_id)
            .order_by(t.jobs.c.created_at.desc(), t.jobs.c.id)
            .limit(limit)
        )
        return [_job(r) for r in rows]

    async def active_imports(self, tenant_id: str) -> int:
        count = await self._c.scalar(
            sa.select(sa.func.count())
            .select_from(t.jobs)
            .where(
                t.jobs.c.tenant_id == tenant_id,
                t.jobs.c.type == JobType.USERS_IMPORT.value,
                t.jobs.c.status.in_(_ACTIVE),
            )
        )
        return int(count or 0)

    async def claimable(self, now: datetime, limit: int) -> builtins.list[Job]:
        """Pending jobs and abandoned ones (lease run out), oldest first, of tenants with no job
        under a live lease: one job at a time per tenant."""
        busy = (
            sa.select(t.jobs.c.tenant_id)
            .where(t.jobs.c.status == JobStatus.PROCESSING.value, t.jobs.c.lease_until > now)
            .scalar_subquery()
        )
        rows = await self._c.execute(
            sa.select(*_JOB_COLUMNS)
            .where(
                sa.or_(
                    t.jobs.c.status == JobStatus.PENDING.value,
                    sa.and_(
                        t.jobs.c.status == JobStatus.PROCESSING.value,
                        sa.or_(t.jobs.c.lease_until.is_(None), t.jobs.c.lease_until <= now),
                    ),
                ),
                t.jobs.c.tenant_id.not_in(busy),
            )
            .order_by(t.jobs.c.created_at, t.jobs.c.id)
            .limit(limit)
        )
        return [_job(r) for r in rows]

    async def claim(self, job_id: str, now: datetime, lease_until: datetime) -> bool:
        result = await self._c.execute(
            t.jobs.update()
            .where(
                t.jobs.c.id == job_id,
                sa.or_(
                    t.jobs.c.status == JobStatus.PENDING.value,
                    sa.and_(
                        t.jobs.c.status == JobStatus.PROCESSING.value,
                        sa.or_(t.jobs.c.lease_until.is_(None), t.jobs.c.lease_until <= now),
                    ),
                ),
            )
            .values(status=JobStatus.PROCESSING.value, lease_until=lease_until, updated_at=now)
        )
        return bool(result.rowcount == 1)

    async def save(self, job: Job, *, clear_input: bool = False) -> None:
        values = _job_values(job)
        values.pop("id")
        if clear_input:
            values["input"] = None
        await self._c.execute(t.jobs.update().where(t.jobs.c.id == job.id).values(values))

    async def input_of(self, job_id: str) -> bytes | None:
        value = await self._c.scalar(sa.select(t.jobs.c.input).where(t.jobs.c.id == job_id))
        return bytes(value) if value is not None else None

    async def add_errors(self, job_id: str, errors: Sequence[JobError]) -> None:
        await self._c.execute(
            t.job_errors.insert(),
            [
                {"job_id": job_id, "position": e.position, "user": e.user, "errors": e.errors}
                for e in errors
            ],
        )

    async def errors(self, job_id: str, limit: int) -> builtins.list[JobError]:
        rows = await self._c.execute(
            sa.select(t.job_errors)
            .where(t.job_errors.c.job_id == job_id)
            .order_by(t.job_errors.c.position)
            .limit(limit)
        )
        return [JobError(r.position, r.user, r.errors) for r in rows]

    async def add_chunk(self, job_id: str, seq: int, data: bytes) -> None:
        await self._c.execute(t.job_files.insert().values(job_id=job_id, seq=seq, data=data))

    async def chunk(self, job_id: str, seq: int) -> bytes | None:
        value = await self._c.scalar(
            sa.select(t.job_files.c.data).where(
                t.job_files.c.job_id == job_id, t.job_files.c.seq == seq
            )
        )
        return bytes(value) if value is not None else None

    async def drop_chunks(self, job_id: str) -> None:
        await self._c.execute(t.job_files.delete().where(t.job_files.c.job_id == job_id))


_USER_COLUMNS = [f.name for f in fields(User) if f.name != "identities"]
_IDENTITY_COLUMNS = [f.name for f in fields(Identity) if f.name != "connection_name"]
_IDENTITY_FIELDS = [f.name for f in fields(Identity)]
# What a page of users reads of each identity: a user's view never shows why an identity was
# linked or what it was before (``link_reason``, ``detached``), so those JSON columns are not
# read (or decoded) at all.
_EXPORTED_IDENTITY: dict[str, Any] = {
    **{name: t.identities.c[name] for name in _IDENTITY_COLUMNS},
    "connection_name": t.connections.c.name,
    "link_reason": sa.null().label("link_reason"),
    "detached": sa.null().label("detached"),
}
_IN_CHUNK = 400  # bound parameters per IN list (SQLite allows 32,766 in all)


class BulkUsers:
    def __init__(self, conn: AsyncConnection):
        self._c = conn

    async def _each(
        self, column: sa.Column[Any], where: Sequence[Any], values: Sequence[str], out: Any
    ) -> dict[str, Any]:
        """``value -> out`` for each of ``values`` with a row where ``column == value`` and
        ``where`` (a unique key: at most one row each).

        On PostgreSQL each value is looked up on its own (a correlated scalar subquery over
        ``unnest``): an ``IN`` list over the last column of a unique index is planned from the
        table's statistics, and while a bulk import is filling a table they say it is nearly
        empty, so the planner scans every row of the tenant for each batch and importing 100,000
        users took minutes (docs/benchmarks.md). One index probe a value needs no statistics."""
        found: dict[str, Any] = {}
        for start in range(0, len(values), _IN_CHUNK):
            part = list(values[start : start + _IN_CHUNK])
            if self._c.dialect.name == "postgresql":
                wanted = (
                    sa.func.unnest(sa.bindparam("wanted", part, type_=ARRAY(sa.String)))
                    .table_valued("value")
                    .render_derived(name="wanted")
                )
                hit = sa.select(out).where(*where, column == wanted.c.value).scalar_subquery()
                rows = await self._c.execute(
                    threaded(sa.select(wanted.c.value, hit.label("hit")).select_from(wanted))
                )
                found.update({r.value: r.hit for r in rows if r.hit is not None})
            else:  # SQLite plans an IN list as one index probe a value
                rows = await self._c.execute(
                    threaded(
                        sa.select(column.label("value"), out.label("hit")).where(
                            *where, column.in_(part)
                        )
                    )
                )
                found.update({r.value: r.hit for r in rows})
        return found

    async def existing(
        self, tenant_id: str, connection_id: str, emails: Sequence[str]
    ) -> dict[str, tuple[str, str, int]]:
        c, i, u = t.password_credentials, t.identities, t.users
        identity_ids = await self._each(
            c.c.email,
            [c.c.tenant_id == tenant_id, c.c.connection_id == connection_id],
            emails,
            c.c.identity_id,
        )
        by_identity = {identity_id: email for email, identity_id in identity_ids.items()}
        found: dict[str, tuple[str, str, int]] = {}
        ids = list(by_identity)
        for start in range(0, len(ids), _IN_CHUNK):
            rows = await self._c.execute(
                threaded(
                    sa.select(i.c.id, i.c.user_pk, u.c.logins_count)
                    .select_from(i.join(u, u.c.pk == i.c.user_pk))
                    .where(i.c.id.in_(ids[start : start + _IN_CHUNK]))
                )
            )
            for row in rows:
                found[by_identity[row.id]] = (row.user_pk, row.id, int(row.logins_count))
        return found

    async def taken_user_ids(self, tenant_id: str, user_ids: Sequence[str]) -> set[str]:
        taken: set[str] = set()
        for table in (t.users, t.retired_user_ids):
            hits = await self._each(
                table.c.user_id, [table.c.tenant_id == tenant_id], user_ids, table.c.user_id
            )
            taken.update(hits)
        return taken

    async def insert(self, rows: Sequence[NewUserRows]) -> None:
        await self._c.execute(
            threaded(t.users.insert()),
            [{name: getattr(r.user, name) for name in _USER_COLUMNS} for r in rows],
        )
        await self._c.execute(
            threaded(t.identities.insert()),
            [{name: getattr(r.identity, name) for name in _IDENTITY_COLUMNS} for r in rows],
        )
        await self._c.execute(
            threaded(t.password_credentials.insert()),
            [
                {
                    "identity_id": r.credential.identity_id,
                    "tenant_id": r.credential.tenant_id,
                    "connection_id": r.credential.connection_id,
                    "email": r.credential.email,
                    "password_hash": r.credential.password_hash,
                    "updated_at": r.credential.updated_at,
                }
                for r in rows
            ],
        )

    async def update(self, tenant_id: str, updates: Sequence[UserUpdate], at: datetime) -> None:
        for update in updates:
            await self._c.execute(
                t.users.update()
                .where(t.users.c.tenant_id == tenant_id, t.users.c.pk == update.user_pk)
                .values(**update.values, updated_at=at)
            )
            if update.password_hash is not None:
                await self._c.execute(
                    t.password_credentials.update()
                    .where(t.password_credentials.c.identity_id == update.identity_id)
                    .values(password_hash=update.password_hash, updated_at=at)
                )

    def _scope(self, tenant_id: str, connection_id: str | None) -> builtins.list[Any]:
        where: list[Any] = [t.users.c.tenant_id == tenant_id]
        if connection_id is not None:
            where.append(
                sa.exists().where(
                    t.identities.c.user_pk == t.users.c.pk,
                    t.identities.c.connection_id == connection_id,
                )
            )
        return where

    async def page(
        self, tenant_id: str, connection_id: str | None, after: str | None, limit: int
    ) -> builtins.list[User]:
        where = self._scope(tenant_id, connection_id)
        if after is not None:
            where.append(t.users.c.pk > after)
        # Columns in the dataclasses' field order: rows become records positionally, which is a
        # third of an export's time less than by name.
        rows = await self._c.execute(
            threaded(
                sa.select(*(t.users.c[name] for name in _USER_COLUMNS))
                .where(*where)
                .order_by(t.users.c.pk)
                .limit(limit)
            )
        )
        users = [User(*row) for row in rows]
        if not users:
            return users
        by_pk = {u.pk: u for u in users}
        identities = await self._c.execute(
            threaded(
                sa.select(*(_EXPORTED_IDENTITY[name] for name in _IDENTITY_FIELDS))
                .join(t.connections, t.connections.c.id == t.identities.c.connection_id)
                .where(t.identities.c.user_pk.in_(list(by_pk)))
                .order_by(t.identities.c.is_primary.desc(), t.identities.c.linked_at)
            )
        )
        for row in identities:
            identity = Identity(*row)
            by_pk[identity.user_pk].identities.append(identity)
        return users

    async def count(self, tenant_id: str, connection_id: str | None) -> int:
        value = await self._c.scalar(
            threaded(
                sa.select(sa.func.count())
                .select_from(t.users)
                .where(*self._scope(tenant_id, connection_id))
            )
        )
        return int(value or 0)
