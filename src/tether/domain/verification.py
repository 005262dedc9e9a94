"""Email verification: the single-use link that proves a user receives mail at their address.

Auth0's wire: a verification mail on database sign-up, ``POST /api/v2/jobs/verification-email``
(a job that mails the link) and ``POST /api/v2/tickets/email-verification`` (the link itself,
``result_url`` and ``ttl_sec``, default lifetime 432000 s). Using the link is a proof of the
mailbox, so it goes through ``MailboxProof.mailbox_proven`` (security-checklist §4.1, "Trojan
identifier"): what was linked while the address was unverified is detached, then the address is
verified. A link verifies the address it was issued for only while the user still has that
address: an email change spends every outstanding link and mails a new one.

Mails that are asked for again (the Management API's job, the dashboard's button, the CLI, the
"send a new link" of an expired link) count against ``verification_mail`` per user, so nobody
can turn Tether into a mail cannon aimed at one address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from tether.domain.actor import Actor, record_change
from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.errors import InvalidInput, NotFound, RateLimited
from tether.domain.ids import hash_token, new_id, new_secret
from tether.domain.mail import MailService
from tether.domain.mailbox import MailboxProof
from tether.domain.models import Tenant, User, VerificationTicket
from tether.domain.ports import RateLimiter, UnitOfWork, UnitOfWorkFactory

#: Rate-limit rule: verification mails asked for again, per user (Settings).
RULE_VERIFICATION_MAIL = "verification_mail"
#: Auth0's default ticket lifetime ("432000 seconds (5 days)").
DEFAULT_TTL = timedelta(seconds=432_000)
MAX_TTL = timedelta(days=30)
#: Where the mailed link points: Auth0's classic path.
PATH = "lo/verify_email"
SUBJECT = "Verify your email address"


def mail_on_signup(tenant: Tenant) -> bool:
    """Tenant setting ``email_verification.on_signup`` (default on)."""
    section = tenant.settings.get("email_verification") or {}
    return section.get("on_signup", True) is not False


def _days(ttl: timedelta) -> str:
    hours = int(ttl.total_seconds() // 3600)
    if hours >= 48:
        return f"{hours // 24} days"
    return f"{max(hours, 1)} hour{'s' if hours > 1 else ''}"


@dataclass(frozen=True)
class Outcome:
    """What using a link did. ``ticket`` is None when the link is unknown; ``verified`` false
    when it was known but spent, expired, or issued for an address the user no longer has."""

    verified: bool
    ticket: VerificationTicket | None = None
    email: str | None = None

    def redirect(self) -> str | None:
        """Auth0's classic redirect to ``result_url`` with ``success``, ``code`` and
        ``message`` (and ``email`` when the ticket asked for it)."""
        if self.ticket is None or not self.ticket.result_url:
            return None
        params = {
            "success": "true" if self.verified else "false",
            "code": "success" if self.verified else "invalid_ticket",
            "message": "Your email was verified. You can continue using the application."
            if self.verified
            else "This link has expired or was already used.",
        }
        if self.ticket.include_email and self.email:
            params["email"] = self.email
        url = self.ticket.result_url
        return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def check_result_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidInput("Payload validation error: 'result_url' must be a URL.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise InvalidInput(
            "Payload validation error: 'result_url' must be an absolute http(s) URL without "
            "a fragment."
        )
    return value


def check_ttl(value: Any) -> timedelta:
    if value is None or value == 0:
        return DEFAULT_TTL
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("Payload validation error: 'ttl_sec' must be a positive integer.")
    # Compared as integers: timedelta() of a huge number overflows (a 500, not a 400).
    if value > MAX_TTL.total_seconds():
        raise InvalidInput(
            f"Payload validation error: 'ttl_sec' may be at most {int(MAX_TTL.total_seconds())}."
        )
    return timedelta(seconds=value)


def _check_identity(user: User, identity: Any) -> None:
    """Auth0's ``identity`` names which identity's email to verify. Tether verifies the user's
    own address, which is its primary identity's."""
    if identity is None:
        return
    if not isinstance(identity, dict) or not all(
        isinstance(identity.get(k), str) for k in ("user_id", "provider")
    ):
        raise InvalidInput(
            "Payload validation error: 'identity' needs 'user_id' and 'provider' strings."
        )
    primary = next(i for i in user.identities if i.is_primary)
    if (identity["provider"], identity["user_id"]) != (primary.provider, primary.subject):
        raise InvalidInput(
            "Only the address of the user's primary identity can be verified.",
            code="operation_not_supported",
        )


async def issue_link(
    uow: UnitOfWork,
    tenant: Tenant,
    user: User,
    ttl: timedelta,
    now: datetime,
    *,
    result_url: str | None = None,
    include_email: bool = False,
) -> str:
    """Store a new single-use link for the user's current address (in the caller's unit of
    work) and return its URL."""
    if not user.email:
        raise InvalidInput("The user has no email address.", code="invalid_body")
    ticket = new_secret(32)
    await uow.verification_tickets.add(
        VerificationTicket(
            id=new_id("vtk_"),
            tenant_id=tenant.id,
            ticket_hash=hash_token(ticket),
            user_pk=user.pk,
            email=user.email,
            expires_at=now + ttl,
            created_at=now,
            result_url=result_url,
            include_email=include_email,
        )
    )
    return f"{tenant.issuer}{PATH}?ticket={ticket}"


class VerificationMail:
    """Steps, not a service: sign-up, an email change and the verification-email job queue the
    link's mail in their own unit of work, so it goes out only if their change commits."""

    def __init__(self, mail: MailService, clock: Clock):
        self._mail = mail
        self._clock = clock

    async def queue_mail(
        self, uow: UnitOfWork, tenant: Tenant, user: User, ttl: timedelta = DEFAULT_TTL
    ) -> None:
        """Issue a link and queue its mail in the caller's unit of work (sign-up, email
        change): the mail goes out only if the change that asked for it commits."""
        link = await issue_link(uow, tenant, user, ttl, self._clock.now())
        await self._mail.enqueue(
            uow.outbox,
            tenant,
            user.email or "",
            SUBJECT,
            f"Please confirm that {user.email} is your email address.\n\n"
            f"Open this link within {_days(ttl)} to confirm it:\n{link}\n\n"
            "If you did not create an account, ignore this mail.\n",
        )

    async def email_changed(self, uow: UnitOfWork, tenant: Tenant, user: User) -> None:
        """The user's address changed (unverified): older links die, a new one is mailed."""
        await uow.verification_tickets.spend_for_user(tenant.id, user.pk, self._clock.now())
        if user.email and not user.email_verified:
            await self.queue_mail(uow, tenant, user)


class EmailVerification:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        mail: MailService,
        audit: Audit,
        clock: Clock,
        limiter: RateLimiter,
        proof: MailboxProof,
    ):
        self._uow = uow
        self._mails = VerificationMail(mail, clock)
        self._audit = audit
        self._clock = clock
        self._limiter = limiter
        self._proof = proof

    async def _allow(self, tenant: Tenant, user: User) -> None:
        state = await self._limiter.hit(RULE_VERIFICATION_MAIL, f"{tenant.id}:{user.pk}")
        if not state.allowed:
            raise RateLimited(
                "Too many verification emails were sent to this user. Try again later.",
                limit=state.limit,
                reset_at=state.reset_at,
            )

    async def _user(self, uow: UnitOfWork, tenant: Tenant, user_id: Any) -> User:
        if not isinstance(user_id, str) or not user_id:
            raise InvalidInput("Payload validation error: 'Missing required property: user_id'.")
        user = await uow.users.get(tenant.id, user_id)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user

    async def sendable(self, tenant: Tenant, user_id: Any, identity: Any = None) -> User:
        """The user a new verification mail may go to now, counted against the per-user limit
        (``JobService.send_verification_email`` queues it with its job)."""
        async with self._uow(read_only=True) as uow:
            user = await self._user(uow, tenant, user_id)
        _check_identity(user, identity)
        if not user.email:
            raise InvalidInput("The user has no email address.", code="invalid_body")
        if user.email_verified:
            raise InvalidInput("The user's email address is already verified.", code="invalid_body")
        await self._allow(tenant, user)
        return user

    async def ticket(
        self,
        tenant: Tenant,
        user_id: Any,
        actor: Actor,
        *,
        result_url: Any = None,
        ttl_sec: Any = None,
        include_email: Any = False,
        identity: Any = None,
    ) -> str:
        """``POST /api/v2/tickets/email-verification``: the link, for the caller to deliver."""
        url = check_result_url(result_url)
        ttl = check_ttl(ttl_sec)
        if not isinstance(include_email, bool):
            raise InvalidInput(
                "Payload validation error: 'includeEmailInRedirect' must be a boolean."
            )
        async with self._uow() as uow:
            user = await self._user(uow, tenant, user_id)
            _check_identity(user, identity)
            link = await issue_link(
                uow,
                tenant,
                user,
                ttl,
                self._clock.now(),
                result_url=url,
                include_email=include_email,
            )
            await record_change(
                self._audit,
                uow,
                tenant.id,
                actor,
                "Create an email verification ticket",
                {"ttl_sec": int(ttl.total_seconds())},
                user=user,
            )
            await uow.commit()
        return link

    # -- using -------------------------------------------------------------------------------

    async def peek(self, tenant: Tenant, ticket: str) -> VerificationTicket | None:
        """The ticket, unspent or not, without using it (the page's GET changes nothing)."""
        async with self._uow(read_only=True) as uow:
            return await uow.verification_tickets.by_hash(tenant.id, hash_token(ticket[:200]))

    async def verify(
        self, tenant: Tenant, ticket: str, request: RequestInfo = NO_REQUEST
    ) -> Outcome:
        """Use the link once: the mailbox is proven (``mailbox_proven``), the user's other links
        are spent, and the ``sv`` event is written, all in one transaction."""
        now = self._clock.now()
        async with self._uow() as uow:
            record = await uow.verification_tickets.by_hash(tenant.id, hash_token(ticket[:200]))
            if record is None:
                return Outcome(False)
            user = await uow.users.by_pk(tenant.id, record.user_pk)
            current = user is not None and (user.email or "").lower() == record.email.lower()
            if (
                user is None
                or not current
                or record.used_at is not None
                or record.expires_at < now
                or not await uow.verification_tickets.mark_used(record.id, now)
            ):
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_VERIFICATION_EMAIL,
                    request,
                    description="This link has expired or was already used.",
                    user=user,
                    user_name=record.email,
                )
                await uow.commit()
                return Outcome(False, record, record.email)
            await self._proof.mailbox_proven(
                uow, tenant, user, record.email, how="verification_link", request=request
            )
            await uow.verification_tickets.spend_for_user(tenant.id, user.pk, now)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_VERIFICATION_EMAIL,
                request,
                description="Email verified",
                user=user,
                user_name=record.email,
            )
            await uow.commit()
        return Outcome(True, record, record.email)

    async def resend(self, tenant: Tenant, ticket: str, request: RequestInfo = NO_REQUEST) -> None:
        """The "send me a new link" button on a spent or expired link's page. It says nothing back (the
        page answers the same either way) and counts against the per-user limit."""
        async with self._uow(read_only=True) as uow:
            record = await uow.verification_tickets.by_hash(tenant.id, hash_token(ticket[:200]))
            user = await uow.users.by_pk(tenant.id, record.user_pk) if record else None
        if (
            record is None
            or user is None
            or user.email_verified
            or (user.email or "").lower() != record.email.lower()
        ):
            return
        await self._allow(tenant, user)
        async with self._uow() as uow:
            await self._mails.queue_mail(uow, tenant, user)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_VERIFICATION_EMAIL_REQUEST,
                request,
                description="A new verification link was asked for",
                user=user,
            )
            await uow.commit()

    async def mark(self, tenant: Tenant, user_id: str, actor: Actor) -> User:
        """An administrator vouches for the address (CLI ``--mark``, dashboard). It counts as a
        proof of the mailbox: what was linked while the address was unverified is detached,
        exactly as if the owner had used a link, because the administrator's word is about the
        address, not about those identities."""
        async with self._uow() as uow:
            user = await self._user(uow, tenant, user_id)
            if not user.email:
                raise InvalidInput("The user has no email address.", code="invalid_body")
            await self._proof.mailbox_proven(
                uow, tenant, user, user.email, how="administrator", request=actor.request
            )
            await uow.verification_tickets.spend_for_user(tenant.id, user.pk, self._clock.now())
            await record_change(
                self._audit,
                uow,
                tenant.id,
                actor,
                "Mark the email address verified",
                {"actor": actor.who},
                user=user,
            )
            await uow.commit()
            found = await uow.users.by_pk(tenant.id, user.pk)
        return found or user
