"""auth0-js 10.2.1 and 9.32.0, unmodified, in Chromium: WebAuth ``authorize`` + ``parseHash``
(implicit, ID token checked against the JWKS fetched cross-origin), ``checkSession`` (hidden
iframe, web_message), ``client.userInfo``, and the Management client's ``getUser``,
``patchUserMetadata`` and ``linkUser`` with the user's own token, as the seed's flow does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import PASSWORD
from tests.sdks.conftest import Live, email

pytestmark = pytest.mark.browser

VERSIONS = {"10.2.1": "auth0js.html", "9.32.0": "auth0js9.html"}


def sign_in(live: Live, context: Any, page_name: str, address: str) -> tuple[Any, dict[str, Any]]:
    """authorize() -> Tether's sign-in page -> back at the app, where parseHash ran."""
    page = context.new_page()
    page.goto(f"{live.pages}/{page_name}")
    page.wait_for_selector("body[data-ready]", state="attached")
    page.evaluate("() => app.login()")
    page.wait_for_url(lambda u: u.startswith(f"{live.url}/u/login"))
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda u: u.startswith(f"{live.pages}/{page_name}#"))
    page.wait_for_selector("body[data-ready]", state="attached")
    outcome: dict[str, Any] = page.evaluate("() => app.callback")
    assert outcome["ok"], outcome
    return page, outcome["result"]


@pytest.mark.parametrize("version", VERSIONS)
def test_auth0_js_sign_in_session_profile_and_link(
    live: Live, browser: Any, context: Any, version: str
) -> None:
    page_name = VERSIONS[version]
    ann, bea = email("ann"), email("bea")
    ann_id, bea_id = live.signup(ann), live.signup(bea)

    page, result = sign_in(live, context, page_name, ann)
    assert page.evaluate("() => app.version") == version
    claims = result["idTokenPayload"]
    assert claims["sub"] == ann_id
    assert claims["email"] == ann
    assert claims["iss"] == live.issuer
    assert result["tokenType"] == "Bearer"
    token = result["accessToken"]

    # checkSession: the hidden iframe answers from Tether's session, and the ID token validates.
    session = page.evaluate("() => app.checkSession()")
    assert session["ok"], session
    assert session["result"]["idTokenPayload"]["sub"] == ann_id

    info = page.evaluate("t => app.userInfo(t)", token)
    assert info["ok"], info
    assert info["result"]["sub"] == ann_id
    assert info["result"]["email"] == ann

    # The Management API with the user's own token (read:current_user and friends).
    user = page.evaluate("([t, id]) => app.getUser(t, id)", [token, ann_id])
    assert user["ok"], user
    assert user["result"]["user_id"] == ann_id
    assert len(user["result"]["identities"]) == 1
    patched = page.evaluate(
        "([t, id]) => app.patchUserMetadata(t, id, {color: 'teal'})", [token, ann_id]
    )
    assert patched["ok"], patched
    assert patched["result"]["user_metadata"] == {"color": "teal"}

    # Bea signs in in another profile; her ID token proves the account to link.
    other = browser.new_context(ignore_https_errors=True)
    try:
        _, bea_result = sign_in(live, other, page_name, bea)
    finally:
        other.close()
    linked = page.evaluate(
        "([t, id, s]) => app.linkUser(t, id, s)", [token, ann_id, bea_result["idToken"]]
    )
    assert linked["ok"], linked
    assert [(i["provider"], i["user_id"]) for i in linked["result"]] == [
        ("auth0", ann_id.removeprefix("auth0|")),
        ("auth0", bea_id.removeprefix("auth0|")),
    ]
    held = live.cli("users", "show", ann_id)
    assert len(held["identities"]) == 2
    assert held["user_metadata"] == {"color": "teal"}
