"""Passwordless email (Auth0's ``email`` connection): a 6-digit code by mail, then the code.

Codes are single use, live 5 minutes, allow 3 wrong tries, and are stored only as a keyed MAC.
Sending is rate limited per email and per IP. The identity is ``email|<id>`` where the id is a
keyed MAC of the address: stable for the same address, revealing nothing about it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.brute_force import SignInAttempts
from tether.domain.clock import Clock
from tether.domain.errors import Forbidden, InvalidCredentials, NotFound, RateLimited
from tether.domain.external import ExternalProfile, ExternalSignIn
from tether.domain.ids import new_id
from tether.domain.mail import MailService
from tether.domain.models import Application, Connection, PasswordlessCode, Tenant, User
from tether.domain.ports import RateLimiter, UnitOfWork, UnitOfWorkFactory
from tether.domain.sealing import Sealer
from tether.domain.users import normalise_email

CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 3
RULE_EMAIL = "passwordless_email"
RULE_IP = "passwordless_ip"
#: Where a parked magic-link request keeps the hash of its browser binding.
BINDING_KEY = "browser_binding"


def new_browser_binding() -> tuple[str, str]:
    """A secret for the requesting browser's HttpOnly cookie, and its SHA-256 to keep with the
    parked request: a magic link then completes on its own only in the browser that asked for
    it (login CSRF; RFC 9700 §4.7 binds a flow to its user agent the same way)."""
    secret = secrets.token_urlsafe(32)
    return secret, _binding_hash(secret)


def binding_matches(parked_request: dict[str, object], cookie: str | None) -> bool:
    """Whether ``cookie`` is the secret this parked request was bound to (constant time)."""
    stored = parked_request.get(BINDING_KEY)
    if not isinstance(stored, str) or not stored or not cookie:
        return False
    return hmac.compare_digest(stored.encode(), _binding_hash(cookie).encode())


def _binding_hash(secret: str) -> str:
    return hashlib.sha256(b"tether-magic-link\x00" + secret.encode()).hexdigest()


class PasswordlessService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        mail: MailService,
        external: ExternalSignIn,
        limiter: RateLimiter,
        audit: Audit,
        clock: Clock,
        guard: SignInAttempts,
    ):
        self._uow = uow
        self._guard = guard
        self._sealer = sealer
        self._mail = mail
        self._external = external
        self._limiter = limiter
        self._audit = audit
        self._clock = clock

    def _mac(self, tenant: Tenant, *parts: str) -> str:
        return self._sealer.mac(tenant.id, "\x00".join(parts).encode()).hex()

    def subject_for(self, tenant: Tenant, connection: Connection, email: str) -> str:
        return self._mac(tenant, "email-identity", connection.id, email)[:24]

    async def connection(self, tenant: Tenant, name: str | None, app: Application) -> Connection:
        async with self._uow(read_only=True) as uow:
            connection = await uow.connections.by_name(tenant.id, name or "email")
        if connection is None or connection.strategy != "email":
            raise NotFound("The connection does not exist.", code="bad.connection")
        if app.client_id not in connection.enabled_clients:
            raise Forbidden(
                "The connection is not enabled for this application.", code="unauthorized_client"
            )
        return connection

    async def start(
        self,
        tenant: Tenant,
        app: Application,
        connection: Connection,
        email_value: str,
        request: RequestInfo = NO_REQUEST,
        *,
        link: str | None = None,
    ) -> str:
        """Mail a code (or a link carrying it). Returns the normalised address."""
        email = normalise_email(email_value)
        for rule, key in (
            (RULE_EMAIL, f"{tenant.id}:{email}"),
            (RULE_IP, f"{tenant.id}:{request.ip}"),
        ):
            state = await self._limiter.hit(rule, key)
            if not state.allowed:
                raise RateLimited(
                    "Too many codes requested. Try again later.",
                    limit=state.limit,
                    reset_at=state.reset_at,
                )
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self._clock.now()
        record = PasswordlessCode(
            id=new_id("otp_"),
            tenant_id=tenant.id,
            connection_id=connection.id,
            client_id=app.client_id,
            email=email,
            code_mac="",
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
        record.code_mac = self._mac(tenant, "otp", record.id, code)
        body = (
            f"Your sign-in code for {app.name} is {code}\n\n"
            "It works once, for 5 minutes. If you did not ask for it, ignore this mail.\n"
        )
        if link:
            body += f"\nOr open this link on the same device:\n{link}&code={code}\n"
        async with self._uow() as uow:
            await uow.passwordless.add(record)
            await self._mail.enqueue(
                uow.outbox, tenant, email, f"Your sign-in code for {app.name}", body
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.PASSWORDLESS_CODE_SENT,
                request,
                application=app,
                user_name=email,
                connection=connection,
            )
            await uow.commit()
        return email

    async def _owner(
        self, uow: UnitOfWork, tenant: Tenant, connection: Connection, email: str
    ) -> User | None:
        """The user this address signs in as, if any (whom the unblock link is mailed to)."""
        identity = await uow.identities.find(
            tenant.id, connection.id, self.subject_for(tenant, connection, email)
        )
        return await uow.users.by_pk(tenant.id, identity.user_pk) if identity else None

    async def verify(
        self,
        tenant: Tenant,
        app: Application,
        connection: Connection,
        email_value: str,
        code: str,
        request: RequestInfo = NO_REQUEST,
    ) -> User:
        """Check the newest live code for this address; on success sign the person in.

        The attempt is counted per address and IP before the code is compared (brute_force.py,
        ASVS 5.0 §6.3.1). The account-wide limit does not apply: codes sent per address are
        already limited (``TETHER_PASSWORDLESS_RATE_LIMIT_EMAIL``) and each takes few tries."""
        email = normalise_email(email_value)
        attempt = await self._guard.begin(
            tenant, connection.name, email, request.ip, account_wide=False
        )
        now = self._clock.now()
        async with self._uow() as uow:
            record = await uow.passwordless.latest(tenant.id, connection.id, email)
            ok = False
            if (
                record is not None
                and record.used_at is None
                and record.expires_at > now
                and record.attempts < MAX_TRIES
            ):
                # Count the try before comparing: the update holds the row until commit, so
                # guesses sent at once take turns and get MAX_TRIES in all, not one each
                # (PostgreSQL read them all at attempts < MAX_TRIES before any was counted).
                await uow.passwordless.fail(record.id)
                counted = await uow.passwordless.latest(tenant.id, connection.id, email)
                if (
                    counted is not None
                    and counted.id == record.id
                    and counted.attempts <= MAX_TRIES
                ):
                    expected = self._mac(tenant, "otp", record.id, code.strip())
                    ok = hmac.compare_digest(expected, record.code_mac)
                    if ok:
                        ok = await uow.passwordless.use(record.id, now)
            if not ok:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_LOGIN_PASSWORD,
                    request,
                    description="Wrong email or verification code.",
                    application=app,
                    user_name=email,
                    connection=connection,
                )
                await self._guard.failed(
                    uow,
                    attempt,
                    user=await self._owner(uow, tenant, connection, email),
                    application=app,
                    connection=connection,
                    request=request,
                    notify=email,  # the address is the account: the unblock link goes there
                )
                await uow.commit()
                raise InvalidCredentials("Wrong email or verification code.")
            await self._guard.succeeded(uow, attempt)
            await uow.commit()
        profile = ExternalProfile(
            subject=self.subject_for(tenant, connection, email),
            profile={"email": email},
            email=email,
            email_verified=True,  # receiving the code proves the mailbox
        )
        return await self._external.sign_in(tenant, app, connection, profile, request)
