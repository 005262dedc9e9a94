"""Password sign-in on a database connection (``grant_type=password`` and the hosted page)."""

from __future__ import annotations

from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.errors import InvalidCredentials, InvalidInput, RateLimited
from tether.domain.models import Application, Connection, Tenant, User
from tether.domain.users.common import RULE_LOGIN_IP, UsersBase, normalise_email


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
            await self._audit.login(
                uow, tenant.id, user, now, request, application=app, connection=connection
            )
            user.last_login, user.last_ip, user.logins_count = (
                now,
                request.ip,
                user.logins_count + 1,
            )
            await self._guard.succeeded(uow, attempt)
            await uow.commit()
        return user, connection
