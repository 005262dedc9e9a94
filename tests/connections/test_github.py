"""Signing in with GitHub, through the local stand-in (fake_github.FakeGitHub, a test double):
``user_id`` ``github|<numeric id>``, the email only when GitHub marks it verified, and the same
user when the ``login`` changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connections.conftest import Live
from tests.connections.fake_github import FakeGitHub, GithubAccount
from tests.connections.support import Browser, serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def github(live: Live) -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with serving(fake.app) as server:
        fake.url = server.url
        live.add_connection("github", "github", fake.connection_options())
        yield fake


def test_github_sign_in_makes_a_github_identity(live: Live, github: FakeGitHub) -> None:
    github.add(
        GithubAccount(
            id=583231,
            login="octocat",
            name="The Octocat",
            public_email="octocat@github.example",
            emails=[
                {
                    "email": "old@example.com",
                    "primary": False,
                    "verified": True,
                    "visibility": None,
                },
                {
                    "email": "Octocat@Example.com",
                    "primary": True,
                    "verified": True,
                    "visibility": "public",
                },
                {"email": "unverified@example.com", "primary": False, "verified": False},
            ],
        )
    )
    github.next_account = 583231
    with Browser() as browser:
        tokens = live.sign_in(browser, "github")
    assert tokens["claims"]["sub"] == "github|583231"
    user = live.user("github|583231")
    assert user is not None
    assert user["identities"] == [
        {"provider": "github", "connection": "github", "user_id": "583231", "isSocial": True}
    ]
    # The primary verified address, not the public profile's.
    assert (user["email"], user["email_verified"]) == ("octocat@example.com", True)
    assert user["nickname"] == "octocat" and user["name"] == "The Octocat"
    assert user["picture"].startswith("https://avatars.example.com/u/583231")


def test_no_verified_email_counts_as_verified(live: Live, github: FakeGitHub) -> None:
    github.add(
        GithubAccount(
            id=1001,
            login="no-verified-mail",
            # GitHub's public profile email is not checked by anyone: it must not count either.
            public_email="victim@example.com",
            emails=[{"email": "victim@example.com", "primary": True, "verified": False}],
        )
    )
    github.next_account = 1001
    with Browser() as browser:
        tokens = live.sign_in(browser, "github")
    assert tokens["claims"]["sub"] == "github|1001"
    assert tokens["claims"].get("email_verified") is not True
    user = live.user("github|1001")
    assert user is not None
    assert user["email_verified"] is False
    assert user.get("email") in (None, "victim@example.com")
    assert user["identities"][0].get("profileData", {}).get("email_verified") in (None, False)


def test_a_changed_login_keeps_the_same_user(live: Live, github: FakeGitHub) -> None:
    account = github.add(
        GithubAccount(
            id=424242,
            login="before-rename",
            name="Renamer",
            emails=[{"email": "renamer@example.com", "primary": True, "verified": True}],
        )
    )
    github.next_account = account.id
    with Browser() as browser:
        first = live.sign_in(browser, "github")
    account.login = "after-rename"
    with Browser() as browser:
        second = live.sign_in(browser, "github")
    assert first["claims"]["sub"] == second["claims"]["sub"] == "github|424242"
    user = live.user("github|424242")
    assert user is not None
    assert user["logins_count"] == 2
    assert user["nickname"] == "after-rename"  # the profile follows, the identity does not
    assert len(user["identities"]) == 1


def test_another_account_with_the_old_login_is_another_user(live: Live, github: FakeGitHub) -> None:
    """A new GitHub account that takes a freed login is someone else (the id decides)."""
    github.add(GithubAccount(id=777, login="reused-name", emails=[]))
    github.add(GithubAccount(id=778, login="reused-name", emails=[]))
    subs = []
    for account_id in (777, 778):
        github.next_account = account_id
        with Browser() as browser:
            subs.append(live.sign_in(browser, "github")["claims"]["sub"])
    assert subs == ["github|777", "github|778"]


# -- the generic OAuth 2 strategy, on the same stand-in -------------------------------------


def _oauth2_options(github: FakeGitHub) -> dict[str, object]:
    return {
        "client_id": github.connection_options()["client_id"],
        "client_secret": github.connection_options()["client_secret"],
        "authorization_endpoint": github.url + "/login/oauth/authorize",
        "token_endpoint": github.url + "/login/oauth/access_token",
        "profile_endpoint": github.url + "/user",
        "scope": "read:user",
        "mapping": {"subject": "id", "nickname": "login", "name": "name", "email": "email"},
    }


def test_generic_oauth2_connections_keep_their_subjects_apart(
    live: Live, github: FakeGitHub
) -> None:
    """Two ``oauth2`` connections (two providers) may both have a subject 123: Auth0 names
    such users ``oauth2|<connection>|<id>``, so they stay two users."""
    live.add_connections(
        {
            "partner-a": ("oauth2", _oauth2_options(github)),
            "partner-b": ("oauth2", _oauth2_options(github)),
        }
    )
    github.add(
        GithubAccount(id=123, login="same-id", name="Same Id", public_email="same@example.com")
    )
    github.next_account = 123
    subs = []
    for connection in ("partner-a", "partner-b"):
        with Browser() as browser:
            subs.append(live.sign_in(browser, connection)["claims"]["sub"])
    assert subs == ["oauth2|partner-a|123", "oauth2|partner-b|123"]
    user = live.user("oauth2|partner-a|123")
    assert user is not None
    assert user["identities"] == [
        {
            "provider": "oauth2",
            "connection": "partner-a",
            "user_id": "partner-a|123",
            "isSocial": True,
        }
    ]
    # A mapped email, with no mapped verification: not verified.
    assert (user["email"], user["email_verified"]) == ("same@example.com", False)
    assert user["nickname"] == "same-id"


def test_a_blocked_user_cannot_sign_in_with_github(live: Live, github: FakeGitHub) -> None:
    github.add(GithubAccount(id=31337, login="blocked-one", emails=[]))
    github.next_account = 31337
    with Browser() as browser:
        live.sign_in(browser, "github")
    r = live.api("PATCH", "/users/github|31337", json={"blocked": True})
    assert r.status_code == 200, r.text
    with Browser() as browser:
        params = live.fails(browser, "github")
        assert browser.cookie("127.0.0.1", "tether_session") is None
    assert params["error"] == "access_denied", params
    assert params["error_description"] == "user is blocked"
    user = live.user("github|31337")
    assert user is not None and user["logins_count"] == 1
