"""Password sign-in on a database connection (``grant_type=password`` and the hosted page).

A sign-in is one read and one write (issue 13, decision 4): the connection comes from the
configuration read model, the credential with its user and the user's identities from one
statement (``Credentials.with_user``); after the attempt is counted and the hash checked, a
success is a ``SignInRecord``, written in one commit: by ``authenticate`` in its own
transaction, or by the password grant in the group commit with its token event
(domain/event_writer.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.brute_force import Policy
from tether.domain.errors import InvalidCredentials, InvalidInput, RateLimited
from tether.domain.event_writer import Step
from tether.domain.models import Application, Connection, LogEvent, Tenant, User
from tether.domain.ports import UnitOfWork
from tether.domain.users.common import RULE_LOGIN_IP, UsersBase, normalise_email


@dataclass(frozen=True)
class SignInRecord:
    """What a successful sign-in writes, in one commit: ``steps`` (the login count, last login
    and IP; the end of a run of failures; a rehash) and the ``s`` event."""

    event: LogEvent
    steps: tuple[Step, ...]
    audit: Audit
    #: The group commit runs the steps of a batch in this order (the user's pk): every
    #: process takes the rows' locks in one order.
    order: str = ""

    async def write(self, uow: UnitOfWork) -> None:
        """Into a unit of work the caller commits."""
        for step in self.steps:
            await step(uow)
        await uow.logs.add(self.event)
        uow.after_commit(self.committed)

    def committed(self) -> None:
        self.audit.committed(self.event)


class SignIn(UsersBase):
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
        """Check an email and password (``check``) and record the sign-in in one transaction."""
        user, connection, record = await self.check(tenant, app, realm, username, password, request)
        async with self._uow() as uow:
            await record.write(uow)
            await uow.commit()
        return user, connection

    async def check(
        self,
        tenant: Tenant,
        app: Application,
        realm: str | None,
        username: str,
        password: str,
        request: RequestInfo = NO_REQUEST,
    ) -> tuple[User, Connection, SignInRecord]:
        """Check an email and password; a success's writes are returned, not yet made. Unknown user, wrong password and blocked user fail the
        same way and cost the same hashing time (ASVS 5.0 §6.3.8); only the log tells them apart.

        The attempt is counted before the hash is checked (brute_force.py, ASVS 5.0 §6.3.1), so
        parallel guesses cannot overshoot the tenant's limit."""
        try:
            email = normalise_email(username)
        except InvalidInput:
            email = username.strip().lower()[:320]
        await self._check_ip_limit(tenant, request.ip)
        connection = await self._sign_in_connection(tenant, realm, app)
        # The read and the attempt's count in one transaction (a write one only when the
        # tenant counts attempts); the block, if any, is refused once the count is committed.
        counting = Policy.of(tenant).enabled
        async with self._uow(read_only=not counting) as uow:
            found = await uow.credentials.with_user(tenant.id, connection.id, email)
            credential, user = found if found is not None else (None, None)
            attempt = await self._guard.begin_in(
                uow if counting else None,
                tenant,
                connection.name,
                email,
                request.ip,
                known_ip=user.last_ip if user is not None else None,
            )
            if counting:
                await uow.commit()
        self._guard.refuse_if_blocked(attempt)
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
        steps: list[Step] = []
        if result.new_hash:
            new_hash, identity_id = result.new_hash, credential.identity_id
            steps.append(lambda uow: uow.credentials.set_hash(identity_id, new_hash, now))
        pk, ip = user.pk, request.ip
        steps.append(lambda uow: uow.users.record_login(tenant.id, pk, now, ip))
        if attempt.counted:
            steps.append(lambda uow: self._guard.succeeded(uow, attempt))
        event = self._audit.build(
            tenant.id,
            LogType.SUCCESS_LOGIN,
            request,
            application=app,
            user=user,
            connection=connection,
        )
        user.last_login, user.last_ip, user.logins_count = (now, ip, user.logins_count + 1)
        return user, connection, SignInRecord(event, tuple(steps), self._audit, user.pk)
