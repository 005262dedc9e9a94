"""The dashboard and the Linked accounts page in Chromium, as an admin and as a person would use
them; axe-core on the sign-in page, the dashboard's user page and the account page."""

from __future__ import annotations

import pytest

from tests.browser.support import Session
from tests.dashboard.browser.conftest import Live
from tests.dashboard.browser.support import (
    assert_accessible,
    open_signed_in,
    screenshot,
    sign_in_here,
)

pytestmark = pytest.mark.browser


def _identity_rows(page: object) -> int:
    return int(page.locator("#identities tbody tr").count())  # type: ignore[attr-defined]


def test_admin_searches_a_user_opens_it_unlinks_an_identity_and_the_list_updates(
    session: Session, live: Live
) -> None:
    ann = live.user("ann", name="Ann Example")
    work = live.user("annwork", name="Ann at Work")
    live.link(ann, work)
    page = session.page
    page.goto(live.url + "/dashboard")
    sign_in_here(page, live.url, live.admin_email)
    page.wait_for_url(lambda u: u.startswith(live.url + "/dashboard/users"))
    assert page.locator("h1").inner_text() == "Users"

    # Search with the Management API's Lucene syntax.
    page.fill("#q", f'email:"{ann["email"]}"')
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "q=" in u)
    rows = page.locator("#users tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(2).inner_text().strip() == "2"  # identities
    screenshot(page, "dashboard-users")
    rows.first.locator("a").click()
    page.wait_for_url(lambda u: "/dashboard/user?" in u)
    assert page.locator("#user-id").inner_text() == ann["user_id"]
    assert _identity_rows(page) == 2
    assert work["email"] in page.locator("#identities").inner_text()
    assert_accessible(page)
    screenshot(page, "dashboard-user")

    # Unlink the second identity: the page says so, and the table loses the row.
    page.get_by_role(
        "button", name=f"Unlink auth0 identity {work['user_id'].split('|')[1]}"
    ).click()
    page.wait_for_load_state()
    assert "unlinked" in page.get_by_role("status").inner_text()
    assert _identity_rows(page) == 1

    # The list shows both users again, one identity each.
    page.goto(
        live.url + "/dashboard/users?q=" + f'email:"{ann["email"]}" OR email:"{work["email"]}"'
    )
    rows = page.locator("#users tbody tr")
    assert rows.count() == 2
    for i in range(2):
        assert rows.nth(i).locator("td").nth(2).inner_text().strip() == "1"


def test_a_non_admin_is_refused(session: Session, live: Live) -> None:
    eve = live.user("eve")
    page = session.page
    open_signed_in(page, live.url, "/dashboard/users", eve["email"])
    assert "don't have access" in page.locator("h1").inner_text()
    assert eve["email"] in page.get_by_role("alert").inner_text()
    assert page.locator("#users").count() == 0


def test_a_person_links_a_second_account_unlinks_it_and_cannot_unlink_the_main_one(
    session: Session, live: Live
) -> None:
    ann = live.user("person", name="Pat Person")
    other = live.user("personwork", name="Pat at Work")
    page = session.page
    page.goto(live.url + "/account")
    page.wait_for_url(lambda u: u.startswith(live.url + "/u/login"))
    assert_accessible(page)
    screenshot(page, "account-sign-in")
    sign_in_here(page, live.url, ann["email"])
    page.wait_for_url(live.url + "/account")

    # Link: sign in to the other account in the same flow.
    page.get_by_role("button", name="Link another account").click()
    sign_in_here(page, live.url, other["email"])
    page.wait_for_url(lambda u: u.startswith(live.url + "/account?"))
    assert "was linked" in page.get_by_role("status").inner_text()
    table = page.locator("table").first
    assert other["email"] in table.inner_text()
    assert (
        "Account linked" in page.locator("section", has_text="Recent security events").inner_text()
    )
    assert_accessible(page)
    screenshot(page, "account")

    # The main identity has no Unlink button; a forged form is refused all the same.
    assert page.get_by_role("button", name="Unlink").count() == 1
    provider, subject = ann["user_id"].split("|")
    page.evaluate(
        """([p, s]) => {
          const f = document.querySelector('form[action="/account/unlink"]');
          f.querySelector('[name=provider]').value = p;
          f.querySelector('[name=user_id]').value = s;
        }""",
        [provider, subject],
    )
    page.get_by_role("button", name="Unlink").click()
    page.wait_for_load_state()
    assert "main sign-in can't be unlinked" in page.get_by_role("alert").inner_text()

    page.get_by_role("button", name="Unlink").click()
    page.wait_for_load_state()
    assert "was unlinked" in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name="Unlink").count() == 0
    assert other["email"] not in page.locator("table").first.inner_text()


def test_a_stale_session_is_asked_to_sign_in_again_before_an_unlink(
    session: Session, live: Live
) -> None:
    ann = live.user("stale")
    other = live.user("stalework")
    live.link(ann, other)
    page = session.page
    open_signed_in(page, live.url, "/account", ann["email"])
    live.age_sessions(ann["email"], 11)
    page.reload()
    assert "more than 10 minutes ago" in page.locator("#reauth-hint").inner_text()

    page.get_by_role("button", name="Unlink").click()
    page.wait_for_url(lambda u: u.startswith(live.url + "/u/login"))
    assert page.locator("#email").input_value() == ann["email"]
    sign_in_here(page, live.url, ann["email"])
    page.wait_for_url(lambda u: u.startswith(live.url + "/account?"))
    assert "signed in again" in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name="Unlink").count() == 1  # nothing unlinked yet

    page.get_by_role("button", name="Unlink").click()
    page.wait_for_load_state()
    assert "was unlinked" in page.get_by_role("status").inner_text()


def test_the_account_page_on_a_phone(phone: Session, live: Live) -> None:
    ann = live.user("phone", name="Phone Person")
    live.link(ann, live.user("phonework"))
    page = phone.page
    open_signed_in(page, live.url, "/account", ann["email"])
    # Nothing wider than the screen but the tables' own scrolling boxes.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(e => !e.parentElement.closest('.table-wrap') && e.getBoundingClientRect().right > 391)
          .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
    )
    assert not wide, wide
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    screenshot(page, "account-phone")
    # Keyboard: the skip link comes first and lands on the content.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
