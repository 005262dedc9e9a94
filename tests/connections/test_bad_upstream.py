"""Bad answers from an upstream OpenID provider (the fake one, told to misbehave), and callbacks
that are not what they claim to be. Each: the person gets a clear error (the app hears
``server_error``/``access_denied`` with its own state, or Tether shows an error page), a
failed-login event is logged, and no user or identity is made.

Also the account-takeover rules of security-checklist 4.1/4.2: an upstream email, verified or
not, never joins the account that has the same address.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.connections.conftest import Live
from tests.connections.fake_oidc_provider import Behaviour, FakeOidcProvider
from tests.connections.support import Browser, Page, callback_params, serving
from tether.domain.federation import UPSTREAM_FAILED
from tether.domain.users import NewDatabaseUser

pytestmark = pytest.mark.e2e

CONNECTION = "fake-op"
TRUSTED = "fake-op-trusted"
#: Tether's federation client gives up on a request after 5 s (federation/http.py).
HANG_LIMIT_S = 5.0
#: What a busy machine may add to it (the provider double hangs for 30 s).
SLACK_S = 4.0


@pytest.fixture(scope="module")
def fake(live: Live) -> Iterator[FakeOidcProvider]:
    provider = FakeOidcProvider()
    with serving(provider.app) as server, socket.socket() as gone:
        gone.bind(("127.0.0.1", 0))
        gone_port = gone.getsockname()[1]
        provider.url = server.url
        options = provider.connection_options()
        live.add_connections(
            {
                CONNECTION: ("oidc", options),
                TRUSTED: ("oidc", {**options, "trust_email_verified": True}),
                # Endpoints given one by one, no discovery, no userinfo.
                "fake-op-explicit": (
                    "oidc",
                    {
                        "issuer": provider.issuer,
                        # A query of its own, with a parameter whose name ends in "state".
                        "authorization_endpoint": provider.url + "/authorize?ui_state=1",
                        "token_endpoint": provider.url + "/token",
                        "jwks_uri": provider.url + "/jwks",
                        "client_id": options["client_id"],
                        "client_secret": options["client_secret"],
                        "userinfo": False,
                    },
                ),
                # A provider that is not there at all: a port held bound but not listening
                # (connections are refused, and no other process can take it meanwhile).
                "gone-op": (
                    "oidc",
                    {**options, "discovery_url": f"http://127.0.0.1:{gone_port}/.well-known/x"},
                ),
            }
        )
        yield provider


@pytest.fixture(autouse=True)
def _fresh_behaviour(fake: FakeOidcProvider) -> None:
    fake.reset()


def log_mark(live: Live) -> str | None:
    """The newest log event's id, before an attempt."""
    newest = live.logs(count=1)
    return newest[0]["log_id"] if newest else None


def refused(live: Live, mark: str | None, *, contains: str) -> dict[str, Any]:
    """The failed-login event (``f``) logged for this attempt (newer than ``mark``)."""
    newer = []
    for event in live.logs(count=20):
        if event["log_id"] == mark:
            break
        newer.append(event)
    for event in newer:
        if event["type"] == "f" and contains in event.get("description", ""):
            return event
    raise AssertionError(f"no new failed-login event with {contains!r}: {newer}")


def nothing_made(live: Live, before: int, subject: str) -> None:
    assert live.user_count() == before
    assert live.user(f"oidc|{CONNECTION}|{subject}") is None


NOW = int(time.time())
BAD_ID_TOKENS = {
    "wrong issuer": (Behaviour(id_token={"iss": "http://127.0.0.1:1/evil/"}), "(iss)"),
    "wrong audience": (Behaviour(id_token={"aud": "someone-else"}), "(aud)"),
    "several audiences, azp another": (
        Behaviour(id_token={"aud": ["tether-at-fake-op", "x"], "azp": "x"}),
        "(azp)",
    ),
    "wrong nonce": (Behaviour(id_token={"nonce": "not-the-nonce-we-sent"}), "(nonce)"),
    "no nonce": (Behaviour(id_token={"nonce": None}), "(nonce)"),
    "expired": (Behaviour(id_token={"iat": NOW - 7200, "exp": NOW - 3600}), "(expired)"),
    "unsigned (alg none)": (Behaviour(signing="none"), "(alg)"),
    "signed by a key not in the JWKS": (Behaviour(signing="rogue"), "(kid)"),
    "another key under the JWKS key's kid": (Behaviour(signing="rogue_same_kid"), "(signature)"),
    "no sub": (Behaviour(id_token={"sub": None}), "(sub)"),
}


@pytest.mark.parametrize("case", list(BAD_ID_TOKENS))
def test_a_bad_id_token_signs_no_one_in(live: Live, fake: FakeOidcProvider, case: str) -> None:
    behaviour, reason = BAD_ID_TOKENS[case]
    behaviour.subject = "bad-" + case.replace(" ", "-")
    fake.behaviour = behaviour
    before = live.user_count()
    mark = log_mark(live)
    with Browser() as browser:
        params = live.fails(browser, CONNECTION)
        assert browser.cookie("127.0.0.1", "tether_session") is None
    assert params["error"] == "server_error", params
    assert params["error_description"] == UPSTREAM_FAILED  # the detail is in the log only
    event = refused(live, mark, contains=reason)
    assert event["connection"] == CONNECTION and event["client_id"] == live.app_client_id
    nothing_made(live, before, behaviour.subject)


def test_an_unknown_kid_refetches_the_jwks_once(live: Live, fake: FakeOidcProvider) -> None:
    fake.behaviour = Behaviour(subject="rogue-kid", signing="rogue")
    with Browser() as browser:
        live.fails(browser, CONNECTION)
    # At most the cached set (maybe fetched earlier) and one refetch for this sign-in.
    assert 1 <= fake.seen.count("GET jwks") <= 2, fake.seen


def test_the_provider_says_access_denied(live: Live, fake: FakeOidcProvider) -> None:
    fake.behaviour = Behaviour(subject="denier", authorize_error="access_denied")
    before, mark = live.user_count(), log_mark(live)
    with Browser() as browser:
        params = live.fails(browser, CONNECTION)
    assert params["error"] == "access_denied", params
    assert "access_denied" in params["error_description"]
    refused(live, mark, contains="The provider refused")
    nothing_made(live, before, "denier")
    assert "POST token" not in fake.seen


def test_a_hanging_token_endpoint_times_out(live: Live, fake: FakeOidcProvider) -> None:
    fake.behaviour = Behaviour(subject="hang", token_endpoint="hang")
    before, mark = live.user_count(), log_mark(live)
    with Browser() as browser:
        callback, state = _to_callback(live, browser)
        started = time.monotonic()
        answer = browser.go(callback)  # Tether waits for the token endpoint, then gives up
        elapsed = time.monotonic() - started
    assert HANG_LIMIT_S - 0.5 <= elapsed < HANG_LIMIT_S + SLACK_S, elapsed
    params = _callback_answer(answer, state)
    assert params["error"] == "server_error", params
    assert params["error_description"] == UPSTREAM_FAILED
    refused(live, mark, contains="(timeout)")
    nothing_made(live, before, "hang")


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("huge", "(too_large)"),
        ("trickle", "(timeout)"),
        ("not_json", "(bad_response)"),
        ("deep", "(bad_response)"),
    ],
)
def test_a_bad_token_endpoint_body(
    live: Live, fake: FakeOidcProvider, answer: str, kind: str
) -> None:
    fake.behaviour = Behaviour(subject=f"body-{answer}", token_endpoint=answer)
    before, mark = live.user_count(), log_mark(live)
    started = time.monotonic()
    with Browser() as browser:
        params = live.fails(browser, CONNECTION)
    assert time.monotonic() - started < HANG_LIMIT_S + SLACK_S
    assert params["error"] == "server_error", params
    assert params["error_description"] == UPSTREAM_FAILED, params
    refused(live, mark, contains=kind)
    nothing_made(live, before, f"body-{answer}")


def test_an_unreachable_provider_is_an_error_page(live: Live, fake: FakeOidcProvider) -> None:
    """Discovery fails before the person leaves: Tether's error page, not a server error."""
    with Browser() as browser:
        page, _ = live.start(browser, "gone-op")
    assert page.status == 400, (page.status, page.text[:500])
    assert UPSTREAM_FAILED in page.text and "(network)" not in page.text


def test_explicit_endpoints_without_discovery(live: Live, fake: FakeOidcProvider) -> None:
    fake.behaviour = Behaviour(subject="explicit")
    with Browser() as browser:
        tokens = live.sign_in(browser, "fake-op-explicit")
    assert tokens["claims"]["sub"] == "oidc|fake-op-explicit|explicit"
    assert "GET discovery" not in fake.seen and "GET userinfo" not in fake.seen


# -- callbacks that are not what they claim -------------------------------------------------


def _to_callback(live: Live, browser: Browser, connection: str = CONNECTION) -> tuple[str, str]:
    """Start a sign-in and stop at Tether's /login/callback: its URL, and the app's state."""
    browser.stop_at = live.issuer + "login/callback"
    try:
        page, state = live.start(browser, connection)
    finally:
        browser.stop_at = "https://app.example.com/callback"
    assert page.status == 0 and "/login/callback?" in page.url, page.url
    return page.url, state


def _callback_answer(page: Page, state: str) -> dict[str, str]:
    params = callback_params(page)
    assert params.get("state") == state, params
    return params


def test_a_replayed_callback_is_refused(live: Live, fake: FakeOidcProvider) -> None:
    fake.behaviour = Behaviour(subject="replayed")
    with Browser() as browser:
        callback, _ = _to_callback(live, browser)
        flow_cookie = browser.cookie("127.0.0.1", "tether_upstream")
        assert flow_cookie
        done = browser.go(callback)
        assert done.status == 0 and "code=" in done.url  # the first time: signed in
        assert browser.cookie("127.0.0.1", "tether_upstream") is None
        before, mark = live.user_count(), log_mark(live)
        # The same callback again, even with the flow cookie put back.
        browser.set_cookie("127.0.0.1", "tether_upstream", flow_cookie, "/login/callback")
        again = browser.go(callback)
    assert again.status == 400, (again.status, again.url)
    assert "This sign-in is unknown, expired or was already used." in again.text
    refused(live, mark, contains="already used")
    assert live.user_count() == before


def test_a_callback_from_another_browser_is_refused(live: Live, fake: FakeOidcProvider) -> None:
    """Login CSRF: the attacker's callback URL opened in the victim's browser (no flow cookie)."""
    fake.behaviour = Behaviour(subject="foreign")
    before = live.user_count()
    with Browser() as attacker:
        callback, state = _to_callback(live, attacker)
        mark = log_mark(live)
        with Browser() as victim:
            page = victim.go(callback)
            assert page.status == 400, (page.status, page.url)
            assert "This sign-in did not start in this browser." in page.text
            assert victim.cookie("127.0.0.1", "tether_session") is None
        refused(live, mark, contains="did not start in this browser")
        assert live.user_count() == before
        assert live.user(f"oidc|{CONNECTION}|foreign") is None
        # The flow itself was not burnt: its own browser can still finish it.
        done = attacker.go(callback)
    params = _callback_answer(done, state)
    assert "code" in params


def test_a_callback_without_state(live: Live, fake: FakeOidcProvider) -> None:
    mark = log_mark(live)
    with Browser() as browser:
        page = browser.go(live.issuer + "login/callback?code=abc")
    assert page.status == 400
    assert "did not start in this browser" in page.text
    refused(live, mark, contains="did not start in this browser")


# -- email from an upstream provider (security-checklist 4.1, 4.2) --------------------------


@pytest.fixture(scope="module")
def victim(live: Live) -> str:
    """A password account for victim@example.com, made before any upstream sign-in."""

    async def go(c: Any) -> str:
        user = await c.users.create(
            live.tenant(),
            None,
            NewDatabaseUser(email="victim@example.com", password="victim password 1234"),
        )
        return str(user.user_id)

    return str(live.admin(go))


@pytest.mark.parametrize(
    ("connection", "claimed", "counted"),
    [
        (CONNECTION, True, False),  # a generic provider's word is not taken by default
        (CONNECTION, False, False),
        (TRUSTED, True, True),
        (TRUSTED, False, False),
        (TRUSTED, "true", False),  # only the JSON boolean true
        (TRUSTED, None, False),  # no claim at all
    ],
)
def test_an_upstream_email_never_joins_an_existing_account(
    live: Live,
    fake: FakeOidcProvider,
    victim: str,
    connection: str,
    claimed: object,
    counted: bool,
) -> None:
    subject = f"mallory-{connection}-{claimed}".lower()
    fake.behaviour = Behaviour(
        subject=subject,
        id_token={
            "email": "Victim@Example.com",
            "email_verified": claimed,
            # An Entra-like token: tenant and object ids, the mutable email (nOAuth).
            "tid": "tenant-b",
            "oid": "object-x",
        },
    )
    with Browser() as browser:
        tokens = live.sign_in(browser, connection)
    sub = tokens["claims"]["sub"]
    assert sub == f"oidc|{connection}|{subject}" != victim
    made = live.user(sub)
    assert made is not None
    assert (made["email"], made["email_verified"]) == ("victim@example.com", counted)
    assert len(made["identities"]) == 1
    # The password account is as it was: its one identity, its own email_verified.
    account = live.user(victim)
    assert account is not None
    assert [i["provider"] for i in account["identities"]] == ["auth0"]
    assert account["email_verified"] is False


def test_userinfo_cannot_change_the_subject_or_verify_an_email(
    live: Live, fake: FakeOidcProvider
) -> None:
    """Userinfo is merged in, but the ID token's claims win, and userinfo for another subject
    is ignored."""
    fake.behaviour = Behaviour(
        subject="userinfo-check",
        id_token={"email": "ui@example.com", "email_verified": False},
        userinfo={"sub": "someone-else", "email_verified": True, "name": "Not Me"},
    )
    with Browser() as browser:
        tokens = live.sign_in(browser, TRUSTED)
    user = live.user(tokens["claims"]["sub"])
    assert user is not None
    assert user["user_id"] == f"oidc|{TRUSTED}|userinfo-check"
    assert user["email_verified"] is False
    assert user.get("name") != "Not Me"
    fake.behaviour = Behaviour(
        subject="userinfo-merge",
        id_token={"email": "merge@example.com", "email_verified": True},
        userinfo={"name": "From Userinfo", "email_verified": False, "picture": "https://p/x.png"},
    )
    with Browser() as browser:
        tokens = live.sign_in(browser, TRUSTED)
    merged = live.user(tokens["claims"]["sub"])
    assert merged is not None
    assert merged["name"] == "From Userinfo" and merged["picture"] == "https://p/x.png"
    assert merged["email_verified"] is True  # the ID token's claim wins
