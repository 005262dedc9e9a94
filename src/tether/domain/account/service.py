"""The Linked accounts page's use cases (``AccountService``): the person's identities, linking
another account, unlinking, security events.

Linking another account on the Linked accounts page (``purpose=link``):

1. The person is signed in as A, and signed in less than ``REAUTH_WINDOW`` ago. A flow is
   parked: (A, A's session, a PKCE verifier, a nonce), valid ``FLOW_LIFETIME``, used once, and
   its state is also set in an HttpOnly cookie of this browser.
2. ``/authorize`` with ``prompt=login``: the person signs in to the other account, B, from
   scratch. That sign-in is the proof that they own B; an email address never is.
3. At the callback: the flow is taken (once), the state matches the cookie, the code is redeemed
   with the verifier, the ID token's nonce is the flow's, its ``sid`` is this browser's session
   and its ``auth_time`` is after the flow began. Then B is linked into A with that fresh ID
   token (``link_with``, as Auth0's user-initiated linking does), and the browser gets a new
   session as A. The person is emailed.

Unlink (never the main identity, never the last identity that can sign in) also needs a sign-in
within ``REAUTH_WINDOW``; the browser keeps a new session as A with the old ``auth_time``, and
every other session of A ends (the unlinked identity may have opened them).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tether.domain.actor import Actor
from tether.domain.audit import RequestInfo
from tether.domain.clock import Clock
from tether.domain.errors import Forbidden, InvalidInput, NotFound
from tether.domain.linking import LinkingService, LinkWith
from tether.domain.log_filter import LogFilter
from tether.domain.logs import LogService
from tether.domain.models import Identity, LogEvent, Session, Tenant, User
from tether.domain.sessions import StartedSession

if TYPE_CHECKING:
    from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.account.hosted_apps import ACCOUNT, APP_NAMES, LINK, REAUTH_WINDOW, FinishedFlow

#: Log event types shown as a person's security events.
SECURITY_TYPES = ("s", "ss", "f", "fp", "fu", "slo", "scp", "fcp", "scpr", "sapi")
_SECURITY_API_EVENTS = {"identity_linked", "identity_unlinked"}


@dataclass(frozen=True)
class IdentityRow:
    """One identity as the pages show it."""

    identity: Identity
    connection_exists: bool
    can_sign_in: bool
    how: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Linked:
    user: User
    started: StartedSession
    secondary_user_id: str


def describe_link(identity: Identity, apps: dict[str, str]) -> str:
    """How an identity came to be on its user, in a sentence."""
    reason = identity.link_reason or {}
    if identity.is_primary and reason.get("method") != "unlink":
        return "Main identity: the user was created with it."
    method = reason.get("method")
    actor = reason.get("actor") or {}
    client = actor.get("client_id")
    who = apps.get(client or "", client or "")
    if method == "unlink":
        return f"Unlinked from {reason.get('unlinked_from')}; a user of its own again."
    if method == "link_with":
        if who == APP_NAMES[ACCOUNT]:
            return "Linked by the person on the Linked accounts page, after signing in to it."
        by = f" via {who}" if who else ""
        return f"Linked by the person{by}, who proved it with an ID token of this account."
    if method == "server_side":
        by = actor.get("user_id") or who or "an administrator"
        return f"Linked by {by} (server side, by user id)."
    if method:
        return f"Linked ({method})."
    return "Linked."


class AccountService:
    """What the Linked accounts page does for the signed-in person."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        linking: LinkingService,
        logs: LogService,
        clock: Clock,
    ):
        self._uow = uow
        self._linking = linking
        self._logs = logs
        self._clock = clock

    def is_fresh(self, session: Session) -> bool:
        return self._clock.now() - session.auth_time <= REAUTH_WINDOW

    def fresh_until(self, session: Session) -> datetime:
        return session.auth_time + REAUTH_WINDOW

    async def identities(self, tenant: Tenant, user: User) -> builtins.list[IdentityRow]:
        """The user's identities, the main one first, each with whether it can sign in."""
        async with self._uow(read_only=True) as uow:
            connections = {c.id: c for c in await uow.connections.list(tenant.id)}
            apps = {a.client_id: a.name for a in await uow.applications.list(tenant.id)}
            rows = []
            for identity in sorted(user.identities, key=lambda i: (not i.is_primary, i.user_id)):
                rows.append(
                    IdentityRow(
                        identity,
                        identity.connection_id in connections,
                        await self._can_sign_in(uow, identity, connections),
                        describe_link(identity, apps),
                        dict(identity.link_reason or {}),
                    )
                )
        return rows

    @staticmethod
    async def _can_sign_in(
        uow: UnitOfWork, identity: Identity, connections: dict[str, Any]
    ) -> bool:
        """The identity's connection exists and lets some application sign in with it; a
        database identity also needs its password."""
        connection = connections.get(identity.connection_id)
        if connection is None or not connection.enabled_clients:
            return False
        if connection.is_database:
            return await uow.credentials.for_identity(identity.id) is not None
        return True

    async def user_of(self, tenant: Tenant, session: Session) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.by_pk(tenant.id, session.user_pk)
        if user is None:
            raise NotFound("The user does not exist.", code="inexistent_user")
        return user

    # -- unlink ---------------------------------------------------------------------

    async def unlink(
        self,
        tenant: Tenant,
        session: Session,
        provider: str,
        subject: str,
        actor: Actor,
    ) -> tuple[User, StartedSession, Identity]:
        """Unlink one of the signed-in person's own identities."""
        if not self.is_fresh(session):
            raise Forbidden("Sign in again to unlink an account.", code="reauthentication_needed")
        user = await self.user_of(tenant, session)
        rows = await self.identities(tenant, user)
        target = next(
            (r for r in rows if r.identity.provider == provider and r.identity.subject == subject),
            None,
        )
        if target is None:
            raise NotFound("That account is not linked to yours.", code="inexistent_identity")
        if target.identity.is_primary:
            raise InvalidInput(
                "Your main sign-in can't be unlinked: it is the account your user was created with.",
                code="main_identity",
            )
        if not any(r.can_sign_in for r in rows if r.identity.id != target.identity.id):
            raise InvalidInput(
                "This is the last way you can sign in: unlinking it would lock you out.",
                code="last_identity",
            )
        # One transaction: the unlink, its log event and mail, and this browser's session,
        # which carries on with its old sign-in time (the unlink ended every other).
        after, started = await self._linking.unlink_and_continue(
            tenant, user.user_id, provider, target.identity.user_id, actor, session
        )
        return after, started, target.identity

    # -- link -----------------------------------------------------------------------

    async def start_link_check(self, tenant: Tenant, session: Session) -> User:
        """May this session start linking another account? The user, if so."""
        if not self.is_fresh(session):
            raise Forbidden("Sign in again to link an account.", code="reauthentication_needed")
        return await self.user_of(tenant, session)

    async def link(
        self,
        tenant: Tenant,
        finished: FinishedFlow,
        browser_session: Session | None,
        actor_request: RequestInfo,
    ) -> Linked:
        """Finish a link flow: the account just signed in to (B) joins the flow's user (A)."""
        flow = finished.flow
        if flow.purpose != LINK or flow.user_pk is None:
            raise Forbidden(
                "This sign-in was not started to link an account.", code="invalid_state"
            )
        if (
            browser_session is None
            or finished.session_id != browser_session.id
            or browser_session.user_pk != finished.user.pk
        ):
            raise Forbidden(
                "The sign-in to link did not happen in this browser. Start again.",
                code="invalid_state",
            )
        if finished.auth_time < flow.created_at.replace(microsecond=0):
            raise Forbidden(
                "Sign in to the other account again to link it.", code="reauthentication_needed"
            )
        async with self._uow(read_only=True) as uow:
            primary = await uow.users.by_pk(tenant.id, flow.user_pk)
        if primary is None:
            raise NotFound("Your account no longer exists.", code="inexistent_user")
        if primary.pk == finished.user.pk:
            raise InvalidInput(
                "You signed in with an account that is already yours. To link another account, "
                "sign in to that one.",
                code="same_user",
            )
        actor = Actor(client_id=flow.client_id, user_id=primary.user_id, request=actor_request)
        # One transaction: the link, its log event and mail, and the browser's new session as
        # the joined user (the session of the account just linked went with its user row).
        after, started = await self._linking.link_and_sign_in(
            tenant,
            primary.user_id,
            LinkWith(id_token=finished.id_token, caller_azp=flow.client_id),
            actor,
            list(browser_session.amr) or ["pwd"],
        )
        secondary = finished.user
        return Linked(after, started, secondary.user_id)

    # -- security events --------------------------------------------------------------

    async def security_events(
        self, tenant: Tenant, user: User, *, limit: int = 15
    ) -> builtins.list[LogEvent]:
        """Sign-ins, sign-ups, password changes, links and unlinks, newest first."""
        events, _ = await self._logs.page(
            tenant.id,
            LogFilter(types=SECURITY_TYPES, user_id=user.user_id),
            offset=0,
            limit=limit * 3,
        )
        out = [
            e
            for e in events
            if e.type != "sapi" or (e.details or {}).get("event") in _SECURITY_API_EVENTS
        ]
        return out[:limit]


SECURITY_LABELS = {
    "s": "Signed in",
    "ss": "Signed up",
    "f": "Failed sign-in",
    "fp": "Failed sign-in (wrong password)",
    "fu": "Failed sign-in (unknown user)",
    "slo": "Signed out",
    "scp": "Password changed",
    "fcp": "Password change failed",
    "scpr": "Password reset requested",
}


def security_label(event: LogEvent) -> str:
    if event.type == "sapi":
        kind = (event.details or {}).get("event")
        if kind == "identity_linked":
            return "Account linked"
        if kind == "identity_unlinked":
            return "Account unlinked"
    return SECURITY_LABELS.get(event.type, event.description or event.type)
