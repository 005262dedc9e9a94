"""TETHER_TRUSTED_PROXIES (DESIGN.md, Storage and scale; RFC 7239; RFC 9700 §4.13), in process:
forwarding headers count only from a trusted peer and only in the configured style; the client
address they give is what rate limits key on; under https the cookies are ``Secure`` and
``__Host-``; the stylesheet is a path, never a URL built from the request.

The live version (a real nginx with TLS and Chromium) is tests/production/test_behind_nginx.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, World, make_settings
from tests.oidc.conftest import forms
from tests.web.conftest import create_user
from tether.bootstrap import build_container
from tether.domain.applications import NewApplication
from tether.domain.models import AppType
from tether.web.app import create_app
from tether.web.proxy import (
    Hop,
    TrustedNetworks,
    client_hop,
    parse_forwarded,
    parse_x_forwarded,
    resolve,
)

PROXY = ("10.0.0.5", 41000)  # the address the trusted proxy connects from
STRANGER = ("203.0.113.9", 41000)  # anyone else on the network
CALLBACK = "https://app.example.com/cb"


@pytest.fixture
def serve(world: World, engine: AsyncEngine, tmp_path: Path) -> Any:
    """An in-process client on an app built with other settings, connecting from ``peer``."""

    @asynccontextmanager
    async def factory(
        peer: tuple[str, int] = PROXY, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        overrides.setdefault("trusted_proxies", ["10.0.0.0/24"])
        settings = make_settings(tmp_path, **overrides)
        container = build_container(settings, engine=engine, hash_parameters=FAST_HASH)
        app = create_app(container, deliver_mail=False)
        transport = httpx.ASGITransport(app=app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield client

    return factory


async def _client_credentials(http: httpx.AsyncClient, world: World, **headers: str) -> int:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.machine.client_id,
            "client_secret": world.machine.client_secret,
            "audience": world.tenant.management_audience,
        },
        headers=headers,
    )
    return response.status_code


async def test_rotating_x_forwarded_for_from_an_untrusted_peer_changes_nothing(
    world: World, serve: Any
) -> None:
    async with serve(peer=STRANGER, token_rate_limit="3/minute") as http:
        statuses = [
            await _client_credentials(http, world, **{"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(5)
        ]
    # One address, one bucket: the forged addresses were never read.
    assert statuses == [200, 200, 200, 429, 429]


async def test_a_trusted_proxy_gives_each_client_its_own_bucket(world: World, serve: Any) -> None:
    async with serve(token_rate_limit="1/minute") as http:
        first = await _client_credentials(http, world, **{"X-Forwarded-For": "198.51.100.1"})
        again = await _client_credentials(http, world, **{"X-Forwarded-For": "198.51.100.1"})
        other = await _client_credentials(http, world, **{"X-Forwarded-For": "198.51.100.2"})
        # A client that prepends a fake address behind the proxy is still itself: the proxy
        # appended the real one, and the list is read from the right.
        forged = await _client_credentials(
            http, world, **{"X-Forwarded-For": "192.0.2.77, 198.51.100.1"}
        )
    assert (first, again, other, forged) == (200, 429, 200, 429)


async def test_the_other_style_is_ignored_even_from_the_proxy(world: World, serve: Any) -> None:
    """A proxy that writes X-Forwarded-For passes a client's own ``Forwarded`` header through:
    it must not let the client choose its address."""
    async with serve(token_rate_limit="1/minute") as http:
        statuses = [
            await _client_credentials(http, world, Forwarded=f"for=198.51.100.{n}")
            for n in range(3)
        ]
    assert statuses == [200, 429, 429]


async def test_rfc_7239_forwarded_when_configured(world: World, serve: Any) -> None:
    async with serve(token_rate_limit="1/minute", forwarded_headers="forwarded") as http:
        one = await _client_credentials(
            http, world, Forwarded='for="[2001:db8::1]:4711";proto=https'
        )
        same = await _client_credentials(http, world, Forwarded='for="[2001:db8::1]:5000"')
        two = await _client_credentials(http, world, Forwarded="for=198.51.100.2")
        # X-Forwarded-For is now the style that is ignored.
        spoof = await _client_credentials(
            http, world, Forwarded="for=198.51.100.2", **{"X-Forwarded-For": "192.0.2.1"}
        )
    assert (one, same, two, spoof) == (200, 429, 200, 429)


async def _login_page(http: httpx.AsyncClient, world: World, client_id: str) -> httpx.Response:
    start = await http.get(
        "/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "state": "s1",
        },
    )
    assert start.status_code in (302, 303), start.text
    login = start.headers["location"]
    assert login.startswith("/u/login?"), login  # a path: the browser stays on the public URL
    return await http.get(login)


@pytest.fixture
async def rp(world: World) -> str:
    c = world.container
    created = await c.applications.create(
        world.tenant,
        NewApplication(
            name="RP",
            app_type=AppType.REGULAR_WEB,
            callbacks=(CALLBACK,),
            grant_types=("authorization_code",),
        ),
    )
    await c.connections.enable(
        world.tenant, "Username-Password-Authentication", created.application.client_id
    )
    return created.application.client_id


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def test_https_at_the_proxy_makes_cookies_secure_and_host_prefixed(
    world: World, serve: Any, rp: str
) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}
    async with serve() as http:
        http.headers.update(headers)
        page = await _login_page(http, world, rp)
    assert page.status_code == 200, page.text
    cookies = _set_cookies(page)
    assert set(cookies) == {"__Host-tether_csrf"}, cookies
    assert "secure" in cookies["__Host-tether_csrf"].lower()
    assert "domain=" not in cookies["__Host-tether_csrf"].lower()
    # The stylesheet is a path, so it loads from the page's own (https) origin under CSP 'self'.
    assert '<link rel="stylesheet" href="/u/static/tether.css">' in page.text
    assert "style-src 'self'" in page.headers["content-security-policy"]


async def test_x_forwarded_proto_from_a_stranger_is_ignored(
    world: World, serve: Any, rp: str
) -> None:
    async with serve(peer=STRANGER) as http:
        http.headers.update({"X-Forwarded-Proto": "https"})
        page = await _login_page(http, world, rp)
    cookies = _set_cookies(page)
    assert set(cookies) == {"tether_csrf"}, cookies
    assert "secure" not in cookies["tether_csrf"].lower()


async def test_samesite_none_session_cookie_behind_the_proxy(
    world: World, serve: Any, rp: str
) -> None:
    await create_user(world)
    await world.container.tenants.update_settings(world.tenant, {"session_cookie_samesite": "none"})
    async with serve() as http:
        http.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"})
        page = await _login_page(http, world, rp)
        form = next(f for f in forms(page.text) if "password" in f.fields)
        action = form.action
        assert urlsplit(action).path == "/u/login", action
        # httpx keeps Secure cookies for https URLs; the app's URL here is http (the proxy's hop).
        csrf = _set_cookies(page)["__Host-tether_csrf"].split(";", 1)[0]
        posted = await http.post(
            action,
            headers={"Cookie": csrf},
            data={
                **form.fields,
                "email": "ann@example.com",
                "password": "correct horse battery staple",
            },
        )
    assert posted.status_code == 303, posted.text
    session = _set_cookies(posted)["__Host-tether_session"].lower()
    assert "samesite=none" in session
    assert "secure" in session
    assert "httponly" in session


async def test_x_forwarded_host_picks_the_host_from_the_proxy_only(
    world: World, serve: Any
) -> None:
    other = await world.container.tenants.create("acme", "https://acme.example.com")
    async with serve() as http:
        trusted = await http.get(
            "/.well-known/openid-configuration",
            headers={"X-Forwarded-Host": "acme.example.com", "X-Forwarded-Proto": "https"},
        )
    async with serve(peer=STRANGER) as http:
        stranger = await http.get(
            "/.well-known/openid-configuration", headers={"X-Forwarded-Host": "acme.example.com"}
        )
    assert trusted.json()["issuer"] == other.issuer
    assert stranger.json()["issuer"] == world.tenant.issuer


async def test_a_garbage_host_from_the_proxy_is_not_believed(world: World, serve: Any) -> None:
    async with serve() as http:
        response = await http.get(
            "/.well-known/openid-configuration",
            headers={"X-Forwarded-Host": "evil.example.com/<script>", "X-Forwarded-Proto": "ftp"},
        )
    assert response.status_code == 200
    assert response.json()["issuer"] == world.tenant.issuer


def test_bad_trusted_proxies_are_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not an IP address or CIDR"):
        make_settings(tmp_path, trusted_proxies=["proxy.internal"])
    assert make_settings(tmp_path, trusted_proxies=[" 10.0.0.1 "]).trusted_proxies == [
        "10.0.0.1/32"
    ]


# -- the parsers --------------------------------------------------------------------------


def test_parse_forwarded() -> None:
    hops = parse_forwarded(
        ['for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"', "for=unknown"]
    )
    assert hops == [
        Hop("192.0.2.60", "http", None),
        Hop("2001:db8:cafe::17", None, None),
        Hop(None, None, None),
    ]
    assert parse_forwarded(['for="_gazonk";host="id.example.com:443";proto=HTTPS']) == [
        Hop(None, "https", "id.example.com:443")
    ]
    assert parse_forwarded(["for=1.2.3.4;;proto=https"]) == [Hop("1.2.3.4", "https", None)]
    assert parse_forwarded(["garbage"]) is None
    assert parse_forwarded(["proto=https"]) is None  # no `for`: not a hop


def test_parse_x_forwarded() -> None:
    assert parse_x_forwarded(["1.1.1.1, 10.0.0.2"], ["https"], []) == [
        Hop("1.1.1.1", "https", None),
        Hop("10.0.0.2", "https", None),
    ]
    assert parse_x_forwarded(["1.1.1.1", "10.0.0.2"], ["https, http"], ["a.test, b.test"]) == [
        Hop("1.1.1.1", "https", "a.test"),
        Hop("10.0.0.2", "http", "b.test"),
    ]


def test_the_client_is_the_first_untrusted_hop_from_the_right() -> None:
    trusted = TrustedNetworks(["10.0.0.0/8", "::ffff:127.0.0.1"])
    hops = [Hop("6.6.6.6"), Hop("198.51.100.7"), Hop("10.1.1.1"), Hop("10.2.2.2")]
    assert client_hop(hops, trusted) == Hop("198.51.100.7")
    assert client_hop([Hop("10.1.1.1"), Hop("10.2.2.2")], trusted) == Hop("10.1.1.1")
    assert client_hop([Hop("6.6.6.6"), Hop(None), Hop("10.2.2.2")], trusted) == Hop(None)
    assert client_hop([], trusted) is None
    assert "127.0.0.1" in trusted and "::ffff:10.0.0.1" in trusted
    assert "not an address" not in trusted


def test_resolve_falls_back_to_the_peer() -> None:
    trusted = TrustedNetworks(["10.0.0.0/8"])
    assert (
        resolve("203.0.113.1", [(b"x-forwarded-for", b"1.1.1.1")], trusted, "x-forwarded") is None
    )
    found = resolve("10.0.0.1", [(b"x-forwarded-for", b"unknown")], trusted, "x-forwarded")
    assert found is not None and found.client == "10.0.0.1"
    found = resolve("10.0.0.1", [(b"forwarded", b"nonsense")], trusted, "forwarded")
    assert found is None  # malformed: the proxy itself is the client
