"""The token endpoint's typed requests (protocol/grant_requests.py): RFC 6749 §4.1.3, §4.3.2,
§4.4.2, §5.2 and §6, and Auth0's password-realm and passwordless OTP grants, without a server."""

from __future__ import annotations

import pytest

from tether.protocol.errors import InvalidRequest, UnsupportedGrantType
from tether.protocol.grant_requests import (
    READERS,
    ClientCredentialsRequest,
    CodeRequest,
    OtpRequest,
    PasswordRequest,
    RefreshRequest,
    grant_type_of,
    read_request,
)
from tether.protocol.grants import GrantType

REALM = "http://auth0.com/oauth/grant-type/password-realm"
OTP = "http://auth0.com/oauth/grant-type/passwordless/otp"


def test_every_grant_type_has_a_reader() -> None:
    assert set(READERS) == set(GrantType)


def test_the_grant_type_is_required_and_known() -> None:
    """RFC 6749 §5.2: invalid_request without it, unsupported_grant_type for one not served."""
    with pytest.raises(InvalidRequest, match="Missing required parameter: grant_type"):
        grant_type_of({})
    with pytest.raises(UnsupportedGrantType, match="Unsupported grant type: implicit"):
        grant_type_of({"grant_type": "implicit"})
    assert grant_type_of({"grant_type": REALM}) is GrantType.PASSWORD_REALM


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"grant_type": "authorization_code", "code": "c", "code_verifier": "v"},
            CodeRequest("c", None, "v"),
        ),
        (
            {"grant_type": "client_credentials", "audience": "https://api/"},
            ClientCredentialsRequest("https://api/", None),
        ),
        (
            {"grant_type": "password", "username": "u", "password": "p", "scope": "openid"},
            PasswordRequest(GrantType.PASSWORD, "u", "p", None, "openid", None),
        ),
        (
            {"grant_type": REALM, "username": "u", "password": "p", "realm": "db"},
            PasswordRequest(GrantType.PASSWORD_REALM, "u", "p", "db", None, None),
        ),
        (
            {"grant_type": OTP, "username": "a@x", "otp": "123456", "realm": "email"},
            OtpRequest("a@x", "123456", "email", None, None),
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "r", "scope": "openid"},
            RefreshRequest("r", "openid"),
        ),
    ],
)
def test_each_grant_reads_its_parameters(params: dict[str, str], expected: object) -> None:
    assert read_request(grant_type_of(params), params) == expected


@pytest.mark.parametrize(
    ("params", "missing"),
    [
        ({"grant_type": "authorization_code"}, "code"),
        ({"grant_type": "password", "username": "u"}, "password"),
        ({"grant_type": REALM, "username": "u", "password": "p"}, "realm"),
        ({"grant_type": OTP, "username": "u", "realm": "email"}, "otp"),
        ({"grant_type": "refresh_token"}, "refresh_token"),
    ],
)
def test_a_missing_parameter_is_named(params: dict[str, str], missing: str) -> None:
    """Auth0's phrasing of RFC 6749 §5.2 invalid_request."""
    with pytest.raises(InvalidRequest, match=f"Missing required parameter: {missing}$"):
        read_request(grant_type_of(params), params)
