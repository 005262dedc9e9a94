"""Database-connection users: sign-up, password sign-in, password reset.

Auth0's database connection (strategy ``auth0``): an identity ``auth0|<24 hex>`` whose
credential is an email and a password. Emails are stored lower-case, passwords as argon2id.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tether.domain.access import UserAccess
from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.brute_force import BruteForceGuard
from tether.domain.clock import Clock
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    RateLimited,
)
from tether.domain.ids import hash_token, new_database_subject, new_id, new_secret
from tether.domain.mail import MailService
from tether.domain.mailbox import MailboxProof
from tether.domain.models import (
    Application,
    Connection,
    Identity,
    PasswordCredential,
    PasswordTicket,
    Tenant,
    User,
)
from tether.domain.passwords import PasswordHasher, PasswordPolicy
from tether.domain.ports import RateLimiter, UnitOfWork, UnitOfWorkFactory
from tether.domain.verification import EmailVerification, mail_on_signup

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PROFILE_FIELDS = ("username", "given_name", "family_name", "name", "nickname", "picture")
TICKET_LIFETIME = timedelta(hours=1)

#: Rate-limit rule names (their limits come from configuration, see RateLimiter).
RULE_LOGIN_IP = "login_ip"


def normalise_email(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("email: must be a string.")
    email = value.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320 or "." not in email.rsplit("@", 1)[1]:
        raise InvalidInput("email: is not a valid email address.", code="invalid_email")
    return email


@dataclass
class NewDatabaseUser:
    email: str
    password: str
    email_verified: bool = False
    user_metadata: dict[str, Any] = field(default_factory=dict)
    app_metadata: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, str] = field(default_factory=dict)
    blocked: bool = False


def check_signup_metadata(metadata: Any) -> dict[str, Any]:
    """Auth0's sign-up rule: at most 10 properties, names <= 100 chars, string values <= 500."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput("user_metadata: must be an object.")
    if len(metadata) > 10:
        raise InvalidInput("user_metadata: at most 10 properties.")
    for key, value in metadata.items():
        if len(key) > 100 or not isinstance(value, str) or len(value) > 500:
            raise InvalidInput(
                "user_metadata: names up to 100 characters, values strings up to 500."
            )
        if _CONTROL.search(key) or _CONTROL.search(value):
            # PostgreSQL's jsonb refuses \u0000; the other controls are refused like everywhere.
            raise InvalidInput("user_metadata: control characters are not allowed.")
    return dict(metadata)


class DatabaseUsers:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        audit: Audit,
        mail: MailService,
        limiter: RateLimiter,
        clock: Clock,
        access: UserAccess,
        proof: MailboxProof,
        guard: BruteForceGuard,
        verification: EmailVerification,
    ):
        self._uow = uow
        self._verification = verification
        self._guard = guard
        self._hasher = hasher
        self._policy = policy
        self._audit = audit
        self._mail = mail
        self._limiter = limiter
        self._clock = clock
        self._access = access
        self._proof = proof

    # -- connections ------------------------------------------------------

    async def _database_connection(
        self, uow: UnitOfWork, tenant: Tenant, name: str | None, app: Application | None
    ) -> Connection:
        connection = await uow.connections.by_name(tenant.id, name or DEFAULT_DATABASE)
        if connection is None or not connection.is_database:
            raise NotFound("The connection does not exist.", code="invalid_connection")
        if app is not None and app.client_id not in connection.enabled_clients:
            raise Forbidden(
                "The connection is not enabled for this application.", code="unauthorized_client"
            )
        return connection

    # -- creation ---------------------------------------------------------

    async def hash_new(self, spec: NewDatabaseUser) -> str:
        """Check the password against the policy and hash it, before any transaction opens."""
        self._policy.check(spec.password, email=normalise_email(spec.email))
        return await self._hasher.hash(spec.password)

    async def hash_for(self, password: str, email: str | None) -> str:
        """Policy check and hash for a password change."""
        self._policy.check(password, email=email)
        return await self._hasher.hash(password)

    async def add(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        connection: Connection,
        spec: NewDatabaseUser,
        password_hash: str,
        *,
        subject: object = None,
    ) -> User:
        """Create user + identity + credential in ``uow`` (the caller commits).

        ``password_hash`` comes from ``hash_new``: hashing never runs inside a transaction."""
        email = normalise_email(spec.email)
        if await uow.credentials.by_email(tenant.id, connection.id, email):
            raise Conflict("The user already exists.", code="user_exists")
        now = self._clock.now()
        if subject is None or subject == "":
            subject = new_database_subject()
        else:
            # An administrator may choose the id (Auth0's POST /users user_id), without prefix.
            subject = str(subject).removeprefix("auth0|")
            if not subject or len(subject) > 255 or "|" in subject or not subject.isprintable():
                raise InvalidInput(
                    "Payload validation error: 'user_id' is not a valid id.", code="invalid_body"
                )
            if await uow.users.user_id_taken(tenant.id, f"auth0|{subject}"):
                raise Conflict("The user already exists.", code="user_exists")
        profile = {k: v for k, v in spec.profile.items() if k in PROFILE_FIELDS and v}
        user = User(
            pk=new_id("usr_"),
            tenant_id=tenant.id,
            user_id=f"auth0|{subject}",
            email=email,
            email_verified=spec.email_verified,
            created_at=now,
            updated_at=now,
            user_metadata=dict(spec.user_metadata),
            app_metadata=dict(spec.app_metadata),
            blocked=spec.blocked,
            username=profile.get("username"),
            name=profile.get("name"),
            given_name=profile.get("given_name"),
            family_name=profile.get("family_name"),
            nickname=profile.get("nickname"),
            picture=profile.get("picture"),
        )
        identity = Identity(
            id=new_id("idn_"),
            tenant_id=tenant.id,
            user_pk=user.pk,
            connection_id=connection.id,
            connection_name=connection.name,
            provider="auth0",
            subject=subject,
            is_primary=True,
            is_social=False,
            profile_data={"email": email, "email_verified": spec.email_verified, **profile},
            linked_at=now,
        )
        user.identities = [identity]
        await uow.users.add(user)
        await uow.identities.add(identity)
        await uow.credentials.add(
            PasswordCredential(identity.id, tenant.id, connection.id, email, password_hash, now)
        )
        return user

    async def signup(
        self,
        tenant: Tenant,
        app: Application,
        connection_name: str | None,
        spec: NewDatabaseUser,
        request: RequestInfo = NO_REQUEST,
    ) -> User:
        """``POST /dbconnections/signup``: a new user on a database connection."""
        async with self._uow(read_only=True) as uow:
            connection = await self._database_connection(uow, tenant, connection_name, app)
        if connection.options.get("disable_signup"):
            raise Forbidden("Public signup is disabled.", code="operation_not_allowed")
        try:
            password_hash = await self.hash_new(spec)
        except InvalidInput as exc:
            await self._log_failed_signup(tenant, app, connection, exc, request)
            raise
        async with self._uow() as uow:
            try:
                user = await self.add(uow, tenant, connection, spec, password_hash)
            except (InvalidInput, Conflict) as exc:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_SIGNUP,
                    request,
                    description=exc.message,
                    application=app,
                    connection=connection,
                )
                await uow.commit()
                raise
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_SIGNUP,
                request,
                application=app,
                user=user,
                connection=connection,
            )
            if mail_on_signup(tenant) and not user.email_verified:
                # In the sign-up's transaction: no account without its mail, no mail without it.
                await self._verification.queue_mail(uow, tenant, user)
            await uow.commit()
        return user

    async def _log_failed_signup(
        self,
        tenant: Tenant,
        app: Application,
        connection: Connection,
        exc: InvalidInput,
        request: RequestInfo,
    ) -> None:
        async with self._uow() as uow:
            await self._audit.record(
                uow,
                tenant.id,
                LogType.FAILED_SIGNUP,
                request,
                description=exc.message,
                application=app,
                connection=connection,
            )
            await uow.commit()

    async def create(
        self, tenant: Tenant, connection_name: str | None, spec: NewDatabaseUser
    ) -> User:
        """An administrator creates a user (CLI, Management API): no sign-up switch applies."""
        async with self._uow(read_only=True) as uow:
            connection = await self._database_connection(uow, tenant, connection_name, None)
        password_hash = await self.hash_new(spec)
        async with self._uow() as uow:
            user = await self.add(uow, tenant, connection, spec, password_hash)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_API_OPERATION,
                description="Create a user",
                user=user,
                connection=connection,
            )
            await uow.commit()
        return user

    # -- sign-in ----------------------------------------------------------

    async def _check_ip_limit(self, tenant: Tenant, ip: str | None) -> None:
        state = await self._limiter.peek(RULE_LOGIN_IP, f"{tenant.id}:{ip}")
        if not state.allowed:
            raise RateLimited(
                "Too many failed sign-in attempts. Try again later.",
                limit=state.limit,
                reset_at=state.reset_at,
            )

    async def authenticate(
        self,
        tenant: Tenant,
        app: Application,
        realm: str | None,
        username: str,
        password: str,
        request: RequestInfo = NO_REQUEST,
    ) -> tuple[User, Connection]:
        """Check an email and password. Unknown user, wrong password and blocked user fail the
        same way and cost the same hashing time (ASVS 5.0 §6.3.8); only the log tells them apart.

        The attempt is counted before the hash is checked (brute_force.py, ASVS 5.0 §6.3.1), so
        parallel guesses cannot overshoot the tenant's limit."""
        try:
            email = normalise_email(username)
        except InvalidInput:
            email = username.strip().lower()[:320]
        await self._check_ip_limit(tenant, request.ip)
        async with self._uow(read_only=True) as uow:
            connection = await self._database_connection(uow, tenant, realm, app)
            credential = await uow.credentials.by_email(tenant.id, connection.id, email)
            user = (
                await self._user_of_identity(uow, tenant, credential.identity_id)
                if credential is not None
                else None
            )
        attempt = await self._guard.begin(
            tenant,
            connection.name,
            email,
            request.ip,
            known_ip=user.last_ip if user is not None else None,
        )
        # Hash outside any transaction: the check takes tens of milliseconds and must not hold
        # a database lock (SQLite has one writer) while it runs.
        result = await self._hasher.verify(
            credential.password_hash if credential else None, password
        )
        failure: LogType | None = None
        if credential is None or user is None:
            failure = LogType.FAILED_LOGIN_USERNAME
        elif not result.ok:
            failure = LogType.FAILED_LOGIN_PASSWORD
        elif user.blocked:
            failure = LogType.FAILED_LOGIN
        if failure is not None or user is None or credential is None:
            async with self._uow() as uow:
                await self._audit.record(
                    uow,
                    tenant.id,
                    failure or LogType.FAILED_LOGIN,
                    request,
                    description="user is blocked"
                    if failure is LogType.FAILED_LOGIN
                    else "Wrong email or password.",
                    application=app,
                    user=user,
                    user_name=email,
                    connection=connection,
                )
                await self._guard.failed(
                    uow,
                    attempt,
                    user=user,
                    application=app,
                    connection=connection,
                    request=request,
                )
                await uow.commit()
            await self._limiter.hit(RULE_LOGIN_IP, f"{tenant.id}:{request.ip}")
            raise InvalidCredentials("Wrong email or password.")
        now = self._clock.now()
        async with self._uow() as uow:
            if result.new_hash:
                await uow.credentials.set_hash(credential.identity_id, result.new_hash, now)
            await uow.users.record_login(tenant.id, user.pk, now, request.ip)
            user.last_login, user.last_ip, user.logins_count = (
                now,
                request.ip,
                user.logins_count + 1,
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_LOGIN,
                request,
                application=app,
                user=user,
                connection=connection,
            )
            await self._guard.succeeded(uow, attempt)
            await uow.commit()
        return user, connection

    async def _user_of_identity(
        self, uow: UnitOfWork, tenant: Tenant, identity_id: str
    ) -> User | None:
        for_id = await uow.identities.by_id(identity_id)
        if for_id is None:
            return None
        return await uow.users.by_pk(tenant.id, for_id.user_pk)

    # -- password reset ---------------------------------------------------

    async def request_password_change(
        self,
        tenant: Tenant,
        app: Application,
        connection_name: str | None,
        email_value: str,
        request: RequestInfo = NO_REQUEST,
    ) -> None:
        """``POST /dbconnections/change_password``: mail a reset link if the account exists.
        The answer is the same either way, so it does not tell who has an account."""
        email = normalise_email(email_value)
        async with self._uow() as uow:
            connection = await self._database_connection(uow, tenant, connection_name, app)
            credential = await uow.credentials.by_email(tenant.id, connection.id, email)
            user = (
                await self._user_of_identity(uow, tenant, credential.identity_id)
                if credential
                else None
            )
            if credential is None or user is None:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_CHANGE_PASSWORD_REQUEST,
                    request,
                    description="No such user",
                    application=app,
                    user_name=email,
                    connection=connection,
                )
                await uow.commit()
                return
            ticket = new_secret(32)
            await uow.password_tickets.add(
                PasswordTicket(
                    id=new_id("tkt_"),
                    tenant_id=tenant.id,
                    ticket_hash=hash_token(ticket),
                    user_pk=user.pk,
                    identity_id=credential.identity_id,
                    expires_at=self._clock.now() + TICKET_LIFETIME,
                )
            )
            link = f"{tenant.issuer}lo/reset?ticket={ticket}"
            await self._mail.enqueue(
                uow,
                tenant,
                email,
                "Reset your password",
                "Someone asked to reset the password of your account.\n\n"
                f"To choose a new password, open this link within the hour:\n{link}\n\n"
                "If it was not you, ignore this mail; your password stays as it is.\n",
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_CHANGE_PASSWORD_REQUEST,
                request,
                application=app,
                user=user,
                connection=connection,
            )
            await uow.commit()

    async def reset_password(
        self, tenant: Tenant, ticket: str, new_password: str, request: RequestInfo = NO_REQUEST
    ) -> User:
        """Use a reset ticket once: set the password; every way in ends (``credential_changed``)."""
        now = self._clock.now()
        spent = InvalidInput("This link has expired or was already used.", code="invalid_ticket")
        async with self._uow(read_only=True) as uow:
            record = await uow.password_tickets.by_hash(tenant.id, hash_token(ticket))
            user = await uow.users.by_pk(tenant.id, record.user_pk) if record else None
        if record is None or user is None or record.used_at is not None or record.expires_at < now:
            raise spent
        self._policy.check(new_password, email=user.email)
        new_hash = await self._hasher.hash(new_password)
        async with self._uow() as uow:
            if not await uow.password_tickets.mark_used(record.id, now):
                raise spent
            await uow.credentials.set_hash(record.identity_id, new_hash, now)
            await self._access.credential_changed(
                uow, tenant, user, how="reset ticket", request=request, at=now
            )
            # The ticket went to the credential's address: using it proves that mailbox.
            credential = await uow.credentials.for_identity(record.identity_id)
            if credential is not None:
                await self._proof.mailbox_proven(
                    uow, tenant, user, credential.email, how="reset_ticket", request=request
                )
            await uow.commit()
        return user

    # -- reading ----------------------------------------------------------

    async def list(
        self, tenant: Tenant, *, page: int = 0, per_page: int = 50
    ) -> tuple[builtins.list[User], int]:
        async with self._uow(read_only=True) as uow:
            users = await uow.users.list(tenant.id, offset=page * per_page, limit=per_page)
            total = await uow.users.count(tenant.id)
        return users, total

    async def get_by_pk(self, tenant: Tenant, pk: str) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.by_pk(tenant.id, pk)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user

    async def get(self, tenant: Tenant, user_id: str) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(tenant.id, user_id)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user
