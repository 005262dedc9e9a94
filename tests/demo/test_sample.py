"""The seed's tutorial, clicked through in Chromium on ``tether serve --demo``: sign up in the
AngularJS sample, link an email-code account and the outside IdP's account through the sample's
popup, unlink one (it signs in again as a user of its own), and see the 409 of an account that
was linked elsewhere. Each step's screenshot goes to docs/screenshots/demo-*.png."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.demo.support import OUTSIDE_EMAIL, Demo, Person, shot

pytestmark = pytest.mark.browser

ANN = "ann@example.com"  # the primary: a password account made in the sample
BEA = "bea@example.com"  # an email-code (passwordless) account
CAL = "cal@example.com"  # a password account, for the conflict
DAN = "dan@example.com"


def test_link_an_email_code_and_the_outside_idp_then_unlink(
    demo: Demo, people: Callable[[], Person]
) -> None:
    ann = people()
    shot(ann.page, "01-signed-out")

    # Sign up a password user in the sample.
    ann.sign_up(ANN, screenshot="02-sign-up")
    primary = ann.user_id()
    assert primary.startswith("auth0|")
    assert ann.identities() == []
    shot(ann.page, "03-signed-in")

    # Link Account -> the popup -> an email code read from the demo mailbox.
    popup = ann.click_link_account()
    shot(popup, "04-popup-sign-in")
    ann.email_code_sign_in(popup, BEA, screenshots=("05-mailbox", "06-email-code"))
    [email] = ann.wait_for_identities(1)
    assert email["provider"] == "email"
    assert BEA in email["text"]
    assert ann.error() is None
    assert ann.user_id() == primary
    shot(ann.page, "07-linked-email")

    # Link Account again, with the outside IdP's account (the second tenant on 127.0.0.1).
    popup = ann.click_link_account()
    ann.outside_idp_sign_in(popup, screenshot="08-outside-idp")
    both = ann.wait_for_identities(2)
    assert [i["provider"] for i in both] == ["email", "oidc"]
    assert OUTSIDE_EMAIL in both[1]["text"]
    assert ann.error() is None
    shot(ann.page, "09-two-linked")

    # What the sample shows is what the server holds.
    held = demo.cli("users", "show", primary)
    assert [(i["provider"], i["user_id"]) for i in held["identities"][1:]] == [
        (i["provider"], i["user_id"]) for i in both
    ]

    # Unlink the email identity: the list updates.
    ann.page.click('.identities-item[data-provider="email"] button.unlink')
    [left] = ann.wait_for_identities(1)
    assert left["provider"] == "oidc"
    assert ann.error() is None
    shot(ann.page, "10-unlinked")

    # The unlinked identity signs in again as a user of its own, in another window.
    bea = people()
    bea.page.click("#login")
    bea.page.wait_for_url(lambda u: u.startswith(f"{demo.url}/u/login"))
    bea.email_code_sign_in(bea.page, BEA)
    bea.ready()
    bea.page.wait_for_selector("#profile-user-id")
    assert bea.user_id() == f"email|{email['user_id']}"
    assert bea.identities() == []
    shot(bea.page, "11-unlinked-signs-in")
    # ... and is gone from the primary, which keeps the outside IdP.
    held = demo.cli("users", "show", primary)
    assert [i["provider"] for i in held["identities"]] == ["auth0", "oidc"]


def test_an_account_linked_elsewhere_is_a_409_on_the_page(
    demo: Demo, people: Callable[[], Person]
) -> None:
    """Dan signs Cal's account in through his Link Account popup; before Dan's POST reaches
    Tether, Ann's window links Cal's account to Ann. Dan's link then names an identity that
    belongs to someone else: 409 "Specified identity already exists.", shown on Dan's page.

    (Signing in through an identity that is already linked gives an ID token for the user it
    is linked to, so a fresh sign-in links that whole user instead, as Auth0 does: the 409 is
    what a link_with token issued before the other link gets.)"""
    demo.signup(CAL)
    dan = people()
    dan.sign_up(DAN)
    ann = people()
    ann.sign_up("ann2@example.com")

    held: list[object] = []
    pattern = f"{demo.url}/api/v2/users/*/identities"

    def hold(route: object, request: object) -> None:
        if getattr(request, "method", "") == "POST":
            held.append(route)
        else:
            route.continue_()  # type: ignore[attr-defined]

    dan.page.route(pattern, hold)
    popup = dan.click_link_account()
    dan.password_sign_in(popup, CAL)
    for _ in range(200):  # events reach Python while the page waits: 20 s at most
        if held:
            break
        dan.page.wait_for_timeout(100)
    assert held, "Dan's link request never left the page"

    # Meanwhile Ann links Cal's account.
    popup = ann.click_link_account()
    ann.password_sign_in(popup, CAL)
    [cal] = ann.wait_for_identities(1)
    assert cal["provider"] == "auth0"

    # Dan's request goes on: 409, shown on the page, and Dan's list is unchanged.
    held[0].continue_()  # type: ignore[attr-defined]
    dan.page.wait_for_selector("#error")
    dan.idle()
    message = dan.error()
    assert message is not None
    assert "409" in message and "Specified identity already exists." in message, message
    assert dan.identities() == []
    dan.page.unroute(pattern)
    shot(dan.page, "12-conflict")
