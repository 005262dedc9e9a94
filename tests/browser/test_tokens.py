"""getTokenSilently (refresh tokens over CORS, and silent authentication in a hidden iframe),
loginWithPopup and logout, with the real spa-js in a real browser."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.support import (
    PASSWORD,
    Session,
    email,
    fill_and_submit,
    login_with_redirect,
    on_tether,
    token,
    wait_ready,
)

pytestmark = pytest.mark.browser


def _is_token_response(grant: str) -> Any:
    def match(response: Any) -> bool:
        request = response.request
        return (
            request.method == "POST"
            and urlsplit(request.url).path == "/oauth/token"
            and parse_qs(request.post_data or "").get("grant_type") == [grant]
        )

    return match


def _is_silent_authorize(request: Any) -> bool:
    q = parse_qs(urlsplit(request.url).query)
    return (
        urlsplit(request.url).path == "/authorize"
        and q.get("prompt") == ["none"]
        and q.get("response_mode") == ["web_message"]
    )


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims["aud"]
    return [aud] if isinstance(aud, str) else list(aud)


def test_refresh_tokens_then_silent_authentication(session: Session) -> None:
    live, page = session.live, session.page
    address = email("dana")
    live.signup(address)
    session.open_app()
    session.call("() => playground.configure({useRefreshTokens: true, useAudience: true})")
    login_with_redirect(session, address)

    # useRefreshTokens: the refresh grant, a cross-origin POST that CORS lets through.
    silent_iframes: list[Any] = []
    page.on("request", lambda r: silent_iframes.append(r) if _is_silent_authorize(r) else None)
    refresh_tokens = []
    for _ in range(2):  # the second time with the rotated refresh token
        with page.expect_response(_is_token_response("refresh_token")) as answer:
            result = token(session)
        assert result["ok"], result
        response = answer.value
        assert response.status == 200
        assert response.all_headers()["access-control-allow-origin"] == live.app_origin
        sent = parse_qs(response.request.post_data)
        assert sent["client_id"] == [live.client_id]
        refresh_tokens.append(sent["refresh_token"][0])
        assert live.audience in _audiences(result["claims"])
        assert result["claims"]["iss"] == live.issuer
        assert result["claims"]["azp"] == live.client_id
    assert refresh_tokens[0] != refresh_tokens[1], "refresh tokens rotate"
    assert not silent_iframes, "with refresh tokens spa-js needs no iframe"

    # Without refresh tokens: prompt=none in a hidden iframe, answered by web_message.
    session.call("() => playground.configure({useRefreshTokens: false, useAudience: true})")
    with page.expect_request(_is_silent_authorize) as iframe:
        result = token(session)
    assert result["ok"], result
    assert parse_qs(urlsplit(iframe.value.url).query)["redirect_uri"] == [live.app_url]
    assert live.audience in _audiences(result["claims"])

    # And without an audience: a token for /userinfo.
    session.call("() => playground.configure({useRefreshTokens: false, useAudience: false})")
    with page.expect_request(_is_silent_authorize):
        result = token(session)
    assert result["ok"], result
    assert _audiences(result["claims"]) == [f"{live.url}/userinfo"]
    session.watch.wait_for(page, "/authorize", web_message=True)


def test_login_with_popup(session: Session) -> None:
    address = email("erin")
    session.live.signup(address)
    page = session.open_app()
    with page.expect_popup() as opened:
        page.click("#login-popup")  # a click: popups need a user gesture
    popup = opened.value
    on_tether(session, "/u/login", popup)
    fill_and_submit(popup, email=address, password=PASSWORD)
    # The web_message page posts the code to the opener; spa-js closes the popup.
    page.wait_for_function("() => playground.results.popup")
    result = page.evaluate("() => playground.results.popup")
    deadline = time.monotonic() + 5
    while not popup.is_closed() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert popup.is_closed()
    assert result["ok"], result
    assert result["user"]["email"] == address
    assert page.locator("#user-email").inner_text() == address
    session.watch.wait_for(page, "/authorize/resume", web_message=True)
    # The popup's sign-in started a session: silent authentication now works too.
    result = token(session)
    assert result["ok"], result


def test_logout_ends_the_session(session: Session) -> None:
    live, page = session.live, session.page
    address = email("frank")
    live.signup(address)
    session.open_app()
    login_with_redirect(session, address)
    assert token(session)["ok"]

    # A reload forgets spa-js's in-memory tokens; checkSession() gets them back silently.
    page.reload()
    wait_ready(page)
    assert page.locator("#user-email").inner_text() == "nobody"
    restored = session.call("() => playground.restore()")
    assert restored["ok"] and restored["user"]["email"] == address, restored

    with page.expect_response(lambda r: urlsplit(r.url).path == "/v2/logout") as answer:
        session.call("url => playground.logout(url)", live.app_url)
    logout = answer.value
    assert logout.status == 302
    assert logout.all_headers()["location"] == live.app_url
    q = parse_qs(urlsplit(logout.url).query)
    assert q["client_id"] == [live.client_id]
    assert q["returnTo"] == [live.app_url]
    page.wait_for_url(live.app_url)
    wait_ready(page)
    assert page.locator("#user-email").inner_text() == "nobody"
    restored = session.call("() => playground.restore()")
    assert restored["ok"] and restored["user"] is None, restored

    result = token(session)
    assert not result["ok"]
    assert result["error"] == "login_required", result
