"""Tokens: one module per grant (RFC 6749 §4, §6; OIDC Core §3), sharing issuance.py."""

from tether.domain.tokens.issuance import (
    DEFAULT_USER_SCOPE,
    ID_TOKEN_LIFETIME,
    INVALID_REFRESH,
    REFRESH_TOKEN_LIFETIME,
    RULE_TOKEN_IP,
    Issuance,
    TokenIssuer,
    TokenResponse,
    missing,
    require_grant,
)
from tether.domain.tokens.service import TokenService

__all__ = [
    "DEFAULT_USER_SCOPE",
    "ID_TOKEN_LIFETIME",
    "INVALID_REFRESH",
    "REFRESH_TOKEN_LIFETIME",
    "RULE_TOKEN_IP",
    "Issuance",
    "TokenIssuer",
    "TokenResponse",
    "TokenService",
    "missing",
    "require_grant",
]
