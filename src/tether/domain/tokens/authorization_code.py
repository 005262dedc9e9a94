"""The authorization code grant (RFC 6749 §4.1.3, RFC 7636) and the implicit answer (OIDC Core §3.2)."""

from __future__ import annotations

from tether.domain.access import issued_at_after
from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.clock import epoch
from tether.domain.ids import hash_token, new_id
from tether.domain.models import Application, Session, Tenant
from tether.domain.tokens.issuance import Issuance, TokenIssuer, TokenResponse, require_grant
from tether.protocol import pkce
from tether.protocol.authorize import AuthorizationRequest
from tether.protocol.errors import InvalidGrant
from tether.protocol.grants import GrantType


class CodeGrant(TokenIssuer):
    """What /authorize started: a code redeemed once, or tokens at once."""

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
        async with self._uow(read_only=True) as uow:
            user = await uow.users.by_pk(tenant.id, user_pk)
            api = await self._api(tenant, req.audience)
            if user is None:
                raise InvalidGrant("The user no longer exists.")
            scopes = self._user_scopes(list(req.scope), api)
            with_token = "token" in req.response_type.split()
            issue = Issuance(
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
                with_id_token=False,  # signed below, with at_hash of the access token
            )
            response = await self._issue_user_tokens(uow, keyset, issue)
            # Same ``iat`` rule as every grant (domain/access.py: after the user's
            # tokens-valid-after instant).
            iat = issued_at_after(epoch(self._clock.now()), user.tokens_valid_after)
            values: dict[str, str] = {}
            # response_type=token (RFC 6749 §4.2) is the access token alone.
            if "id_token" in req.response_type.split():
                values["id_token"] = self._sign_id_token(
                    keyset, issue, iat, response.access_token if with_token else None
                )
        if with_token:
            values.update(
                access_token=response.access_token,
                token_type="Bearer",
                expires_in=str(response.expires_in),
                scope=response.scope,
            )
        return values
