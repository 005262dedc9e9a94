"""Finding the offer of linking at sign-in (the rules: ``service``'s docstring): whether the
person who just signed in has a verified address that another account of the tenant holds
verified, how that account signs in (what the prompt may offer as proof), and the log event
that flags an unverified account the sign-in matched. Reads only, but for that flag.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import timedelta

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.errors import Conflict
from tether.domain.ids import hash_token
from tether.domain.models import Application, LoginTransaction, Tenant, User
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory

PROMPT, OFF = "prompt", "off"
#: Strategies whose sign-in happens at an upstream provider.
UPSTREAM = frozenset({"oidc", "oauth2", "google-oauth2", "github"})
#: ``details.event`` of the log event on an unverified account a verified sign-in matched.
FLAG_EVENT = "unverified_email_matched_verified_sign_in"
#: How an identity signs in, in plain words (never the account's details).
WAYS = {
    "auth0": "a password",
    "email": "a code sent by email",
    "google-oauth2": "Google",
    "github": "GitHub",
}


def mode(tenant: Tenant) -> str:
    """Tenant setting ``linking.on_sign_in``: ``prompt`` (default) or ``off``."""
    value = (tenant.settings.get("linking") or {}).get("on_sign_in", PROMPT)
    return OFF if value == OFF else PROMPT


@dataclass(frozen=True)
class Offer:
    """What the prompt may say: the account that signed in, the existing one, and how the
    existing one signs in (its connections)."""

    user: User
    existing: User
    ways: list[str] = field(default_factory=list)
    #: The database connection and address of the existing account's password, if it has one.
    password_connection: str | None = None
    password_email: str | None = None
    #: The email-code connection and address of the existing account, if it has one.
    code_connection: str | None = None
    code_email: str | None = None
    #: The upstream connections (name, label) the existing account signs in with.
    upstream: tuple[tuple[str, str], ...] = ()

    def token(self, tx: LoginTransaction) -> str:
        """Names this offer in the page's forms without naming the existing account."""
        return hash_token(f"{tx.id}:{self.existing.pk}")[:32]


#: A sign-in this close before the request was parked counts as made for it: Lock's ticket
#: (``/authorize?login_ticket=``) starts the session just before the request is parked.
FRESH_WINDOW = timedelta(seconds=10)


def _fresh(tx: LoginTransaction) -> bool:
    """The person signed in for this request (not an SSO session reused for consent)."""
    return tx.auth_time is not None and tx.auth_time >= tx.created_at - FRESH_WINDOW


class SignInOffers:
    """What to offer the person who just signed in, if anything."""

    def __init__(self, uow: UnitOfWorkFactory, audit: Audit):
        self._uow = uow
        self._audit = audit

    async def _ways(self, uow: UnitOfWork, user: User) -> Offer:
        """How ``user`` signs in, as an offer to link into it (its ``user`` set by the caller)."""
        ways: builtins.list[str] = []
        upstream: builtins.list[tuple[str, str]] = []
        connection_name = email = code_connection = code_email = None
        for identity in user.identities:
            credential = await uow.credentials.for_identity(identity.id)
            if credential is not None and connection_name is None:
                connection_name, email = identity.connection_name, credential.email
            if identity.provider == "email" and code_connection is None:
                code_connection = identity.connection_name
                code_email = str(identity.profile_data.get("email") or user.email or "") or None
            connection = await uow.connections.get(user.tenant_id, identity.connection_id)
            label = WAYS.get(identity.provider)
            if label is None and connection is not None:
                label = str(connection.options.get("display_name") or connection.name)
            if label and label not in ways:
                ways.append(label)
            if label and connection is not None and connection.strategy in UPSTREAM:
                upstream.append((connection.name, label))
        return Offer(
            user, user, ways, connection_name, email, code_connection, code_email, tuple(upstream)
        )

    async def offer(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        prompt: Collection[str],
        *,
        flag: bool = False,
        request: RequestInfo = NO_REQUEST,
    ) -> Offer | None:
        """The link offer for this sign-in, or None. With ``flag``, an unverified account with
        the same address gets its log event (once per sign-in: ``/authorize/resume`` asks)."""
        if tx.user_pk is None or not _fresh(tx):
            return None
        return await self.offer_for(tenant, app, tx.user_pk, prompt, flag=flag, request=request)

    async def offer_for(
        self,
        tenant: Tenant,
        app: Application,
        user_pk: str,
        prompt: Collection[str],
        *,
        flag: bool = False,
        request: RequestInfo = NO_REQUEST,
    ) -> Offer | None:
        """``offer`` for a user who has just signed in (Lock's ticket, before any request is
        parked)."""
        if mode(tenant) == OFF or "none" in prompt or not app.is_first_party:
            return None
        # Read-only: this runs after every verified sign-in, and on SQLite a writer would take
        # the one write lock even when nothing is offered.
        async with self._uow(read_only=True) as uow:
            user = await uow.users.by_pk(tenant.id, user_pk)
            if user is None or not user.email or not user.email_verified:
                return None
            others = [u for u in await uow.users.by_email(tenant.id, user.email) if u.pk != user.pk]
            if not others:
                return None
            apart = await uow.link_choices.kept_apart(tenant.id, user.pk)
            verified = sorted(
                (u for u in others if u.email_verified and not u.blocked and u.pk not in apart),
                key=lambda u: u.created_at,
            )
            found = await self._ways(uow, verified[0]) if verified else None
        squatted = [u for u in others if not u.email_verified]
        if flag and squatted:
            await self._flag(tenant, app, user, squatted, request)
        return replace(found, user=user) if found is not None else None

    async def _flag(
        self,
        tenant: Tenant,
        app: Application,
        user: User,
        squatted: builtins.list[User],
        request: RequestInfo,
    ) -> None:
        """The log event that marks accounts whose unverified address a verified sign-in
        matched (the dashboard's user page shows it)."""
        async with self._uow() as uow:
            for other in squatted:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.SUCCESS_API_OPERATION,
                    request,
                    description="A verified sign-in matched this account's unverified email",
                    client_id=app.client_id,
                    user=other,
                    details={
                        "event": FLAG_EVENT,
                        "signed_in_user_id": user.user_id,
                        "reason": "nothing was offered: the address of this account is "
                        "unverified and may not be its owner's",
                    },
                )
            await uow.commit()

    async def current(
        self,
        tenant: Tenant,
        app: Application,
        tx: LoginTransaction,
        prompt: Collection[str],
        offer_token: str,
    ) -> Offer:
        """The offer the page showed (named by its ``offer_token``), if it still stands."""
        offer = await self.offer(tenant, app, tx, prompt)
        if offer is None or offer.token(tx) != offer_token:
            raise Conflict(
                "There is nothing to link any more: the accounts were linked or changed meanwhile.",
                code="link_gone",
            )
        return offer
