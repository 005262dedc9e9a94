"""Signing in through a real OpenID provider (the npm package oidc-provider) with the ``oidc``
strategy and with the ``google-oauth2`` preset pointed at it, and through a second Tether tenant
as an ``oidc`` upstream: plain HTTP (httpx, following redirects and forms). Each sign-in makes an
identity of the right shape, and the next one finds the same user. Then a password user links a
GitHub and an OIDC identity through the Management API and signs in through each as the same
``sub``; and one sign-in through oidc-provider in Chromium (Playwright), from the hosted page."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS
from tests.connections.conftest import (
    Live,
    NodeProvider,
    keep_separate,
    node_login,
    node_provider,
)
from tests.connections.fake_github import FakeGitHub, GithubAccount
from tests.connections.support import (
    APP_CALLBACK,
    Browser,
    Page,
    authorize_url,
    claims_of,
    serving,
)
from tether.domain.applications import NewApplication
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.models import AppType
from tether.domain.users import NewDatabaseUser
from tether.protocol.grants import GrantType

pytestmark = pytest.mark.e2e

#: The second tenant: the same server under another host name, so it is another site.
EXTRA_TENANTS = {"outside": "http://localhost:{port}"}
OUTSIDE_EMAIL = "outside-person@example.com"
OUTSIDE_PASSWORD = "outside tenant password 42"


@pytest.fixture(scope="module")
def op(live: Live) -> Iterator[NodeProvider]:
    """oidc-provider behind three connections: ``local-op`` and ``local-op-trusted`` (oidc, the
    second trusting its email_verified) and ``google-oauth2`` (the preset)."""
    with node_provider([live.issuer + "login/callback"]) as provider:
        options = provider.connection_options()
        live.add_connections(
            {
                "local-op": ("oidc", options),
                "local-op-trusted": ("oidc", {**options, "trust_email_verified": True}),
                "google-oauth2": (
                    "google-oauth2",
                    {
                        k: options[k]
                        for k in ("discovery_url", "issuer", "client_id", "client_secret")
                    },
                ),
            }
        )
        yield provider


@pytest.fixture(scope="module")
def outside(live: Live) -> str:
    """The second tenant as an upstream ``oidc`` connection ``outside-idp`` (as demo.py does),
    with an account on it; the upstream user's ``sub``."""
    upstream = live.tenant("outside")

    async def go(c: Any) -> str:
        rp = await c.applications.create(
            upstream,
            NewApplication(
                name="Tether main tenant",
                app_type=AppType.REGULAR_WEB,
                callbacks=(live.issuer + "login/callback",),
                grant_types=(GrantType.AUTHORIZATION_CODE.value,),
            ),
        )
        await c.connections.enable(upstream, DEFAULT_DATABASE, rp.application.client_id)
        user = await c.users.create(
            upstream,
            None,
            NewDatabaseUser(
                email=OUTSIDE_EMAIL,
                password=OUTSIDE_PASSWORD,
                email_verified=True,
                profile={"name": "Outside Person"},
            ),
        )
        await c.connections.create(
            live.tenant(),
            "outside-idp",
            "oidc",
            {
                "display_name": "Outside IdP",
                "discovery_url": upstream.issuer + ".well-known/openid-configuration",
                "issuer": upstream.issuer,
                "client_id": rp.application.client_id,
                "client_secret": rp.client_secret,
                "scope": "openid profile email",
                "trust_email_verified": True,
            },
            [live.app_client_id],
        )
        return str(user.user_id)

    return str(live.admin(go))


def identity(user: dict[str, Any]) -> dict[str, Any]:
    assert len(user["identities"]) == 1, user
    found: dict[str, Any] = user["identities"][0]
    return found


def test_oidc_sign_in_makes_an_oidc_identity(live: Live, op: NodeProvider) -> None:
    with Browser() as browser:
        tokens = live.sign_in(browser, "local-op", node_login("alice"))
    sub = tokens["claims"]["sub"]
    assert sub == "oidc|local-op|alice"
    user = live.user(sub)
    assert user is not None
    assert identity(user) == {
        "provider": "oidc",
        "connection": "local-op",
        "user_id": "local-op|alice",
        "isSocial": False,
    }
    assert user["email"] == "alice@example.com"
    # A generic OIDC provider's email_verified is not trusted unless the connection says so.
    assert user["email_verified"] is False
    assert user["name"] == "Alice Upstream"
    assert user["given_name"] == "Alice" and user["family_name"] == "Upstream"
    assert user["logins_count"] == 1

    # Again, in a new browser: the same user, found by (connection, subject).
    with Browser() as browser:
        again = live.sign_in(browser, "local-op", node_login("alice"))
    assert again["claims"]["sub"] == sub
    after = live.user(sub)
    assert after is not None and after["logins_count"] == 2


def test_a_trusted_connection_takes_the_providers_email_verified(
    live: Live, op: NodeProvider
) -> None:
    with Browser() as browser:
        alice = live.sign_in(browser, "local-op-trusted", node_login("alice"))
    with Browser() as browser:
        bob = live.sign_in(browser, "local-op-trusted", node_login("bob"))
    user = live.user(alice["claims"]["sub"])
    assert user is not None and user["email_verified"] is True
    assert user["user_id"] == "oidc|local-op-trusted|alice"
    # Bob's provider says false: false, however much the connection trusts it.
    other = live.user(bob["claims"]["sub"])
    assert other is not None
    assert (other["email"], other["email_verified"]) == ("bob@example.com", False)
    # One provider account, two connections: two separate users (never joined by email).
    first = live.user("oidc|local-op|alice")
    assert first is not None and first["user_id"] != user["user_id"]


def test_google_preset_pointed_at_the_local_provider(live: Live, op: NodeProvider) -> None:
    with Browser() as browser:
        # alice@ is verified on local-op-trusted too (an earlier test): Tether offers to link.
        tokens = live.sign_in(browser, "google-oauth2", keep_separate(node_login("alice")))
    sub = tokens["claims"]["sub"]
    assert sub == "google-oauth2|alice"
    assert tokens["claims"]["email"] == "alice@example.com"
    user = live.user(sub)
    assert user is not None
    assert identity(user) == {
        "provider": "google-oauth2",
        "connection": "google-oauth2",
        "user_id": "alice",
        "isSocial": True,
    }
    assert user["email_verified"] is True
    assert user["name"] == "Alice Upstream"


def _outside_login(browser: Browser, page: Page) -> Page:
    """At the second tenant: its own hosted sign-in page."""
    assert page.status == 200 and page.url.startswith("http://localhost:"), page.url
    assert "/u/login" in page.url, page.url
    return browser.submit(page, {"email": OUTSIDE_EMAIL, "password": OUTSIDE_PASSWORD})


def test_second_tenant_as_an_oidc_upstream(live: Live, outside: str) -> None:
    with Browser() as browser:
        tokens = live.sign_in(browser, "outside-idp", _outside_login)
        # The two tenants' sessions live on their own hosts.
        assert browser.cookie("localhost", "tether_session")
        assert browser.cookie("127.0.0.1", "tether_session")
    sub = tokens["claims"]["sub"]
    assert sub == f"oidc|outside-idp|{outside}"
    user = live.user(sub)
    assert user is not None
    assert identity(user) == {
        "provider": "oidc",
        "connection": "outside-idp",
        "user_id": f"outside-idp|{outside}",
        "isSocial": False,
    }
    assert (user["email"], user["email_verified"]) == (OUTSIDE_EMAIL, True)
    assert user["name"] == "Outside Person"

    # The upstream tenant's session carries the next sign-in: the main tenant asks again
    # (prompt=login), the upstream one sends the person straight back.
    with Browser() as browser:
        first = live.sign_in(browser, "outside-idp", _outside_login)
        again = live.sign_in(browser, "outside-idp", prompt="login")
    assert first["claims"]["sub"] == again["claims"]["sub"] == sub


def test_the_sign_in_page_shows_the_upstream_connections(live: Live, op: NodeProvider) -> None:
    with Browser() as browser:
        url, _ = authorize_url(live.issuer, live.app_client_id)
        page = browser.go(url)
    assert page.status == 200
    for name in ("local-op", "google-oauth2"):
        assert "/u/login/upstream?state=" in page.link(f"connection={name}")
    assert "Continue with Google" in page.text


def test_cancelling_at_the_provider_changes_nothing(live: Live, op: NodeProvider) -> None:
    """Cancelling at the provider: the app hears access_denied with its own state."""
    before = live.user_count()

    def cancel(browser: Browser, page: Page) -> Page:
        return browser.go(page.link("/abort"))

    with Browser() as browser:
        params = live.fails(browser, "local-op", cancel)
    assert params["error"] == "access_denied", params
    assert live.user_count() == before


# -- linking these identities through the Management API ------------------------------------


@pytest.fixture(scope="module")
def github(live: Live) -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with serving(fake.app) as server:
        fake.url = server.url
        live.add_connection("github", "github", fake.connection_options())
        yield fake


LINKER_EMAIL = "linker@example.com"
LINKER_PASSWORD = "linker password 1234"
USER_SCOPE = "openid read:current_user update:current_user_identities"


def test_a_password_user_links_github_and_oidc_then_signs_in_through_each(
    live: Live, op: NodeProvider, github: FakeGitHub
) -> None:
    async def make(c: Any) -> str:
        user = await c.users.create(
            live.tenant(),
            None,
            NewDatabaseUser(email=LINKER_EMAIL, password=LINKER_PASSWORD, email_verified=True),
        )
        return str(user.user_id)

    primary = str(live.admin(make))
    github.add(
        GithubAccount(
            id=9001,
            login="linker-gh",
            emails=[{"email": LINKER_EMAIL, "primary": True, "verified": True}],
        )
    )
    github.next_account = 9001

    # The person signs in with each identity: each is a user of its own for now (no joining by
    # email, even verified: Tether only offers, and the person keeps them apart here).
    with Browser() as browser:
        gh = live.sign_in(browser, "github", keep_separate())
    with Browser() as browser:
        oidc = live.sign_in(browser, "local-op", node_login("carol"))
    assert gh["claims"]["sub"] == "github|9001" != primary
    assert oidc["claims"]["sub"] == "oidc|local-op|carol"

    # Signed in with the password, the person links GitHub with the ID token Tether issued
    # for the GitHub sign-in (link_with; the user token's azp is the same app).
    with Browser() as browser:
        mine = live.password_sign_in(
            browser,
            LINKER_EMAIL,
            LINKER_PASSWORD,
            audience=live.issuer + "api/v2/",
            scope=USER_SCOPE,
        )
    assert mine["claims"]["sub"] == primary
    r = live.api(
        "POST",
        f"/users/{primary}/identities",
        json={"link_with": gh["id_token"]},
        token=mine["access_token"],
    )
    assert r.status_code == 201, r.text
    assert [(i["provider"], i["user_id"]) for i in r.json()] == [
        ("auth0", primary.split("|", 1)[1]),
        ("github", "9001"),
    ]
    # The OIDC identity server-side, with the machine token (update:users).
    r = live.api(
        "POST",
        f"/users/{primary}/identities",
        json={"provider": "oidc", "user_id": "local-op|carol"},
    )
    assert r.status_code == 201, r.text

    user = live.user(primary)
    assert user is not None
    assert [(i["provider"], i["connection"], i["user_id"]) for i in user["identities"]] == [
        ("auth0", "Username-Password-Authentication", primary.split("|", 1)[1]),
        ("github", "github", "9001"),
        ("oidc", "local-op", "local-op|carol"),
    ]
    linked = {i["provider"]: i for i in user["identities"]}
    assert linked["github"]["isSocial"] is True and linked["oidc"]["isSocial"] is False
    assert linked["github"]["profileData"]["nickname"] == "linker-gh"
    assert linked["oidc"]["profileData"]["name"] == "Carol Upstream"
    assert live.user("github|9001") is None and live.user("oidc|local-op|carol") is None

    # Each way in now signs in the same person.
    with Browser() as browser:
        assert live.sign_in(browser, "github")["claims"]["sub"] == primary
    with Browser() as browser:
        assert live.sign_in(browser, "local-op", node_login("carol"))["claims"]["sub"] == primary
    with Browser() as browser:
        again = live.password_sign_in(browser, LINKER_EMAIL, LINKER_PASSWORD)
    assert again["claims"]["sub"] == primary
    # A linked secondary's sign-in does not overwrite the primary's profile.
    after = live.user(primary)
    assert after is not None and after["email"] == LINKER_EMAIL


# -- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright, set up as tests/browser does."""
    if not Path(CHROMIUM).is_file() or importlib.util.find_spec("playwright") is None:
        _require_browser(f"{CHROMIUM} or the playwright package is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


def _require_browser(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _loopback_only(route: Any) -> None:
    """Loopback goes through; the app's callback gets a stub page; anything else (the dev
    login page's web font) is refused, so nothing leaves the machine."""
    url = route.request.url
    if url.startswith(APP_CALLBACK):
        route.fulfill(status=200, content_type="text/html", body="<title>app</title>back")
    elif urlsplit(url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


@pytest.mark.browser
def test_chromium_signs_in_through_the_provider_from_the_hosted_page(
    live: Live, op: NodeProvider, chromium: Any
) -> None:
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(20_000)
    problems: list[str] = []
    try:
        context.route("**/*", _loopback_only)
        page = context.new_page()
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        url, state = authorize_url(live.issuer, live.app_client_id)
        page.goto(url)
        page.wait_for_url(lambda u: u.startswith(live.url + "/u/login"))
        # The hosted page's button for the connection (an exact href: local-op-trusted exists too).
        page.click('a[href$="connection=local-op"]')
        page.wait_for_url(lambda u: u.startswith(op.issuer + "/interaction/"))
        page.fill("input[name=login]", "dave")
        page.fill("input[name=password]", "any password")
        page.click("button[type=submit]")
        page.wait_for_selector("input[name=prompt][value=consent]", state="attached")
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: u.startswith(APP_CALLBACK))
        query = parse_qs(urlsplit(page.url).query)
        cookies = {c["name"] for c in context.cookies(live.url + "/login/callback")}
    finally:
        context.close()
    assert query["state"] == [state], query
    tokens = live.exchange(query["code"][0])
    sub = claims_of(tokens["id_token"])["sub"]
    assert sub == "oidc|local-op|dave"
    user = live.user(sub)
    assert user is not None and identity(user)["connection"] == "local-op"
    assert "tether_session" in cookies and "tether_upstream" not in cookies
    assert not problems, problems
