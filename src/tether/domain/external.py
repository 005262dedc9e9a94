"""Signing in with an identity that lives elsewhere (an email code, an OpenID provider, GitHub).

The identity is (connection, subject), the provider's immutable id, never an email. The first
sign-in creates a user with that identity as its primary; later sign-ins find the same user,
whoever it has since been linked into. Nothing is linked here: a matching email elsewhere is
never a reason to join accounts (DESIGN.md, Beyond Auth0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock
from tether.domain.errors import Forbidden
from tether.domain.ids import new_id
from tether.domain.mailbox import MailboxProof
from tether.domain.models import Application, Connection, Identity, Tenant, User
from tether.domain.ports import UnitOfWorkFactory

#: Profile attributes an external identity may set on its user.
SYNCED = ("email", "name", "given_name", "family_name", "nickname", "picture")
SOCIAL = frozenset({"google-oauth2", "github", "oauth2"})
#: Whose ``email_verified`` counts unless the connection's ``trust_email_verified`` says
#: otherwise: off by default for a generic OpenID or OAuth 2 provider (security-checklist 4.2).
TRUSTED_BY_DEFAULT = frozenset({"email", "google-oauth2", "github"})
#: Strategies whose sign-in is itself a proof of the mailbox (the code was mailed there).
PROVES_MAILBOX = frozenset({"email"})


@dataclass(frozen=True)
class ExternalProfile:
    """What the provider said, already checked (signature, issuer, nonce...)."""

    subject: str
    profile: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    email_verified: bool = False


def provider_of(connection: Connection) -> str:
    return connection.strategy


#: Strategies that stand for any provider: their ``user_id`` names the connection too
#: (Auth0's ``oauth2|<connection>|<id>``), so two providers' subject 123 are two users.
GENERIC = frozenset({"oidc", "oauth2"})


def subject_of(connection: Connection, upstream_subject: str) -> str:
    """The identity's ``user_id`` part: ``oidc|<connection>|<sub>`` and
    ``oauth2|<connection>|<id>`` keep generic providers apart."""
    if connection.strategy in GENERIC:
        return f"{connection.name}|{upstream_subject}"
    return upstream_subject


class ExternalSignIn:
    def __init__(self, uow: UnitOfWorkFactory, audit: Audit, clock: Clock, proof: MailboxProof):
        self._uow = uow
        self._audit = audit
        self._clock = clock
        self._proof = proof

    async def sign_in(
        self,
        tenant: Tenant,
        app: Application,
        connection: Connection,
        external: ExternalProfile,
        request: RequestInfo = NO_REQUEST,
    ) -> User:
        """The user this identity belongs to, created on first sign-in."""
        if app.client_id not in connection.enabled_clients:
            raise Forbidden(
                "The connection is not enabled for this application.", code="unauthorized_client"
            )
        now = self._clock.now()
        default = connection.strategy in TRUSTED_BY_DEFAULT
        trusted = connection.options.get("trust_email_verified", default) is True
        verified = external.email_verified is True and trusted
        subject = subject_of(connection, external.subject)
        provider = provider_of(connection)
        profile_data = {k: v for k, v in external.profile.items() if v is not None}
        if external.email:
            profile_data["email"] = external.email.lower()
            profile_data["email_verified"] = verified
        async with self._uow() as uow:
            identity = await uow.identities.find(tenant.id, connection.id, subject)
            if identity is not None:
                user = await uow.users.by_pk(tenant.id, identity.user_pk)
                if user is None:
                    raise Forbidden("This identity has no user.", code="inexistent_user")
                if user.blocked:
                    await self._audit.record(
                        uow,
                        tenant.id,
                        LogType.FAILED_LOGIN,
                        request,
                        description="user is blocked",
                        application=app,
                        user=user,
                        connection=connection,
                    )
                    await uow.commit()
                    raise Forbidden("user is blocked", code="user_blocked")
                identity.profile_data = {**identity.profile_data, **profile_data}
                await uow.identities.update(identity)
                if connection.strategy in PROVES_MAILBOX and external.email:
                    # A used email code proves the mailbox: settle what an unverified address
                    # let in before the profile sync below marks it verified.
                    await self._proof.mailbox_proven(
                        uow, tenant, user, external.email, how="passwordless_code", request=request
                    )
                    user = await uow.users.by_pk(tenant.id, user.pk) or user
                elif (
                    verified
                    and identity.is_primary
                    and external.email
                    and not user.email_verified
                    and (user.email or "").lower() == external.email.lower()
                ):
                    # A trusted upstream now vouches for the address the user has had
                    # unverified: that proves the mailbox as a verification link would.
                    await self._proof.mailbox_proven(
                        uow,
                        tenant,
                        user,
                        external.email,
                        how="upstream_verified_email",
                        request=request,
                    )
                    user = await uow.users.by_pk(tenant.id, user.pk) or user
                if identity.is_primary and connection.options.get("sync_user_profile", True):
                    for key in SYNCED:
                        value = profile_data.get(key)
                        if value is not None:
                            setattr(user, key, value.lower() if key == "email" else value)
                    if external.email:
                        user.email_verified = verified
                    user.updated_at = now
                    await uow.users.update(user)
            else:
                user = User(
                    pk=new_id("usr_"),
                    tenant_id=tenant.id,
                    user_id=f"{provider}|{subject}",
                    email=external.email.lower() if external.email else None,
                    email_verified=verified,
                    created_at=now,
                    updated_at=now,
                    name=_s(profile_data.get("name")),
                    given_name=_s(profile_data.get("given_name")),
                    family_name=_s(profile_data.get("family_name")),
                    nickname=_s(profile_data.get("nickname")),
                    picture=_s(profile_data.get("picture")),
                )
                identity = Identity(
                    id=new_id("idn_"),
                    tenant_id=tenant.id,
                    user_pk=user.pk,
                    connection_id=connection.id,
                    connection_name=connection.name,
                    provider=provider,
                    subject=subject,
                    is_primary=True,
                    is_social=provider in SOCIAL,
                    profile_data=profile_data,
                    linked_at=now,
                )
                await uow.users.add(user)
                await uow.identities.add(identity)
                user.identities = [identity]
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.SUCCESS_SIGNUP,
                    request,
                    application=app,
                    user=user,
                    connection=connection,
                )
            await self._audit.login(
                uow, tenant.id, user, now, request, application=app, connection=connection
            )
            await uow.commit()
        return user


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
