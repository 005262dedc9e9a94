from __future__ import annotations

import httpx

from tests.conftest import PUBLIC_URL, World


async def test_discovery_names_the_issuer_with_a_trailing_slash(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == PUBLIC_URL + "/"
    assert doc["jwks_uri"] == PUBLIC_URL + "/.well-known/jwks.json"


async def test_password_realm_login_returns_id_token(http: httpx.AsyncClient, world: World) -> None:
    signup = await http.post(
        "/dbconnections/signup",
        json={
            "client_id": world.app.client_id,
            "email": "Ann@Example.com",
            "password": "a long enough password",
            "connection": "Username-Password-Authentication",
        },
    )
    assert signup.status_code == 200, signup.text
    assert signup.json()["email"] == "ann@example.com"
    response = await http.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "username": "ann@example.com",
            "password": "a long enough password",
            "realm": "Username-Password-Authentication",
            "scope": None,
            "audience": None,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert "id_token" in body
