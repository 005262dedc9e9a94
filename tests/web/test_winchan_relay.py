"""Lock's social buttons in popup mode (issue 15, lock-protocol.md §2.6, §2.7b): auth0-js opens
``/authorize?...&connection=X&owp=true`` in a window and waits for WinChan messages from this
server's origin. The answer is a relay page, never a redirect into the app's page inside the
popup. The browser side is proved with the real Lock in tests/demo/test_sample_lock.py."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import World
from tests.web.conftest import EMAIL, PASSWORD, REALM, create_user
from tether.domain.applications import NewApplication
from tether.domain.models import AppType

ORIGIN = "https://app.example.org"
CALLBACK = ORIGIN + "/"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


async def _spa(world: World) -> str:
    created = await world.container.applications.create(
        world.tenant,
        NewApplication(
            name="Lock app",
            app_type=AppType.SPA,
            callbacks=(CALLBACK,),
            web_origins=(ORIGIN,),
            grant_types=("implicit",),
            cross_origin_authentication=True,
        ),
    )
    client_id = created.application.client_id
    await world.container.connections.enable(world.tenant, REALM, client_id)
    return client_id


def _popup(client_id: str, **extra: str) -> dict[str, str]:
    """What auth0-js 9's popup.authorize sends (observed, lock-protocol.md §2.6)."""
    return {
        "client_id": client_id,
        "response_type": "token id_token",
        "redirect_uri": CALLBACK,
        "scope": "openid profile email",
        "is_submitting": "false",
        "nonce": "n-0S6_WzA2Mj",
        "state": "af0ifjsldkj",
        "owp": "true",
        "auth0Client": "eyJuYW1lIjoibG9jay5qcyJ9",
        **extra,
    }


async def _signed_in(http: httpx.AsyncClient, world: World, client_id: str) -> None:
    """A Tether session in this client's cookies, started the way Lock does (a ticket)."""
    await create_user(world)
    ticket = await http.post(
        "/co/authenticate",
        json={
            "client_id": client_id,
            "username": EMAIL,
            "password": PASSWORD,
            "realm": REALM,
            "credential_type": PASSWORD_REALM,
        },
        headers={"Origin": ORIGIN},
    )
    assert ticket.status_code == 200, ticket.text
    params = {
        **_popup(client_id, login_ticket=ticket.json()["login_ticket"], realm=REALM),
        "response_mode": "web_message",
        "prompt": "none",
    }
    del params["owp"]
    answer = await http.get("/authorize", params=params)
    assert answer.status_code == 200, answer.text


def _relay(html: str) -> tuple[str, dict[str, Any]]:
    """The relay page's target origin and result, read back from its script."""
    origin = re.search(r"var expectedOrigin = (\"[^\"]*\");", html)
    result = re.search(r"var result = (\{.*?\});\n", html)
    assert origin and result, html
    return json.loads(origin.group(1)), json.loads(result.group(1))


async def test_an_owp_popup_ends_on_the_relay_page(http: httpx.AsyncClient, world: World) -> None:
    client_id = await _spa(world)
    await _signed_in(http, world, client_id)

    answer = await http.get("/authorize", params=_popup(client_id))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    # Never framed; its one inline script runs by nonce; nothing cached.
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert "cross-origin-opener-policy" not in answer.headers  # the opener must stay reachable
    nonce = re.search(r"'nonce-([^']+)'", answer.headers["content-security-policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in answer.text

    origin, result = _relay(answer.text)
    assert origin == ORIGIN  # only the app's callback origin hears the tokens
    assert result["state"] == "af0ifjsldkj"
    assert result["token_type"] == "Bearer"
    assert isinstance(result["expires_in"], int)
    assert result["access_token"] and result["id_token"]
    claims = result["id_token_payload"]
    assert claims["aud"] == client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["iss"] == world.tenant.issuer


async def test_an_owp_error_goes_through_the_relay_too(
    http: httpx.AsyncClient, world: World
) -> None:
    """No session and prompt=none: Lock hears login_required from the relay."""
    client_id = await _spa(world)
    answer = await http.get("/authorize", params=_popup(client_id, prompt="none"))
    assert answer.status_code == 200, answer.text
    origin, result = _relay(answer.text)
    assert origin == ORIGIN
    assert result["error"] == "login_required"
    assert result["state"] == "af0ifjsldkj"
    assert "access_token" not in result


async def test_owp_does_not_change_web_message_or_a_plain_redirect(
    http: httpx.AsyncClient, world: World
) -> None:
    client_id = await _spa(world)
    framed = await http.get(
        "/authorize",
        params=_popup(client_id, prompt="none", response_mode="web_message"),
    )
    assert "authorization_response" in framed.text and '"a": "ready"' not in framed.text
    params = _popup(client_id, prompt="none")
    del params["owp"]
    plain = await http.get("/authorize", params=params)
    assert plain.status_code == 303
    assert parse_qs(urlsplit(plain.headers["location"]).fragment)["error"] == ["login_required"]


async def test_a_connection_of_an_upstream_provider_goes_straight_there(
    http: httpx.AsyncClient, world: World
) -> None:
    """As Auth0's /authorize: ``connection=<social or OIDC>`` skips the sign-in page (the
    popup shows the provider, not a page with one button); other connections do not."""
    client_id = await _spa(world)
    await world.container.connections.create(
        world.tenant,
        "corp-oidc",
        "oidc",
        {
            "discovery_url": "https://idp.example.org/.well-known/openid-configuration",
            "issuer": "https://idp.example.org/",
            "client_id": "rp",
            "client_secret": "rp-secret",
        },
        [client_id],
    )
    social = await http.get("/authorize", params=_popup(client_id, connection="corp-oidc"))
    assert social.status_code == 303
    location = urlsplit(social.headers["location"])
    assert location.path == "/u/login/upstream"
    assert parse_qs(location.query)["connection"] == ["corp-oidc"]
    database = await http.get("/authorize", params=_popup(client_id, connection=REALM))
    assert urlsplit(database.headers["location"]).path == "/u/login"
    # A connection the app does not have: the app hears it (through the relay, owp=true).
    unknown = await http.get("/authorize", params=_popup(client_id, connection="nope"))
    assert unknown.status_code == 200
    assert _relay(unknown.text)[1]["error"] == "invalid_request"


async def test_response_type_token_is_the_access_token_alone(
    http: httpx.AsyncClient, world: World
) -> None:
    """RFC 6749 §4.2 (Lock's default responseType): no nonce needed, no ID token answered."""
    client_id = await _spa(world)
    await _signed_in(http, world, client_id)
    params = _popup(client_id, response_type="token")
    del params["owp"], params["nonce"]
    answer = await http.get("/authorize", params=params)
    assert answer.status_code == 303, answer.text
    fragment = parse_qs(urlsplit(answer.headers["location"]).fragment)
    assert fragment["access_token"] and fragment["token_type"] == ["Bearer"]
    assert "id_token" not in fragment
    assert fragment["state"] == ["af0ifjsldkj"]
    userinfo = await http.get(
        "/userinfo", headers={"Authorization": f"Bearer {fragment['access_token'][0]}"}
    )
    assert userinfo.status_code == 200, userinfo.text
    # An ID token still needs a nonce (OIDC Core §3.2.2.1).
    params["response_type"] = "token id_token"
    refused = await http.get("/authorize", params=params)
    assert parse_qs(urlsplit(refused.headers["location"]).fragment)["error"] == ["invalid_request"]
