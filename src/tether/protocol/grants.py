"""Grant type names the token endpoint knows (RFC 6749 §4, Auth0 extensions)."""

from __future__ import annotations

from enum import StrEnum


class GrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    PASSWORD = "password"
    PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
    REFRESH_TOKEN = "refresh_token"
    PASSWORDLESS_OTP = "http://auth0.com/oauth/grant-type/passwordless/otp"

    @classmethod
    def parse(cls, value: str) -> GrantType | None:
        try:
            return cls(value)
        except ValueError:
            return None


#: Grants that act for a person and so issue ID tokens when ``openid`` is asked for.
USER_GRANTS = frozenset(
    {
        GrantType.AUTHORIZATION_CODE,
        GrantType.PASSWORD,
        GrantType.PASSWORD_REALM,
        GrantType.REFRESH_TOKEN,
        GrantType.PASSWORDLESS_OTP,
    }
)

#: Auth0's ``gty`` claim value for each grant (absent for the authorization code grant).
GTY = {
    GrantType.CLIENT_CREDENTIALS: "client-credentials",
    GrantType.PASSWORD: "password",
    GrantType.PASSWORD_REALM: "password",
    GrantType.REFRESH_TOKEN: "refresh_token",
}
