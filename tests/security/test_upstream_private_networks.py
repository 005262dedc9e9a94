"""Upstream requests never reach private networks unless the operator allows it (OWASP ASVS
1.3.6 / 15.3.x: server-side request forgery; RFC 9700 §4.x does not cover it, the ASVS does)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, World, make_settings
from tests.dashboard.conftest import TEST_ACTOR, new_user
from tests.dashboard.support import alert, form, sign_in, submit
from tests.management.conftest import machine_token
from tether.bootstrap import build_container
from tether.cli.demo import demo_settings
from tether.config import Settings
from tether.domain.applications import NewApplication
from tether.domain.federation import UPSTREAM_FAILED
from tether.federation.http import (
    PrivateNetworks,
    UpstreamHttpError,
    check_destination,
    make_client,
)
from tether.web.app import create_app

OPTION = "allow_private_network"
OIDC = {
    "client_id": "rp",
    "client_secret": "s3cret-value",
    "issuer": "https://idp.example.com/",
    "scope": "openid email",
}


async def test_the_api_refuses_the_option(world: World, http: httpx.AsyncClient) -> None:
    """OWASP ASVS 1.3.6: POST and PATCH /api/v2/connections with options.allow_private_network
    are a 400 naming the option; nothing is stored."""
    headers = {"Authorization": f"Bearer {await machine_token(http, world)}"}
    body = {
        "name": "inside",
        "strategy": "oidc",
        "options": {**OIDC, "discovery_url": "http://169.254.169.254/latest", OPTION: True},
    }
    created = await http.post("/api/v2/connections", headers=headers, json=body)
    assert created.status_code == 400, created.text
    assert f"options.{OPTION}" in created.json()["message"]
    assert created.json()["statusCode"] == 400

    ok = await http.post(
        "/api/v2/connections",
        headers=headers,
        json={**body, "options": {**OIDC, "discovery_url": "https://idp.example.com/.wk"}},
    )
    assert ok.status_code == 201, ok.text
    patched = await http.patch(
        f"/api/v2/connections/{ok.json()['id']}",
        headers=headers,
        json={"options": {**OIDC, OPTION: True}},
    )
    assert patched.status_code == 400, patched.text
    assert f"options.{OPTION}" in patched.json()["message"]
    stored = await world.container.connections.list(world.tenant)
    assert all(OPTION not in c.options for c in stored)


async def test_the_dashboard_refuses_the_option(world: World, http: httpx.AsyncClient) -> None:
    """OWASP ASVS 1.3.6: the dashboard's JSON options cannot switch the guard off either."""
    c, tenant = world.container, world.tenant
    await new_user(c, tenant, "admin@example.com")
    await c.admins.add(tenant, "admin@example.com", TEST_ACTOR)
    await sign_in(http, "/dashboard/connections", "admin@example.com")
    page = await http.get("/dashboard/connections")
    r = await submit(
        http,
        form(page.text, "/dashboard/connections"),
        name="inside",
        strategy="oidc",
        options='{"discovery_url": "http://127.0.0.1:9/x", "allow_private_network": true}',
    )
    assert r.status_code == 400, r.text
    assert f"options.{OPTION}" in alert(r.text)
    assert "inside" not in [x.name for x in await c.connections.list(tenant)]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/.well-known/openid-configuration",
        "https://127.0.0.1/jwks",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/token",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost/x",  # a host name that resolves to a private address is private
        "https://0.0.0.0/x",
    ],
)
async def test_private_destinations_are_refused_by_default(url: str) -> None:
    """OWASP ASVS 1.3.6: with TETHER_FEDERATION_PRIVATE_NETWORKS empty (the default), no
    private, loopback or link-local destination, by address or by what DNS answers."""
    with pytest.raises(UpstreamHttpError) as refused:
        await check_destination(url, PrivateNetworks.parse([]))
    assert refused.value.kind == "private_address"


async def test_only_what_the_operator_names_is_reachable() -> None:
    """OWASP ASVS 1.3.6: the operator's CIDRs and host names open exactly those destinations;
    plain http only to them."""
    loopback = PrivateNetworks.parse(
        Settings(federation_private_networks=["127.0.0.0/8"]).federation_private_networks
    )
    await check_destination("http://127.0.0.1:8080/x", loopback)
    for url in ("http://169.254.169.254/", "https://10.0.0.1/", "https://[::1]/"):
        with pytest.raises(UpstreamHttpError) as refused:
            await check_destination(url, loopback)
        assert refused.value.kind == "private_address"
    by_name = PrivateNetworks.parse(["localhost"])
    await check_destination("http://localhost:8080/x", by_name)
    with pytest.raises(UpstreamHttpError):
        await check_destination("http://127.0.0.1:8080/x", by_name)
    with pytest.raises(ValueError):
        Settings(federation_private_networks=["not a network!"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_one_message_whatever_the_target(
    tmp_path: Path, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """OWASP ASVS 1.3.6 / 16.5.1: the browser gets one generic message for any upstream
    failure (refused as private, nothing listening, no such host), so the error is no
    reachability oracle; the detail goes to the server log."""
    c = build_container(
        make_settings(tmp_path, federation_private_networks=["127.0.0.0/8"]),
        engine=engine,
        hash_parameters=FAST_HASH,
    )
    tenant = (await c.provision()).tenant
    app = await c.applications.create(
        tenant, NewApplication(name="Web", callbacks=("https://app.example.com/cb",))
    )
    client_id = app.application.client_id
    targets = {
        "metadata": "http://169.254.169.254/latest/.well-known/openid-configuration",
        "closed": f"http://127.0.0.1:{_closed_port()}/.well-known/openid-configuration",
        "nowhere": "https://tether-no-such-host.invalid/.well-known/openid-configuration",
    }
    for name, url in targets.items():
        await c.connections.create(
            tenant, name, "oidc", {**OIDC, "discovery_url": url}, [client_id]
        )
    transport = httpx.ASGITransport(app=create_app(c, deliver_mail=False))
    pages = {}
    caplog.set_level(logging.WARNING, logger="tether")
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        for name in targets:
            start = await http.get(
                "/authorize",
                params={
                    "client_id": client_id,
                    "redirect_uri": "https://app.example.com/cb",
                    "response_type": "code",
                    "scope": "openid",
                    "state": "s",
                },
            )
            assert start.status_code == 303, start.text
            state = dict(
                p.split("=", 1) for p in urlsplit(start.headers["location"]).query.split("&")
            )["state"]
            r = await http.get("/u/login/upstream", params={"state": state, "connection": name})
            assert r.status_code == 400, r.text
            message = re.search(r'role="alert"[^>]*>(.*?)<', r.text, re.S)
            assert message, r.text
            pages[name] = unescape(message.group(1)).strip()
    assert set(pages.values()) == {UPSTREAM_FAILED}, pages
    logged = caplog.text
    for kind in ("private_address", "network", "dns"):
        assert f"({kind})" in logged, logged


async def test_a_rebinding_name_cannot_switch_to_a_private_address_after_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OWASP ASVS 1.3.6 (SSRF), DNS rebinding: a name whose DNS answers a public address to the
    check and 127.0.0.1 to the connection (TTL 0) never gets a connection to loopback; the
    address dialled is one the guard checked in the same step. Fails before this fix: the
    client resolved the name again when it connected and reached the loopback listener."""
    hits: list[str] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append("connected")
        writer.close()

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    answers = iter(["93.184.215.14"])  # the first answer is public, every later one loopback

    async def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("rebind.example", b"rebind.example"):  # anyio passes IDNA bytes
            return await real(host, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    real = loop.getaddrinfo
    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    try:
        async with make_client(private=PrivateNetworks.parse([])) as client:
            with pytest.raises(UpstreamHttpError) as refused:
                await client.request("GET", f"https://rebind.example:{port}/jwks")
    finally:
        server.close()
        await server.wait_closed()
    assert hits == []
    assert refused.value.kind == "private_address"


def test_the_demo_adds_loopback_to_the_operators_networks_and_keeps_them() -> None:
    """OWASP ASVS 1.3.6: ``tether serve --demo`` needs loopback for its outside IdP; it adds it
    to what the operator allowed instead of replacing the operator's setting (it used to
    overwrite TETHER_FEDERATION_PRIVATE_NETWORKS, dropping the operator's internal IdP)."""
    base = Settings(federation_private_networks=["10.20.0.0/16", "idp.internal"])

    demo = demo_settings(base)

    assert demo.demo is True
    assert demo.federation_private_networks == [
        "10.20.0.0/16",
        "idp.internal",
        "127.0.0.0/8",
        "::1/128",
        "localhost",
    ]
    assert base.federation_private_networks == ["10.20.0.0/16", "idp.internal"]
    assert demo_settings(demo).federation_private_networks == demo.federation_private_networks
