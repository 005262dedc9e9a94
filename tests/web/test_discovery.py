"""/.well-known/openid-configuration and /.well-known/jwks.json (auth0-wire.md §3.7; OIDC
Discovery §3; RFC 7517)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import PUBLIC_URL, World
from tests.web.conftest import ISSUER, create_app, jwt_header, password_login, refresh
from tether.domain.models import AppType, User

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


async def test_jwks_publishes_public_rsa_keys_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert len(keys) == 2  # current and next
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert isinstance(key["kid"], str) and key["kid"]
        assert isinstance(key["n"], str) and len(key["n"]) >= 342  # 2048-bit modulus
        assert key["e"] == "AQAB"
        assert not PRIVATE_MEMBERS & set(key), key
    assert len({k["kid"] for k in keys}) == len(keys)


async def test_tokens_are_signed_by_the_first_published_key(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    body = (await password_login(http, world.app, scope="openid")).json()
    assert jwt_header(body["id_token"])["kid"] == jwks["keys"][0]["kid"]
    assert jwt_header(body["access_token"])["kid"] == jwks["keys"][0]["kid"]
    assert jwt_header(body["access_token"])["alg"] == "RS256"


async def test_rotation_keeps_old_tokens_valid_and_publishes_three_keys(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    old = (await password_login(http, world.app, scope="openid")).json()["access_token"]
    await world.container.keys.rotate(world.tenant)
    after = (await http.get("/.well-known/jwks.json")).json()["keys"]
    assert len(after) == 3  # current, next, previous
    assert after[0]["kid"] == jwks["keys"][1]["kid"]  # next became current
    assert jwt_header(old)["kid"] in {k["kid"] for k in after}
    for key in after:
        assert not PRIVATE_MEMBERS & set(key)
    response = await http.get("/userinfo", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 200, response.text
    new = (await password_login(http, world.app, scope="openid")).json()["access_token"]
    assert jwt_header(new)["kid"] == after[0]["kid"]


async def test_discovery_document(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == ISSUER + "oauth/token"
    assert doc["userinfo_endpoint"] == ISSUER + "userinfo"
    assert doc["jwks_uri"] == ISSUER + ".well-known/jwks.json"
    assert doc["revocation_endpoint"] == ISSUER + "oauth/revoke"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert doc["subject_types_supported"] == ["public"]
    assert {"openid", "profile", "email", "offline_access"} <= set(doc["scopes_supported"])
    # Nothing Tether does not have (compare auth0-wire.md §3.7's captured Auth0 document).
    for absent in (
        "registration_endpoint",
        "device_authorization_endpoint",
        "mfa_challenge_endpoint",
        "introspection_endpoint",
    ):
        assert absent not in doc
    assert "HS256" not in doc["id_token_signing_alg_values_supported"]
    assert "private_key_jwt" not in doc["token_endpoint_auth_methods_supported"]


async def test_every_advertised_endpoint_exists(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    endpoints = {k: v for k, v in doc.items() if k.endswith(("_endpoint", "_uri"))}
    assert endpoints
    for name, url in endpoints.items():
        assert url.startswith(PUBLIC_URL + "/"), (name, url)
        path = url[len(PUBLIC_URL) :]
        method = "POST" if name in ("token_endpoint", "revocation_endpoint") else "GET"
        response = await http.request(method, path)
        assert response.status_code not in (404, 405, 500, 501), (name, response.status_code)


async def test_every_advertised_grant_type_is_understood(
    http: httpx.AsyncClient, world: World
) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    for grant in doc["grant_types_supported"]:
        response = await http.post(
            "/oauth/token",
            data={
                "grant_type": grant,
                "client_id": world.app.client_id,
                "client_secret": world.app.client_secret,
            },
        )
        assert response.status_code < 500, (grant, response.text)
        assert response.json().get("error") != "unsupported_grant_type", grant


async def test_every_advertised_revocation_auth_method_works(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    methods = set(doc.get("revocation_endpoint_auth_methods_supported", []))
    if "none" in methods:
        spa = await create_app(world, "SPA", app_type=AppType.SPA)
        response = await http.post(
            "/oauth/revoke", data={"client_id": spa.client_id, "token": "unknown"}
        )
        assert response.status_code == 200, response.text
    if "client_secret_post" in methods:
        token = (await password_login(http, world.app, scope="openid offline_access")).json()[
            "refresh_token"
        ]
        response = await http.post(
            "/oauth/revoke",
            data={
                "client_id": world.app.client_id,
                "client_secret": world.app.client_secret,
                "token": token,
            },
        )
        assert response.status_code == 200
        assert (await refresh(http, world.app, token)).status_code == 403
