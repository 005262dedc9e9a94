"""The password grants (RFC 6749 §4.3, Auth0's password-realm) and the passwordless OTP grant."""

from __future__ import annotations

from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.errors import InvalidCredentials
from tether.domain.models import Application, Tenant, User
from tether.domain.tokens.issuance import (
    DEFAULT_USER_SCOPE,
    TokenIssuer,
    TokenResponse,
    require_grant,
)
from tether.protocol.errors import InvalidGrant
from tether.protocol.grants import GrantType
from tether.protocol.scopes import parse_scope


class PasswordGrants(TokenIssuer):
    """Tokens for a person who proved a password or an emailed code."""

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
        api = await self._api(tenant, audience)
        requested = parse_scope(scope or DEFAULT_USER_SCOPE)
        try:
            user, _, record = await self._users.check(
                tenant, app, realm, username, password, request
            )
        except InvalidCredentials as exc:
            raise InvalidGrant("Wrong email or password.") from exc
        # The sign-in's writes commit with the token's event: one commit (decision 4).
        return await self.issue_for_user(
            tenant,
            app,
            user,
            grant,
            requested,
            api,
            request,
            LogType.SUCCESS_EXCHANGE_PASSWORD,
            sign_in=record,
        )

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
        api = await self._api(tenant, audience)
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
