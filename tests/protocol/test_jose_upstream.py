"""``jose.verify_upstream``: an upstream provider's ID token, OIDC Core §3.1.3.7, each rule with
its own refusal reason (the caller refetches the JWKS once on ``kid``)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from tests.protocol.test_jose import b64json, claims, hs256_token, rsa_token
from tether.protocol import jose

UPSTREAM = "https://idp.example.test/"
CLIENT = "tether-rp"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_700_000_000


def upstream_claims(**overrides: Any) -> dict[str, Any]:
    return claims(**{"iss": UPSTREAM, "aud": CLIENT, "nonce": NONCE, **overrides})


def check(token: Any, key: jose.PrivateKey, jwks: list[dict[str, Any]] | None = None) -> str:
    with pytest.raises(jose.TokenRejected) as info:
        jose.verify_upstream(
            token,
            jwks if jwks is not None else [key.public_jwk()],
            issuer=UPSTREAM,
            client_id=CLIENT,
            nonce=NONCE,
            now=NOW,
        )
    return info.value.reason


def good(key: jose.PrivateKey, token: str) -> dict[str, Any]:
    return jose.verify_upstream(
        token, [key.public_jwk()], issuer=UPSTREAM, client_id=CLIENT, nonce=NONCE, now=NOW
    )


def test_a_good_token_verifies_with_and_without_a_kid(our_key: jose.PrivateKey) -> None:
    assert good(our_key, our_key.sign(upstream_claims()))["sub"] == claims()["sub"]
    without_kid = rsa_token(our_key.pem, {"alg": "RS256"}, upstream_claims(), hashes.SHA256())
    assert good(our_key, without_kid)["iss"] == UPSTREAM
    several = upstream_claims(aud=[CLIENT, "other"], azp=CLIENT)
    assert good(our_key, our_key.sign(several))["azp"] == CLIENT


@pytest.fixture(scope="module")
def other_key(other_pem: bytes) -> jose.PrivateKey:
    return jose.PrivateKey.from_pem(jose.thumbprint_kid(other_pem), other_pem)


def test_shape_algorithm_and_key(our_key: jose.PrivateKey, other_key: jose.PrivateKey) -> None:
    assert check("not-a-jwt", our_key) == "malformed"
    assert check(None, our_key) == "malformed"
    hs = hs256_token(b"secret", {"alg": "HS256", "kid": our_key.kid}, upstream_claims())
    assert check(hs, our_key) == "alg"
    none = f"{b64json({'alg': 'none'})}.{b64json(upstream_claims())}."
    assert check(none, our_key) == "alg"
    # A kid the JWKS does not have: the caller refetches the JWKS.
    assert check(other_key.sign(upstream_claims()), our_key) == "kid"
    encryption_only = [{**our_key.public_jwk(), "use": "enc"}]
    assert check(our_key.sign(upstream_claims()), our_key, encryption_only) == "kid"
    forged = rsa_token(
        other_key.pem, {"alg": "RS256", "kid": our_key.kid}, upstream_claims(), hashes.SHA256()
    )
    assert check(forged, our_key) == "signature"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example.test/"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"aud": 42}, "aud"),
        ({"aud": [CLIENT, "other"]}, "azp"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "azp"),
        ({"exp": NOW - 61}, "expired"),
        ({"exp": "soon"}, "expired"),
        ({"nonce": "replayed"}, "nonce"),
        ({"sub": ""}, "sub"),
        ({"sub": 7}, "sub"),
    ],
)
def test_each_claim_rule(our_key: jose.PrivateKey, overrides: dict[str, Any], reason: str) -> None:
    assert check(our_key.sign(upstream_claims(**overrides)), our_key) == reason


def test_expiry_allows_a_minute_of_clock_skew(our_key: jose.PrivateKey) -> None:
    assert good(our_key, our_key.sign(upstream_claims(exp=NOW - 59)))["exp"] == NOW - 59
