"""Redirect URIs and the two phases of /authorize errors (oidcc-ensure-registered-redirect-uri,
-ensure-redirect-uri-in-authorization-request, -redirect-uri-query-OK / -mismatch / -added;
RFC 9700 §2.1 exact matching, §4.11.2 no open redirector; RFC 6749 §4.1.2.1)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.oidc.conftest import (
    CALLBACK,
    ISSUER,
    OTHER_CALLBACK,
    QUERY_CALLBACK,
    Browser,
    Oidc,
    assert_error_page,
    callback_params,
    redeem,
)

#: RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"^[\x20-\x21\x23-\x5B\x5D-\x7E]*$")

NOT_REGISTERED = [
    "https://app.example.com/cb?x=1",  # query added
    "https://app.example.com/cb/",  # trailing slash
    "https://APP.example.com/cb",  # upper-case host
    "https://app.example.com/CB",  # upper-case path
    "https://app.example.com/cb#frag",  # fragment
    "https://app.example.com.evil.test/cb",  # look-alike host
    "https://evil.test/cb",
    "http://app.example.com/cb",  # scheme downgrade
    "https://app.example.com:443/cb",  # explicit default port
    "https://app.example.com:8443/cb",
    "https://app.example.com/cb/../cb",
    "https://app.example.com/cb%2F",
    "https://app.example.com/c%62",
    "https://user@app.example.com/cb",
    " https://app.example.com/cb",
    "https://app.example.com/q",  # registered with ?x=1: query removed
    "https://app.example.com/q?x=2",  # query mismatch
    "https://app.example.com/q?x=1&y=2",  # query added to a registered query
    "//app.example.com/cb",
    "/cb",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("redirect_uri", NOT_REGISTERED)
async def test_unregistered_redirect_uri_is_an_error_page(
    browser: Browser, redirect_uri: str
) -> None:
    response = await browser.authorize(redirect_uri=redirect_uri)
    assert_error_page(response)
    assert "evil" not in response.headers.get("refresh", "")


async def test_unregistered_redirect_uri_with_a_session_is_still_an_error_page(
    browser: Browser,
) -> None:
    await browser.code()
    response = await browser.authorize(redirect_uri="https://evil.test/cb", prompt="none")
    assert_error_page(response)


@pytest.mark.parametrize("redirect_uri", [CALLBACK, OTHER_CALLBACK, QUERY_CALLBACK])
async def test_each_registered_redirect_uri_works(
    browser: Browser, http: httpx.AsyncClient, oidc: Oidc, redirect_uri: str
) -> None:
    got = await browser.code(redirect_uri=redirect_uri)  # the callback's own query is kept
    response = await redeem(http, oidc.rp, got["code"], redirect_uri=redirect_uri)
    assert response.status_code == 200, response.text


async def test_redirect_uri_of_another_application_is_an_error_page(
    browser: Browser, oidc: Oidc
) -> None:
    """Callbacks belong to their application: another app's registered URI is not this one's."""
    other = await oidc.app(name="Other", callbacks=("https://other.example.com/cb",))
    response = await browser.authorize(redirect_uri="https://other.example.com/cb")
    assert_error_page(response)
    assert "code" in callback_params(
        await browser.sign_in(other, redirect_uri="https://other.example.com/cb"),
        at="https://other.example.com/cb",
    )


async def test_redirect_uri_is_required_even_with_several_registered(browser: Browser) -> None:
    assert_error_page(await browser.authorize(redirect_uri=None))


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "not-a-client"},
        {"client_id": None},
        {"client_id": ""},
        {"redirect_uri": None, "response_type": "bogus"},
        {"client_id": "not-a-client", "prompt": "none"},
        {"client_id": "a\x00b"},
    ],
    ids=["unknown-client", "no-client", "empty-client", "no-redirect-uri", "prompt-none", "nul"],
)
async def test_errors_before_the_client_is_known_are_pages(
    browser: Browser, params: dict[str, str | None]
) -> None:
    assert_error_page(await browser.authorize(**params))


async def test_repeated_parameter_is_a_page(http: httpx.AsyncClient, browser: Browser) -> None:
    query = list(browser.query().items()) + [("redirect_uri", "https://evil.test/cb")]
    assert_error_page(await http.get("/authorize", params=query))


async def test_empty_authorize_is_a_page(http: httpx.AsyncClient, oidc: Oidc) -> None:
    assert_error_page(await http.get("/authorize"))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "bogus"}, "unsupported_response_type"),
        ({"response_type": 'to"ken\\é'}, "unsupported_response_type"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"audience": "https://no-such-api.example.com/é"}, "invalid_request"),
        ({"response_mode": "sideways"}, "invalid_request"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"connection": "no-such-connection"}, "invalid_request"),
    ],
)
async def test_errors_after_the_client_is_known_go_back_to_it(
    browser: Browser, params: dict[str, str], error: str
) -> None:
    query = browser.query(state="s+t/a=te", **params)
    response = await browser.http.get("/authorize", params=query)
    got = callback_params(response)
    assert set(got) == {"error", "error_description", "state", "iss"}, got
    assert got["error"] == error
    assert got["state"] == "s+t/a=te"
    assert got["iss"] == ISSUER
    assert DESCRIPTION.match(got["error_description"]), got["error_description"]
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_error_redirect_without_state_has_no_state(browser: Browser) -> None:
    response = await browser.authorize(state=None, prompt="sometimes")
    got = callback_params(response)
    assert "state" not in got
    assert got["iss"] == ISSUER
