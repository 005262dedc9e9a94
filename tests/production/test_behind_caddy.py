"""Behind Caddy (Debian's package) with TLS, using deploy/caddy/Caddyfile as docs/deploy.md
gives it: the sign-in page's cookies are ``Secure`` and ``__Host-``, its stylesheet is served
from the page's own origin, discovery names the https URL, Caddy's request id is Tether's, and
a client forging ``X-Forwarded-For`` (through Caddy or straight to Tether) stays one client.

Caddy connects to Tether from 127.0.0.1, the trusted proxy; the test's client talks from another
loopback address, so it is untrusted both through Caddy and straight to Tether.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.production.support import (
    CADDY,
    Caddy,
    Node,
    caddy,
    free_port,
    prepared,
    run_tether,
    start_node,
)

CALLBACK = "https://app.example.test/cb"
TOKEN_LIMIT = 4


@dataclass
class Stack:
    front: Caddy
    node: Node
    client_id: str
    machine: dict[str, str]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if not Path(CADDY).is_file():
        reason = "caddy is missing (apt-get install caddy; scripts/test does it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="tether-caddy-"))
    port, backend = free_port(), free_port()
    settings = {
        "public_url": f"https://localhost:{port}",
        "trusted_proxies": json.dumps(["127.0.0.1"]),
        "token_rate_limit": f"{TOKEN_LIMIT}/minute",
        "log_format": "json",
    }
    try:
        with prepared(folder, **settings) as (env, init):
            app = json.loads(
                run_tether(
                    env,
                    folder,
                    "apps",
                    "create",
                    "Behind Caddy",
                    "--type",
                    "regular_web",
                    "--callbacks",
                    CALLBACK,
                    "--connection",
                    "Username-Password-Authentication",
                    "--json",
                )  # fmt: skip
            )
            node = start_node(env, folder, backend)
            try:
                node.wait_ready("/readyz")
                with caddy(folder / "caddy", port, [backend]) as front:
                    yield Stack(front, node, app["client_id"], init["management_client"])
            finally:
                node.stop()
            assert "Traceback" not in node.log(), node.log()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _client(stack: Stack, base: str, source: str) -> httpx.Client:
    context = ssl.create_default_context(cafile=stack.front.ca)
    transport = httpx.HTTPTransport(verify=context, local_address=source)
    return httpx.Client(base_url=base, transport=transport, timeout=20)


def _source() -> str:
    return f"127.{random.randint(10, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


def test_sign_in_page_through_caddy(stack: Stack) -> None:
    query = {
        "client_id": stack.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
    }
    with _client(stack, stack.front.url, _source()) as http:
        start = http.get(f"/authorize?{urlencode(query)}")
        assert start.status_code == 303 and start.headers["location"].startswith("/u/login?")
        page = http.get(start.headers["location"])
        assert page.status_code == 200
        cookies = page.headers.get_list("set-cookie")
        assert [c.split("=", 1)[0] for c in cookies] == ["__Host-tether_csrf"], cookies
        assert "secure" in cookies[0].lower()
        link = re.search(r'<link rel="stylesheet" href="([^"]+)">', page.text)
        assert link and link.group(1) == "/u/static/tether.css"
        css = http.get(link.group(1))
        assert css.status_code == 200 and ".card" in css.text
        # Caddy's request id (a UUID) is the one Tether returns and logs.
        assert re.fullmatch(r"[0-9a-f-]{36}", page.headers["x-request-id"]), page.headers
        discovery = http.get("/.well-known/openid-configuration").json()
    assert discovery["issuer"] == stack.front.url + "/"
    lines = [json.loads(line) for line in stack.node.log().splitlines() if line.startswith("{")]
    ids = {line.get("request_id") for line in lines if line.get("route") == "/u/login"}
    assert page.headers["x-request-id"] in ids


def test_forged_x_forwarded_for_changes_nothing(stack: Stack) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": stack.machine["client_id"],
        "client_secret": stack.machine["client_secret"],
        "audience": stack.machine["audience"],
    }
    source = _source()
    statuses: list[Any] = []
    with (
        _client(stack, stack.front.url, source) as proxied,
        _client(stack, stack.node.url, source) as direct,
    ):
        for n in range(TOKEN_LIMIT):
            r = proxied.post("/oauth/token", data=body, headers={"X-Forwarded-For": f"10.9.9.{n}"})
            statuses.append(r.status_code)
        statuses.append(proxied.post("/oauth/token", data=body).status_code)
        forged = {"X-Forwarded-For": "10.9.9.99", "X-Forwarded-Proto": "https"}
        statuses.append(direct.post("/oauth/token", data=body, headers=forged).status_code)
    assert statuses == [200] * TOKEN_LIMIT + [429, 429], statuses
