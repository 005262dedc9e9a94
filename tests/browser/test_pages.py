"""The hosted pages themselves: every kind carries the browser-rule headers (the session fixture
checks each page a test visits; this test visits them all), none can be framed, and they lay out
cleanly at desktop and phone widths (screenshots)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.support import (
    REPO,
    Live,
    Session,
    email,
    fill_and_submit,
    new_session,
    on_tether,
    token,
)

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def test_every_hosted_page_has_the_browser_rule_headers(session: Session) -> None:
    live, page = session.live, session.page
    session.open_app()

    # Sign-in, sign-up, forgot password (form and "sent"), all from a parked request.
    session.call("() => playground.login()")
    on_tether(session, "/u/login")
    login_url = page.url
    page.click("text=Create an account")
    on_tether(session, "/u/signup")
    page.click("text=Already have an account? Sign in")
    on_tether(session, "/u/login")
    page.click("text=Forgot your password?")
    on_tether(session, "/u/reset-password")
    fill_and_submit(page, email=email("nobody"))
    page.wait_for_selector("text=we have sent it a link")

    # The reset page, and its answer to a ticket that does not exist.
    page.goto(f"{live.url}/lo/reset?ticket=not-a-ticket")
    fill_and_submit(page, password="whatever it is 1", confirm="whatever it is 1")
    page.wait_for_selector("#form-error")

    # Error pages: an unknown request, an unknown client, a logout URL that is not allowed.
    page.goto(f"{live.url}/u/login?state=nope")
    page.wait_for_selector(".alert.error")
    bad_client = urlencode(
        {"client_id": "nope", "redirect_uri": live.app_url, "response_type": "code"}
    )
    page.goto(f"{live.url}/authorize?{bad_client}")
    page.wait_for_selector(".alert.error")
    page.goto(f"{live.url}/v2/logout?{urlencode({'returnTo': 'https://evil.example/'})}")
    page.wait_for_selector(".alert.error")
    # web_message to a callback whose origin is not a web origin: an error, and not frameable.
    not_a_web_origin = urlencode(
        {
            "client_id": live.client_id,
            "redirect_uri": live.other_callback,
            "response_type": "code",
            "response_mode": "web_message",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "state": "s",
        }
    )
    page.goto(f"{live.url}/authorize?{not_a_web_origin}")
    not_framed = session.watch.wait_for(page, "/authorize", web_message=False, status=200)
    assert "invalid_request" in page.content()
    assert not_framed.headers["x-frame-options"] == "DENY"
    # The signed-out page.
    page.goto(f"{live.url}/v2/logout")
    page.wait_for_selector("text=You are signed out")

    # The web_message answer to prompt=none, in spa-js's hidden iframe: login_required.
    session.open_app()
    result = token(session)
    assert result["error"] == "login_required", result
    session.watch.wait_for(page, "/authorize", web_message=True)

    seen = {(v.path, v.status, v.is_web_message) for v in session.watch.visits}
    for expected in [
        ("/u/login", 200, False),
        ("/u/signup", 200, False),
        ("/u/reset-password", 200, False),
        ("/lo/reset", 200, False),
        ("/lo/reset", 400, False),
        ("/u/login", 400, False),
        ("/authorize", 400, False),
        ("/authorize", 200, False),
        ("/v2/logout", 400, False),
        ("/v2/logout", 200, False),
        ("/authorize", 200, True),
    ]:
        assert expected in seen, (expected, sorted(seen))

    # A page that tries to frame the sign-in page gets nothing: the browser refuses.
    session.call(
        """url => new Promise(done => {
             const f = document.createElement('iframe');
             f.name = 'framing-test'; f.src = url; f.onload = () => done(); document.body.appendChild(f);
             setTimeout(done, 5000);
           })""",
        login_url,
    )
    framed = page.frame(name="framing-test")
    assert framed is not None and not framed.url.startswith(live.url), framed and framed.url
    refused = [p for p in session.watch.problems if "frame-ancestors 'none'" in p]
    assert refused, session.watch.problems
    session.watch.problems[:] = [p for p in session.watch.problems if p not in refused]


#: The screenshots kept in docs/screenshots (the others are only checked).
DOCS_SHOTS = {
    "signin-desktop",
    "signin-phone",
    "signin-error-phone",
    "signup-desktop",
    "error-desktop",
}


def _shot_path(name: str, tmp_path: Path) -> Path:
    """docs/screenshots/NAME.png with TETHER_UPDATE_SCREENSHOTS=1; a temporary file otherwise."""
    if os.environ.get("TETHER_UPDATE_SCREENSHOTS") == "1" and name in DOCS_SHOTS:
        folder = REPO / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.png"
    return tmp_path / f"{name}.png"


def _fits(page: Any) -> None:
    """Nothing sticks out sideways; the form's controls are inside the viewport."""
    width = page.evaluate("() => window.innerWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for selector in ["input:not([type=hidden])", "button"]:
        for box in [el.bounding_box() for el in page.query_selector_all(selector)]:
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def _shoot(page: Any, path: Path) -> None:
    """Check the layout, then take the picture (the whole page, no caret, no animation)."""
    _fits(page)
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    assert path.stat().st_size > 5_000


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_screenshots(browser: Any, live: Live, device: str, tmp_path: Path) -> None:
    s = new_session(browser, live, **(DESKTOP if device == "desktop" else PHONE))
    try:
        page = s.open_app()
        s.call("() => playground.login()")
        on_tether(s, "/u/login")
        page.wait_for_load_state("load")
        _shoot(page, _shot_path(f"signin-{device}", tmp_path))

        fill_and_submit(page, email="someone@example.com", password="not the password")
        page.wait_for_selector("#form-error")
        page.focus("#password")
        _shoot(page, _shot_path(f"signin-error-{device}", tmp_path))

        page.click("text=Create an account")
        on_tether(s, "/u/signup")
        page.wait_for_load_state("load")
        _shoot(page, _shot_path(f"signup-{device}", tmp_path))

        page.goto(f"{live.url}/u/login?state=expired")
        page.wait_for_selector(".alert.error")
        _shoot(page, _shot_path(f"error-{device}", tmp_path))
        page.wait_for_timeout(200)
        s.watch.check()
    finally:
        s.context.close()
