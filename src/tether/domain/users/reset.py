"""Password change by mail: the reset ticket (``POST /dbconnections/change_password``) and
its use (``/lo/reset``)."""

from __future__ import annotations

from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.errors import InvalidInput
from tether.domain.ids import hash_token, new_id, new_secret
from tether.domain.models import Application, PasswordTicket, Tenant, User
from tether.domain.users.common import TICKET_LIFETIME, UsersBase, normalise_email


class PasswordReset(UsersBase):
    async def hash_for(self, password: str, email: str | None) -> str:
        """Policy check and hash for a password change."""
        self._policy.check(password, email=email)
        return await self._hasher.hash(password)

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
                uow.outbox,
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
