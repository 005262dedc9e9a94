"""Native apps' loopback callbacks: only the port may differ (RFC 8252 §7.3), and the URI Tether
sends the browser to is the one its parser matched (RFC 9700 §4.1.3, exact redirect URI
matching)."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from tests.conftest import World
from tether.domain.applications import NewApplication
from tether.domain.models import AppType
from tether.protocol.redirect_uris import match, parse_loopback

CALLBACK = "http://127.0.0.1/cb"

REFUSED = [
    "http://evil@127.0.0.1:5555/cb",  # userinfo
    "http://localhost:9911\\@127.0.0.1:5555/cb",  # backslash: WHATWG reads host "localhost"
    "http://127.0.0.1:5555\\evil.example/cb",
    "http://127.0.0.1:5555/cb\\..\\x",
    "http://127.0.0.1:5555/%2F%2Fevil.example/cb",  # encoded separators
    "http://127.0.0.1:5555%2F@evil.example/cb",
    "http://127.0.0.1:5555/cb%5C",
    "http://127.0.0.1%40evil.example/cb",
    "http://127.0.0.1:05555/cb",  # not written as the parser renders it
    "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:/cb",
    "HTTP://127.0.0.1:5555/cb",
    "http://127.0.0.1:5555/cb/",  # another path
    "http://127.0.0.1:5555/cb?x=1",  # another query
    "http://127.0.0.1.evil.example:5555/cb",
    "http://127.0.0.1:5555/cb#frag",
    "http://127.0.0.1:5555 /cb",
    "http://127.0.0.1:5555/c b",
    "http://localhost:5555/cb",  # another host than the registered one
    "https://127.0.0.1:5555/cb",
]


@pytest.mark.parametrize("given", REFUSED)
def test_only_the_port_may_differ(given: str) -> None:
    """RFC 8252 §7.3: a loopback callback matches with any port, and in nothing else; userinfo,
    backslashes and encoded separators are refused."""
    assert match([CALLBACK], given, native=True) is None


def test_the_port_may_differ_and_the_rendered_uri_is_used() -> None:
    """RFC 8252 §7.3: the port is chosen by the app at run time; the matched URI is the
    parser's rendering, equal to what was sent."""
    assert match([CALLBACK], "http://127.0.0.1:5555/cb", native=True) == "http://127.0.0.1:5555/cb"
    assert match([CALLBACK], CALLBACK, native=True) == CALLBACK
    assert match(["http://[::1]/cb?a=b"], "http://[::1]:1/cb?a=b", native=True) == (
        "http://[::1]:1/cb?a=b"
    )
    assert match(["http://localhost:3000/cb"], "http://localhost:65535/cb", native=True) == (
        "http://localhost:65535/cb"
    )
    # Only native applications get the port exception (RFC 9700 §4.1.3: exact matching).
    assert match([CALLBACK], "http://127.0.0.1:5555/cb", native=False) is None


def test_the_parser_renders_what_it_read() -> None:
    """RFC 8252 §7.3: one parser both matches and renders."""
    parsed = parse_loopback("http://127.0.0.1:5555/cb?x=1")
    assert parsed is not None
    assert (parsed.host, parsed.port, parsed.path, parsed.query) == (
        "127.0.0.1",
        5555,
        "/cb",
        "x=1",
    )
    assert parsed.render() == "http://127.0.0.1:5555/cb?x=1"
    for bad in REFUSED[:8]:
        assert parse_loopback(bad) is None, bad


async def _native_app(world: World) -> str:
    created = await world.container.applications.create(
        world.tenant,
        NewApplication(name="Native", app_type=AppType.NATIVE, callbacks=(CALLBACK,)),
    )
    return created.application.client_id


def _authorize(client_id: str, redirect_uri: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "response_mode": "form_post",
        "prompt": "none",
        "scope": "openid",
        "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    "given", ["http://evil@127.0.0.1:5555/cb", "http://localhost:9911\\@127.0.0.1:5555/cb"]
)
async def test_authorize_refuses_userinfo_and_backslashes(
    world: World, http: httpx.AsyncClient, given: str
) -> None:
    """RFC 8252 §7.3 and RFC 6749 §4.1.2.1: a callback that is not the registered loopback URI
    with another port is an error page, never a redirect or a form aimed at it."""
    client_id = await _native_app(world)
    response = await http.get("/authorize", params=_authorize(client_id, given))
    assert response.status_code == 400, response.text
    assert "allowed callback URLs" in response.text
    assert "<form" not in response.text
    assert "5555" not in response.text


async def test_authorize_posts_to_the_matched_uri(world: World, http: httpx.AsyncClient) -> None:
    """RFC 8252 §7.3: the form_post action is the matched loopback URI, any port."""
    client_id = await _native_app(world)
    response = await http.get(
        "/authorize", params=_authorize(client_id, "http://127.0.0.1:5555/cb")
    )
    assert response.status_code == 200, response.text
    actions = re.findall(r'<form[^>]*action="([^"]*)"', response.text)
    assert [html.unescape(a) for a in actions] == ["http://127.0.0.1:5555/cb"]
    assert "login_required" in response.text
