"""The client credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

from tether.domain.audit import NO_REQUEST, LogType, RequestInfo
from tether.domain.clock import epoch
from tether.domain.models import Application, Tenant
from tether.domain.tokens.issuance import TokenIssuer, TokenResponse, require_grant
from tether.protocol import claims as token_claims
from tether.protocol.errors import AccessDenied, InvalidScope, UnauthorizedClient
from tether.protocol.grants import GTY, GrantType
from tether.protocol.scopes import parse_scope


class ClientCredentialsGrant(TokenIssuer):
    """A machine's own token."""

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
        try:
            if audience is None and not tenant.settings.get("default_audience"):
                raise AccessDenied(
                    "No audience parameter was provided, and no default audience has been configured"
                )
            api = await self._api(tenant, audience)
            if api is None:
                raise AccessDenied("Client credentials need an API audience.")
            # The client grant comes from the configuration read model too: no SQL but the
            # log event's insert.
            config = await self._configuration.of(tenant.id)
            grant = config.grants.get((app.client_id, api.identifier))
            if grant is None:
                raise AccessDenied(
                    f'Client is not authorized to access "{api.identifier}". '
                    'You need to create a "client-grant" associated to this API.'
                )
            requested = parse_scope(scope)
            scopes = [s for s in requested if s in grant.scope] if requested else list(grant.scope)
            if requested and not scopes:
                raise InvalidScope("None of the requested scopes are granted to this client.")
        except (AccessDenied, InvalidScope) as exc:
            await self._log(
                tenant,
                LogType.FAILED_EXCHANGE_CLIENT_CREDENTIALS,
                request,
                app=app,
                description=exc.description,
            )
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
        # The one write of the grant, group-committed with concurrent requests' events; the
        # token is answered only once it is durable (DESIGN.md, "Hot paths").
        await self._log(
            tenant,
            LogType.SUCCESS_EXCHANGE_CLIENT_CREDENTIALS,
            request,
            app=app,
            details={"audience": api.identifier, "scope": " ".join(scopes)},
        )
        return TokenResponse(token, api.token_lifetime, " ".join(scopes))
