"""Embedded login (issue 15, lock-protocol.md §1-2.3): the client script Lock loads,
``/co/authenticate`` and the login ticket at ``/authorize``. The browser side is proved with the
real Lock in tests/sdks/test_lock.py; these pin the server's rules."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import World
from tests.web.conftest import EMAIL, PASSWORD, REALM, create_user
from tether.domain.applications import NewApplication
from tether.domain.models import AppType

ORIGIN = "https://app.example.org"
CALLBACK = ORIGIN + "/callback"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


async def _spa(world: World, *, allow: bool = True) -> str:
    created = await world.container.applications.create(
        world.tenant,
        NewApplication(
            name="Lock app",
            app_type=AppType.SPA,
            callbacks=(CALLBACK,),
            web_origins=(ORIGIN,),
            grant_types=("implicit", "authorization_code"),
            cross_origin_authentication=allow,
        ),
    )
    client_id = created.application.client_id
    await world.container.connections.enable(world.tenant, REALM, client_id)
    return client_id


def _login(client_id: str, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "username": EMAIL,
        "password": password,
        "realm": REALM,
        "credential_type": PASSWORD_REALM,
    }


async def _authenticate(http: httpx.AsyncClient, client_id: str, **extra: Any) -> httpx.Response:
    return await http.post(
        "/co/authenticate", json={**_login(client_id), **extra}, headers={"Origin": ORIGIN}
    )


def _authorize(client_id: str, ticket: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "token id_token",
        "redirect_uri": CALLBACK,
        "scope": "openid profile email",
        "nonce": "n-0S6_WzA2Mj",
        "state": "af0ifjsldkj",
        "realm": REALM,
        "login_ticket": ticket,
    }


async def test_client_script_lists_the_apps_connections(
    http: httpx.AsyncClient, world: World
) -> None:
    """lock-protocol.md §1: ``Auth0.setClient`` with ``id`` equal to the client_id."""
    client_id = await _spa(world)
    response = await http.get(f"/client/{client_id}.js?t1795731604464")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    text = response.text
    assert text.startswith("Auth0.setClient(") and text.rstrip().endswith(");")
    config = json.loads(text.strip()[len("Auth0.setClient(") : -2])
    assert config["id"] == client_id
    assert config["subscription"] not in ("free", "dev")
    [database] = config["strategies"]
    assert database["name"] == "auth0"
    [connection] = database["connections"]
    assert connection["name"] == REALM
    assert connection["showSignup"] is True
    assert connection["passwordPolicy"] in {"none", "low", "fair", "good", "excellent"}
    missing = await http.get("/client/nope.js")
    assert missing.status_code == 404


async def test_co_authenticate_preflight_and_credentials(
    http: httpx.AsyncClient, world: World
) -> None:
    """CORS with credentials for the app's own origin only, never ``*``."""
    client_id = await _spa(world)
    await create_user(world)
    preflight = await http.options(
        "/co/authenticate",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "auth0-client,content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    other = await http.options(
        "/co/authenticate",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers

    response = await _authenticate(http, client_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"login_ticket", "co_verifier", "co_id"}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "tether_co_verifier" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]

    wrong = await http.post(
        "/co/authenticate", json=_login(client_id, "wrong"), headers={"Origin": ORIGIN}
    )
    assert wrong.status_code == 403
    assert wrong.json() == {
        "error": "access_denied",
        "error_description": "Wrong email or password.",
    }


async def test_co_authenticate_needs_the_setting_and_an_allowed_origin(
    http: httpx.AsyncClient, world: World
) -> None:
    """Auth0's "Allow Cross-Origin Authentication": off, or another origin, is refused."""
    await create_user(world)
    off = await _spa(world, allow=False)
    response = await _authenticate(http, off)
    assert response.status_code == 403
    assert response.json()["error"] == "unauthorized_client"
    assert "access-control-allow-origin" not in response.headers
    on = await _spa(world)
    response = await http.post(
        "/co/authenticate", json=_login(on), headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "unauthorized_client"


async def test_login_ticket_is_redeemed_once_in_the_browser_that_earned_it(
    http: httpx.AsyncClient, world: World
) -> None:
    """The ticket is the sign-in at /authorize (prompt=none does not refuse it), once only,
    and only with the verifier cookie /co/authenticate set (cross-origin verification)."""
    client_id = await _spa(world)
    user = await create_user(world)
    ticket = (await _authenticate(http, client_id)).json()["login_ticket"]
    verifier = http.cookies.get("tether_co_verifier")
    assert verifier

    # Without the cookie: refused, and the ticket is not spent.
    http.cookies.clear()
    refused = await http.get("/authorize", params=_authorize(client_id, ticket))
    assert refused.status_code == 303
    fragment = parse_qs(urlsplit(refused.headers["location"]).fragment)
    assert fragment["error"] == ["access_denied"]

    http.cookies.set("tether_co_verifier", verifier, domain="tether.test", path="/authorize")
    answer = await http.get(
        "/authorize", params={**_authorize(client_id, ticket), "prompt": "none"}
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "#")
    fragment = parse_qs(urlsplit(location).fragment)
    assert "id_token" in fragment and "access_token" in fragment
    assert fragment["state"] == ["af0ifjsldkj"]
    assert "tether_session" in answer.headers.get("set-cookie", "")
    assert user.user_id

    # Spent: a second redemption is refused even with the cookie.
    http.cookies.set("tether_co_verifier", verifier, domain="tether.test", path="/authorize")
    again = await http.get("/authorize", params=_authorize(client_id, ticket))
    fragment = parse_qs(urlsplit(again.headers["location"]).fragment)
    assert fragment["error"] == ["access_denied"]
