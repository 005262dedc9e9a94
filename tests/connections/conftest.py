"""Signing in through other identity providers, against a live ``tether serve``.

Tether's federation client makes real HTTP requests to the provider, so the provider side runs
for real on loopback: the npm package oidc-provider (a node process, oidc_provider.mjs), a
second tenant of the same Tether server, and two test doubles in threads (fake_oidc_provider,
fake_github). Tether runs as ``tether serve`` with TETHER_PUBLIC_URL=http://127.0.0.1:<port>
(plain http on an IP, so its cookies are not Secure) and TETHER_FEDERATION_PRIVATE_NETWORKS
naming loopback (the providers' home), the operator's setting for private destinations.

One server per test module: a fresh SQLite file, or with TETHER_TEST_DATABASE_URL a fresh
PostgreSQL database (tests/e2e/conftest.py's helpers), dropped after. The schema (what ``tether
db upgrade`` runs) and what a test needs beforehand (applications, connections, users) are made
in process on the same database (``Live.admin``): a CLI start per step costs seconds on a busy
machine.

Setup for the oidc-provider tests (scripts/test does it): ``npm ci --prefix tests/connections``.
Without node or those packages they are skipped (an error when CI=true).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FAST_HASH
from tests.connections.support import (
    APP_CALLBACK,
    HTTP_TIMEOUT,
    Browser,
    Page,
    authorize_url,
    callback_params,
    claims_of,
    free_port,
    in_thread,
)
from tests.e2e.conftest import TETHER, _stop, _wait_healthy, tether_env
from tether.bootstrap import Container, build_container
from tether.config import Settings
from tether.domain.applications import NewApplication
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.models import AppType, Tenant
from tether.protocol.grants import GrantType

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
PROVIDER_SCRIPT = HERE / "oidc_provider.mjs"
NODE_START_TIMEOUT = 20.0


def _require(reason: str | None) -> None:
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"connection tests cannot run: {reason}")
        pytest.skip(reason)


# -- the live server --------------------------------------------------------------------------


@dataclass
class Live:
    """A running ``tether serve`` (default tenant on http://127.0.0.1:PORT) and a relying-party
    application registered with APP_CALLBACK."""

    url: str
    issuer: str
    settings: Settings
    process: subprocess.Popen[bytes]
    log: Path
    app_client_id: str
    app_client_secret: str
    machine_client_id: str
    machine_client_secret: str
    tenants: dict[str, Tenant] = field(default_factory=dict)
    _token: str | None = None
    _ready: bool = False

    def wait_ready(self) -> None:
        """Wait (once) until the server answers: it boots while the module's own fixtures
        start their providers and make their connections."""
        if not self._ready:
            _wait_healthy(self.process, f"{self.url}/healthz", self.output)
            self._ready = True

    # in process, on the same database

    def admin(self, fn: Callable[[Container], Awaitable[Any]]) -> Any:
        """Run ``fn(container)`` on a container of this server's database (for setup and for
        reading what the server wrote)."""

        async def go() -> Any:
            container = build_container(self.settings, hash_parameters=FAST_HASH)
            try:
                return await fn(container)
            finally:
                await container.close()

        return in_thread(go)

    def tenant(self, name: str = "default") -> Tenant:
        return self.tenants[name]

    def add_connection(self, name: str, strategy: str, options: dict[str, Any]) -> None:
        """A connection enabled for the test app."""
        self.add_connections({name: (strategy, options)})

    def add_connections(self, specs: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Several: name -> (strategy, options)."""

        async def go(c: Container) -> None:
            for name, (strategy, options) in specs.items():
                await c.connections.create(
                    self.tenant(), name, strategy, options, [self.app_client_id]
                )

        self.admin(go)

    # over HTTP

    def management_token(self) -> str:
        if self._token is None:
            r = httpx.post(
                f"{self.url}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.machine_client_id,
                    "client_secret": self.machine_client_secret,
                    "audience": f"{self.issuer}api/v2/",
                },
                timeout=HTTP_TIMEOUT,
            )
            assert r.status_code == 200, r.text
            self._token = str(r.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {kwargs.pop('token', None) or self.management_token()}"
        }
        return httpx.request(
            method, f"{self.url}/api/v2{path}", headers=headers, timeout=HTTP_TIMEOUT, **kwargs
        )

    def user(self, user_id: str) -> dict[str, Any] | None:
        r = self.api("GET", f"/users/{user_id}")
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    def user_count(self) -> int:
        r = self.api("GET", "/users", params={"include_totals": "true", "per_page": 1})
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    def logs(self, count: int = 20) -> list[dict[str, Any]]:
        """The newest log events, newest first."""
        r = self.api("GET", "/logs", params={"per_page": count, "sort": "date:-1"})
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()
        return events

    def exchange(self, code: str) -> dict[str, Any]:
        r = httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": APP_CALLBACK,
                "client_id": self.app_client_id,
                "client_secret": self.app_client_secret,
            },
            timeout=HTTP_TIMEOUT,
        )
        assert r.status_code == 200, r.text
        tokens: dict[str, Any] = r.json()
        return tokens

    # signing in

    def start(self, browser: Browser, connection: str, **extra: str) -> tuple[Page, str]:
        """/authorize, the hosted sign-in page, then its link for ``connection``: the first
        page that is not a redirect (the provider's, or Tether's error page), or the app's
        callback. Also the app's ``state``."""
        url, state = authorize_url(self.issuer, self.app_client_id, **extra)
        page = browser.go(url)
        assert page.status == 200 and "/u/login" in page.url, (page.url, page.text[:2000])
        return browser.go(page.link(f"connection={connection}")), state

    def sign_in(
        self,
        browser: Browser,
        connection: str,
        at_provider: Callable[[Browser, Page], Page] | None = None,
        **extra: str,
    ) -> dict[str, Any]:
        """A whole sign-in through ``connection``; the tokens the app gets (and the ID token's
        claims under "claims")."""
        page, state = self.start(browser, connection, **extra)
        if at_provider is not None:
            page = at_provider(browser, page)
        params = callback_params(page)
        assert params.get("state") == state, params
        assert "code" in params, params
        tokens = self.exchange(params["code"])
        tokens["claims"] = claims_of(tokens["id_token"])
        return tokens

    def password_sign_in(
        self, browser: Browser, email: str, password: str, **extra: str
    ) -> dict[str, Any]:
        """A sign-in with the database connection on the hosted page; the app's tokens."""
        url, state = authorize_url(self.issuer, self.app_client_id, **extra)
        page = browser.go(url)
        assert page.status == 200 and "/u/login" in page.url, (page.url, page.text[:2000])
        page = browser.submit(page, {"email": email, "password": password})
        params = callback_params(page)
        assert params.get("state") == state and "code" in params, params
        tokens = self.exchange(params["code"])
        tokens["claims"] = claims_of(tokens["id_token"])
        return tokens

    def fails(
        self,
        browser: Browser,
        connection: str,
        at_provider: Callable[[Browser, Page], Page] | None = None,
    ) -> dict[str, str]:
        """A sign-in through ``connection`` that must come back to the app as an error (with
        the app's own state); what the app's callback was given."""
        page, state = self.start(browser, connection)
        if at_provider is not None:
            page = at_provider(browser, page)
        params = callback_params(page)
        assert params.get("state") == state, params
        assert "code" not in params, params
        return params

    def output(self) -> str:
        return self.log.read_text(errors="replace")


#: The providers run on loopback: the operator's allowance for them (and nothing else private).
LOOPBACK = ["127.0.0.0/8", "::1/128"]


def _settings(data_dir: Path, env: dict[str, str], url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=env.get("TETHER_DATABASE_URL", ""),
        public_url=url,
        master_secret=env["TETHER_MASTER_SECRET"],  # type: ignore[arg-type]
        federation_private_networks=LOOPBACK,
    )


#: Set by a module that wants more tenants served (name -> public URL as a format string
#: taking the port), made before the server starts, so its tenant cache has them.
EXTRA_TENANTS = "EXTRA_TENANTS"


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    # Not under pytest's basetemp: other pytest runs on this machine prune old ones.
    data_dir = Path(tempfile.mkdtemp(prefix="tether-connections-"))
    try:
        # The schema is made in process below (`tether db upgrade` is the same migration; a CLI
        # start costs seconds on a busy machine).
        with tether_env(data_dir, upgrade=False) as env:
            url = f"http://127.0.0.1:{env.port}"
            env.env.setdefault("TETHER_MASTER_SECRET", secrets.token_urlsafe(32))
            env.env.update(
                TETHER_PUBLIC_URL=url,
                TETHER_FEDERATION_PRIVATE_NETWORKS=json.dumps(LOOPBACK),
                TETHER_TOKEN_RATE_LIMIT="10000/minute",
            )
            settings = _settings(data_dir, env.env, url)
            extra: dict[str, str] = getattr(request.module, EXTRA_TENANTS, {})

            async def prepare(c: Container) -> dict[str, Any]:
                await c.upgrade_database()
                provisioned = await c.provision()
                assert provisioned.default_app and provisioned.management_client
                tenant = provisioned.tenant
                created = await c.applications.create(
                    tenant,
                    NewApplication(
                        name="Connections test app",
                        app_type=AppType.REGULAR_WEB,
                        callbacks=(APP_CALLBACK,),
                        grant_types=(
                            GrantType.AUTHORIZATION_CODE.value,
                            GrantType.PASSWORD_REALM.value,
                        ),
                    ),
                )
                await c.connections.enable(tenant, DEFAULT_DATABASE, created.application.client_id)
                tenants = {"default": tenant}
                for name, public_url in extra.items():
                    tenants[name] = await c.tenants.create(name, public_url.format(port=env.port))
                return {
                    "tenants": tenants,
                    "app": created,
                    "machine": provisioned.management_client,
                }

            made = in_thread(lambda: _with_container(settings, prepare))
            log = data_dir / "serve.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [TETHER, "serve", "--host", "127.0.0.1", "--port", str(env.port)],
                    env=env.env,
                    cwd=data_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                server = Live(
                    url=url,
                    issuer=url + "/",
                    settings=settings,
                    process=process,
                    log=log,
                    app_client_id=made["app"].application.client_id,
                    app_client_secret=made["app"].client_secret or "",
                    machine_client_id=made["machine"].application.client_id,
                    machine_client_secret=made["machine"].client_secret or "",
                    tenants=made["tenants"],
                )
                yield server
            finally:
                code = _stop(process)
            output = server.output()
            assert "Traceback" not in output, f"tether serve printed a traceback:\n{output}"
            assert code in (0, -15), f"tether serve exited {code}:\n{output}"
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _live_ready(request: pytest.FixtureRequest) -> None:
    """A test that uses the live server runs once it answers (module fixtures, set up before
    this one, overlap with its start)."""
    if "live" in request.fixturenames:
        request.getfixturevalue("live").wait_ready()


async def _with_container(settings: Settings, fn: Callable[[Container], Awaitable[Any]]) -> Any:
    container = build_container(settings, hash_parameters=FAST_HASH)
    try:
        return await fn(container)
    finally:
        await container.close()


# -- the real OpenID provider (npm oidc-provider) ---------------------------------------------


@dataclass
class NodeProvider:
    """oidc-provider on loopback: its issuer, and the client registered for Tether."""

    issuer: str
    client_id: str
    client_secret: str
    process: subprocess.Popen[str]
    output: list[str]

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def connection_options(self, **extra: Any) -> dict[str, Any]:
        return {
            "discovery_url": self.discovery_url,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": "openid profile email",
            **extra,
        }


#: The accounts oidc-provider knows (its dev login form takes the login; any password).
NODE_ACCOUNTS = {
    "alice": {
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice Upstream",
        "given_name": "Alice",
        "family_name": "Upstream",
        "nickname": "alice",
    },
    "bob": {"email": "bob@example.com", "email_verified": False, "name": "Bob Upstream"},
    "carol": {"email": "carol@example.com", "email_verified": True, "name": "Carol Upstream"},
    "dave": {"email": "dave@example.com", "email_verified": True, "name": "Dave Upstream"},
    "erin": {"email": "erin@example.com", "email_verified": True, "name": "Erin Upstream"},
    "frank": {"email": "frank@example.com", "email_verified": True, "name": "Frank Upstream"},
}


def node_unavailable() -> str | None:
    if shutil.which("node") is None:
        return "node is missing (apt-get install nodejs npm)"
    if not (NODE_MODULES / "oidc-provider" / "package.json").is_file():
        return "tests/connections/node_modules is missing (npm ci --prefix tests/connections)"
    return None


@contextlib.contextmanager
def node_provider(redirect_uris: list[str]) -> Iterator[NodeProvider]:
    """Start oidc_provider.mjs on a free loopback port; stop it after."""
    _require(node_unavailable())
    client_id = "tether-" + secrets.token_hex(4)
    # RFC 6749 §2.3.1: a secret with characters that must be form-urlencoded in Basic auth.
    client_secret = "s3cret+with/odd=chars%" + secrets.token_hex(8)
    config = {
        "host": "127.0.0.1",
        "port": free_port(),
        "clients": [
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": redirect_uris,
            }
        ],
        "accounts": NODE_ACCOUNTS,
    }
    process = subprocess.Popen(
        ["node", str(PROVIDER_SCRIPT), json.dumps(config)],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if line.startswith("listening "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(NODE_START_TIMEOUT):
            raise AssertionError("oidc-provider did not start:\n" + "\n".join(output))
        issuer = next(line for line in output if line.startswith("listening ")).split()[1]
        provider = NodeProvider(issuer, client_id, client_secret, process, output)
        r = httpx.get(provider.discovery_url, timeout=5)
        assert r.status_code == 200 and r.json()["issuer"] == issuer, r.text
        yield provider
    finally:
        if process.stdin:
            with contextlib.suppress(OSError):
                process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


#: Tether's link prompt at sign-in (issue 16): shown when the identity that signed in has a
#: verified email another user of the tenant has verified too.
LINK_PROMPT = "/u/link-account"


def keep_separate(
    then: Callable[[Browser, Page], Page] | None = None,
) -> Callable[[Browser, Page], Page]:
    """``then`` (the provider's pages, if any), and then "Keep separate" on Tether's link
    prompt if it asks: for tests about something else whose person has two accounts with the
    same verified address."""

    def steps(browser: Browser, page: Page) -> Page:
        if then is not None:
            page = then(browser, page)
        if page.status == 200 and LINK_PROMPT in page.url:
            forms = page.parsed().forms
            index = next(
                i for i, f in enumerate(forms) if f["inputs"].get("decision") == "separate"
            )
            return browser.submit(page, index=index)
        return page

    return steps


def node_login(login: str) -> Callable[[Browser, Page], Page]:
    """At oidc-provider: its dev login form (any password), then its consent page."""

    def steps(browser: Browser, page: Page) -> Page:
        for _ in range(4):
            if page.status == 0 or LINK_PROMPT in page.url:  # back at the app, or Tether asks
                return page
            assert page.status == 200, (page.url, page.status, page.text[:2000])
            inputs = page.form()["inputs"]
            if inputs.get("prompt") == "login":
                page = browser.submit(page, {"login": login, "password": "anything"})
            elif inputs.get("prompt") == "consent":
                page = browser.submit(page)
            else:
                raise AssertionError(f"unexpected page at the provider: {page.text[:2000]}")
        return page

    return steps
