"""protocol/claims.py: access token claims (Auth0's shape, RFC 9068) and ID token claims (OIDC §2)."""

from __future__ import annotations

from typing import Any

from tether.protocol.claims import (
    access_token_audience,
    access_token_claims,
    id_token_claims,
    user_claims,
)

ISSUER = "https://id.example.test/"
API = "https://api.example.test/"
PROFILE: dict[str, Any] = {
    "name": "Ann Example",
    "given_name": "Ann",
    "family_name": None,
    "nickname": "ann",
    "picture": "https://img.test/ann.png",
    "email": "ann@example.com",
    "email_verified": True,
    "updated_at": "2024-01-02T03:04:05.000Z",
}


def test_access_token_claims() -> None:
    claims = access_token_claims(
        issuer=ISSUER,
        subject="auth0|abc",
        audience=API,
        client_id="client-1",
        scopes=["read:a", "write:a"],
        issued_at=1000,
        lifetime=3600,
        gty="password",
    )
    assert claims == {
        "iss": ISSUER,
        "sub": "auth0|abc",
        "aud": API,
        "iat": 1000,
        "exp": 4600,
        "scope": "read:a write:a",
        "azp": "client-1",
        "gty": "password",
    }


def test_access_token_without_gty_has_no_gty_claim_and_extra_is_merged() -> None:
    claims = access_token_claims(
        issuer=ISSUER,
        subject="s",
        audience=[API, ISSUER + "userinfo"],
        client_id="c",
        scopes=[],
        issued_at=0,
        lifetime=60,
        extra={"permissions": ["read:a"]},
    )
    assert "gty" not in claims
    assert claims["scope"] == ""
    assert claims["aud"] == [API, ISSUER + "userinfo"]
    assert claims["permissions"] == ["read:a"]


def test_audience_without_api_is_userinfo() -> None:
    assert access_token_audience(ISSUER, None, ["openid"]) == ISSUER + "userinfo"
    assert access_token_audience(ISSUER, None, []) == ISSUER + "userinfo"


def test_audience_is_a_list_when_openid_and_an_api() -> None:
    assert access_token_audience(ISSUER, API, ["openid", "read:a"]) == [API, ISSUER + "userinfo"]


def test_audience_is_the_api_alone_without_openid() -> None:
    assert access_token_audience(ISSUER, API, ["read:a", "profile"]) == API


def test_audience_is_not_doubled_when_the_api_is_userinfo() -> None:
    assert access_token_audience(ISSUER, ISSUER + "userinfo", ["openid"]) == ISSUER + "userinfo"


def test_user_claims_follow_scopes_and_drop_absent_values() -> None:
    assert user_claims(PROFILE, ["openid"]) == {}
    assert user_claims(PROFILE, ["email"]) == {"email": "ann@example.com", "email_verified": True}
    profile = user_claims(PROFILE, ["profile"])
    assert "family_name" not in profile  # None is left out
    assert "email" not in profile
    assert profile["name"] == "Ann Example"
    assert profile["updated_at"] == PROFILE["updated_at"]


def test_id_token_claims() -> None:
    claims = id_token_claims(
        issuer=ISSUER,
        subject="auth0|abc",
        client_id="client-1",
        issued_at=1000,
        lifetime=36000,
        profile=PROFILE,
        scopes=["openid", "email"],
        nonce="n-0S6_WzA2Mj",
        auth_time=990,
        session_id="sid-1",
        at_hash="77QmUPtjPfzWtF2AnpK9RQ",
    )
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "auth0|abc"
    assert claims["aud"] == "client-1"
    assert (claims["iat"], claims["exp"]) == (1000, 37000)
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["auth_time"] == 990
    assert claims["sid"] == "sid-1"
    assert claims["at_hash"] == "77QmUPtjPfzWtF2AnpK9RQ"
    assert claims["email"] == "ann@example.com" and claims["email_verified"] is True
    assert "name" not in claims  # profile scope not granted


def test_id_token_optional_claims_are_absent_when_not_given() -> None:
    claims = id_token_claims(
        issuer=ISSUER,
        subject="s",
        client_id="c",
        issued_at=0,
        lifetime=60,
        profile={},
        scopes=["openid"],
    )
    assert not {"nonce", "auth_time", "sid", "at_hash"} & set(claims)
    assert {"iss", "sub", "aud", "iat", "exp"} <= set(claims)


def test_profile_cannot_override_the_registered_claims() -> None:
    evil = {"sub": "auth0|admin", "iss": "https://evil.test/", "aud": "x", "exp": 10**12}
    claims = id_token_claims(
        issuer=ISSUER,
        subject="auth0|abc",
        client_id="client-1",
        issued_at=1000,
        lifetime=60,
        profile=evil,
        scopes=["openid", "profile", "email"],
    )
    assert claims["sub"] == "auth0|abc"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "client-1"
    assert claims["exp"] == 1060
