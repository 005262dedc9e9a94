"""Ending a user's access at once, and the "tokens valid after" instant (DESIGN.md, "Trust").

``UserAccess.end_user_access`` is the one step behind a credential change, a block, an unlink, a
delete and a detach: in the caller's transaction it revokes the user's SSO sessions and refresh
tokens and moves ``users.tokens_valid_after`` to now. Every user token Tether itself receives
(Management API user tokens, /userinfo) is then refused when it was issued before that instant
(OWASP ASVS 5.0 7.4.2 and 7.4.3: disabling or deleting an account, or changing a credential,
ends its sessions and tokens).

``UserAccess.credential_changed`` adds what a password change needs on top: the user's
outstanding reset tickets are spent, the change is logged (``scp``) and the person is mailed
(ASVS 5.0 6.3.7), all in the same transaction (the outbox is transactional).

The check costs no SQL per request: ``TokenCutoffs`` keeps, in each process, the instants moved
in the last ``TOKEN_WINDOW`` (older ones no longer matter: every token issued before them has
expired). The process that moves an instant notes it at commit; every other process polls the
rows moved since its last poll at most every ``REFRESH_SECONDS``, one query for all tenants. So a
token is refused everywhere at most ``REFRESH_SECONDS`` (plus one poll's time) after the change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock, epoch
from tether.domain.mail import MailService
from tether.domain.models import Tenant, User
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory

#: The longest access-token lifetime an API may have (applications.py: 30 days).
TOKEN_WINDOW = timedelta(days=30)
#: How stale another process's view may be, in seconds (README, "Tokens valid after").
REFRESH_SECONDS = 2.0
#: Each poll re-reads this much before the last one: a transaction that stamped its instant
#: before that poll but committed after it, or a writer whose clock runs behind, is still seen.
POLL_OVERLAP = timedelta(seconds=60)


def accepts_iat(iat: int, valid_after: datetime | None) -> bool:
    """``iat`` has whole seconds; the instant has microseconds. A token is accepted only when it
    was issued in a later second than the instant: a token of that very second may have been
    issued before the change, so every token whose ``iat`` is that second is refused."""
    return valid_after is None or iat > epoch(valid_after)


def issued_at_after(now: int, valid_after: datetime | None) -> int:
    """The ``iat`` of a user token issued at ``now`` (epoch seconds). Issued in the very second
    of the user's instant, after it (the issuer read the moved instant), it is stamped with the
    next second, so ``accepts_iat`` tells it from the tokens that the change ended. ``iat`` is
    then at most one second ahead of the clock (RFC 7519 §4.1.6 sets no bound; verifiers
    allow clock skew)."""
    if valid_after is None:
        return now
    return max(now, epoch(valid_after) + 1)


class TokenCutoffs:
    """This process's read model of ``(tenant_id, user_id) -> tokens valid after``."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._uow = uow
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._cutoffs: dict[tuple[str, str], int] = {}  # epoch seconds of the instant
        self._since: datetime | None = None
        self._polled_at = float("-inf")
        self._polling = False
        self._lock: asyncio.Lock | None = None

    def note(self, tenant_id: str, user_id: str, at: datetime) -> None:
        """The writing process applies its change at once (called after its commit)."""
        key = (tenant_id, user_id)
        self._cutoffs[key] = max(self._cutoffs.get(key, 0), epoch(at))

    async def accepts(self, tenant_id: str, user_id: str, iat: int) -> bool:
        """Whether a token of ``user_id`` issued at ``iat`` is still good."""
        await self._fresh()
        cutoff = self._cutoffs.get((tenant_id, user_id))
        return cutoff is None or iat > cutoff

    async def _fresh(self) -> None:
        if self._monotonic() - self._polled_at < self._refresh_seconds:
            return
        if self._polling and self._since is not None:
            return  # the poll under way lands within the bound; the first load is awaited
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._monotonic() - self._polled_at < self._refresh_seconds:
                return
            self._polling = True
            try:
                await self._poll()
            finally:
                self._polling = False

    async def _poll(self) -> None:
        started, now = self._monotonic(), self._clock.now()
        since = (self._since - POLL_OVERLAP) if self._since else now - TOKEN_WINDOW
        async with self._uow(read_only=True) as uow:
            rows = await uow.users.token_cutoffs_since(since)
        for tenant_id, user_id, at in rows:
            self.note(tenant_id, user_id, at)
        oldest = epoch(now - TOKEN_WINDOW)
        for key in [k for k, v in self._cutoffs.items() if v < oldest]:
            del self._cutoffs[key]
        self._since, self._polled_at = now, started


class AccessCheck:
    """The service web asks whether a user token is still good."""

    def __init__(self, cutoffs: TokenCutoffs):
        self._cutoffs = cutoffs

    async def token_accepted(self, tenant_id: str, user_id: str, iat: object) -> bool:
        """The check every user token Tether receives goes through (no SQL per call)."""
        if not isinstance(iat, int) or isinstance(iat, bool):
            return False
        return await self._cutoffs.accepts(tenant_id, user_id, iat)


class UserAccess:
    """Steps, not a service: the services that block, delete, unlink, detach or change a
    credential run these inside their own unit of work (docs/architecture.md, "Who owns a
    transaction"). Web is never handed one."""

    def __init__(self, cutoffs: TokenCutoffs, audit: Audit, mail: MailService, clock: Clock):
        self._cutoffs = cutoffs
        self._audit = audit
        self._mail = mail
        self._clock = clock

    async def end_user_access(
        self, uow: UnitOfWork, tenant_id: str, user: User, *, at: datetime | None = None
    ) -> datetime:
        """End this user's access now, in the caller's transaction (the caller commits): its
        SSO sessions and refresh tokens are revoked and its tokens-valid-after instant moves to
        ``at`` (default now). Used by a credential change, block, unlink, delete and detach."""
        now = at or self._clock.now()
        await uow.sessions.revoke_for_user(tenant_id, user.pk, now)
        await uow.refresh_tokens.revoke_for_user(tenant_id, user.pk, now)
        await uow.users.set_tokens_valid_after(tenant_id, user.pk, now)
        user.tokens_valid_after = now
        self.note_after_commit(uow, tenant_id, user.user_id, now)
        return now

    def note_after_commit(
        self, uow: UnitOfWork, tenant_id: str, user_id: str, at: datetime
    ) -> None:
        """For a row written with ``tokens_valid_after`` already set (a user restored by
        unlink): this process applies the instant once ``uow`` commits."""
        uow.after_commit(lambda: self._cutoffs.note(tenant_id, user_id, at))

    async def credential_changed(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        user: User,
        *,
        how: str,
        request: RequestInfo = NO_REQUEST,
        client_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """A password was set or reset (``how`` says by which path, for the log): every way in
        ends (sessions, refresh tokens, older tokens, outstanding reset tickets), the change is
        logged and the person is told by mail, in the caller's transaction."""
        now = await self.end_user_access(uow, tenant.id, user, at=at)
        await uow.password_tickets.spend_for_user(tenant.id, user.pk, now)
        await self._audit.record(
            uow,
            tenant.id,
            LogType.SUCCESS_CHANGE_PASSWORD,
            request,
            description=f"Password changed ({how}); every session and token ended",
            client_id=client_id,
            user=user,
            details={"how": how},
        )
        if user.email:
            await self._mail.enqueue(
                uow.outbox,
                tenant,
                user.email,
                "Your password was changed",
                "The password of your account was just changed.\n\n"
                "Every device that was signed in has been signed out, and must sign in again "
                "with the new password.\n\n"
                "If you did not change it, reset your password at once with "
                "'Forgot your password?' on the sign-in page, and tell your administrator.\n",
            )
