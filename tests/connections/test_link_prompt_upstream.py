"""Linking at sign-in with a real upstream (issue 16, part 2): the npm oidc-provider behind an
``oidc`` connection that trusts its ``email_verified``, a live ``tether serve``, and a browser
that follows redirects and submits forms (tests/connections/support.py).

A password account whose owner verified the address with the mailed link; then "Sign in with
local-op-trusted" for the same verified address -> /u/link-account -> Link with the password
-> back at the app with the password account's ``sub``. Each test names the rule of
security-checklist §4.1 it proves."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.connections.conftest import Live, NodeProvider, node_provider
from tests.connections.support import Browser, Page, authorize_url, callback_params, claims_of
from tether.domain.log_filter import LogFilter
from tether.domain.sign_in_linking import FLAG_EVENT
from tether.domain.verification import SUBJECT as VERIFY_SUBJECT

pytestmark = pytest.mark.e2e

PASSWORD = "the existing account's passphrase"
TRUSTED = "local-op-trusted"


@pytest.fixture(scope="module")
def op(live: Live) -> Iterator[NodeProvider]:
    """oidc-provider as ``local-op-trusted`` (trusts email_verified) and ``plain-op`` (does
    not), both enabled for the test app."""
    with node_provider([live.issuer + "login/callback"]) as provider:
        options = provider.connection_options()
        live.add_connections(
            {
                TRUSTED: ("oidc", {**options, "trust_email_verified": True}),
                "plain-op": ("oidc", options),
            }
        )
        yield provider


def mails_to(live: Live, to: str, subject: str) -> list[str]:
    async def go(c: Any) -> list[str]:
        found = await c.mail.list(live.tenant(), limit=200)
        return [m.body for m in found if m.to == to and m.subject == subject]

    result: list[str] = live.admin(go)
    return result


def sign_up(live: Live, email: str) -> str:
    r = httpx.post(
        f"{live.url}/dbconnections/signup",
        json={
            "client_id": live.app_client_id,
            "email": email,
            "password": PASSWORD,
            "connection": "Username-Password-Authentication",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return "auth0|" + str(r.json()["_id"])


def verified_password_account(live: Live, email: str) -> str:
    """Sign-up, then the owner opens the mailed link and presses the button."""
    user_id = sign_up(live, email)
    [body] = mails_to(live, email, VERIFY_SUBJECT)
    link = re.search(r"(http://\S+/lo/verify_email\?ticket=\S+)", body)
    assert link, body
    with Browser() as browser:
        page = browser.go(link.group(1))
        done = browser.submit(page)
    assert done.status == 200 and "Your email address is verified" in done.text, done.text
    return user_id


def at_provider(live: Live, login: str) -> Callable[[Browser, Page], Page]:
    """oidc-provider's login and consent pages; stops back at Tether or at the app."""

    def steps(browser: Browser, page: Page) -> Page:
        for _ in range(4):
            if page.status == 0 or page.url.startswith(live.url):
                return page
            inputs = page.form()["inputs"]
            if inputs.get("prompt") == "login":
                page = browser.submit(page, {"login": login, "password": "anything"})
            else:
                page = browser.submit(page)
        return page

    return steps


def upstream_sign_in(live: Live, browser: Browser, login: str, connection: str = TRUSTED) -> Page:
    page, _ = live.start(browser, connection)
    return at_provider(live, login)(browser, page)


def sub_at_app(live: Live, page: Page) -> str:
    tokens = live.exchange(callback_params(page)["code"])
    return str(claims_of(tokens["id_token"])["sub"])


def prompt(page: Page) -> dict[str, int]:
    """The prompt's forms by decision (their index on the page)."""
    assert page.status in (200, 400) and "/u/link-account" in page.url, (page.url, page.text[:2000])
    forms = page.parsed().forms
    return {f["inputs"]["decision"]: i for i, f in enumerate(forms)}


def api_events(live: Live, event: str) -> list[Any]:
    async def go(c: Any) -> list[Any]:
        found, _ = await c.logs.page(
            live.tenant().id, LogFilter(types=("sapi",)), offset=0, limit=200
        )
        return [e for e in found if (e.details or {}).get("event") == event]

    result: list[Any] = live.admin(go)
    return result


def test_upstream_sign_in_links_into_the_password_account(live: Live, op: NodeProvider) -> None:
    """Classic-federated merge (security-checklist §4.1): the upstream's verified email offers;
    the password account's password, entered now, proves it; the app gets its ``sub``."""
    existing = verified_password_account(live, "carol@example.com")
    with Browser() as browser:
        page = upstream_sign_in(live, browser, "carol")
        forms = prompt(page)
        assert "carol@example.com" in page.text and "a password" in page.text
        wrong = browser.submit(page, {"password": "not the password"}, index=forms["link"])
        assert wrong.status == 400 and "Wrong password." in wrong.text
        done = browser.submit(wrong, {"password": PASSWORD}, index=prompt(wrong)["link"])
        assert sub_at_app(live, done) == existing
    user = live.user(existing)
    assert user is not None
    assert sorted(i["provider"] for i in user["identities"]) == ["auth0", "oidc"]
    # Signing in through the provider again: the linked account, no prompt.
    with Browser() as browser:
        again = upstream_sign_in(live, browser, "carol")
        assert sub_at_app(live, again) == existing


def test_keep_separate_then_not_asked_again(live: Live, op: NodeProvider) -> None:
    existing = verified_password_account(live, "dave@example.com")
    with Browser() as browser:
        page = upstream_sign_in(live, browser, "dave")
        done = browser.submit(page, index=prompt(page)["separate"])
        separate = sub_at_app(live, done)
    assert separate == f"oidc|{TRUSTED}|dave" and separate != existing
    with Browser() as browser:
        assert sub_at_app(live, upstream_sign_in(live, browser, "dave")) == separate


def test_unverified_on_either_side_offers_nothing(live: Live, op: NodeProvider) -> None:
    """Non-verifying IdP (security-checklist §4.1): bob's provider says unverified, and the
    untrusted connection's "verified" counts for nothing: no prompt either way."""
    verified_password_account(live, "bob@example.com")
    with Browser() as browser:
        assert sub_at_app(live, upstream_sign_in(live, browser, "bob")).startswith("oidc|")
    verified_password_account(live, "alice@example.com")
    with Browser() as browser:
        page = upstream_sign_in(live, browser, "alice", connection="plain-op")
        assert sub_at_app(live, page) == "oidc|plain-op|alice"


def test_a_squatter_is_flagged_then_detached_by_the_owners_reset(
    live: Live, op: NodeProvider
) -> None:
    """Classic-federated merge and trojan identifier (security-checklist §4.1): a squatter
    pre-registers erin@ (unverified) and links an account of their own into it; erin signs in
    through her provider (verified): no prompt, the squatted account is flagged; erin then
    resets its password through her mailbox, and the squatter's identity is detached."""
    squatted = sign_up(live, "erin@example.com")
    mallory = sign_up(live, "mallory@evil.example")
    linked = live.api(
        "POST",
        f"/users/{quote(squatted, safe='')}/identities",
        json={"provider": "auth0", "user_id": mallory.split("|", 1)[1]},
    )
    assert linked.status_code == 201, linked.text
    with Browser() as browser:
        erin = sub_at_app(live, upstream_sign_in(live, browser, "erin"))
    assert erin == f"oidc|{TRUSTED}|erin"
    assert [e.user_id for e in api_events(live, FLAG_EVENT)] == [squatted]

    r = httpx.post(
        f"{live.url}/dbconnections/change_password",
        json={
            "client_id": live.app_client_id,
            "email": "erin@example.com",
            "connection": "Username-Password-Authentication",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    [body] = mails_to(live, "erin@example.com", "Reset your password")
    link = re.search(r"(http://\S+/lo/reset\?ticket=\S+)", body)
    assert link, body
    new = "erin's own new passphrase"
    with Browser() as browser:
        page = browser.go(link.group(1))
        done = browser.submit(page, {"password": new, "confirm": new})
    assert done.status == 200, done.text
    user = live.user(squatted)
    assert user is not None and user["email_verified"] is True
    assert [i["provider"] for i in user["identities"]] == ["auth0"]
    assert live.user(mallory) is not None  # a user of its own again


def test_an_upstream_account_is_proven_by_a_fresh_sign_in_there(
    live: Live, op: NodeProvider
) -> None:
    """Classic-federated merge (security-checklist §4.1), the other way round: the existing
    account signs in only through the provider; Link sends the person there again
    (``prompt=login``), and only a sign-in as that account links. Someone else's sign-in at
    the provider links nothing."""
    with Browser() as browser:
        existing = sub_at_app(live, upstream_sign_in(live, browser, "frank"))
    assert existing == f"oidc|{TRUSTED}|frank"
    verified_password_account(live, "frank@example.com")

    def password_then_prompt(browser: Browser) -> Page:
        url, _ = authorize_url(live.issuer, live.app_client_id)
        page = browser.go(url)
        page = browser.submit(page, {"email": "frank@example.com", "password": PASSWORD})
        prompt(page)
        assert f"Sign in with {TRUSTED} to link" in page.text
        return browser.go(page.link("/u/link-account/upstream"))

    with Browser() as browser:
        at_op = password_then_prompt(browser)
        # The provider was asked for a fresh sign-in (OIDC Core §3.1.2.1).
        assert any(op.issuer in h and "prompt=login" in h for h in browser.history)
        refused = at_provider(live, "carol")(browser, at_op)
        assert refused.status == 409, (refused.url, refused.text[:2000])
        assert "That sign-in is not the existing account&#39;s." in refused.text
    user = live.user(existing)
    assert user is not None and len(user["identities"]) == 1

    with Browser() as browser:
        at_op = password_then_prompt(browser)
        done = at_provider(live, "frank")(browser, at_op)
        assert sub_at_app(live, done) == existing
    user = live.user(existing)
    assert user is not None
    assert sorted(i["provider"] for i in user["identities"]) == ["auth0", "oidc"]
