"""An export's file: gzip chunks kept with the job, downloaded by an expiring, unguessable link.

Auth0 Management API v2, "Jobs": a completed export's ``location`` is where its file is
downloaded, for a limited time. Tether's link carries its own proof (an HMAC of the job id and
the expiry under the tenant's key), so the download needs no bearer token; a wrong, expired or
other tenant's link is a 404, indistinguishable from a missing job.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator

from tether.domain.clock import Clock
from tether.domain.errors import NotFound
from tether.domain.models import Tenant
from tether.domain.models.jobs import Job, JobStatus, JobType
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.sealing import Sealer


class ExportFiles:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, sealer: Sealer):
        self._uow = uow
        self._clock = clock
        self._sealer = sealer

    def _mac(self, job: Job, expires: int) -> str:
        mac = self._sealer.mac(job.tenant_id, f"job-file|{job.id}|{expires}".encode())
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def link_token(self, job: Job) -> str | None:
        """An unguessable token for the file of a completed export, valid until its expiry."""
        if job.type != JobType.USERS_EXPORT or job.status != JobStatus.COMPLETED:
            return None
        if job.location_expires_at is None or job.location_expires_at <= self._clock.now():
            return None
        expires = int(job.location_expires_at.timestamp())
        return f"{expires}.{self._mac(job, expires)}"

    async def open(self, tenant: Tenant, job_id: str, token: str) -> AsyncIterator[bytes]:
        """The export's gzip, chunk by chunk; NotFound for a wrong or expired link, or one
        opened on another tenant's host."""
        async with self._uow(read_only=True) as uow:
            job = await uow.jobs.by_id(job_id)
        expires_text, _, mac = token.partition(".")
        if (
            job is None
            or job.tenant_id != tenant.id
            or not expires_text.isdigit()
            or job.status != JobStatus.COMPLETED
            or job.location_expires_at is None
            or int(expires_text) != int(job.location_expires_at.timestamp())
            or job.location_expires_at <= self._clock.now()
            or not hmac.compare_digest(mac, self._mac(job, int(expires_text)))
        ):
            raise NotFound("The file does not exist or its link expired.", code="inexistent_file")
        return self._chunks(job.id)

    async def _chunks(self, job_id: str) -> AsyncIterator[bytes]:
        seq = 0
        while True:
            async with self._uow(read_only=True) as uow:
                data = await uow.jobs.chunk(job_id, seq)
            if data is None:
                return
            yield data
            seq += 1
