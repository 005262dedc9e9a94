"""Auth0's ``send_completion_email``: "Whether to send a completion email to all tenant owners
when the job is finished" (default true). Tether's tenant owners are its dashboard admins; only
verified addresses are written to (an unverified one proves nothing, DESIGN.md "Trust")."""

from __future__ import annotations

from typing import Any

from tether.domain.mail import MailService
from tether.domain.models.jobs import Job, JobType


async def mail_owners(uow: Any, mail: MailService, job: Job) -> None:
    """Queue the mail in ``uow``, the transaction that ends the job."""
    tenant = await uow.tenants.get(job.tenant_id)
    if tenant is None:
        return
    what = "import" if job.type == JobType.USERS_IMPORT else "export"
    counts = (
        f"{job.inserted} inserted, {job.updated} updated, {job.failed} failed of {job.total}.\n"
        if job.type == JobType.USERS_IMPORT
        else f"{job.cursor} users exported.\n"
    )
    body = (
        f"The users {what} job {job.id} on {tenant.name} ended: {job.status}.\n\n"
        + counts
        + (f"{job.status_details}\n" if job.status_details else "")
        + f"\nGET /api/v2/jobs/{job.id} has the details.\n"
    )
    for admin in await uow.admins.list(job.tenant_id):
        owner = await uow.users.by_pk(job.tenant_id, admin.user_pk)
        if owner is not None and owner.email and owner.email_verified:
            await mail.enqueue(
                uow.outbox, tenant, owner.email, f"Users {what} job {job.status}", body
            )
