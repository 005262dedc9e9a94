"""Cross-origin authentication: the embedded login of Lock and auth0-js (lock-protocol.md §2.1-2.3).

The app's page posts the credentials to ``/co/authenticate`` (CORS with credentials); Tether
checks them and answers a ``login_ticket`` with a ``co_verifier``/``co_id`` pair; the browser
then opens ``/authorize?login_ticket=...`` and the ticket, redeemed once, is the sign-in.

What binds the ticket to the browser that earned it: the verifier travels back only in a cookie
Tether set on the ``/co/authenticate`` answer, and the ticket is spent only when that cookie's
verifier matches (Auth0's cross-origin verification). A browser that blocks that cookie (a
third-party cookie when the app is on another site) proves it with the copy auth0-js kept on the
app's origin instead, read by the app's ``cross_origin_loc`` page (``/co/verify``). The ticket is also bound to the app, to the
origin that asked (the callback must have that origin) and lives 2 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from tether.domain.audit import NO_REQUEST, RequestInfo
from tether.domain.clock import Clock
from tether.domain.connections import ConnectionService
from tether.domain.errors import DomainError, Forbidden, InvalidCredentials, InvalidInput
from tether.domain.models import Application, LoginTicket, Tenant, User
from tether.domain.passwordless import PasswordlessService
from tether.domain.ports import UnitOfWorkFactory
from tether.domain.sessions import SessionService, StartedSession
from tether.domain.users import DatabaseUsers

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
PASSWORDLESS_OTP = "http://auth0.com/oauth/grant-type/passwordless/otp"
TICKET_LIFETIME = timedelta(minutes=2)


class NotAllowed(Forbidden):
    """The app does not allow cross-origin authentication from this origin."""

    code = "unauthorized_client"


class TicketRefused(DomainError):
    """No such ticket for this app and browser, or it was spent or expired."""

    code = "access_denied"


@dataclass(frozen=True)
class Ticket:
    login_ticket: str
    co_verifier: str
    co_id: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allows(app: Application, origin: str | None) -> bool:
    """Auth0's rule: the switch is on and the origin is one of the app's allowed origins."""
    if not app.cross_origin_authentication or not origin:
        return False
    return origin.rstrip("/").lower() in {
        o.rstrip("/").lower() for o in (*app.allowed_origins, *app.web_origins)
    }


class CrossOriginService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        users: DatabaseUsers,
        passwordless: PasswordlessService,
        connections: ConnectionService,
        sessions: SessionService,
        clock: Clock,
    ):
        self._uow = uow
        self._users = users
        self._passwordless = passwordless
        self._connections = connections
        self._sessions = sessions
        self._clock = clock

    async def authenticate(
        self,
        tenant: Tenant,
        app: Application,
        origin: str | None,
        credential_type: str,
        realm: str,
        username: str,
        secret: str,
        request: RequestInfo = NO_REQUEST,
    ) -> Ticket:
        """Check the credentials (a password, or an emailed code) and issue a ticket."""
        if origin is None or not allows(app, origin):
            raise NotAllowed("Cross origin login not allowed.")
        user: User
        if credential_type == PASSWORD_REALM:
            user, _ = await self._users.authenticate(tenant, app, realm, username, secret, request)
            amr = "pwd"
        elif credential_type == PASSWORDLESS_OTP:
            connection = next(
                (c for c in await self._connections.enabled_for(tenant, app.client_id)
                 if c.name == realm and c.strategy == "email"),
                None,
            )  # fmt: skip
            if connection is None:
                raise InvalidCredentials("Wrong email or verification code.")
            user = await self._passwordless.verify(
                tenant, app, connection, username, secret, request
            )
            amr = "otp"
        else:
            raise InvalidInput(f"Unsupported credential_type: {credential_type[:100]}")
        ticket = Ticket(
            login_ticket=secrets.token_urlsafe(24),
            co_verifier=secrets.token_urlsafe(24),
            co_id=secrets.token_urlsafe(9),
        )
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.login_tickets.add(
                LoginTicket(
                    id=_digest(ticket.login_ticket),
                    tenant_id=tenant.id,
                    client_id=app.client_id,
                    user_pk=user.pk,
                    realm=realm,
                    origin=origin.rstrip("/").lower(),
                    co_id=ticket.co_id,
                    verifier_hash=_digest(ticket.co_verifier),
                    amr=amr,
                    created_at=now,
                    expires_at=now + TICKET_LIFETIME,
                )
            )
            await uow.commit()
        return ticket

    async def verification_id(
        self, tenant: Tenant, app: Application, redirect_uri: str, login_ticket: str
    ) -> str | None:
        """The ``co_id`` of a ticket still waiting for this app and callback origin, for the
        /co/verify fallback (§2.3) when the browser did not send the verifier cookie; the
        ticket stays unspent. None when there is no such ticket."""
        async with self._uow(read_only=True) as uow:
            ticket = await uow.login_tickets.pending(
                tenant.id, _digest(login_ticket), self._clock.now()
            )
        if (
            ticket is None
            or ticket.client_id != app.client_id
            or ticket.origin != origin_of(redirect_uri)
        ):
            return None
        return ticket.co_id

    async def redeem(
        self,
        tenant: Tenant,
        app: Application,
        redirect_uri: str,
        login_ticket: str,
        verifier: str | None,
        replaces: str | None,
    ) -> StartedSession:
        """Spend the ticket once and start the browser's session. Every refusal is the same."""
        if not verifier:
            raise TicketRefused("Cross-origin verification failed: sign in again.")
        now = self._clock.now()
        async with self._uow() as uow:
            ticket = await uow.login_tickets.take(
                tenant.id, _digest(login_ticket), _digest(verifier), now
            )
            if (
                ticket is None
                or ticket.client_id != app.client_id
                or ticket.origin != origin_of(redirect_uri)
            ):
                raise TicketRefused("Invalid or expired login ticket.")
            user = await uow.users.by_pk(tenant.id, ticket.user_pk)
            if user is None or user.blocked or _ended_since(user, ticket):
                raise TicketRefused("Invalid or expired login ticket.")
            started = await self._sessions.start(uow.sessions, tenant, user, [ticket.amr], replaces)
            await uow.commit()
        return started


def _ended_since(user: User, ticket: LoginTicket) -> bool:
    """The user's access ended (a password change, a block) after the ticket was earned: the
    credential it proved is no longer the account's (OWASP ASVS 5.0 7.4.3)."""
    return user.tokens_valid_after is not None and user.tokens_valid_after >= ticket.created_at
