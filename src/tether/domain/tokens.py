"""The token endpoint's grants and what they issue (RFC 6749 §4.3, §4.4, §6; OIDC Core §12).

Access and ID tokens are RS256 JWTs signed with the tenant's current key. Refresh tokens are
random strings stored as SHA-256; each use rotates them, and a second use of a spent one
revokes its whole family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tether.domain.access import accepts_iat, issued_at_after
from tether.domain.audit import NO_REQUEST, Audit, LogType, RequestInfo
from tether.domain.clock import Clock, epoch
from tether.domain.errors import InvalidCredentials
from tether.domain.ids import hash_token, new_id, new_secret
from tether.domain.keys import KeyService, KeySet
from tether.domain.management_scopes import CURRENT_USER_SCOPES
from tether.domain.models import Api, Application, RefreshToken, Session, Tenant, User
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory
from tether.domain.users import DatabaseUsers
from tether.protocol import claims as token_claims
from tether.protocol import jose, pkce
from tether.protocol.authorize import AuthorizationRequest
from tether.protocol.errors import (
    AccessDenied,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    UnauthorizedClient,
)
from tether.protocol.grants import GTY, GrantType
from tether.protocol.scopes import OFFLINE_ACCESS, OIDC_SCOPES, OPENID, parse_scope

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


class TokenService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        keys: KeyService,
        users: DatabaseUsers,
        audit: Audit,
        clock: Clock,
    ):
        self._uow = uow
        self._keys = keys
        self._users = users
        self._audit = audit
        self._clock = clock

    # -- helpers ----------------------------------------------------------

    async def _api(self, uow: UnitOfWork, tenant: Tenant, audience: str | None) -> Api | None:
        if audience is None:
            audience = tenant.settings.get("default_audience") or None
        if audience is None or audience == tenant.issuer + "userinfo":
            return None
        api = await uow.apis.by_identifier(tenant.id, audience)
        if api is None:
            raise AccessDenied(f"Service not enabled within domain: {audience}")
        return api

    @staticmethod
    def _user_scopes(requested: list[str], api: Api | None) -> list[str]:
        """What a user grant gets: the OIDC scopes asked for, and the API's own scopes asked for.
        A user never gets a machine scope of the Management API, only the current-user ones."""
        allowed = set(OIDC_SCOPES)
        if api is not None:
            allowed |= CURRENT_USER_SCOPES if api.is_system else set(api.scope_values)
        return [s for s in requested if s in allowed]

    async def _issue_user_tokens(
        self, uow: UnitOfWork, keyset: KeySet, issue: Issuance
    ) -> TokenResponse:
        """Sign the access (and ID) token and store the refresh token in ``uow``.

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
            id_token = keyset.signing.sign(
                token_claims.id_token_claims(
                    issuer=tenant.issuer,
                    subject=user.user_id,
                    client_id=app.client_id,
                    issued_at=iat,
                    lifetime=ID_TOKEN_LIFETIME,
                    profile=user.profile_claims(),
                    scopes=scopes,
                    nonce=issue.nonce,
                    auth_time=epoch(issue.auth_time),
                    session_id=issue.session_id,
                    at_hash=jose.at_hash(access),
                )
            )
        refresh = None
        if issue.want_refresh:
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

    def _offline_allowed(self, app: Application, api: Api | None, scopes: list[str]) -> bool:
        if OFFLINE_ACCESS not in scopes or GrantType.REFRESH_TOKEN.value not in app.grant_types:
            return False
        return api is None or api.allow_offline_access

    # -- grants -----------------------------------------------------------

    async def client_credentials(
        self,
        tenant: Tenant,
        app: Application,
        audience: str | None,
        scope: str | None,
        request: RequestInfo = NO_REQUEST,
    ) -> TokenResponse:
        """RFC 6749 §4.4: a machine's own token, limited to its client grant's scopes."""
        require_grant(app, GrantType.CLIENT_CREDENTIALS)
        if app.is_public:
            raise UnauthorizedClient("Public clients cannot use the client_credentials grant.")
        keyset = await self._keys.keyset(tenant)
        async with self._uow() as uow:
            try:
                if audience is None and not tenant.settings.get("default_audience"):
                    raise AccessDenied(
                        "No audience parameter was provided, and no default audience has been configured"
                    )
                api = await self._api(uow, tenant, audience)
                if api is None:
                    raise AccessDenied("Client credentials need an API audience.")
                grant = await uow.client_grants.find(tenant.id, app.client_id, api.identifier)
                if grant is None:
                    raise AccessDenied(
                        f'Client is not authorized to access "{api.identifier}". '
                        'You need to create a "client-grant" associated to this API.'
                    )
                requested = parse_scope(scope)
                scopes = (
                    [s for s in requested if s in grant.scope] if requested else list(grant.scope)
                )
                if requested and not scopes:
                    raise InvalidScope("None of the requested scopes are granted to this client.")
            except (AccessDenied, InvalidScope) as exc:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_EXCHANGE_CLIENT_CREDENTIALS,
                    request,
                    description=exc.description,
                    application=app,
                )
                await uow.commit()
                raise
            iat = epoch(self._clock.now())
            token = keyset.signing.sign(
                token_claims.access_token_claims(
                    issuer=tenant.issuer,
                    subject=f"{app.client_id}@clients",
                    audience=api.identifier,
                    client_id=app.client_id,
                    scopes=scopes,
                    issued_at=iat,
                    lifetime=api.token_lifetime,
                    gty=GTY[GrantType.CLIENT_CREDENTIALS],
                ),
                typ="at+jwt",
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_EXCHANGE_CLIENT_CREDENTIALS,
                request,
                application=app,
                details={"audience": api.identifier, "scope": " ".join(scopes)},
            )
            await uow.commit()
        return TokenResponse(token, api.token_lifetime, " ".join(scopes))

    async def password(
        self,
        tenant: Tenant,
        app: Application,
        grant: GrantType,
        username: str,
        password: str,
        realm: str | None,
        scope: str | None,
        audience: str | None,
        request: RequestInfo = NO_REQUEST,
    ) -> TokenResponse:
        """RFC 6749 §4.3 and Auth0's password-realm grant, for applications that enable it."""
        require_grant(app, grant)
        if grant is GrantType.PASSWORD:
            realm = tenant.settings.get("default_directory") or None
        async with self._uow() as uow:
            api = await self._api(uow, tenant, audience)
        requested = parse_scope(scope or DEFAULT_USER_SCOPE)
        try:
            user, _ = await self._users.authenticate(
                tenant, app, realm, username, password, request
            )
        except InvalidCredentials as exc:
            raise InvalidGrant("Wrong email or password.") from exc
        return await self.issue_for_user(
            tenant, app, user, grant, requested, api, request, LogType.SUCCESS_EXCHANGE_PASSWORD
        )

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
    ) -> TokenResponse:
        """Tokens for a person who has just proved who they are (password, email code)."""
        scopes = self._user_scopes(requested, api)
        keyset = await self._keys.keyset(tenant)
        async with self._uow() as uow:
            response = await self._issue_user_tokens(
                uow,
                keyset,
                Issuance(
                    tenant,
                    app,
                    user,
                    api,
                    scopes,
                    grant,
                    auth_time=self._clock.now(),
                    want_refresh=self._offline_allowed(app, api, scopes),
                ),
            )
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

    async def passwordless_user_tokens(
        self,
        tenant: Tenant,
        app: Application,
        user: User,
        scope: str | None,
        audience: str | None,
        request: RequestInfo = NO_REQUEST,
    ) -> TokenResponse:
        """``http://auth0.com/oauth/grant-type/passwordless/otp`` once the code checked out."""
        async with self._uow() as uow:
            api = await self._api(uow, tenant, audience)
        requested = parse_scope(scope or DEFAULT_USER_SCOPE)
        return await self.issue_for_user(
            tenant,
            app,
            user,
            GrantType.PASSWORDLESS_OTP,
            requested,
            api,
            request,
            LogType.SUCCESS_LOGIN,
        )

    async def refresh(
        self,
        tenant: Tenant,
        app: Application,
        refresh_token: str,
        scope: str | None,
        request: RequestInfo = NO_REQUEST,
    ) -> TokenResponse:
        """RFC 6749 §6 with rotation: the old token is spent, a new one of the same family comes
        back; a spent token used again revokes the family (RFC 9700 §4.14.2)."""
        require_grant(app, GrantType.REFRESH_TOKEN)
        now = self._clock.now()
        keyset = await self._keys.keyset(tenant)
        async with self._uow() as uow:
            record = await uow.refresh_tokens.by_hash(tenant.id, hash_token(refresh_token))
            failure: str | None = None
            if record is None or record.client_id != app.client_id:
                failure = INVALID_REFRESH
            elif record.revoked_at is not None or record.expires_at < now:
                failure = INVALID_REFRESH
            elif record.used_at is not None:
                await uow.refresh_tokens.revoke_family(record.family_id, now)
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.REFRESH_TOKEN_REUSE,
                    request,
                    description="Reused refresh token: its family is revoked.",
                    application=app,
                    details={"family_id": record.family_id},
                )
                await uow.commit()
                raise InvalidGrant(INVALID_REFRESH)
            if failure is not None or record is None:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_EXCHANGE_REFRESH_TOKEN,
                    request,
                    description=failure or INVALID_REFRESH,
                    application=app,
                )
                await uow.commit()
                raise InvalidGrant(INVALID_REFRESH)
            user = await uow.users.by_pk(tenant.id, record.user_pk)
            if user is None:
                raise InvalidGrant(INVALID_REFRESH)
            if user.blocked:
                raise InvalidGrant("user is blocked")
            requested = parse_scope(scope)
            if requested and not set(requested) <= set(record.scope):
                raise InvalidScope("The requested scope exceeds the scope originally granted.")
            scopes = requested or list(record.scope)
            api = (
                await uow.apis.by_identifier(tenant.id, record.audience)
                if record.audience
                else None
            )
            response = await self._issue_user_tokens(
                uow,
                keyset,
                Issuance(
                    tenant,
                    app,
                    user,
                    api,
                    scopes,
                    GrantType.REFRESH_TOKEN,
                    auth_time=record.auth_time or record.created_at,
                    family_id=record.family_id,
                    session_id=record.session_id,
                    want_refresh=True,
                    # RFC 6749 §6: the new refresh token's scope is identical to the old one's.
                    refresh_scope=list(record.scope),
                ),
            )
            # The new token exists; spend the old one only if nobody else spent it meanwhile.
            new_record = await uow.refresh_tokens.by_hash(
                tenant.id, hash_token(response.refresh_token or "")
            )
            if new_record is None or not await uow.refresh_tokens.mark_used(
                record.id, now, new_record.id
            ):
                await uow.rollback()
                raise InvalidGrant(INVALID_REFRESH)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_EXCHANGE_REFRESH_TOKEN,
                request,
                application=app,
                user=user,
            )
            await uow.commit()
        return response

    async def authorization_code(
        self,
        tenant: Tenant,
        app: Application,
        code: str,
        redirect_uri: str | None,
        code_verifier: str | None,
        request: RequestInfo = NO_REQUEST,
    ) -> TokenResponse:
        """RFC 6749 §4.1.3: redeem a code once, for the client and callback it was issued to,
        with the PKCE verifier (RFC 7636 §4.6). A second redemption revokes what the first
        issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4)."""
        require_grant(app, GrantType.AUTHORIZATION_CODE)
        now = self._clock.now()
        keyset = await self._keys.keyset(tenant)
        async with self._uow() as uow:
            record = await uow.codes.by_hash(tenant.id, hash_token(code))
            failure = None
            if record is None or record.client_id != app.client_id:
                failure = "Invalid authorization code"
            elif record.used_at is not None:
                if record.refresh_family_id:
                    await uow.refresh_tokens.revoke_family(record.refresh_family_id, now)
                failure = "Invalid authorization code"
            elif record.expires_at < now:
                failure = "Invalid authorization code"
            elif redirect_uri != record.redirect_uri:
                failure = "The redirect_uri does not match the one of the authorization request."
            if failure is not None or record is None:
                await self._audit.record(
                    uow,
                    tenant.id,
                    LogType.FAILED_EXCHANGE_CODE,
                    request,
                    description=failure or "",
                    application=app,
                )
                await uow.commit()
                raise InvalidGrant(failure)
            pkce.verify(record.code_challenge, code_verifier)
            user = await uow.users.by_pk(tenant.id, record.user_pk)
            if user is None:
                raise InvalidGrant("Invalid authorization code")
            if user.blocked:
                raise InvalidGrant("user is blocked")
            api = (
                await uow.apis.by_identifier(tenant.id, record.audience)
                if record.audience
                else None
            )
            scopes = self._user_scopes(list(record.scope), api)
            family_id = new_id("rtf_")
            if not await uow.codes.redeem(record.id, now, family_id):
                await uow.rollback()
                raise InvalidGrant("Invalid authorization code")
            response = await self._issue_user_tokens(
                uow,
                keyset,
                Issuance(
                    tenant,
                    app,
                    user,
                    api,
                    scopes,
                    GrantType.AUTHORIZATION_CODE,
                    auth_time=record.auth_time,
                    family_id=family_id,
                    session_id=record.session_id,
                    nonce=record.nonce,
                    want_refresh=self._offline_allowed(app, api, scopes),
                ),
            )
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_EXCHANGE_CODE,
                request,
                application=app,
                user=user,
            )
            await uow.commit()
        return response

    async def implicit(
        self,
        tenant: Tenant,
        app: Application,
        req: AuthorizationRequest,
        user_pk: str,
        session: Session,
    ) -> dict[str, str]:
        """OIDC Core §3.2.2.5: tokens straight from /authorize, for applications that enable it."""
        keyset = await self._keys.keyset(tenant)
        async with self._uow() as uow:
            user = await uow.users.by_pk(tenant.id, user_pk)
            api = await self._api(uow, tenant, req.audience)
            if user is None:
                raise InvalidGrant("The user no longer exists.")
            scopes = self._user_scopes(list(req.scope), api)
            with_token = "token" in req.response_type.split()
            response = await self._issue_user_tokens(
                uow,
                keyset,
                Issuance(
                    tenant,
                    app,
                    user,
                    api,
                    scopes,
                    GrantType.AUTHORIZATION_CODE,
                    auth_time=session.auth_time,
                    session_id=session.id,
                    nonce=req.nonce,
                    want_refresh=False,
                    with_id_token=False,
                ),
            )
            now = epoch(self._clock.now())
            id_token = keyset.signing.sign(
                token_claims.id_token_claims(
                    issuer=tenant.issuer,
                    subject=user.user_id,
                    client_id=app.client_id,
                    issued_at=now,
                    lifetime=ID_TOKEN_LIFETIME,
                    profile=user.profile_claims(),
                    scopes=scopes,
                    nonce=req.nonce,
                    auth_time=epoch(session.auth_time),
                    session_id=session.id,
                    at_hash=jose.at_hash(response.access_token) if with_token else None,
                )
            )
        values = {"id_token": id_token}
        if with_token:
            values.update(
                access_token=response.access_token,
                token_type="Bearer",
                expires_in=str(response.expires_in),
                scope=response.scope,
            )
        return values

    async def revoke(
        self, tenant: Tenant, app: Application, token: str, request: RequestInfo = NO_REQUEST
    ) -> None:
        """RFC 7009 §2.2: revoke a refresh token (and its family). Unknown tokens are fine."""
        now = self._clock.now()
        async with self._uow() as uow:
            record = await uow.refresh_tokens.by_hash(tenant.id, hash_token(token))
            if record is None or record.client_id != app.client_id:
                return
            await uow.refresh_tokens.revoke_family(record.family_id, now)
            await self._audit.record(
                uow,
                tenant.id,
                LogType.SUCCESS_REVOCATION,
                request,
                application=app,
            )
            await uow.commit()

    # -- verification ------------------------------------------------------

    async def verify_access_token(
        self, tenant: Tenant, token: str, audience: str | list[str] | None
    ) -> dict[str, Any]:
        """Check a token we issued: RS256 from this tenant's keys, our issuer, the audience."""
        keyset = await self._keys.keyset(tenant)
        try:
            return jose.verify(
                token,
                keyset.public_jwks,
                issuer=tenant.issuer,
                audience=audience,
                now=epoch(self._clock.now()),
            )
        except jose.TokenRejected as exc:
            raise InvalidToken("The access token is invalid or has expired.") from exc

    async def userinfo(self, tenant: Tenant, token: str) -> dict[str, Any]:
        """OIDC Core §5.3: the claims the token's scopes release about its subject."""
        claims = await self.verify_access_token(tenant, token, tenant.issuer + "userinfo")
        scopes = parse_scope(claims.get("scope"))
        if OPENID not in scopes:
            raise InvalidToken("The access token was not granted the openid scope.")
        async with self._uow() as uow:
            user = await uow.users.get(tenant.id, str(claims.get("sub")))
        if user is None or user.blocked:
            raise InvalidToken("The access token's user no longer exists.")
        iat = claims.get("iat")
        if not isinstance(iat, int) or not accepts_iat(iat, user.tokens_valid_after):
            # Issued before a credential change, block or unlink ended the user's access
            # (domain/access.py); the user's row is read here anyway, so it is exact.
            raise InvalidToken("The access token was issued before the user's access ended.")
        info = token_claims.user_claims(user.profile_claims(), scopes)
        info["sub"] = user.user_id
        return info


def missing(name: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required parameter: {name}")
