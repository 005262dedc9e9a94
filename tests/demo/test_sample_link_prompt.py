"""The link prompt at sign-in in the demo (issue 16, parts 2 and 3), in Chromium: sam has a
verified password account on Tether and a verified account at the outside IdP. Signing in to
the sample with "Continue with Outside IdP (demo)" as sam stops on Tether's prompt; Link with
sam's Tether password returns to the sample signed in as the password account, with the
outside identity linked. The prompt's screenshot is docs/screenshots/demo-13-link-prompt.png."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.demo.support import Demo, Person, shot
from tether.domain.demo import LINK_EMAIL, LINK_OUTSIDE_PASSWORD, LINK_PASSWORD

pytestmark = pytest.mark.browser


def test_outside_idp_sign_in_offers_to_link_into_the_password_account(
    demo: Demo, people: Callable[[], Person]
) -> None:
    [existing] = [
        u["user_id"]
        for u in demo.cli("users", "search", f'email:"{LINK_EMAIL}"')
        if u["user_id"].startswith("auth0|")
    ]
    sam = people()
    page = sam.page
    page.click("#login")
    page.wait_for_url(lambda u: u.startswith(f"{demo.url}/u/login"))
    page.click("text=Continue with Outside IdP (demo)")
    page.wait_for_url(lambda u: u.startswith(f"{demo.upstream_url}/u/login"))
    page.fill("#email", LINK_EMAIL)
    page.fill("#password", LINK_OUTSIDE_PASSWORD)
    page.click("form button[type=submit]")

    page.wait_for_url(lambda u: u.startswith(f"{demo.url}/u/link-account"))
    assert "An account with sam@example.com already exists" in page.inner_text("main")
    assert "It signs in with a password." in page.inner_text("main")
    shot(page, "13-link-prompt")
    page.fill("#password", LINK_PASSWORD)
    page.click("#link")

    sam.ready()
    page.wait_for_selector("#profile-user-id")
    assert sam.user_id() == existing
    [outside] = sam.wait_for_identities(1)
    assert outside["provider"] == "oidc"
    held = demo.cli("users", "show", existing)
    assert [i["provider"] for i in held["identities"]] == ["auth0", "oidc"]


def test_the_prompt_in_the_samples_link_account_popup(
    demo: Demo, people: Callable[[], Person]
) -> None:
    """In the sample's Link Account popup (spa-js ``loginWithPopup``, answered by
    ``web_message``): kim signs in at the outside IdP, Tether asks in the popup, "Keep
    separate" answers the popup, and the sample links the outside account into its user."""
    kim = "kim@example.com"
    demo.cli("users", "create", "--email", kim, "--password", "kim password here", "--verified")
    demo.cli(
        "users",
        "create",
        "--email",
        kim,
        "--password",
        "kim outside password",
        "--verified",
        "--tenant",
        "outside-idp",
    )
    ann = people()
    ann.sign_up("ann-popup@example.com")
    primary = ann.user_id()

    popup = ann.click_link_account()
    popup.click("text=Continue with Outside IdP (demo)")
    popup.wait_for_url(lambda u: u.startswith(f"{demo.upstream_url}/u/login"))
    popup.fill("#email", kim)
    popup.fill("#password", "kim outside password")
    popup.click("form button[type=submit]")
    popup.wait_for_url(lambda u: u.startswith(f"{demo.url}/u/link-account"))
    assert "An account with kim@example.com already exists" in popup.inner_text("main")
    popup.click("#separate")

    [linked] = ann.wait_for_identities(1)
    assert linked["provider"] == "oidc" and kim in linked["text"]
    assert ann.user_id() == primary
    assert ann.error() is None
