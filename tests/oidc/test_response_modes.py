"""Response modes (OAuth 2.0 Multiple Response Types, Form Post Response Mode, Auth0's
web_message) and the implicit flow, each with RFC 9207 ``iss`` and ``state``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.oidc.conftest import (
    CALLBACK,
    ISSUER,
    RP_ORIGIN,
    Browser,
    Client,
    MovableClock,
    Oidc,
    assert_html_security_headers,
    at_hash,
    callback_params,
    forms,
    jwks,
    redeem,
    verify_rs256,
)


def csp(response: httpx.Response) -> dict[str, str]:
    out = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


async def answer(browser: Browser, client: Client | None = None, **params: str) -> httpx.Response:
    """The final answer of a flow that signs in first."""
    return await browser.sign_in(client, **params)


# -- form_post ----------------------------------------------------------------------------


async def test_form_post_answers_with_an_auto_submitting_form(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    query = browser.query(response_mode="form_post", state="a+b/c==")
    response = await browser.sign_in_from(await http.get("/authorize", params=query))
    assert response.status_code == 200
    assert_html_security_headers(response)
    assert response.headers["cache-control"] == "no-store"
    assert "form-action" in csp(response) and RP_ORIGIN in csp(response)["form-action"]
    [form] = forms(response.text)
    assert form.method == "post"
    assert form.action == CALLBACK
    assert set(form.fields) == {"code", "state", "iss"}
    assert form.fields["state"] == "a+b/c=="
    assert form.fields["iss"] == ISSUER
    nonce = csp(response)["script-src"].removeprefix("'nonce-").removesuffix("'")
    assert f'<script nonce="{nonce}">' in response.text
    assert ".submit()" in response.text
    token = await redeem(http, oidc.rp, form.fields["code"])
    assert token.status_code == 200


async def test_form_post_carries_errors_too(browser: Browser) -> None:
    response = await browser.authorize(response_mode="form_post", prompt="none", state="s")
    assert response.status_code == 200
    assert_html_security_headers(response)
    [form] = forms(response.text)
    assert form.action == CALLBACK
    assert form.fields["error"] == "login_required"
    assert form.fields["state"] == "s"
    assert form.fields["iss"] == ISSUER


async def test_form_post_escapes_what_it_echoes(browser: Browser) -> None:
    state = '"><script>alert(1)</script>'
    response = await browser.authorize(response_mode="form_post", prompt="none", state=state)
    assert "<script>alert(1)" not in response.text
    [form] = forms(response.text)
    assert form.fields["state"] == state


# -- fragment -----------------------------------------------------------------------------


async def test_fragment_mode_puts_the_code_in_the_fragment(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    response = await answer(browser, response_mode="fragment", state="a+b/c==")
    url = urlsplit(response.headers["location"])
    assert url.query == ""
    got = callback_params(response)
    assert got["state"] == "a+b/c=="
    assert got["iss"] == ISSUER
    assert (await redeem(http, oidc.rp, got["code"])).status_code == 200


# -- web_message ------------------------------------------------------------------------------


def posted_message(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    origin = re.search(r"var targetOrigin = (.+?);\n", response.text)
    message = re.search(r"var message = (.+?);\n", response.text)
    assert origin and message, response.text
    return json.loads(origin.group(1)), json.loads(
        message.group(1).replace('{type: "authorization_response", response: ', "", 1)[:-1]
    )


async def test_web_message_posts_to_the_callback_origin_only(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    await browser.code()  # a session, as silent authentication needs
    response = await browser.authorize(response_mode="web_message", prompt="none", state="a+b/c==")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "x-frame-options" not in response.headers
    assert csp(response)["frame-ancestors"] == RP_ORIGIN
    assert response.headers["referrer-policy"] == "no-referrer"
    target, message = posted_message(response)
    assert target == RP_ORIGIN
    assert message["state"] == "a+b/c=="
    assert message["iss"] == ISSUER
    assert (await redeem(http, oidc.rp, message["code"])).status_code == 200


async def test_web_message_escapes_what_it_echoes(browser: Browser) -> None:
    state = "</script><script>alert(1)</script>'\"&"
    response = await browser.authorize(response_mode="web_message", prompt="none", state=state)
    assert "<script>alert(1)" not in response.text
    assert posted_message(response)[1]["state"] == state


async def test_web_message_carries_login_required(browser: Browser) -> None:
    response = await browser.authorize(response_mode="web_message", prompt="none")
    target, message = posted_message(response)
    assert target == RP_ORIGIN
    assert message["error"] == "login_required"
    assert csp(response)["frame-ancestors"] == RP_ORIGIN


async def test_web_message_needs_the_origin_registered(browser: Browser, oidc: Oidc) -> None:
    other = await oidc.app(name="No origins", web_origins=())
    response = await browser.authorize(other, response_mode="web_message", prompt="none")
    target, message = posted_message(response)
    assert message["error"] == "invalid_request"
    # Nobody may frame an answer for an origin the application never registered.
    assert csp(response)["frame-ancestors"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"


# -- implicit -------------------------------------------------------------------------------------


@pytest.fixture
async def implicit_app(oidc: Oidc) -> Client:
    return await oidc.app(
        name="Implicit", grant_types=("implicit", "authorization_code", "refresh_token")
    )


async def test_implicit_id_token_token_in_the_fragment(
    browser: Browser, http: httpx.AsyncClient, implicit_app: Client, clock: MovableClock
) -> None:
    response = await answer(
        browser, implicit_app, response_type="id_token token", nonce="n-1", state="s+1"
    )
    assert urlsplit(response.headers["location"]).query == ""
    got = callback_params(response)
    assert got["state"] == "s+1"
    assert got["iss"] == ISSUER
    assert got["token_type"] == "Bearer"
    claims = verify_rs256(got["id_token"], await jwks(http))
    assert claims["nonce"] == "n-1"
    assert claims["aud"] == implicit_app.client_id
    assert claims["at_hash"] == at_hash(got["access_token"])
    assert claims["iat"] <= clock.epoch() < claims["exp"]
    info = await http.get("/userinfo", headers={"Authorization": f"Bearer {got['access_token']}"})
    assert info.json()["sub"] == claims["sub"]


async def test_implicit_id_token_only(
    browser: Browser, http: httpx.AsyncClient, implicit_app: Client
) -> None:
    got = callback_params(await answer(browser, implicit_app, response_type="id_token"))
    assert "access_token" not in got
    claims = verify_rs256(got["id_token"], await jwks(http))
    assert "at_hash" not in claims


async def test_implicit_needs_a_nonce(browser: Browser, implicit_app: Client) -> None:
    got = callback_params(
        await browser.authorize(implicit_app, response_type="id_token token", nonce=None)
    )
    assert got["error"] == "invalid_request"


async def test_implicit_never_in_the_query(browser: Browser, implicit_app: Client) -> None:
    response = await browser.authorize(
        implicit_app, response_type="id_token", response_mode="query"
    )
    got = callback_params(response)
    assert got["error"] == "invalid_request"
    assert "id_token" not in got


async def test_implicit_needs_the_grant(browser: Browser) -> None:
    got = callback_params(await browser.authorize(response_type="id_token token"))
    assert got["error"] == "unauthorized_client"
