"""The jobs use cases: create an import or an export, read a job and its failed rows, run the
next job, open an export's file by its link (files.py), mail the owners when it ends (notify.py).

Auth0 Management API v2: ``POST /jobs/users-imports`` answers 202 with the job at ``pending``;
at most two import jobs are active per tenant and a third is refused (429). A job moves
``pending`` -> ``processing`` -> ``completed`` | ``failed``; its ``summary`` counts
``{total, inserted, updated, failed}``. An export's ``location`` is a link that expires.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from tether.domain.access import UserAccess
from tether.domain.audit import Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.errors import InvalidInput, NotFound, RateLimited, Unavailable
from tether.domain.ids import new_id
from tether.domain.jobs import exports, notify
from tether.domain.jobs.files import ExportFiles
from tether.domain.jobs.imports import BATCH_SIZE, BatchImporter
from tether.domain.mail import MailService
from tether.domain.models import Connection, Tenant
from tether.domain.models.jobs import Job, JobError, JobStatus, JobType
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.sealing import Sealer
from tether.protocol import json_text

MAX_ACTIVE_IMPORTS = 2
LEASE_SECONDS = 30
LINK_LIFETIME = timedelta(hours=1)
CHUNK_BYTES = 1024 * 1024
EXPORT_PAGE = 1000


def parse_users_file(data: bytes) -> builtins.list[Any]:
    """The users file: a JSON array (Auth0: "The users file must have an array")."""
    try:
        users = json_text.loads(data)  # RFC 8259: no NaN or Infinity
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("Users file must be valid JSON.", code="invalid_body") from exc
    if not isinstance(users, list):
        raise InvalidInput("Users file must be a JSON array of users.", code="invalid_body")
    return users


class JobService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        audit: Audit,
        clock: Clock,
        sealer: Sealer,
        access: UserAccess,
        mail: MailService,
    ):
        self._mail = mail
        self._uow = uow
        self._audit = audit
        self._clock = clock
        self._sealer = sealer
        self._importer = BatchImporter(uow, clock, access)
        self._files = ExportFiles(uow, clock, sealer)

    # -- creating ------------------------------------------------------------------------------

    async def _connection(self, tenant: Tenant, connection_id: Any) -> Connection:
        if not isinstance(connection_id, str) or not connection_id:
            raise InvalidInput(
                "Payload validation error: 'Missing required property: connection_id'.",
                code="invalid_body",
            )
        async with self._uow(read_only=True) as uow:
            connection = await uow.connections.get(tenant.id, connection_id)
        if connection is None:
            raise InvalidInput("The connection does not exist.", code="invalid_body")
        return connection

    async def create_import(
        self,
        tenant: Tenant,
        connection_id: Any,
        data: bytes,
        *,
        upsert: bool = False,
        external_id: str | None = None,
        send_completion_email: bool = True,
        request: RequestInfo | None = None,
        client_id: str | None = None,
    ) -> Job:
        connection = await self._connection(tenant, connection_id)
        if not connection.is_database:
            raise InvalidInput(
                "Users can only be imported into a database connection.", code="invalid_body"
            )
        users = parse_users_file(data)
        now = self._clock.now()
        job = Job(
            id=new_id("job_"),
            tenant_id=tenant.id,
            type=JobType.USERS_IMPORT,
            status=JobStatus.PENDING,
            created_at=now,
            updated_at=now,
            connection_id=connection.id,
            external_id=external_id,
            upsert=upsert,
            send_completion_email=send_completion_email,
            total=len(users),
            connection_name=connection.name,
        )
        async with self._uow() as uow:
            if await uow.jobs.active_imports(tenant.id) >= MAX_ACTIVE_IMPORTS:
                raise RateLimited(
                    f"There are {MAX_ACTIVE_IMPORTS} active import users jobs, please wait "
                    "until some of them are finished and try again",
                    limit=MAX_ACTIVE_IMPORTS,
                    reset_at=int(now.timestamp()) + 60,
                )
            await uow.jobs.add(job, data)
            await self._log(uow, job, "Users import job created", request, client_id, connection)
            await uow.commit()
        return job

    async def create_export(
        self,
        tenant: Tenant,
        *,
        connection_id: Any = None,
        format_: Any = "json",
        fields: Any = None,
        limit: Any = None,
        request: RequestInfo | None = None,
        client_id: str | None = None,
    ) -> Job:
        connection = await self._connection(tenant, connection_id) if connection_id else None
        if format_ not in exports.FORMATS:
            raise InvalidInput("Payload validation error: 'format' must be json or csv.")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidInput("Payload validation error: 'limit' must be a positive integer.")
        now = self._clock.now()
        job = Job(
            id=new_id("job_"),
            tenant_id=tenant.id,
            type=JobType.USERS_EXPORT,
            status=JobStatus.PENDING,
            created_at=now,
            updated_at=now,
            connection_id=connection.id if connection else None,
            connection_name=connection.name if connection else None,
            format=format_,
            limit=limit,
            fields=exports.check_fields(fields),
        )
        async with self._uow() as uow:
            await uow.jobs.add(job)
            await self._log(uow, job, "Users export job created", request, client_id, connection)
            await uow.commit()
        return job

    async def _log(
        self,
        uow: Any,
        job: Job,
        description: str,
        request: RequestInfo | None = None,
        client_id: str | None = None,
        connection: Connection | None = None,
    ) -> None:
        failed = job.status == JobStatus.FAILED
        await self._audit.record(
            uow,
            job.tenant_id,
            LogType.FAILED_API_OPERATION if failed else LogType.SUCCESS_API_OPERATION,
            request or RequestInfo(),
            description=description,
            client_id=client_id,
            connection=connection,
            details={"job": _summary(job)},
        )

    # -- reading -------------------------------------------------------------------------------

    async def get(self, tenant: Tenant, job_id: str) -> Job:
        async with self._uow(read_only=True) as uow:
            job = await uow.jobs.get(tenant.id, job_id)
            if job is not None and job.connection_id:
                connection = await uow.connections.get(tenant.id, job.connection_id)
                job.connection_name = connection.name if connection else None
        if job is None:
            raise NotFound("The job does not exist.", code="inexistent_job")
        return job

    async def list(self, tenant: Tenant, limit: int = 50) -> builtins.list[Job]:
        async with self._uow(read_only=True) as uow:
            return await uow.jobs.list(tenant.id, limit)

    async def errors(
        self, tenant: Tenant, job_id: str, limit: int = 10_000
    ) -> builtins.list[JobError]:
        await self.get(tenant, job_id)
        async with self._uow(read_only=True) as uow:
            return await uow.jobs.errors(job_id, limit)

    # -- the export's link (files.py) ------------------------------------------------------------

    def link_token(self, job: Job) -> str | None:
        return self._files.link_token(job)

    async def open_file(self, tenant: Tenant, job_id: str, token: str) -> AsyncIterator[bytes]:
        return await self._files.open(tenant, job_id, token)

    # -- running ---------------------------------------------------------------------------------

    async def run_next(self) -> bool:
        """Claim one pending (or abandoned) job and run it to its end; False if none waits."""
        now = self._clock.now()
        # Look first without the write lock (SQLite has one): an idle server polls for nothing.
        async with self._uow(read_only=True) as uow:
            if not await uow.jobs.claimable(now, 1):
                return False
        async with self._uow() as uow:
            candidates = await uow.jobs.claimable(now, 5)
            claimed = None
            for job in candidates:
                if await uow.jobs.claim(job.id, now, now + timedelta(seconds=LEASE_SECONDS)):
                    claimed = job
                    break
            await uow.commit()
        if claimed is None:
            return False
        claimed.status = JobStatus.PROCESSING
        try:
            if claimed.type == JobType.USERS_IMPORT:
                await self._run_import(claimed)
            else:
                await self._run_export(claimed)
        except InvalidInput as exc:
            await self._finish(claimed, JobStatus.FAILED, exc.message)
        except Unavailable:
            raise  # the database is busy: the lease runs out and the job resumes
        except Exception:
            # Anything else would fail again on every resume: end the job, saying how far it got.
            await self._finish(
                claimed,
                JobStatus.FAILED,
                f"The job stopped on an internal error after {claimed.cursor} rows.",
            )
            raise
        return True

    async def _run_import(self, job: Job) -> None:
        async with self._uow(read_only=True) as uow:
            data = await uow.jobs.input_of(job.id)
            connection = await uow.connections.get(job.tenant_id, job.connection_id or "")
        if data is None:
            # Rows before the cursor are in; the rest were never stored (a CLI import that
            # stopped): say so and end, rather than wait forever.
            await self._finish(
                job,
                JobStatus.FAILED,
                f"The import stopped after {job.cursor} of {job.total} rows; "
                "the rows before that were imported.",
            )
            return
        if connection is None:
            await self._finish(job, JobStatus.FAILED, "The connection no longer exists.")
            return
        users = parse_users_file(data)
        job.total = len(users)
        while job.cursor < len(users):
            batch = users[job.cursor : job.cursor + BATCH_SIZE]
            await self._importer.run_batch(job, connection, batch, lease_seconds=LEASE_SECONDS)
        await self._finish(job, JobStatus.COMPLETED)

    async def import_rows(self, job: Job, connection: Connection, rows: builtins.list[Any]) -> None:
        """Write rows for a job the caller runs itself (the CLI, which streams its file)."""
        job.total = job.cursor + len(rows)  # a streamed file's total grows as it is read
        for start in range(0, len(rows), BATCH_SIZE):
            await self._importer.run_batch(
                job, connection, rows[start : start + BATCH_SIZE], lease_seconds=LEASE_SECONDS
            )

    async def _run_export(self, job: Job) -> None:
        async with self._uow() as uow:
            await uow.jobs.drop_chunks(job.id)  # a restarted export starts over
            job.total = await uow.bulk_users.count(job.tenant_id, job.connection_id)
            if job.limit is not None:
                job.total = min(job.total, job.limit)
            job.cursor = 0
            await uow.jobs.save(job)
            await uow.commit()
        writer = exports.Writer(job.format or "json", job.fields)
        buffer = bytearray()
        seq = 0
        async for users in self.users_pages(job.tenant_id, job.connection_id, job.limit):
            buffer += writer.compress(users)
            job.cursor += len(users)
            if len(buffer) >= CHUNK_BYTES:
                await self._store_chunk(job, seq, bytes(buffer))
                seq, buffer = seq + 1, bytearray()
        buffer += writer.finish()
        await self._store_chunk(job, seq, bytes(buffer))
        job.location_expires_at = self._clock.now() + LINK_LIFETIME
        await self._finish(job, JobStatus.COMPLETED)

    async def users_pages(
        self, tenant_id: str, connection_id: str | None, limit: int | None
    ) -> AsyncIterator[builtins.list[Any]]:
        """Users a page at a time, in a stable order, up to ``limit``."""
        after: str | None = None
        left = limit
        while left is None or left > 0:
            size = EXPORT_PAGE if left is None else min(EXPORT_PAGE, left)
            async with self._uow(read_only=True) as uow:
                users = await uow.bulk_users.page(tenant_id, connection_id, after, size)
            if not users:
                return
            yield users
            after = users[-1].pk
            if left is not None:
                left -= len(users)

    async def count_users(self, tenant_id: str, connection_id: str | None) -> int:
        async with self._uow(read_only=True) as uow:
            return await uow.bulk_users.count(tenant_id, connection_id)

    async def _store_chunk(self, job: Job, seq: int, data: bytes) -> None:
        async with self._uow() as uow:
            await uow.jobs.add_chunk(job.id, seq, data)
            now = self._clock.now()
            job.updated_at, job.lease_until = now, now + timedelta(seconds=LEASE_SECONDS)
            await uow.jobs.save(job)
            await uow.commit()

    async def _finish(self, job: Job, status: JobStatus, details: str | None = None) -> None:
        job.status = status
        job.status_details = details
        job.updated_at = self._clock.now()
        job.lease_until = None
        async with self._uow() as uow:
            await uow.jobs.save(job, clear_input=True)
            what = "import" if job.type == JobType.USERS_IMPORT else "export"
            await self._log(uow, job, f"Users {what} job {status.value}")
            if job.send_completion_email:
                await notify.mail_owners(uow, self._mail, job)
            await uow.commit()

    async def start_own(self, tenant: Tenant, connection: Connection, upsert: bool) -> Job:
        """A job the caller runs itself (the CLI): processing from the start, no stored file."""
        now = self._clock.now()
        job = Job(
            id=new_id("job_"),
            tenant_id=tenant.id,
            type=JobType.USERS_IMPORT,
            status=JobStatus.PROCESSING,
            created_at=now,
            updated_at=now,
            connection_id=connection.id,
            upsert=upsert,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
        )
        async with self._uow() as uow:
            await uow.jobs.add(job)
            await self._log(uow, job, "Users import job created")
            await uow.commit()
        return job

    async def finish_own(self, job: Job, failure: str | None = None) -> None:
        await self._finish(job, JobStatus.FAILED if failure else JobStatus.COMPLETED, failure)


def _summary(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "status": job.status,
        "summary": {
            "total": job.total,
            "inserted": job.inserted,
            "updated": job.updated,
            "failed": job.failed,
        },
    }
