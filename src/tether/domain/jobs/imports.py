"""Importing users in batches: each batch of rows, their failed rows and the job's progress commit
together, so a job interrupted anywhere resumes at the first row not committed, and a row is
written whole (user, identity, credential) or not at all.

Auth0, "Bulk User Imports": a user whose email already exists in the connection is a
``DUPLICATED_USER`` error unless ``upsert`` is true; then its profile fields, ``blocked`` and
metadata are replaced by the row's (metadata objects replaced at the top level, not merged),
and its password hash only while the user has never signed in with the imported one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from tether.domain.access import UserAccess
from tether.domain.clock import Clock
from tether.domain.errors import Conflict
from tether.domain.ids import new_database_subject, new_id
from tether.domain.jobs import rows as rowcheck
from tether.domain.models import Connection, Identity, PasswordCredential, User
from tether.domain.models.jobs import (
    Job,
    JobError,
    NewUserRows,
    RowError,
    UserUpdate,
)
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.users import PROFILE_FIELDS

BATCH_SIZE = 500
UPSERT_FIELDS = (*PROFILE_FIELDS, "email_verified", "blocked", "user_metadata", "app_metadata")


class BatchImporter:
    """Writes rows of a users file for one job; the caller supplies rows from ``job.cursor``."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, access: UserAccess):
        self._uow = uow
        self._clock = clock
        self._access = access

    async def run_batch(
        self, job: Job, connection: Connection, batch: Sequence[Any], *, lease_seconds: int
    ) -> None:
        """Write ``batch`` (the rows from ``job.cursor`` on) and the job's progress, together.

        A conflict at commit (a sign-up for the same email in between) retries the batch a
        row at a time, so one row cannot take the others down with it."""
        try:
            async with self._uow() as uow:
                await self._write(uow, job, connection, batch, lease_seconds)
                await uow.commit()
            return
        except Conflict:
            pass
        for row in batch:
            try:
                async with self._uow() as uow:
                    await self._write(uow, job, connection, [row], lease_seconds)
                    await uow.commit()
            except Conflict:
                async with self._uow() as uow:
                    fresh = await uow.jobs.get(job.tenant_id, job.id)
                    assert fresh is not None  # noqa: S101 (the runner holds the job)
                    job.inserted, job.updated, job.failed = (
                        fresh.inserted,
                        fresh.updated,
                        fresh.failed,
                    )
                    job.cursor = fresh.cursor
                    await self._fail_rows(
                        uow,
                        job,
                        [
                            (
                                row,
                                [
                                    RowError(
                                        "CONFLICT", "The user conflicts with an existing one", ""
                                    )
                                ],
                            )
                        ],
                        lease_seconds,
                    )
                    await uow.commit()

    async def _fail_rows(
        self,
        uow: UnitOfWork,
        job: Job,
        failed: list[tuple[Any, list[RowError]]],
        lease_seconds: int,
    ) -> None:
        await uow.jobs.add_errors(
            job.id,
            [
                JobError(job.cursor + i, rowcheck.redact(row), [e.view() for e in errors])
                for i, (row, errors) in enumerate(failed)
            ],
        )
        job.failed += len(failed)
        job.cursor += len(failed)
        await self._save(uow, job, lease_seconds)

    async def _save(self, uow: UnitOfWork, job: Job, lease_seconds: int) -> None:
        now = self._clock.now()
        job.updated_at = now
        job.lease_until = now + timedelta(seconds=lease_seconds)
        await uow.jobs.save(job)

    async def _write(
        self,
        uow: UnitOfWork,
        job: Job,
        connection: Connection,
        batch: Sequence[Any],
        lease_seconds: int,
    ) -> None:
        now = self._clock.now()
        checked = [rowcheck.check(row) for row in batch]
        good = [c for c in checked if isinstance(c, rowcheck.ImportRow)]
        existing = await uow.bulk_users.existing(
            job.tenant_id, connection.id, sorted({c.email for c in good})
        )
        wanted_ids = sorted({f"auth0|{c.fields['user_id']}" for c in good if "user_id" in c.fields})
        taken = (
            await uow.bulk_users.taken_user_ids(job.tenant_id, wanted_ids) if wanted_ids else set()
        )
        new: dict[str, NewUserRows] = {}
        updates: list[UserUpdate] = []
        errors: list[JobError] = []
        inserted = updated = 0
        for offset, (row, result) in enumerate(zip(batch, checked, strict=True)):
            position = job.cursor + offset
            if not isinstance(result, rowcheck.ImportRow):
                errors.append(JobError(position, rowcheck.redact(row), [e.view() for e in result]))
                continue
            known = existing.get(result.email)
            pending = new.get(result.email)
            if (known or pending) and not job.upsert:
                errors.append(
                    JobError(
                        position,
                        rowcheck.redact(row),
                        [
                            RowError(
                                "DUPLICATED_USER",
                                "The user already exist and upsert parameter is false",
                                "",
                            ).view()
                        ],
                    )
                )
                continue
            if pending is not None:
                _apply_to_new(pending, result)
                updated += 1
                continue
            if known is not None:
                pk, identity_id, logins = known
                values = {k: result.fields[k] for k in UPSERT_FIELDS if k in result.fields}
                # Auth0: a hash is replaced by an upsert only until the user signs in with it.
                hash_ = result.password_hash if logins == 0 else None
                updates.append(
                    UserUpdate(pk, identity_id, values, hash_, blocks=values.get("blocked") is True)
                )
                updated += 1
                continue
            subject = result.fields.get("user_id") or new_database_subject()
            if f"auth0|{subject}" in taken:
                errors.append(
                    JobError(
                        position,
                        rowcheck.redact(row),
                        [RowError("CONFLICT", "The user_id is already in use", "user_id").view()],
                    )
                )
                continue
            taken.add(f"auth0|{subject}")
            new[result.email] = _new_user(job.tenant_id, connection, subject, result, now)
            inserted += 1
        if new:
            await uow.bulk_users.insert(list(new.values()))
        if updates:
            await uow.bulk_users.update(job.tenant_id, updates, now)
            for update in updates:
                if update.blocks:
                    # A block ends the user's sessions, refresh tokens and older tokens at once
                    # (DESIGN.md, "Trust"), in this batch's transaction.
                    blocked = await uow.users.by_pk(job.tenant_id, update.user_pk)
                    if blocked is not None:
                        await self._access.end_user_access(uow, job.tenant_id, blocked, at=now)
        if errors:
            await uow.jobs.add_errors(job.id, errors)
        job.inserted += inserted
        job.updated += updated
        job.failed += len(errors)
        job.cursor += len(batch)
        await self._save(uow, job, lease_seconds)


def _new_user(
    tenant_id: str, connection: Connection, subject: str, row: rowcheck.ImportRow, now: Any
) -> NewUserRows:
    f = row.fields
    user = User(
        pk=new_id("usr_"),
        tenant_id=tenant_id,
        user_id=f"auth0|{subject}",
        email=row.email,
        email_verified=bool(f.get("email_verified", False)),
        created_at=now,
        updated_at=now,
        user_metadata=dict(f.get("user_metadata", {})),
        app_metadata=dict(f.get("app_metadata", {})),
        blocked=bool(f.get("blocked", False)),
        username=f.get("username"),
        name=f.get("name"),
        given_name=f.get("given_name"),
        family_name=f.get("family_name"),
        nickname=f.get("nickname"),
        picture=f.get("picture"),
    )
    profile = {k: f[k] for k in PROFILE_FIELDS if f.get(k)}
    identity = Identity(
        id=new_id("idn_"),
        tenant_id=tenant_id,
        user_pk=user.pk,
        connection_id=connection.id,
        connection_name=connection.name,
        provider="auth0",
        subject=subject,
        is_primary=True,
        is_social=False,
        profile_data={"email": row.email, "email_verified": user.email_verified, **profile},
        linked_at=now,
    )
    credential = PasswordCredential(
        identity.id,
        tenant_id,
        connection.id,
        row.email,
        row.password_hash or rowcheck.NO_PASSWORD,
        now,
    )
    return NewUserRows(user, identity, credential)


def _apply_to_new(pending: NewUserRows, row: rowcheck.ImportRow) -> None:
    """A second row for an email the batch is inserting, under upsert: it replaces the first."""
    for key in UPSERT_FIELDS:
        if key in row.fields:
            setattr(pending.user, key, row.fields[key])
    if row.password_hash:
        pending.credential.password_hash = row.password_hash
