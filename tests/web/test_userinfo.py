"""GET|POST /userinfo (OIDC Core §5.3; auth0-wire.md §3.4) and the token checks behind it.

Security rule (DESIGN.md, Tokens): the algorithm is fixed by the key, never taken from a token
header; ``none`` and HMAC never verify; a key we did not publish never verifies; iss, aud and
exp are checked. Every forged token below is built by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import World
from tests.web.conftest import (
    EMAIL,
    ISSUER,
    USERINFO_AUDIENCE,
    assert_oauth_error,
    b64url,
    b64url_json,
    client_credentials,
    create_api,
    create_user,
    jwt_header,
    password_login,
    set_blocked,
    sign_rs256,
)
from tether.domain.models import User


async def _access_token(http: httpx.AsyncClient, world: World, scope: str, **extra: Any) -> str:
    response = await password_login(http, world.app, scope=scope, **extra)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_invalid_token(response: httpx.Response) -> None:
    assert_oauth_error(response, 401, "invalid_token")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert response.headers["cache-control"] == "no-store"


# -- claims by scope -------------------------------------------------------------


async def test_get_and_post_return_the_scoped_claims(http: httpx.AsyncClient, world: World) -> None:
    user = await create_user(
        world, profile={"given_name": "Ann", "family_name": "Lee", "nickname": "annie"}
    )
    token = await _access_token(http, world, "openid profile email")
    for method in ("GET", "POST"):
        response = await http.request(method, "/userinfo", headers=_bearer(token))
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        info = response.json()
        assert info["sub"] == user.user_id
        assert info["email"] == EMAIL
        assert info["email_verified"] is False
        assert info["name"] == EMAIL
        assert info["given_name"] == "Ann"
        assert info["family_name"] == "Lee"
        assert info["nickname"] == "annie"
        assert info["updated_at"].endswith("Z")
        assert "user_metadata" not in info and "app_metadata" not in info


async def test_no_email_without_the_email_scope(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _access_token(http, world, "openid profile")
    info = (await http.get("/userinfo", headers=_bearer(token))).json()
    assert info["sub"] == user.user_id
    assert "name" in info and "updated_at" in info
    assert "email" not in info and "email_verified" not in info


async def test_email_scope_without_profile(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _access_token(http, world, "openid email")
    info = (await http.get("/userinfo", headers=_bearer(token))).json()
    assert info == {"sub": user.user_id, "email": EMAIL, "email_verified": False}


async def test_openid_alone_gives_only_sub(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _access_token(http, world, "openid")
    assert (await http.get("/userinfo", headers=_bearer(token))).json() == {"sub": user.user_id}


async def test_a_token_for_an_api_with_openid_also_works_here(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    api = await create_api(world)
    token = await _access_token(http, world, "openid email read:things", audience=api.identifier)
    response = await http.get("/userinfo", headers=_bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == EMAIL


# -- refusals ------------------------------------------------------------------


async def test_missing_or_garbage_tokens(http: httpx.AsyncClient, world: World) -> None:
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer a.b.c"},
    ):
        assert_invalid_token(await http.get("/userinfo", headers=headers))
    assert_invalid_token(await http.post("/userinfo"))


async def test_a_token_without_openid_is_refused(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _access_token(http, world, "profile email")
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(token)))


async def test_a_machine_token_is_refused(http: httpx.AsyncClient, world: World) -> None:
    response = await client_credentials(http, world.machine, world.tenant.management_audience)
    token = response.json()["access_token"]
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(token)))


async def test_an_id_token_is_not_an_access_token(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await password_login(http, world.app, scope="openid email")
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(response.json()["id_token"])))


async def test_a_blocked_users_token_is_refused(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _access_token(http, world, "openid email")
    await set_blocked(world, user.user_id)
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(token)))


# -- forged tokens -------------------------------------------------------------


async def _genuine_claims(world: World, user: User, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user.user_id,
        "aud": [USERINFO_AUDIENCE],
        "azp": world.app.client_id,
        "iat": now,
        "exp": now + 3600,
        "scope": "openid profile email",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def _tenant_key(world: World) -> tuple[str, rsa.RSAPrivateKey]:
    """The tenant's real signing key, to prove the claim checks and not only the signature."""
    keyset = await world.container.keys.keyset(world.tenant)
    key = serialization.load_pem_private_key(keyset.signing.pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return keyset.signing.kid, key


async def test_a_hand_signed_genuine_token_is_accepted(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    """The control for the forgeries below: same construction, right key, right claims."""
    kid, key = await _tenant_key(world)
    token = sign_rs256(
        {"alg": "RS256", "kid": kid, "typ": "JWT"}, await _genuine_claims(world, user), key
    )
    response = await http.get("/userinfo", headers=_bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == user.user_id


async def test_alg_none_is_refused(http: httpx.AsyncClient, world: World, user: User) -> None:
    kid, _ = await _tenant_key(world)
    claims = await _genuine_claims(world, user)
    for alg in ("none", "None", "NONE", "nOnE"):
        unsigned = f"{b64url_json({'alg': alg, 'kid': kid, 'typ': 'JWT'})}.{b64url_json(claims)}."
        assert_invalid_token(await http.get("/userinfo", headers=_bearer(unsigned)))
        # With a junk signature too.
        assert_invalid_token(await http.get("/userinfo", headers=_bearer(unsigned + "c2ln")))


async def test_hs256_keyed_with_the_public_key_is_refused(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    """The algorithm-confusion attack (RFC 8725 §2.1): HMAC with the published key as secret."""
    kid, key = await _tenant_key(world)
    public = key.public_key()
    secrets = [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        next(k for k in jwks["keys"] if k["kid"] == kid)["n"].encode(),
    ]
    claims = await _genuine_claims(world, user)
    for alg, digest in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384)):
        for secret in secrets:
            signing_input = (
                f"{b64url_json({'alg': alg, 'kid': kid, 'typ': 'JWT'})}.{b64url_json(claims)}"
            )
            mac = hmac.new(secret, signing_input.encode(), digest).digest()
            token = f"{signing_input}.{b64url(mac)}"
            assert_invalid_token(await http.get("/userinfo", headers=_bearer(token)))


async def test_an_unknown_rsa_key_with_a_forged_kid_is_refused(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    kid, _ = await _tenant_key(world)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = await _genuine_claims(world, user)
    forged = sign_rs256({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, attacker)
    assert jwt_header(forged)["kid"] == kid
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(forged)))
    no_kid = sign_rs256({"alg": "RS256", "typ": "JWT"}, claims, attacker)
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(no_kid)))
    other_kid = sign_rs256({"alg": "RS256", "kid": "attacker", "typ": "JWT"}, claims, attacker)
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(other_kid)))


async def test_an_embedded_jwk_is_not_trusted(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    """RFC 8725 §3.10 / CVE-2018-0114: a key shipped in the header proves nothing."""
    kid, _ = await _tenant_key(world)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = attacker.public_key().public_numbers()

    def b64_int(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    header = {
        "alg": "RS256",
        "kid": kid,
        "jwk": {"kty": "RSA", "kid": kid, "n": b64_int(numbers.n), "e": b64_int(numbers.e)},
        "jku": "https://attacker.example/jwks.json",
    }
    token = sign_rs256(header, await _genuine_claims(world, user), attacker)
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(token)))


async def test_right_key_wrong_claims_is_refused(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    kid, key = await _tenant_key(world)
    now = int(time.time())
    cases: dict[str, dict[str, Any]] = {
        "wrong iss": {"iss": "https://evil.example/"},
        "iss without the trailing slash": {"iss": ISSUER.rstrip("/")},
        "no iss": {"iss": None},
        "wrong aud": {"aud": ["https://api.example.com/"]},
        "aud near miss": {"aud": USERINFO_AUDIENCE + "/"},
        "no aud": {"aud": None},
        "expired": {"exp": now - 10},
        "no exp": {"exp": None},
        "exp as a string": {"exp": str(now + 3600)},
        "not yet valid": {"nbf": now + 600},
    }
    accepted = []
    for name, changes in cases.items():
        claims = await _genuine_claims(world, user, **changes)
        token = sign_rs256({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key)
        response = await http.get("/userinfo", headers=_bearer(token))
        if response.status_code != 401 or response.json()["error"] != "invalid_token":
            accepted.append(f"{name}: {response.status_code} {response.text[:100]}")
    assert accepted == []


async def test_a_tampered_payload_is_refused(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    """Tampering with a genuine token's payload breaks its signature."""
    token = await _access_token(http, world, "openid")
    head, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    claims = base64.urlsafe_b64decode(padded)
    tampered_claims = claims.replace(b'"scope":"openid"', b'"scope":"openid email"')
    assert tampered_claims != claims
    tampered = f"{head}.{b64url(tampered_claims)}.{signature}"
    assert_invalid_token(await http.get("/userinfo", headers=_bearer(tampered)))
