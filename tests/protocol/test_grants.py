"""protocol/grants.py: grant type names."""

from __future__ import annotations

from tether.protocol.grants import GTY, USER_GRANTS, GrantType


def test_parse_known_and_unknown() -> None:
    assert GrantType.parse("client_credentials") is GrantType.CLIENT_CREDENTIALS
    assert (
        GrantType.parse("http://auth0.com/oauth/grant-type/password-realm")
        is GrantType.PASSWORD_REALM
    )
    assert GrantType.parse("implicit") is None
    assert GrantType.parse("") is None
    assert GrantType.parse("CLIENT_CREDENTIALS") is None


def test_client_credentials_is_not_a_user_grant() -> None:
    assert GrantType.CLIENT_CREDENTIALS not in USER_GRANTS
    assert {GrantType.PASSWORD, GrantType.REFRESH_TOKEN} <= USER_GRANTS


def test_gty_values_are_auth0s() -> None:
    assert GTY[GrantType.CLIENT_CREDENTIALS] == "client-credentials"
    assert GTY[GrantType.PASSWORD] == GTY[GrantType.PASSWORD_REALM] == "password"
    assert GrantType.AUTHORIZATION_CODE not in GTY
