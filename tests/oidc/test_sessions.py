"""SSO sessions at /authorize and logout (oidcc-prompt-none-not-logged-in, -prompt-none-logged-in,
-prompt-login, -max-age-1, -max-age-10000, -id-token-hint; RP-Initiated Logout; Auth0's
/v2/logout, which must not be an open redirector)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.oidc.conftest import (
    CALLBACK,
    ISSUER,
    LOGOUT_URL,
    Browser,
    MovableClock,
    Oidc,
    assert_error_page,
    assert_html_security_headers,
    b64url,
    callback_params,
    goes_to_login,
    jwks,
    jwt_claims,
    location,
    redeem,
    verify_rs256,
)

SESSION = "tether_session"


async def id_token(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, **params: str | None
) -> tuple[str, dict[str, Any]]:
    got = await browser.code(**params)
    response = await redeem(http, oidc.rp, got["code"])
    assert response.status_code == 200, response.text
    token = response.json()["id_token"]
    return token, verify_rs256(token, await jwks(http))


# -- prompt=none -------------------------------------------------------------------------


async def test_prompt_none_without_a_session_is_login_required(browser: Browser) -> None:
    query = browser.query(prompt="none")
    response = await browser.http.get("/authorize", params=query)
    got = callback_params(response)
    assert got["error"] == "login_required"
    assert got["state"] == query["state"]
    assert got["iss"] == ISSUER
    assert "code" not in got


async def test_prompt_none_with_a_session_answers_without_ui(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    _, first = await id_token(browser, http, oidc)
    clock.advance(3)
    query = browser.query(prompt="none")
    response = await http.get("/authorize", params=query)
    assert not goes_to_login(response)
    got = callback_params(response)
    assert got["state"] == query["state"]
    body = (await redeem(http, oidc.rp, got["code"])).json()
    second = verify_rs256(body["id_token"], await jwks(http))
    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"]
    assert second["sid"] == first["sid"]
    assert second["nonce"] == query["nonce"]


async def test_prompt_none_with_id_token_hint_answers_silently(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    """oidcc-id-token-hint."""
    token, first = await id_token(browser, http, oidc)
    got = await browser.code(prompt="none", id_token_hint=token)
    body = (await redeem(http, oidc.rp, got["code"])).json()
    assert verify_rs256(body["id_token"], await jwks(http))["sub"] == first["sub"]


# -- prompt=login, max_age ----------------------------------------------------------------


async def test_prompt_login_shows_the_sign_in_page_again(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    _, first = await id_token(browser, http, oidc)
    clock.advance(5)
    response = await browser.authorize(prompt="login")
    assert goes_to_login(response)
    _, second = await id_token(browser, http, oidc, prompt="login")
    assert second["sub"] == first["sub"]
    assert second["auth_time"] > first["auth_time"]


async def test_max_age_1_after_two_seconds_asks_again(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    _, first = await id_token(browser, http, oidc)
    clock.advance(2)
    assert goes_to_login(await browser.authorize(max_age="1"))
    _, second = await id_token(browser, http, oidc, max_age="1")
    assert second["auth_time"] >= first["auth_time"] + 2


async def test_max_age_within_the_limit_does_not_ask(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    """oidcc-max-age-10000."""
    _, first = await id_token(browser, http, oidc, max_age="15000")
    assert "auth_time" in first
    clock.advance(60)
    response = await browser.authorize(max_age="10000")
    assert not goes_to_login(response)
    got = callback_params(response)
    body = (await redeem(http, oidc.rp, got["code"])).json()
    second = verify_rs256(body["id_token"], await jwks(http))
    assert (second["sub"], second["auth_time"]) == (first["sub"], first["auth_time"])


async def test_max_age_0_always_asks(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    """OIDC Core §3.1.2.1 (errata 2): max_age=0 is prompt=login, even within the same second."""
    await id_token(browser, http, oidc)
    assert goes_to_login(await browser.authorize(max_age="0"))
    # ... and the sign-in that follows answers, rather than asking forever.
    _, second = await id_token(browser, http, oidc, max_age="0")
    assert second["auth_time"] == clock.epoch()


async def test_prompt_none_with_max_age_exceeded_is_login_required(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    await id_token(browser, http, oidc)
    clock.advance(10)
    got = callback_params(await browser.authorize(prompt="none", max_age="5"))
    assert got["error"] == "login_required"


# -- RP-Initiated Logout: /oidc/logout ---------------------------------------------------------


async def assert_signed_out(browser: Browser) -> None:
    got = callback_params(await browser.authorize(prompt="none"))
    assert got["error"] == "login_required"


async def test_oidc_logout_with_id_token_hint(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    token, _ = await id_token(browser, http, oidc)
    response = await http.get(
        "/oidc/logout",
        params={
            "id_token_hint": token,
            "post_logout_redirect_uri": LOGOUT_URL,
            "state": "bye+now/=",
        },
    )
    assert response.status_code == 302
    target = urlsplit(location(response))
    assert f"{target.scheme}://{target.netloc}{target.path}" == LOGOUT_URL
    assert dict(parse_qsl(target.query)) == {"state": "bye+now/="}
    await assert_signed_out(browser)


async def test_oidc_logout_with_an_expired_id_token_hint_still_works(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, clock: MovableClock
) -> None:
    token, _ = await id_token(browser, http, oidc)
    clock.advance(2 * 86400)
    response = await http.get(
        "/oidc/logout", params={"id_token_hint": token, "post_logout_redirect_uri": LOGOUT_URL}
    )
    assert response.status_code == 302


async def test_oidc_logout_without_redirect_shows_a_page(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    token, _ = await id_token(browser, http, oidc)
    response = await http.get("/oidc/logout", params={"id_token_hint": token})
    assert response.status_code == 200
    assert_html_security_headers(response)
    await assert_signed_out(browser)


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = jwt_claims(token)
    claims["sub"] = "auth0|someone-else"
    import json

    return f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"


def _alg_none(token: str) -> str:
    import json

    return f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{token.split('.')[1]}."


@pytest.mark.parametrize("forge", [_tampered, _alg_none], ids=["modified", "alg-none"])
async def test_oidc_logout_refuses_a_forged_id_token_hint(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, forge: Any
) -> None:
    token, _ = await id_token(browser, http, oidc)
    response = await http.get(
        "/oidc/logout",
        params={"id_token_hint": forge(token), "post_logout_redirect_uri": LOGOUT_URL},
    )
    assert_error_page(response)
    # Nothing happened: the session is still there.
    assert "code" in callback_params(await browser.authorize(prompt="none"))


@pytest.mark.parametrize(
    "target",
    ["https://evil.test/bye", LOGOUT_URL + "?x=1", LOGOUT_URL + "/", CALLBACK],
    ids=["foreign", "query-added", "slash", "callback-not-logout-url"],
)
async def test_oidc_logout_refuses_unregistered_post_logout_redirect_uri(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, target: str
) -> None:
    token, _ = await id_token(browser, http, oidc)
    response = await http.get(
        "/oidc/logout", params={"id_token_hint": token, "post_logout_redirect_uri": target}
    )
    assert_error_page(response)


async def test_oidc_logout_without_hint_or_client_never_redirects(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    """Nothing names the application, so no URL can be checked: no redirect at all."""
    await browser.code()
    response = await http.get("/oidc/logout", params={"post_logout_redirect_uri": LOGOUT_URL})
    assert_error_page(response)


async def test_oidc_logout_with_client_id_and_no_hint(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    await browser.code()
    response = await http.get(
        "/oidc/logout",
        params={"client_id": oidc.rp.client_id, "post_logout_redirect_uri": LOGOUT_URL},
    )
    assert response.status_code == 302
    assert location(response) == LOGOUT_URL
    await assert_signed_out(browser)


async def test_oidc_logout_client_id_must_match_the_hint(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    other = await oidc.app(name="Other")
    token, _ = await id_token(browser, http, oidc)
    response = await http.get(
        "/oidc/logout",
        params={
            "id_token_hint": token,
            "client_id": other.client_id,
            "post_logout_redirect_uri": LOGOUT_URL,
        },
    )
    assert_error_page(response)


# -- Auth0's /v2/logout ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.test/",
        "https://app.example.com.evil.test/bye",
        LOGOUT_URL + "?next=x",
        "//evil.test",
    ],
)
async def test_v2_logout_is_not_an_open_redirector(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, return_to: str
) -> None:
    await browser.code()
    response = await http.get(
        "/v2/logout", params={"client_id": oidc.rp.client_id, "returnTo": return_to}
    )
    assert_error_page(response)
    # Refused before anything happened: still signed in.
    assert "code" in callback_params(await browser.authorize(prompt="none"))


async def test_v2_logout_without_client_id_refuses_app_urls(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    response = await http.get("/v2/logout", params={"returnTo": LOGOUT_URL})
    assert_error_page(response)


async def test_v2_logout_to_a_registered_url_ends_the_session(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    await browser.code()
    old_cookie = http.cookies.get(SESSION)
    assert old_cookie
    response = await http.get(
        "/v2/logout", params={"client_id": oidc.rp.client_id, "returnTo": LOGOUT_URL}
    )
    assert response.status_code == 302
    assert location(response) == LOGOUT_URL
    assert any(
        h.startswith(f"{SESSION}=") and ("Max-Age=0" in h or "expires=" in h.lower())
        for h in response.headers.get_list("set-cookie")
    )
    await assert_signed_out(browser)
    # Gone on the server too, not only from this browser: the old cookie is worthless.
    http.cookies.set(SESSION, old_cookie, domain="tether.test")
    await assert_signed_out(browser)
