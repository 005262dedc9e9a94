"""Issue 11, finding 9: CSRF tokens are bound to the browser, not an unbound double submit.

The token used to be ``HMAC(cookie, purpose)``: anyone who could set the CSRF cookie (a sibling
subdomain, a plain-http response) could pick its value and compute the token. Now the token is an
HMAC under a server key over the browser's random secret (kept in an HttpOnly cookie) and the
form's purpose, and on https the cookies carry the ``__Host-`` prefix, so no other host can set
them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.oidc.conftest import (
    EMAIL,
    PASSWORD,
    Browser,
    Form,
    Oidc,
    assert_error_page,
    callback_params,
    location,
)
from tests.oidc.conftest import browser as browser
from tests.oidc.conftest import oidc as oidc
from tether.web.app import create_app

HTTPS = "https://tether.test"


def old_style_token(cookie: str, purpose: str) -> str:
    """What the unbound double submit accepted: the cookie's own HMAC of the purpose."""
    return hmac.new(cookie.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def set_cookie_headers(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def login_form(b: Browser) -> Form:
    _, form = await b.open_login(await b.authorize())
    return form


@pytest.fixture
async def other(oidc: Oidc) -> AsyncIterator[Browser]:
    """A second browser (its own cookie jar) on the same server."""
    transport = httpx.ASGITransport(
        app=create_app(oidc.container, deliver_mail=False), client=("127.0.0.1", 50002)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://tether.test") as client:
        yield Browser(client, oidc)


async def https_browser(oidc: Oidc, port: int) -> tuple[httpx.AsyncClient, Browser]:
    transport = httpx.ASGITransport(
        app=create_app(oidc.container, deliver_mail=False), client=("127.0.0.1", port)
    )
    client = httpx.AsyncClient(transport=transport, base_url=HTTPS)
    return client, Browser(client, oidc)


async def test_a_cookie_set_to_any_value_with_its_hmac_is_refused(
    browser: Browser,
) -> None:
    """OWASP ASVS 3.5.1 (CSRF defence; cheat sheet "signed double-submit cookie"): a token the
    client can compute from a cookie it chose is no proof; the server key is needed."""
    form = await login_form(browser)
    forged = secrets.token_urlsafe(32)
    browser.http.cookies.set("tether_csrf", forged, domain="tether.test", path="/")

    response = await browser.submit(
        form, email=EMAIL, password=PASSWORD, csrf=old_style_token(forged, "login")
    )

    assert_error_page(response, 403)
    assert "tether_session" not in set_cookie_headers(response)
    assert callback_params(await browser.authorize(prompt="none"))["error"] == "login_required"


async def test_a_token_from_one_browser_fails_in_another(
    browser: Browser,
    other: Browser,
) -> None:
    """OWASP ASVS 3.5.1: the token is bound to the browser's own secret; an attacker's valid
    token (from their own browser) does not sign the victim's browser in (login CSRF)."""
    attackers = await login_form(browser)
    victims = await login_form(other)

    response = await other.submit(
        victims, email=EMAIL, password=PASSWORD, csrf=attackers.fields["csrf"]
    )
    assert_error_page(response, 403)

    # the victim's own token works: the check is the binding, not a broken form
    response = await other.submit(victims, email=EMAIL, password=PASSWORD)
    assert response.status_code == 303, response.text


async def test_on_https_the_cookies_carry_the_host_prefix(oidc: Oidc) -> None:
    """OWASP ASVS 3.3.1 (cookies: ``__Host-`` prefix, Secure, Path=/, no Domain), RFC 6265bis
    §4.1.3.2: no other host can set a ``__Host-`` cookie, so none can plant a CSRF secret or a
    session."""
    client, b = await https_browser(oidc, 50003)
    async with client:
        first = await b.authorize()
        page = await client.get(location(first))
        csrf = set_cookie_headers(page)["__Host-tether_csrf"].lower()
        assert "secure" in csrf and "path=/" in csrf and "domain" not in csrf
        assert "tether_csrf" not in set_cookie_headers(page)

        code = await b.code()
        assert "code" in code
        assert "__Host-tether_session" in client.cookies
        assert "tether_session" not in client.cookies


async def test_on_https_a_planted_unprefixed_cookie_counts_for_nothing(
    oidc: Oidc,
) -> None:
    """OWASP ASVS 3.3.1, cookie tossing: an attacker who got a valid (secret, token) pair in
    their own browser and plants the secret without the prefix in the victim's still fails."""
    attacker_client, attacker = await https_browser(oidc, 50004)
    victim_client, victim = await https_browser(oidc, 50005)
    async with attacker_client, victim_client:
        form = await login_form(attacker)
        secret = attacker_client.cookies["__Host-tether_csrf"]
        victim_client.cookies.set("tether_csrf", secret, domain="tether.test", path="/")

        response = await victim_client.post(
            form.action, data={**form.fields, "email": EMAIL, "password": PASSWORD}
        )
        assert_error_page(response, 403)
        assert not any("tether_session" in name for name in victim_client.cookies)
