"""The refresh token grant with rotation (RFC 6749 §6, RFC 9700 §4.14.2) and revocation (RFC 7009)."""

from __future__ import annotations

from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.ids import hash_token
from tether.domain.models import Application, Tenant
from tether.domain.tokens.issuance import (
    INVALID_REFRESH,
    Issuance,
    TokenIssuer,
    TokenResponse,
    require_grant,
)
from tether.protocol.errors import InvalidGrant, InvalidScope
from tether.protocol.grants import GrantType
from tether.protocol.scopes import parse_scope


class RefreshGrant(TokenIssuer):
    """Refresh tokens: used once, rotated, revoked by family."""

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
