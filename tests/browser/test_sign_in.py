"""Signing up, signing in and resetting a password in a real browser, with the real spa-js."""

from __future__ import annotations

import re

import pytest

from tests.browser.support import (
    PASSWORD,
    Session,
    back_at_app,
    email,
    fill_and_submit,
    login_with_redirect,
    on_tether,
)

pytestmark = pytest.mark.browser


def test_sign_up_then_sign_in_with_redirect(session: Session) -> None:
    address = email("alice")
    session.open_app()

    # First time: loginWithRedirect with screen_hint=signup lands on the sign-up page.
    session.call("() => playground.login({screen_hint: 'signup'})")
    page = on_tether(session, "/u/signup")
    assert page.locator("h1").inner_text() == "Create your account"
    fill_and_submit(page, email=address, password=PASSWORD)
    result = back_at_app(session)
    assert result["ok"], result
    assert result["user"]["email"] == address
    assert result["user"]["sub"].startswith("auth0|")
    assert page.locator("#user-email").inner_text() == address
    # handleRedirectCallback cleaned the code and state out of the address bar.
    assert page.url == session.live.app_url
    # The SSO session cookie: HttpOnly, Secure (http://localhost is a secure context), Lax.
    [cookie] = [
        c for c in session.context.cookies(session.live.url) if c["name"] == "tether_session"
    ]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")

    # Later, in another browser: the sign-in page.
    session.context.clear_cookies()
    session.open_app()
    assert page.locator("#user-email").inner_text() == "nobody"
    result = login_with_redirect(session, address)
    assert result["user"]["email"] == address
    assert page.locator("#user-email").inner_text() == address


def test_wrong_password_stays_on_the_sign_in_page(session: Session) -> None:
    address = email("bob")
    session.live.signup(address)
    session.open_app()
    session.call("() => playground.login()")
    page = on_tether(session, "/u/login")
    fill_and_submit(page, email=address, password="not the password")
    page.wait_for_selector("#form-error")
    assert page.locator("#form-error").inner_text() == "Wrong email or password."
    assert page.url.startswith(f"{session.live.url}/u/login?state=")
    # The email stays filled in; the right password then goes through.
    assert page.input_value("#email") == address
    fill_and_submit(page, password=PASSWORD)
    result = back_at_app(session)
    assert result["ok"] and result["user"]["email"] == address


def test_forgot_password(session: Session) -> None:
    address = email("carol")
    new_password = "a brand new passphrase 42"
    live = session.live
    live.signup(address)
    session.open_app()

    session.call("() => playground.login()")
    page = on_tether(session, "/u/login")
    page.click("text=Forgot your password?")
    on_tether(session, "/u/reset-password")
    fill_and_submit(page, email=address)
    page.wait_for_selector("text=we have sent it a link")

    mails = [
        m
        for m in live.cli("mail", "list")
        if m["to"] == address and m["subject"] == "Reset your password"
    ]
    assert len(mails) == 1, mails
    links = re.findall(r"https?://\S+/lo/reset\?ticket=\S+", mails[0]["body"])
    assert len(links) == 1, mails[0]
    assert links[0].startswith(f"{live.url}/lo/reset?ticket=")

    page.goto(links[0])
    fill_and_submit(page, password=new_password, confirm=new_password)
    page.wait_for_selector("text=Your password was changed")

    # The link works once.
    page.goto(links[0])
    fill_and_submit(page, password=new_password, confirm=new_password)
    page.wait_for_selector("#form-error")

    session.open_app()
    session.call("() => playground.login()")
    on_tether(session, "/u/login")
    fill_and_submit(page, email=address, password=PASSWORD)
    page.wait_for_selector("#form-error")  # the old password no longer works
    fill_and_submit(page, password=new_password)
    result = back_at_app(session)
    assert result["ok"] and result["user"]["email"] == address
