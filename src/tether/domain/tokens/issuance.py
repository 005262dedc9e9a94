"""What every grant shares: the issuance record, the response, and signing (RFC 6749 §5.1,
OIDC Core §2 and §3.1.3.3).

Access and ID tokens are RS256 JWTs signed with the tenant's current key. Refresh tokens are
random strings stored as SHA-256; each use rotates them, and a second use of a spent one
revokes its whole family (RFC 9700 §4.14.2). Each grant is a module of this package whose class
extends ``TokenIssuer``; ``TokenService`` (service.py) is all of them in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tether.domain.access import issued_at_after
from tether.domain.audit import Audit, LogType, RequestInfo
from tether.domain.clock import Clock, epoch
from tether.domain.configuration import Configuration
from tether.domain.event_writer import EventWriter
from tether.domain.ids import hash_token, new_id, new_secret
from tether.domain.keys import KeyService, KeySet
from tether.domain.management_scopes import CURRENT_USER_SCOPES
from tether.domain.models import Api, Application, RefreshToken, Tenant, User
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.users import DatabaseUsers
from tether.domain.users.signin import SignInRecord
from tether.protocol import claims as token_claims
from tether.protocol import jose
from tether.protocol.errors import AccessDenied, InvalidRequest, UnauthorizedClient
from tether.protocol.grants import GTY, GrantType
from tether.protocol.scopes import OFFLINE_ACCESS, OIDC_SCOPES, OPENID

ID_TOKEN_LIFETIME = 36000
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
DEFAULT_USER_SCOPE = "openid profile email"
INVALID_REFRESH = "Unknown or invalid refresh token."
#: Rate-limit rule for the token endpoint, per tenant and client IP.
RULE_TOKEN_IP = "token_ip"


@dataclass(frozen=True)
class Issuance:
    """What a user grant issues: for whom, to which client and API, with which scopes.

    ``family_id`` continues a refresh-token family (RFC 6749 §6 rotation); ``refresh_scope`` is
    the refresh token's scope when it differs from the access token's."""

    tenant: Tenant
    app: Application
    user: User
    api: Api | None
    scopes: list[str]
    grant: GrantType
    auth_time: datetime
    want_refresh: bool
    family_id: str | None = None
    session_id: str | None = None
    nonce: str | None = None
    with_id_token: bool = True
    refresh_scope: list[str] | None = None


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    id_token: str | None = None
    refresh_token: str | None = None

    def body(self) -> dict[str, Any]:
        """RFC 6749 §5.1 plus OIDC Core §3.1.3.3."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.id_token:
            body["id_token"] = self.id_token
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


def _allows(app: Application, grant: GrantType) -> bool:
    if grant in (GrantType.PASSWORD, GrantType.PASSWORD_REALM):
        return bool({GrantType.PASSWORD, GrantType.PASSWORD_REALM} & set(app.grant_types))
    return grant.value in app.grant_types


def require_grant(app: Application, grant: GrantType) -> None:
    if not _allows(app, grant):
        raise UnauthorizedClient(f"Grant type '{grant.value}' not allowed for the client.")


def missing(name: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required parameter: {name}")


class TokenIssuer:
    """The state and the steps every grant shares."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        keys: KeyService,
        users: DatabaseUsers,
        audit: Audit,
        clock: Clock,
        configuration: Configuration,
        events: EventWriter,
    ):
        self._uow = uow
        self._events = events
        self._keys = keys
        self._users = users
        self._audit = audit
        self._clock = clock
        self._configuration = configuration

    async def _api(self, tenant: Tenant, audience: str | None) -> Api | None:
        """The API ``audience`` names (else the tenant's default), from the configuration read
        model: no SQL."""
        if audience is None:
            audience = tenant.settings.get("default_audience") or None
        if audience is None or audience == tenant.issuer + "userinfo":
            return None
        api = (await self._configuration.of(tenant.id)).apis.get(audience)
        if api is None:
            raise AccessDenied(f"Service not enabled within domain: {audience}")
        return api

    async def _log(
        self,
        tenant: Tenant,
        type_: LogType,
        request: RequestInfo,
        *,
        app: Application,
        user: User | None = None,
        description: str = "",
        details: dict[str, Any] | None = None,
        sign_in: SignInRecord | None = None,
    ) -> None:
        """A grant's log event, group-committed with those of concurrent requests
        (domain/event_writer.py), after ``sign_in``'s event and with its writes; returns once
        it is durable."""
        event = self._audit.build(
            tenant.id,
            type_,
            request,
            application=app,
            user=user,
            description=description,
            details=details,
        )
        if sign_in is None:
            await self._events.write(event)
        else:
            await self._events.write(sign_in.event, event, steps=sign_in.steps, order=sign_in.order)
            sign_in.committed()
        self._audit.committed(event)

    @staticmethod
    def _user_scopes(requested: list[str], api: Api | None) -> list[str]:
        """What a user grant gets: the OIDC scopes asked for, and the API's own scopes asked for.
        A user never gets a machine scope of the Management API, only the current-user ones."""
        allowed = set(OIDC_SCOPES)
        if api is not None:
            allowed |= CURRENT_USER_SCOPES if api.is_system else set(api.scope_values)
        return [s for s in requested if s in allowed]

    async def _issue_user_tokens(
        self, uow: UnitOfWork | None, keyset: KeySet, issue: Issuance
    ) -> TokenResponse:
        """Sign the access (and ID) token and store the refresh token in ``uow`` (None when
        ``issue`` wants no refresh token: nothing is stored).

        ``keyset`` is fetched by the caller before ``uow`` opens: one transaction at a time."""
        tenant, app, user = issue.tenant, issue.app, issue.user
        api, scopes = issue.api, issue.scopes
        now = self._clock.now()
        iat = issued_at_after(epoch(now), user.tokens_valid_after)
        lifetime = api.token_lifetime if api else 86400
        access = keyset.signing.sign(
            token_claims.access_token_claims(
                issuer=tenant.issuer,
                subject=user.user_id,
                audience=token_claims.access_token_audience(
                    tenant.issuer, api.identifier if api else None, scopes
                ),
                client_id=app.client_id,
                scopes=scopes,
                issued_at=iat,
                lifetime=lifetime,
                gty=GTY.get(issue.grant),
            ),
            typ="at+jwt",
        )
        id_token = None
        if OPENID in scopes and issue.with_id_token:
            id_token = self._sign_id_token(keyset, issue, iat, access)
        refresh = None
        if issue.want_refresh:
            if uow is None:
                raise ValueError("a refresh token needs a unit of work to be stored in")
            refresh = new_secret(48)
            await uow.refresh_tokens.add(
                RefreshToken(
                    id=new_id("rt_"),
                    tenant_id=tenant.id,
                    family_id=issue.family_id or new_id("rtf_"),
                    token_hash=hash_token(refresh),
                    client_id=app.client_id,
                    user_pk=user.pk,
                    audience=api.identifier if api else None,
                    scope=scopes if issue.refresh_scope is None else issue.refresh_scope,
                    created_at=now,
                    expires_at=now + REFRESH_TOKEN_LIFETIME,
                    auth_time=issue.auth_time,
                    session_id=issue.session_id,
                )
            )
        return TokenResponse(access, lifetime, " ".join(scopes), id_token, refresh)

    @staticmethod
    def _sign_id_token(keyset: KeySet, issue: Issuance, iat: int, access: str | None) -> str:
        """OIDC Core §2 and §3.1.3.6 (``at_hash`` when an access token rides along); one
        signing block for every grant and for the implicit flow."""
        return keyset.signing.sign(
            token_claims.id_token_claims(
                issuer=issue.tenant.issuer,
                subject=issue.user.user_id,
                client_id=issue.app.client_id,
                issued_at=iat,
                lifetime=ID_TOKEN_LIFETIME,
                profile=issue.user.profile_claims(),
                scopes=issue.scopes,
                nonce=issue.nonce,
                auth_time=epoch(issue.auth_time),
                session_id=issue.session_id,
                at_hash=jose.at_hash(access) if access else None,
            )
        )

    def _offline_allowed(self, app: Application, api: Api | None, scopes: list[str]) -> bool:
        if OFFLINE_ACCESS not in scopes or GrantType.REFRESH_TOKEN.value not in app.grant_types:
            return False
        return api is None or api.allow_offline_access

    async def issue_for_user(
        self,
        tenant: Tenant,
        app: Application,
        user: User,
        grant: GrantType,
        requested: list[str],
        api: Api | None,
        request: RequestInfo,
        log_type: LogType,
        *,
        sign_in: SignInRecord | None = None,
    ) -> TokenResponse:
        """Tokens for a person who has just proved who they are (password, email code).
        ``sign_in``, a password sign-in's writes, commits with the token's event."""
        scopes = self._user_scopes(requested, api)
        keyset = await self._keys.keyset(tenant)
        issue = Issuance(
            tenant,
            app,
            user,
            api,
            scopes,
            grant,
            auth_time=self._clock.now(),
            want_refresh=self._offline_allowed(app, api, scopes),
        )
        if not issue.want_refresh:
            # Nothing to store but the log event: the group commit writes it.
            response = await self._issue_user_tokens(None, keyset, issue)
            await self._log(
                tenant,
                log_type,
                request,
                app=app,
                user=user,
                details={"audience": api.identifier if api else None, "scope": response.scope},
                sign_in=sign_in,
            )
            return response
        async with self._uow() as uow:
            if sign_in is not None:
                await sign_in.write(uow)
            response = await self._issue_user_tokens(uow, keyset, issue)
            await self._audit.record(
                uow,
                tenant.id,
                log_type,
                request,
                application=app,
                user=user,
                details={"audience": api.identifier if api else None, "scope": response.scope},
            )
            await uow.commit()
        return response
