"""``POST /api/v2/jobs/verification-email`` (Auth0 Management API v2, "Jobs"): mail the user a
new verification link. The job is done when it answers: its mail waits in the outbox, committed
with the job and its ``svr`` log event, so ``GET /jobs/{id}`` finds it ``completed``."""

from __future__ import annotations

from typing import Any

from tether.domain.actor import Actor, record_change
from tether.domain.audit import Audit, LogType
from tether.domain.clock import Clock
from tether.domain.ids import new_id
from tether.domain.models import Tenant
from tether.domain.models.jobs import Job, JobStatus, JobType
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.verification import EmailVerification, VerificationMail


class VerificationEmailJobs:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        verification: EmailVerification,
        mails: VerificationMail,
        audit: Audit,
        clock: Clock,
    ):
        self._uow = uow
        self._verification = verification
        self._mails = mails
        self._audit = audit
        self._clock = clock

    async def send(self, tenant: Tenant, user_id: Any, actor: Actor, identity: Any = None) -> Job:
        """Mail a new link (also the dashboard's button and ``tether users verify-email
        --send``); refused for a verified address and past the per-user limit."""
        user = await self._verification.sendable(tenant, user_id, identity)
        now = self._clock.now()
        job = Job(
            id=new_id("job_"),
            tenant_id=tenant.id,
            type=JobType.VERIFICATION_EMAIL,
            status=JobStatus.COMPLETED,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await self._mails.queue_mail(uow, tenant, user)
            await uow.jobs.add(job)
            await record_change(
                self._audit,
                uow,
                tenant.id,
                actor,
                "Send a verification email",
                {"job": job.id, "actor": actor.who},
                user=user,
                type_=LogType.SUCCESS_VERIFICATION_EMAIL_REQUEST,
            )
            await uow.commit()
        return job
