"""What the database connection's use cases share: the email rule, the new-user spec, the
sign-up metadata rule, and the collaborators every use case is built with.

Auth0's database connection (strategy ``auth0``): an identity ``auth0|<24 hex>`` whose
credential is an email and a password. Emails are stored lower-case, passwords as argon2id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tether.domain.access import UserAccess
from tether.domain.audit import Audit
from tether.domain.brute_force import SignInAttempts
from tether.domain.clock import Clock
from tether.domain.configuration import Configuration
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.errors import Forbidden, InvalidInput, NotFound
from tether.domain.mail import MailService
from tether.domain.mailbox import MailboxProof
from tether.domain.models import Application, Connection, Tenant, User
from tether.domain.passwords import PasswordHasher, PasswordPolicy
from tether.domain.ports import RateLimiter, UnitOfWork, UnitOfWorkFactory
from tether.domain.verification import VerificationMail

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


class UsersBase:
    """The collaborators of ``DatabaseUsers``; each use case is a mixin over this base."""

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
        guard: SignInAttempts,
        verification: VerificationMail,
        configuration: Configuration | None = None,
    ):
        self._uow = uow
        self._configuration = configuration
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
        return self._usable(connection, app)

    @staticmethod
    def _usable(connection: Connection | None, app: Application | None) -> Connection:
        if connection is None or not connection.is_database:
            raise NotFound("The connection does not exist.", code="invalid_connection")
        if app is not None and app.client_id not in connection.enabled_clients:
            raise Forbidden(
                "The connection is not enabled for this application.", code="unauthorized_client"
            )
        return connection

    async def _sign_in_connection(
        self, tenant: Tenant, name: str | None, app: Application
    ) -> Connection:
        """``_database_connection`` from the configuration read model (DESIGN.md, "Hot paths":
        no hot path reads configuration from the database); from the database without one."""
        if self._configuration is None:
            async with self._uow(read_only=True) as uow:
                return await self._database_connection(uow, tenant, name, app)
        config = await self._configuration.of(tenant.id)
        return self._usable(config.connections.get(name or DEFAULT_DATABASE), app)

    async def _user_of_identity(
        self, uow: UnitOfWork, tenant: Tenant, identity_id: str
    ) -> User | None:
        for_id = await uow.identities.by_id(identity_id)
        if for_id is None:
            return None
        return await uow.users.by_pk(tenant.id, for_id.user_pk)
