"""Issue 15, part 1: what unchanged SDKs need from the public endpoints.

- Discovery and JWKS answer every origin with ``Access-Control-Allow-Origin: *`` and no
  credentials, as Auth0 does (auth0-js ``parseHash`` fetches the key set from the app's origin).
- ``/userinfo`` takes the access token from the header, a form body or the query, exactly one
  per request (RFC 6750 §2.1-2.3); passport-auth0 and django-allauth use the query form.
- Discovery lists the response types /authorize really serves.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import World
from tests.web.conftest import assert_oauth_error, create_user, password_login

ORIGIN = "https://app.example.org"
PUBLIC = ("/.well-known/openid-configuration", "/.well-known/jwks.json")


@pytest.mark.parametrize("path", PUBLIC)
async def test_public_metadata_answers_any_origin_without_credentials(
    http: httpx.AsyncClient, path: str
) -> None:
    """Fetch Standard §3.2.5: ``*`` for a credential-less read of public data."""
    response = await http.get(path, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    # A plain request (no Origin) gets the same document.
    assert (await http.get(path)).json() == response.json()


@pytest.mark.parametrize("path", PUBLIC)
async def test_public_metadata_preflight(http: httpx.AsyncClient, path: str) -> None:
    response = await http.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "auth0-client",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET"
    assert response.headers["access-control-allow-headers"] == "auth0-client"
    assert "access-control-allow-credentials" not in response.headers


async def test_other_endpoints_keep_their_own_cors(http: httpx.AsyncClient) -> None:
    """/userinfo still answers only registered web origins: the wildcard is for metadata."""
    response = await http.get("/userinfo", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


async def test_discovery_lists_the_response_types_authorize_serves(
    http: httpx.AsyncClient,
) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["response_types_supported"] == ["code", "id_token", "token id_token", "token"]
    assert set(doc["response_modes_supported"]) == {"query", "fragment", "form_post", "web_message"}
    assert "none" in doc["token_endpoint_auth_methods_supported"]


async def _token(http: httpx.AsyncClient, world: World) -> str:
    await create_user(world)
    response = await password_login(http, world.app, scope="openid profile email")
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_userinfo_takes_the_token_from_the_query(
    http: httpx.AsyncClient, world: World
) -> None:
    """RFC 6750 §2.3: ``GET /userinfo?access_token=...`` (passport-auth0's profile fetch)."""
    token = await _token(http, world)
    by_header = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    by_query = await http.get("/userinfo", params={"access_token": token})
    assert by_query.status_code == 200, by_query.text
    assert by_query.json() == by_header.json()
    assert by_query.headers["cache-control"] == "no-store"


async def test_userinfo_takes_the_token_from_a_form_body(
    http: httpx.AsyncClient, world: World
) -> None:
    """RFC 6750 §2.2: a form-encoded POST body field ``access_token``."""
    token = await _token(http, world)
    response = await http.post("/userinfo", data={"access_token": token})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ann@example.com"


async def test_userinfo_refuses_two_methods_at_once(http: httpx.AsyncClient, world: World) -> None:
    """RFC 6750 §2: a client must not use more than one method: ``invalid_request``, 400."""
    token = await _token(http, world)
    bearer = {"Authorization": f"Bearer {token}"}
    for response in (
        await http.get("/userinfo", params={"access_token": token}, headers=bearer),
        await http.post("/userinfo", data={"access_token": token}, headers=bearer),
        await http.post("/userinfo", params={"access_token": token}, data={"access_token": token}),
        await http.get("/userinfo?access_token=a&access_token=b"),
    ):
        assert_oauth_error(response, 400, "invalid_request")


async def test_userinfo_ignores_a_token_in_a_get_body_or_json(
    http: httpx.AsyncClient, world: World
) -> None:
    """§2.2 allows the body only for form-encoded non-GET requests; a JSON field is no token."""
    token = await _token(http, world)
    response = await http.post("/userinfo", json={"access_token": token})
    assert_oauth_error(response, 401, "invalid_token")


async def test_userinfo_query_token_is_still_checked(http: httpx.AsyncClient) -> None:
    response = await http.get("/userinfo", params={"access_token": "not.a.token"})
    assert_oauth_error(response, 401, "invalid_token")
    response = await http.get("/userinfo", params={"access_token": ""})
    assert_oauth_error(response, 401, "invalid_token")
