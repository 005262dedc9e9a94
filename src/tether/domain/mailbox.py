"""The mailbox owner proves an address: what was linked while nobody had proven it is detached.

Pre-account takeover, "trojan identifier" (Sudhodanan & Paverd 2022, §6.2.2; security-checklist
§4.1): an attacker signs up with the victim's address, links an identity they control, and waits
for the victim to recover the account. So when the person who receives mail at the user's
address proves it (a used reset ticket, a used passwordless code, a verification link), every
identity linked into the user while its email was unverified is restored as a user of its own,
exactly as an unlink does; the user's sessions and refresh tokens end (any of them may have come
through such an identity); the person is told by mail, a log event says why, and the email
becomes verified. Identities linked while the email was verified are kept.

``mailbox_proven`` runs inside the caller's unit of work, so the proof (the ticket marked used,
say) and its consequences commit together or not at all.
"""

from __future__ import annotations

from tether.domain.access import UserAccess
from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.detach import label, restore, tell, when
from tether.domain.errors import Conflict
from tether.domain.mail import MailService
from tether.domain.models import Tenant, User, iso8601
from tether.domain.ports import UnitOfWork

#: ``details.event`` of the log event written when identities are detached.
DETACHED_EVENT = "identities_detached_on_mailbox_proof"


class MailboxProof:
    def __init__(self, audit: Audit, mail: MailService, clock: Clock, access: UserAccess):
        self._audit = audit
        self._mail = mail
        self._clock = clock
        self._access = access

    async def mailbox_proven(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        user: User,
        address: str,
        *,
        how: str,
        request: RequestInfo = NO_REQUEST,
    ) -> list[str]:
        """``address`` was just proven by ``how`` (``reset_ticket``, ``passwordless_code``,
        ``verification_link``) to belong to the person acting. If it is ``user``'s email, detach
        what was linked while it was unverified and mark it verified. Returns the user_ids of
        the users restored (empty when nothing was detached)."""
        if not user.email or address.strip().lower() != user.email.lower():
            # Proving another address (a linked identity's own, say) proves nothing of this one.
            return []
        now = self._clock.now()
        # Lock the user, then read it again: a link racing this proof either committed before
        # (and its identity is detached here) or waits and sees the email verified.
        if not await uow.users.lock(tenant.id, [user.pk]):
            raise Conflict("The user changed during the request; try again.", code="conflict")
        current = await uow.users.by_pk(tenant.id, user.pk)
        if current is None:
            raise Conflict("The user changed during the request; try again.", code="conflict")
        trojans = [i for i in current.identities if not i.is_primary and i.linked_unverified]
        restored: list[str] = []
        for identity in trojans:
            back = await restore(
                uow,
                tenant,
                identity,
                now,
                {
                    "at": iso8601(now),
                    "method": "detached_on_mailbox_proof",
                    "how": how,
                    "unlinked_from": current.user_id,
                },
            )
            restored.append(back.user_id)
            # The restored row carries tokens_valid_after = now: this process applies it at once.
            self._access.note_after_commit(uow, tenant.id, back.user_id, now)
        was_verified = current.email_verified
        current.email_verified = True
        current.updated_at = now
        await uow.users.update(current)
        if not trojans:
            return restored
        # Whatever was obtained through the user may have come through a detached identity:
        # sessions, refresh tokens and older tokens end (UserAccess, finding 1/8).
        await self._access.end_user_access(uow, tenant.id, current, at=now)
        await self._audit.record(
            uow,
            tenant.id,
            LogType.SUCCESS_API_OPERATION,
            request,
            description="Identities linked while the email was unverified were detached",
            user=current,
            details={
                "event": DETACHED_EVENT,
                "reason": "linked while the email was unverified; the mailbox owner proved it",
                "how": how,
                "email_was_verified": was_verified,
                "identities": restored,
                "after": [i.user_id for i in current.identities if i not in trojans],
            },
        )
        names = "\n".join(f"- {label(i)}" for i in trojans)
        await tell(
            self._mail,
            uow,
            tenant,
            [current.email],
            "Accounts were unlinked from your sign-in",
            f"On {when(now)} you proved that you receive mail at {current.email}. These "
            "accounts had been linked to your account before anyone had proven that, so "
            f"they were unlinked and are now separate accounts:\n{names}\n\n"
            "Every session of your account was signed out. If you linked them yourself, sign "
            "in and link them again on your Linked accounts page.",
        )
        return restored
