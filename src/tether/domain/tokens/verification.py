"""Checking the tokens Tether issued: access tokens and /userinfo (OIDC Core §5.3)."""

from __future__ import annotations

from typing import Any

from tether.domain.access import accepts_iat
from tether.domain.clock import epoch
from tether.domain.models import Tenant
from tether.domain.tokens.issuance import TokenIssuer
from tether.protocol import claims as token_claims
from tether.protocol import jose
from tether.protocol.errors import InvalidToken
from tether.protocol.scopes import OPENID, parse_scope


class TokenVerification(TokenIssuer):
    """Verify what this tenant signed."""

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
        async with self._uow(read_only=True) as uow:
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
