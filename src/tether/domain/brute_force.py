"""Brute-force protection, as Auth0's: consecutive failed sign-ins for one account from one IP.

After ``brute_force.max_attempts`` (default 10) consecutive failures for one identifier from one
IP on one connection, that IP is blocked for that identifier, and the person is mailed a
single-use link that lifts the block. The block also ends when an administrator lifts it
(``/api/v2/user-blocks``, the CLI, the dashboard) or after ``brute_force.block_seconds``.
While it stands, sign-in is refused before the credential is checked (429 ``too_many_attempts``).

The count is taken atomically before the credential is checked (OWASP ASVS 5.0 §6.3.1, §6.3.3),
so concurrent guesses cannot overshoot: each gets its own number and only numbers up to the
limit are checked. A success clears the count.

Across all IPs, failed sign-ins per account are also counted (``TETHER_LOGIN_RATE_LIMIT_ACCOUNT``,
default 100 an hour, an approximate moving window in memory or Redis). Over it, sign-in is
refused before the check (429) except from the IP the account last signed in from, so guesses
spread over many addresses stop while the owner at their usual address still gets in.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timedelta

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock, epoch
from tether.domain.errors import NotFound, RateLimited
from tether.domain.ids import hash_token, new_secret
from tether.domain.mail import MailService
from tether.domain.models import Application, Connection, LoginBlock, Tenant, User
from tether.domain.ports import RateLimiter, UnitOfWork, UnitOfWorkFactory

DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_BLOCK_SECONDS = 24 * 3600
#: Rate-limit rule (limits library): failed sign-ins per account across every IP.
RULE_LOGIN_ACCOUNT = "login_account"
#: Auth0's text for a blocked account (auth0-wire.md §3.1).
BLOCKED_MESSAGE = (
    "Your account has been blocked after multiple consecutive login attempts. "
    "We've sent you an email with instructions on how to unblock it."
)


class AccountBlocked(RateLimited):
    """This IP is blocked for this account; the credential was not checked."""

    code = "too_many_attempts"


@dataclass(frozen=True)
class Policy:
    enabled: bool
    max_attempts: int
    block_seconds: int

    @classmethod
    def of(cls, tenant: Tenant) -> Policy:
        raw = tenant.settings.get("brute_force")
        section = raw if isinstance(raw, dict) else {}
        return cls(
            enabled=section.get("enabled", True) is not False,
            max_attempts=int(section.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
            block_seconds=int(section.get("block_seconds", DEFAULT_BLOCK_SECONDS)),
        )


@dataclass(frozen=True)
class Attempt:
    """One counted sign-in attempt; ``number`` is its place among consecutive failures."""

    tenant: Tenant
    connection: str
    identifier: str
    ip: str
    policy: Policy
    number: int
    #: When a block that this attempt starts would end.
    block_until: datetime | None = None

    @property
    def counted(self) -> bool:
        return self.number > 0

    @property
    def reaches_limit(self) -> bool:
        return self.counted and self.number == self.policy.max_attempts


class SignInAttempts:
    """The counting side, used by the sign-in services: ``begin`` commits the count in its own
    unit of work; ``succeeded`` and ``failed`` are steps of the sign-in's transaction, so this
    is a collaborator of those services, never handed to web."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        mail: MailService,
        audit: Audit,
        limiter: RateLimiter,
        clock: Clock,
    ):
        self._uow = uow
        self._mail = mail
        self._audit = audit
        self._limiter = limiter
        self._clock = clock

    def _account_key(self, tenant: Tenant, connection: str, identifier: str) -> str:
        return f"{tenant.id}:{connection}:{identifier}"

    async def begin(
        self,
        tenant: Tenant,
        connection: str,
        identifier: str,
        ip: str | None,
        *,
        known_ip: str | None = None,
        account_wide: bool = True,
    ) -> Attempt:
        """Count the attempt before the credential is checked; raise if it may not be checked."""
        if not Policy.of(tenant).enabled:
            return await self.begin_in(
                None,
                tenant,
                connection,
                identifier,
                ip,
                known_ip=known_ip,
                account_wide=account_wide,
            )
        async with self._uow() as uow:
            attempt = await self.begin_in(
                uow,
                tenant,
                connection,
                identifier,
                ip,
                known_ip=known_ip,
                account_wide=account_wide,
            )
            await uow.commit()
        self.refuse_if_blocked(attempt)
        return attempt

    async def begin_in(
        self,
        uow: UnitOfWork | None,
        tenant: Tenant,
        connection: str,
        identifier: str,
        ip: str | None,
        *,
        known_ip: str | None = None,
        account_wide: bool = True,
    ) -> Attempt:
        """``begin`` as a step of the caller's transaction (a write one when the tenant's policy
        is on; None will do when it is off): the caller commits, then calls
        ``refuse_if_blocked``, so the count of a blocked attempt is kept."""
        policy = Policy.of(tenant)
        address = ip or ""
        if account_wide and not (known_ip and known_ip == ip):
            state = await self._limiter.peek(
                RULE_LOGIN_ACCOUNT, self._account_key(tenant, connection, identifier)
            )
            if not state.allowed:
                raise RateLimited(
                    "Too many failed sign-in attempts for this account. Try again later.",
                    limit=state.limit,
                    reset_at=state.reset_at,
                )
        if not policy.enabled or uow is None:
            return Attempt(tenant, connection, identifier, address, policy, 0)
        now = self._clock.now()
        until = now + timedelta(seconds=policy.block_seconds)
        number = await uow.login_blocks.count_attempt(
            tenant.id,
            connection,
            identifier,
            address,
            limit=policy.max_attempts,
            block_until=until,
            now=now,
        )
        return Attempt(tenant, connection, identifier, address, policy, number, until)

    def refuse_if_blocked(self, attempt: Attempt) -> None:
        """Past the limit the credential is not checked (ASVS 5.0 §6.3.1)."""
        if attempt.number > attempt.policy.max_attempts and attempt.block_until is not None:
            raise AccountBlocked(
                BLOCKED_MESSAGE,
                limit=attempt.policy.max_attempts,
                reset_at=epoch(attempt.block_until),
            )

    async def succeeded(self, uow: UnitOfWork, attempt: Attempt) -> None:
        """A success ends the run of failures (in the sign-in's own transaction)."""
        if attempt.counted:
            await uow.login_blocks.clear(
                attempt.tenant.id, attempt.connection, attempt.identifier, attempt.ip
            )

    async def failed(
        self,
        uow: UnitOfWork,
        attempt: Attempt,
        *,
        user: User | None,
        application: Application | None,
        connection: Connection | None,
        request: RequestInfo = NO_REQUEST,
        notify: str | None = None,
    ) -> None:
        """Record the failure; the one that reaches the limit confirms the block, mails the
        unblock link and logs ``limit_wc``, in the failure's transaction."""
        tenant = attempt.tenant
        await self._limiter.hit(
            RULE_LOGIN_ACCOUNT, self._account_key(tenant, attempt.connection, attempt.identifier)
        )
        if not attempt.reaches_limit:
            return
        token = new_secret(32)
        confirmed = await uow.login_blocks.confirm(
            tenant.id,
            attempt.connection,
            attempt.identifier,
            attempt.ip,
            at=self._clock.now(),
            unblock_hash=hash_token(token),
        )
        if not confirmed:
            return
        await self._audit.record(
            uow,
            tenant.id,
            LogType.BLOCKED_ACCOUNT,
            request,
            description=f"{attempt.policy.max_attempts} consecutive failed sign-ins; "
            f"{attempt.ip or 'this IP'} is blocked for this account.",
            application=application,
            user=user,
            user_name=attempt.identifier,
            connection=connection,
        )
        recipient = notify or (user.email if user is not None else None)
        if recipient:
            link = f"{tenant.issuer}u/unblock?ticket={token}"
            await self._mail.enqueue(
                uow.outbox,
                tenant,
                recipient,
                "Your account has been blocked",
                f"There were {attempt.policy.max_attempts} failed attempts in a row to sign in "
                f"to your account from the address {attempt.ip or 'unknown'}, so sign-in from "
                "there is blocked.\n\n"
                f"If it was you, open this link to unblock it:\n{link}\n\n"
                "If it was not you, someone may be guessing your password: consider changing "
                "it. The block lifts by itself in "
                f"{max(1, attempt.policy.block_seconds // 3600)} hour(s).\n",
            )


class BruteForceGuard:
    """The blocks themselves: listing and lifting them (Management API, CLI, dashboard, the
    mailed link)."""

    def __init__(self, uow: UnitOfWorkFactory, audit: Audit, clock: Clock):
        self._uow = uow
        self._audit = audit
        self._clock = clock

    @staticmethod
    def identifiers_of(user: User) -> builtins.list[str]:
        """What a person signs in with: the identifiers their blocks are keyed by."""
        found = [v.strip().lower() for v in (user.email, user.username) if v]
        return list(dict.fromkeys(found))

    async def blocks(
        self, tenant: Tenant, identifiers: builtins.list[str]
    ) -> builtins.list[LoginBlock]:
        async with self._uow(read_only=True) as uow:
            return await uow.login_blocks.blocked(
                tenant.id,
                [i.strip().lower() for i in identifiers],
                Policy.of(tenant).max_attempts,
                self._clock.now(),
            )

    async def unblock(
        self,
        tenant: Tenant,
        identifiers: builtins.list[str],
        *,
        user: User | None = None,
        actor: str = "",
        request: RequestInfo = NO_REQUEST,
    ) -> int:
        """An administrator lifts every block (and clears every count) of these identifiers."""
        async with self._uow() as uow:
            removed = await uow.login_blocks.unblock(
                tenant.id, [i.strip().lower() for i in identifiers]
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.UNBLOCKED,
                request,
                description=f"Login blocks lifted by {actor or 'an administrator'}",
                user=user,
                user_name=identifiers[0] if identifiers else None,
            )
            await uow.commit()
        return removed

    async def unblock_with_ticket(
        self, tenant: Tenant, ticket: str, request: RequestInfo = NO_REQUEST
    ) -> LoginBlock:
        """The person lifts the block with the mailed single-use link."""
        async with self._uow() as uow:
            block = await uow.login_blocks.take_unblock(
                tenant.id, hash_token(ticket), self._clock.now()
            )
            if block is None:
                raise NotFound(
                    "This unblock link is not valid or was already used.", code="invalid_ticket"
                )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.UNBLOCKED,
                request,
                description="Login block lifted through the mailed link",
                user_name=block.identifier,
            )
            await uow.commit()
        return block
