"""``/co/verify`` (issue 15, lock-protocol.md §2.3): a browser that blocks the cookie
``/co/authenticate`` set (a third-party cookie when the app is on another site) still signs in,
proving the ticket is its own with the verifier auth0-js kept on the app's origin, which the
app's ``cross_origin_loc`` page hands over. In Chromium with auth0-js' own
``crossOriginVerification``: tests/demo/test_sample_lock.py."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import PUBLIC_URL, World
from tests.web.conftest import EMAIL, PASSWORD, REALM, create_user
from tether.domain.applications import NewApplication
from tether.domain.models import AppType

ORIGIN = "https://app.example.org"
CALLBACK = ORIGIN + "/callback"
LOC = ORIGIN + "/co-verify.html"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


async def _spa(world: World, loc: str | None = LOC) -> str:
    created = await world.container.applications.create(
        world.tenant,
        NewApplication(
            name="Lock app",
            app_type=AppType.SPA,
            callbacks=(CALLBACK,),
            web_origins=(ORIGIN,),
            grant_types=("implicit",),
            cross_origin_authentication=True,
            cross_origin_loc=loc,
        ),
    )
    client_id = created.application.client_id
    await world.container.connections.enable(world.tenant, REALM, client_id)
    return client_id


async def _ticket(http: httpx.AsyncClient, client_id: str) -> dict[str, str]:
    """/co/authenticate, then the browser drops Tether's cookie (third-party cookies blocked)."""
    response = await http.post(
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
    assert response.status_code == 200, response.text
    http.cookies.clear()
    body: dict[str, str] = response.json()
    return body


def _authorize(client_id: str, ticket: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "token id_token",
        "redirect_uri": CALLBACK,
        "scope": "openid profile email",
        "nonce": "n-0S6_WzA2Mj",
        "state": "af0ifjsldkj",
        "realm": REALM,
        "login_ticket": ticket,
        **extra,
    }


def _page(html: str) -> dict[str, Any]:
    found = {
        name: json.loads(m.group(1))
        for name in ("iframeURL", "targetOrigin", "id")
        if (m := re.search(rf"var {name} = (\"[^\"]*\");", html))
    }
    state = re.search(r'name="state" value="([^"]+)"', html)
    assert state and len(found) == 3, html
    return {**found, "state": state.group(1)}


def _verify(
    state: str, ticket: str, verifier: str, site: str = "same-origin", origin: str = "null"
) -> dict[str, Any]:
    """The fallback page's form as Chromium sends it: its no-referrer policy makes the Origin
    ``null``; Fetch Metadata says where the form came from."""
    return {
        "data": {"state": state, "login_ticket": ticket, "verifier": verifier},
        "headers": {"Origin": origin, "Sec-Fetch-Site": site},
    }


async def test_without_the_cookie_the_apps_page_hands_the_verifier_over(
    http: httpx.AsyncClient, world: World
) -> None:
    client_id = await _spa(world)
    await create_user(world)
    earned = await _ticket(http, client_id)

    fallback = await http.get("/authorize", params=_authorize(client_id, earned["login_ticket"]))
    assert fallback.status_code == 200, fallback.text
    page = _page(fallback.text)
    # auth0-js' crossOriginVerification reads the origin to answer from the fragment, and the
    # verifier under this co_id.
    assert page["iframeURL"] == LOC + "#origin=" + PUBLIC_URL.replace(":", "%3A").replace(
        "/", "%2F"
    )
    assert page["targetOrigin"] == ORIGIN
    assert page["id"] == earned["co_id"]
    policy = fallback.headers["content-security-policy"]
    assert f"frame-src {ORIGIN};" in policy
    assert "frame-ancestors 'none'" in policy  # top-level here (redirect mode)
    assert earned["co_verifier"] not in fallback.text

    answer = await http.post(
        "/co/verify", **_verify(page["state"], earned["login_ticket"], earned["co_verifier"])
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "#")
    fragment = parse_qs(urlsplit(location).fragment)
    assert "id_token" in fragment and "access_token" in fragment
    assert fragment["state"] == ["af0ifjsldkj"]
    assert "tether_session" in answer.headers.get("set-cookie", "")

    # Spent: the same form again is refused.
    again = await http.post(
        "/co/verify", **_verify(page["state"], earned["login_ticket"], earned["co_verifier"])
    )
    assert again.status_code == 400


async def test_popup_mode_frames_the_fallback_in_the_apps_iframe(
    http: httpx.AsyncClient, world: World
) -> None:
    """web_message: the page may be framed by the app's web origin, and the answer is the
    web_message page, as the iframe expects."""
    client_id = await _spa(world)
    await create_user(world)
    earned = await _ticket(http, client_id)
    params = _authorize(
        client_id, earned["login_ticket"], response_mode="web_message", prompt="none"
    )
    fallback = await http.get("/authorize", params=params)
    assert f"frame-ancestors {ORIGIN}" in fallback.headers["content-security-policy"]
    assert "x-frame-options" not in fallback.headers
    page = _page(fallback.text)
    # A browser without Fetch Metadata: the Origin header names this server.
    form = {"state": page["state"], "login_ticket": earned["login_ticket"]}
    answer = await http.post(
        "/co/verify",
        data={**form, "verifier": earned["co_verifier"]},
        headers={"Origin": PUBLIC_URL},
    )
    assert answer.status_code == 200
    assert "authorization_response" in answer.text and "access_token" in answer.text


async def test_a_wrong_verifier_or_another_sites_form_signs_nobody_in(
    http: httpx.AsyncClient, world: World
) -> None:
    client_id = await _spa(world)
    await create_user(world)
    earned = await _ticket(http, client_id)
    page = _page(
        (await http.get("/authorize", params=_authorize(client_id, earned["login_ticket"]))).text
    )
    # Another site posting the form (login CSRF with its own ticket): refused before anything,
    # by Fetch Metadata, or by the Origin header from a browser that sends no Fetch Metadata.
    for headers in (
        {"site": "cross-site", "origin": "https://evil.example"},
        {"site": "same-site", "origin": "https://app.tether.test"},
    ):
        foreign = await http.post(
            "/co/verify",
            **_verify(page["state"], earned["login_ticket"], earned["co_verifier"], **headers),
        )
        assert foreign.status_code == 403
    for origin, status in (("https://evil.example", 403), ("null", 403)):
        old_browser = await http.post(
            "/co/verify",
            data={"state": page["state"], "login_ticket": earned["login_ticket"]},
            headers={"Origin": origin},
        )
        assert old_browser.status_code == status
    # Another ticket with this state: refused, and the request stays open.
    other = await http.post("/co/verify", **_verify(page["state"], "not-it", "x"))
    assert other.status_code == 400
    # The app's page had no verifier (another browser's ticket): the app hears access_denied.
    wrong = await http.post("/co/verify", **_verify(page["state"], earned["login_ticket"], ""))
    assert wrong.status_code == 303
    fragment = parse_qs(urlsplit(wrong.headers["location"]).fragment)
    assert fragment["error"] == ["access_denied"]
    assert "tether_session" not in wrong.headers.get("set-cookie", "")


async def test_without_a_cross_origin_loc_there_is_no_fallback(
    http: httpx.AsyncClient, world: World
) -> None:
    client_id = await _spa(world, loc=None)
    await create_user(world)
    earned = await _ticket(http, client_id)
    refused = await http.get("/authorize", params=_authorize(client_id, earned["login_ticket"]))
    assert refused.status_code == 303
    fragment = parse_qs(urlsplit(refused.headers["location"]).fragment)
    assert fragment["error"] == ["access_denied"]
