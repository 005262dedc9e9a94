"""Behind a TLS proxy (issue 14, "Done when"): a browser through a real nginx with TLS signs in
on a styled page and gets ``Secure``, ``__Host-`` cookies; rotating ``X-Forwarded-For`` from an
untrusted client changes nothing, through nginx or straight to Tether.

One ``tether serve`` on loopback with ``TETHER_PUBLIC_URL=https://localhost:PORT`` and
``TETHER_TRUSTED_PROXIES=["127.0.0.2"]``; nginx (deploy/nginx/tether.conf) terminates TLS on
that port and connects from 127.0.0.2. SQLite, or a fresh PostgreSQL database with
``TETHER_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, free_port
from tests.production.support import (
    PROXY_ADDRESS,
    Nginx,
    Node,
    nginx,
    prepared,
    run_tether,
    start_node,
)

CALLBACK = "https://app.example.test/cb"
PASSWORD = "correct horse battery staple"
TOKEN_LIMIT = 5


@dataclass
class Stack:
    front: Nginx
    node: Node
    client_id: str
    machine_id: str
    machine_secret: str
    audience: str


@pytest.fixture(scope="module")
def stack(nginx_required: None) -> Iterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="tether-nginx-"))
    port, backend = free_port(), free_port()
    settings = {
        "public_url": f"https://localhost:{port}",
        "trusted_proxies": json.dumps([PROXY_ADDRESS]),
        "token_rate_limit": f"{TOKEN_LIMIT}/minute",
    }
    node: Node | None = None
    try:
        with prepared(folder, **settings) as (env, init):
            node = start_node(env, folder, backend)
            with ThreadPoolExecutor(1) as pool:
                app = pool.submit(
                    run_tether, env, folder, "apps", "create", "Proxied", "--type", "regular_web",
                    "--callbacks", CALLBACK, "--grant-types", "authorization_code",
                    "--connection", "Username-Password-Authentication", "--json",
                )  # fmt: skip
                with nginx(folder / "nginx", port, [backend]) as front:
                    node.wait_ready()
                    machine: Any = init["management_client"]
                    yield Stack(
                        front=front,
                        node=node,
                        client_id=json.loads(app.result())["client_id"],
                        machine_id=machine["client_id"],
                        machine_secret=machine["client_secret"],
                        audience=machine["audience"],
                    )
            assert node.stop() in (0, -signal.SIGTERM), node.log()
            output = node.log()
            assert "Traceback" not in output, output
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


def test_a_browser_signs_in_through_nginx_on_a_styled_page_with_secure_cookies(
    stack: Stack, browser: Any
) -> None:
    email = f"ann-{secrets.token_hex(4)}@example.com"
    with stack.front.client() as http:
        signup = http.post(
            "/dbconnections/signup",
            json={
                "client_id": stack.client_id,
                "email": email,
                "password": PASSWORD,
                "connection": "Username-Password-Authentication",
            },
        )
        assert signup.status_code == 200, signup.text

    # The test CA is not in Chromium's store; the page is still https to the browser, a secure
    # context that takes Secure and __Host- cookies.
    context = browser.new_context(ignore_https_errors=True)
    problems: list[str] = []
    stylesheets: list[tuple[str, int]] = []
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if "Content Security Policy" in m.text or "Refused" in m.text
                else None
            ),
        )
        page.on(
            "response",
            lambda r: stylesheets.append((r.url, r.status)) if r.url.endswith(".css") else None,
        )
        query = urlencode(
            {
                "client_id": stack.client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid profile email",
                "state": "st-1",
            }
        )
        page.goto(f"{stack.front.url}/authorize?{query}")
        page.wait_for_selector("#email")
        assert page.url.startswith(f"{stack.front.url}/u/login?"), page.url

        # Styled: the stylesheet came from the page's own https origin and applies.
        assert stylesheets == [(f"{stack.front.url}/u/static/tether.css", 200)], stylesheets
        radius = page.eval_on_selector(".card", "e => getComputedStyle(e).borderTopLeftRadius")
        assert radius == "12px"
        csrf = {c["name"]: c for c in context.cookies()}["__Host-tether_csrf"]
        assert csrf["secure"] is True and csrf["httpOnly"] is True

        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        # The app's callback host does not exist: seeing the browser ask for it is enough.
        with page.expect_request(lambda r: r.url.startswith(CALLBACK + "?")) as answer:
            page.click("form button[type=submit]")
        assert "code=" in answer.value.url and "state=st-1" in answer.value.url, answer.value.url

        cookies = {c["name"]: c for c in context.cookies()}
        assert "tether_session" not in cookies and "tether_csrf" not in cookies, cookies
        session = cookies["__Host-tether_session"]
        assert session["secure"] is True
        assert session["httpOnly"] is True
        assert session["sameSite"] == "Lax"
        assert session["path"] == "/"
        assert problems == []
    finally:
        context.close()


def _token(http: httpx.Client, stack: Stack, forwarded_for: str) -> int:
    response = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": stack.machine_id,
            "client_secret": stack.machine_secret,
            "audience": stack.audience,
        },
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert response.status_code in (200, 429), response.text
    return response.status_code


def test_rotating_x_forwarded_for_from_an_untrusted_client_changes_nothing(
    stack: Stack,
) -> None:
    """The test is 127.0.0.1, not a trusted proxy. Through nginx, its forged addresses sit left
    of the one nginx appended; straight to Tether, they are not read at all. Either way it is
    one client with one token bucket."""
    with stack.front.client() as proxied, httpx.Client(base_url=stack.node.url) as direct:
        through_nginx = [_token(proxied, stack, f"198.51.100.{n}") for n in range(TOKEN_LIMIT)]
        assert through_nginx == [200] * TOKEN_LIMIT
        assert _token(proxied, stack, "198.51.100.250") == 429
        assert _token(direct, stack, "203.0.113.1") == 429
        assert _token(direct, stack, f"{PROXY_ADDRESS}, 203.0.113.2") == 429


def test_discovery_through_nginx_names_the_public_url(stack: Stack) -> None:
    with stack.front.client() as http:
        response = http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == stack.front.url + "/"
    assert body["authorization_endpoint"] == stack.front.url + "/authorize"
