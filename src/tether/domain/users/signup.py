"""Sign-up and administrator creation on a database connection (``POST /dbconnections/signup``,
``POST /api/v2/users``, ``tether users create``)."""

from __future__ import annotations

from datetime import datetime

from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.errors import Conflict, Forbidden, InvalidInput
from tether.domain.ids import new_database_subject, new_id
from tether.domain.models import (
    Application,
    Connection,
    Identity,
    PasswordCredential,
    Tenant,
    User,
)
from tether.domain.ports import UnitOfWork
from tether.domain.users.common import (
    PROFILE_FIELDS,
    NewDatabaseUser,
    UsersBase,
    normalise_email,
)
from tether.domain.verification import mail_on_signup


async def add_database_user(
    uow: UnitOfWork,
    tenant: Tenant,
    connection: Connection,
    spec: NewDatabaseUser,
    password_hash: str,
    now: datetime,
    *,
    subject: object = None,
) -> User:
    """Create user + identity + credential in ``uow`` (the caller commits): a step of sign-up,
    of ``create`` and of ``UserAdmin.create``, not a use case of its own.

    ``password_hash`` comes from ``hash_new``: hashing never runs inside a transaction."""
    email = normalise_email(spec.email)
    if await uow.credentials.by_email(tenant.id, connection.id, email):
        raise Conflict("The user already exists.", code="user_exists")
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


class SignUp(UsersBase):
    async def hash_new(self, spec: NewDatabaseUser) -> str:
        """Check the password against the policy and hash it, before any transaction opens."""
        self._policy.check(spec.password, email=normalise_email(spec.email))
        return await self._hasher.hash(spec.password)

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
                user = await add_database_user(
                    uow, tenant, connection, spec, password_hash, self._clock.now()
                )
            except (InvalidInput, Conflict) as exc:
                await self._failed_signup(uow, tenant, app, connection, exc, request)
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
            await self._failed_signup(uow, tenant, app, connection, exc, request)
            await uow.commit()

    async def _failed_signup(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        app: Application,
        connection: Connection,
        exc: InvalidInput | Conflict,
        request: RequestInfo,
    ) -> None:
        """The ``fs`` event of a refused sign-up (the password policy, a taken address)."""
        await self._audit.record(
            uow,
            tenant.id,
            LogType.FAILED_SIGNUP,
            request,
            description=exc.message,
            application=app,
            connection=connection,
        )

    async def create(
        self, tenant: Tenant, connection_name: str | None, spec: NewDatabaseUser
    ) -> User:
        """An administrator creates a user (CLI, Management API): no sign-up switch applies."""
        async with self._uow(read_only=True) as uow:
            connection = await self._database_connection(uow, tenant, connection_name, None)
        password_hash = await self.hash_new(spec)
        async with self._uow() as uow:
            user = await add_database_user(
                uow, tenant, connection, spec, password_hash, self._clock.now()
            )
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
