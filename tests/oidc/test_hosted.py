"""The hosted pages as a browser meets them: CSRF, no account enumeration, consent for
third-party applications, the headers every HTML response carries, and parked requests that
only the browser that signed in can finish."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import PUBLIC_URL
from tests.oidc.conftest import (
    EMAIL,
    ISSUER,
    PASSWORD,
    Browser,
    Client,
    Oidc,
    assert_error_page,
    assert_html_security_headers,
    callback_params,
    forms,
    goes_to_login,
    location,
    redeem,
)
from tether.web.app import create_app

SESSION = "tether_session"
CSRF = "tether_csrf"


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert found, html
    return found.group(1).strip()


def set_cookies(response: httpx.Response) -> dict[str, str]:
    out = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


# -- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "csrf",
    [None, "", "0" * 64, "not-even-hex"],
    ids=["missing", "empty", "wrong", "garbage"],
)
async def test_login_without_the_csrf_token_is_refused(browser: Browser, csrf: str | None) -> None:
    _, form = await browser.open_login(await browser.authorize())
    response = await browser.submit(form, email=EMAIL, password=PASSWORD, csrf=csrf)
    assert_error_page(response, 403)
    assert SESSION not in set_cookies(response)
    assert SESSION not in browser.http.cookies
    assert callback_params(await browser.authorize(prompt="none"))["error"] == "login_required"


async def test_login_token_of_another_form_is_refused(browser: Browser, oidc: Oidc) -> None:
    """The token is bound to its form's purpose: the sign-up form's does not sign in."""
    first = await browser.authorize()
    _, form = await browser.open_login(first)
    signup = await browser.http.get(location(first).replace("/u/login", "/u/signup"))
    [signup_form] = [f for f in forms(signup.text) if "csrf" in f.fields]
    response = await browser.submit(
        form, email=EMAIL, password=PASSWORD, csrf=signup_form.fields["csrf"]
    )
    assert_error_page(response, 403)


async def test_login_from_a_browser_without_the_csrf_cookie_is_refused(
    browser: Browser, oidc: Oidc
) -> None:
    """Login CSRF: an attacker's page can copy a token but not the victim's cookie."""
    _, form = await browser.open_login(await browser.authorize())
    transport = httpx.ASGITransport(
        app=create_app(oidc.container, deliver_mail=False), client=("127.0.0.1", 50001)
    )
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as victim:
        response = await victim.post(
            form.action, data={**form.fields, "email": EMAIL, "password": PASSWORD}
        )
    assert_error_page(response, 403)
    assert SESSION not in set_cookies(response)


async def test_cookies_are_http_only_and_same_site(browser: Browser) -> None:
    first = await browser.authorize()
    page = await browser.http.get(location(first))
    csrf = set_cookies(page)[CSRF].lower()
    assert "httponly" in csrf and "samesite=lax" in csrf and "path=/" in csrf
    assert "secure" not in csrf  # http://tether.test is neither https nor localhost
    [form] = [f for f in forms(page.text) if "password" in f.fields]
    posted = await browser.http.post(
        urlsplit(str(page.url)).path + "?" + urlsplit(str(page.url)).query,
        data={**form.fields, "email": EMAIL, "password": PASSWORD},
    )
    session = set_cookies(posted)[SESSION].lower()
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session


async def test_each_sign_in_gets_a_new_session_cookie(browser: Browser) -> None:
    """No session fixation: signing in again never keeps the old session id."""
    await browser.code()
    first = browser.http.cookies[SESSION]
    await browser.code(prompt="login")
    assert browser.http.cookies[SESSION] != first


# -- no account enumeration -------------------------------------------------------------------


async def test_unknown_email_and_wrong_password_read_the_same(browser: Browser) -> None:
    answers = []
    for email, password in [("nobody@example.com", PASSWORD), (EMAIL, "wrong password!!")]:
        _, form = await browser.open_login(await browser.authorize())
        response = await browser.submit(form, email=email, password=password)
        assert response.status_code == 400
        assert_html_security_headers(response)
        assert SESSION not in set_cookies(response)
        answers.append(alert(response.text))
    assert answers[0] == answers[1] == "Wrong email or password."


# -- parked requests ---------------------------------------------------------------------------


async def test_resume_belongs_to_the_browser_that_signed_in(browser: Browser, oidc: Oidc) -> None:
    _, form = await browser.open_login(await browser.authorize())
    posted = await browser.submit(form, email=EMAIL, password=PASSWORD)
    resume = location(posted)
    transport = httpx.ASGITransport(
        app=create_app(oidc.container, deliver_mail=False), client=("127.0.0.1", 50001)
    )
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as other:
        stolen = await other.get(resume)
    assert urlsplit(location(stolen)).path == "/u/login"
    assert "code=" not in location(stolen)


async def test_resume_answers_once(browser: Browser) -> None:
    _, form = await browser.open_login(await browser.authorize())
    posted = await browser.submit(form, email=EMAIL, password=PASSWORD)
    first = await browser.http.get(location(posted))
    assert "code" in callback_params(first)
    assert_error_page(await browser.http.get(location(posted)))


@pytest.mark.parametrize("state", [None, "", "no-such-transaction"])
async def test_login_page_with_a_bad_state_is_an_error_page(
    http: httpx.AsyncClient, oidc: Oidc, state: str | None
) -> None:
    url = "/u/login" if state is None else f"/u/login?state={state}"
    response = await http.get(url)
    assert response.status_code in (400, 404)
    assert "location" not in response.headers
    assert_html_security_headers(response)


# -- consent -------------------------------------------------------------------------------------


@pytest.fixture
async def third_party(oidc: Oidc) -> Client:
    return await oidc.app(name="Third Party", first_party=False)


async def consent_page(browser: Browser, client: Client, **params: str) -> httpx.Response:
    resumed = await browser.sign_in(client, **params)
    assert urlsplit(location(resumed)).path == "/u/consent", location(resumed)
    page = await browser.http.get(location(resumed))
    assert page.status_code == 200
    assert_html_security_headers(page)
    return page


async def decide(browser: Browser, page: httpx.Response, decision: str) -> httpx.Response:
    [form] = [f for f in forms(page.text) if "csrf" in f.fields]
    assert ("decision", decision) in form.buttons
    action = urlsplit(str(page.url))
    return await browser.http.post(
        f"{action.path}?{action.query}", data={**form.fields, "decision": decision}
    )


async def test_third_party_app_asks_for_consent_once(
    browser: Browser, http: httpx.AsyncClient, third_party: Client
) -> None:
    page = await consent_page(browser, third_party, scope="openid profile email")
    assert "See your email address" in page.text
    accepted = await decide(browser, page, "accept")
    assert accepted.status_code == 303
    got = callback_params(await http.get(location(accepted)))
    assert (await redeem(http, third_party, got["code"])).status_code == 200
    # Remembered: the same scopes again need no page, not even with prompt=none.
    again = callback_params(
        await browser.authorize(third_party, prompt="none", scope="openid email")
    )
    assert "code" in again
    # More scopes than granted: ask again (and prompt=none cannot).
    more = callback_params(
        await browser.authorize(third_party, prompt="none", scope=("openid email offline_access"))
    )
    assert more["error"] == "consent_required"


async def test_denied_consent_is_access_denied_at_the_client(
    browser: Browser, third_party: Client
) -> None:
    page = await consent_page(browser, third_party, state="deny+me/=")
    denied = await decide(browser, page, "deny")
    got = callback_params(denied)
    assert got["error"] == "access_denied"
    assert got["state"] == "deny+me/="
    assert got["iss"] == ISSUER
    assert "code" not in got


async def test_consent_without_csrf_is_refused(browser: Browser, third_party: Client) -> None:
    page = await consent_page(browser, third_party)
    [form] = [f for f in forms(page.text) if "csrf" in f.fields]
    action = urlsplit(str(page.url))
    fields = {k: v for k, v in form.fields.items() if k != "csrf"}
    response = await browser.http.post(
        f"{action.path}?{action.query}", data={**fields, "decision": "accept"}
    )
    assert_error_page(response, 403)


async def test_third_party_prompt_none_without_consent_is_consent_required(
    browser: Browser, third_party: Client
) -> None:
    await browser.code()  # signed in through the first-party app
    got = callback_params(await browser.authorize(third_party, prompt="none"))
    assert got["error"] == "consent_required"


async def test_signed_in_person_goes_straight_to_consent(
    browser: Browser, http: httpx.AsyncClient, third_party: Client
) -> None:
    await browser.code()  # signed in through the first-party app
    response = await browser.authorize(third_party, state="st")
    assert urlsplit(location(response)).path == "/u/consent"
    page = await http.get(location(response))
    accepted = await decide(browser, page, "accept")
    got = callback_params(await http.get(location(accepted)))
    assert got["state"] == "st"
    assert (await redeem(http, third_party, got["code"])).status_code == 200


async def test_first_party_app_skips_consent(browser: Browser) -> None:
    resumed = await browser.sign_in()
    assert "code" in callback_params(resumed)


# -- headers on every HTML response ----------------------------------------------------------------


async def test_every_html_page_carries_the_security_headers(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    first = await browser.authorize()
    assert goes_to_login(first)
    login = location(first)
    pages = [
        await http.get(login),
        await http.get(login.replace("/u/login", "/u/signup")),
        await http.get(login.replace("/u/login", "/u/reset-password")),
        await http.get("/authorize"),
        await http.get("/authorize", params={"client_id": oidc.rp.client_id}),
        await http.get("/u/login?state=nope"),
        await http.get("/v2/logout"),
        await http.get("/oidc/logout"),
        await http.get("/v2/logout", params={"returnTo": "https://evil.test/"}),
        await browser.authorize(response_mode="form_post", prompt="none"),
    ]
    for page in pages:
        assert_html_security_headers(page)
        assert page.headers["cache-control"] == "no-store"


# -- sign-up (Auth0's screen_hint) -------------------------------------------------------------------


async def test_screen_hint_signup_creates_the_account_and_answers(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc
) -> None:
    query = browser.query(screen_hint="signup")
    first = await http.get("/authorize", params=query)
    assert urlsplit(location(first)).path == "/u/signup"
    page = await http.get(location(first))
    assert_html_security_headers(page)
    [form] = [f for f in forms(page.text) if "password" in f.fields]
    action = urlsplit(str(page.url))
    posted = await http.post(
        f"{action.path}?{action.query}",
        data={**form.fields, "email": "new@example.com", "password": "a long new passphrase"},
    )
    assert posted.status_code == 303, posted.text
    got = callback_params(await http.get(location(posted)))
    assert got["state"] == query["state"]
    body = (await redeem(http, oidc.rp, got["code"])).json()
    info = await http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.json()["email"] == "new@example.com"
