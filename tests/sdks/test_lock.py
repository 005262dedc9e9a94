"""auth0-lock 14.3.0 (with its auth0-js 9.32.0), unmodified, embedded in a page of another origin
and driven in Chromium: the client script, /co/authenticate and the login ticket at /authorize
(redirect mode, and popup mode's hidden iframe), sign-up and forgot password from the widget,
Auth0LockPasswordless with an emailed code, checkSession, getUserInfo and logout.

The only Lock option that names Tether is the domain. Lock fetches its language file from
cdn.auth0.com (lock-protocol.md §1.4): with no internet here that request is aborted at once,
and Lock falls back to its bundled English, as it does when the CDN is unreachable."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browser.support import PASSWORD
from tests.sdks.conftest import Live, email

pytestmark = pytest.mark.browser

SUBMIT = "button[name=submit]"


def open_lock(live: Live, context: Any, kind: str = "lock", **options: Any) -> Any:
    context.route(re.compile(r"^https://cdn\.auth0\.com/"), lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{live.pages}/lock.html")
    page.wait_for_selector("body[data-ready]", state="attached")
    page.evaluate("([k, o]) => app.start(k, o)", [kind, options])
    return page


def wait_event(page: Any, name: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = page.evaluate("n => app.named(n)", name)
        if found:
            return found[-1]["value"]
        bad = page.evaluate(
            "() => app.events.filter(e => /error/.test(e.name) && !/hash/.test(e.name))"
        )
        assert not bad, bad
        page.wait_for_timeout(100)
    raise AssertionError(f"Lock emitted no {name!r}: {page.evaluate('() => app.events')}")


def log_in(page: Any, address: str, password: str = PASSWORD) -> None:
    page.fill("input[name=email]", address)
    page.fill("input[name=password]", password)
    page.click(SUBMIT)


def check_tokens(live: Live, result: dict[str, Any], user_id: str, address: str) -> None:
    assert result["idTokenPayload"]["sub"] == user_id
    assert result["idTokenPayload"]["email"] == address
    assert result["idTokenPayload"]["iss"] == live.issuer
    assert result["accessToken"]


def test_lock_popup_mode_sign_in_session_profile_and_logout(live: Live, context: Any) -> None:
    """Popup mode: /co/authenticate, then the ticket in a hidden iframe (web_message)."""
    ann = email("ann")
    ann_id = live.signup(ann)
    page = open_lock(live, context, redirect=False)
    page.wait_for_selector("input[name=email]")
    log_in(page, ann)
    result = wait_event(page, "authenticated")
    check_tokens(live, result, ann_id, ann)

    # The ticket started a Tether session: checkSession answers from it.
    session = page.evaluate("() => app.checkSession()")
    assert session["ok"], session
    assert session["result"]["idTokenPayload"]["sub"] == ann_id

    info = page.evaluate("t => app.getUserInfo(t)", result["accessToken"])
    assert info["ok"], info
    assert info["result"]["email"] == ann

    # logout: /v2/logout ends the session and comes back; checkSession then needs a login.
    page.evaluate("() => app.logout()")
    page.wait_for_url(f"{live.pages}/lock.html")
    page.wait_for_selector("body[data-ready]", state="attached")
    page.evaluate("([k, o]) => app.start(k, o)", ["lock", {"redirect": False}])
    after = page.evaluate("() => app.checkSession()")
    assert after["ok"] is False
    assert after["error"]["error"] == "login_required"


def test_lock_redirect_mode_and_a_wrong_password(live: Live, context: Any) -> None:
    """Redirect mode: the ticket at a top-level /authorize, tokens back in the fragment."""
    bea = email("bea")
    bea_id = live.signup(bea)
    page = open_lock(live, context)
    page.wait_for_selector("input[name=email]")
    log_in(page, bea, "not the password")
    page.wait_for_selector("text=Wrong email or password.")
    log_in(page, bea)
    page.wait_for_url(lambda u: u.startswith(f"{live.pages}/lock.html#"))
    page.wait_for_selector("body[data-ready]", state="attached")
    result = wait_event(page, "authenticated")
    check_tokens(live, result, bea_id, bea)


def test_lock_sign_up_then_signed_in(live: Live, context: Any) -> None:
    """The widget's sign-up tab: /dbconnections/signup, then Lock logs the new user in."""
    cal = email("cal")
    page = open_lock(live, context, redirect=False, lock={"initialScreen": "signUp"})
    page.wait_for_selector("input[name=email]")
    log_in(page, cal, "A long new passphrase 42!")
    result = wait_event(page, "authenticated")
    assert result["idTokenPayload"]["email"] == cal
    assert wait_event(page, "signup success")["email"] == cal
    user = live.cli("users", "show", result["idTokenPayload"]["sub"])
    assert user["email"] == cal


def test_lock_forgot_password_sends_the_mail(live: Live, context: Any) -> None:
    dan = email("dan")
    live.signup(dan)
    page = open_lock(live, context, redirect=False, lock={"initialScreen": "forgotPassword"})
    page.wait_for_selector("input[name=email]")
    page.fill("input[name=email]", dan)
    page.click(SUBMIT)
    wait_event(page, "forgot_password submit")
    page.wait_for_selector("text=We've just sent you an email to reset your password.")
    mails = live.cli("mail", "list")
    assert any(m["to"] == dan for m in mails), mails


def test_lock_passwordless_email_code(live: Live, context: Any) -> None:
    """Auth0LockPasswordless: /passwordless/start mails a code; the code goes to
    /co/authenticate (passwordless/otp) and the ticket to /authorize."""
    eve = email("eve")
    page = open_lock(
        live, context, "passwordless", redirect=False, lock={"allowedConnections": ["email"]}
    )
    page.wait_for_selector("input[name=email]")
    page.fill("input[name=email]", eve)
    page.click(SUBMIT)
    wait_event(page, "vcode ready")
    page.wait_for_selector("input[name=vcode]")
    mail = next(m for m in live.cli("mail", "list") if m["to"] == eve)
    code = re.search(r"\b(\d{6})\b", mail["body"] if "body" in mail else str(mail))
    assert code, mail
    page.fill("input[name=vcode]", code.group(1))
    page.click(SUBMIT)
    result = wait_event(page, "authenticated")
    assert result["idTokenPayload"]["email"] == eve
    assert result["idTokenPayload"]["sub"].startswith("email|")


def test_lock_default_response_type_token(live: Live, context: Any) -> None:
    """Lock's own default, ``responseType: 'token'`` (no redirectUrl): an access token alone
    (RFC 6749 §4.2), no nonce sent and no ID token back; getUserInfo reads the profile with it."""
    fay = email("fay")
    fay_id = live.signup(fay)
    page = open_lock(live, context, lock={"auth": {"redirect": False}})
    page.wait_for_selector("input[name=email]")
    log_in(page, fay)
    result = wait_event(page, "authenticated")
    assert result["accessToken"]
    assert result["idToken"] is None
    info = page.evaluate("t => app.getUserInfo(t)", result["accessToken"])
    assert info["ok"], info
    assert info["result"]["sub"] == fay_id
