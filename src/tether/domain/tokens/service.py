"""``TokenService``: every grant of the token endpoint in one service (one module per grant)."""

from __future__ import annotations

from tether.domain.tokens.authorization_code import CodeGrant
from tether.domain.tokens.client_credentials import ClientCredentialsGrant
from tether.domain.tokens.password import PasswordGrants
from tether.domain.tokens.refresh import RefreshGrant
from tether.domain.tokens.verification import TokenVerification


class TokenService(
    ClientCredentialsGrant, PasswordGrants, RefreshGrant, CodeGrant, TokenVerification
):
    """The token endpoint's grants and what they issue (RFC 6749 §4.3, §4.4, §6; OIDC Core §12)."""
