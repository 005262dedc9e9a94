"""Auth0's own libraries, unmodified, against one live ``tether serve`` (issue 15).

One server for the whole package: ``tether serve`` on a loopback port behind a TLS front
(support.TlsFront), its public URL ``https://localhost:PORT``, so every library gets only a
different ``domain`` and nothing else. The test pages are served over HTTPS from another port
(same site as Tether, as an app on ``app.example.com`` beside ``login.example.com``).

Setup (scripts/test does it): ``apt-get install chromium`` and ``npm ci --prefix tests/sdks``.
Without them these tests are skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    free_port,
    run_cli,
    tether_bin,
)
from tests.sdks.support import (
    NODE_MODULES,
    PageServer,
    TlsFront,
    build_lock,
    make_certificates,
)

REALM = "Username-Password-Authentication"
START_TIMEOUT_S = 120
PG_URL = os.environ.get("TETHER_TEST_DATABASE_URL", "")
#: The pages an app may return to (each is a registered callback).
PAGES = ("auth0js.html", "auth0js9.html", "lock.html", "lock-passwordless.html", "co-verify.html")


#: Errors the libraries themselves throw, whatever the server: Lock 14.3.0's
#: ``Chrome.findAutofocusInput`` (lib/ui/box/chrome.js) calls ``querySelector`` on a React
#: component while a screen changes; the widget goes on working.
KNOWN_PAGE_ERRORS = frozenset({"node.querySelector is not a function"})


def _unavailable() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)"
    if not (NODE_MODULES / "auth0-js" / "dist" / "auth0.min.js").is_file():
        return "tests/sdks/node_modules is missing (npm ci --prefix tests/sdks)"
    if not (NODE_MODULES / "auth0-lock" / "lib" / "index.js").is_file():
        return "tests/sdks/node_modules is out of date (npm ci --prefix tests/sdks)"
    if shutil.which("node") is None:
        return "node is missing (apt-get install nodejs)"
    return None


@pytest.fixture(scope="package")
def _requirements() -> None:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"SDK tests cannot run: {reason}")
        pytest.skip(reason)


@dataclass
class Live:
    url: str  # https://localhost:PORT, the tenant's public URL (TLS front)
    domain: str  # localhost:PORT: what an Auth0 SDK takes as its domain
    issuer: str
    pages: str  # https://localhost:PAGES, the test pages' origin
    spa: str  # client_id of the SPA (implicit and code grants, Management current-user scopes)
    web: str  # client_id of the regular web app (passport-auth0)
    web_secret: str
    node_port: int  # where a node app (the regular web app's callback) listens
    node_tls_port: int  # the same node app behind a TLS front (https://localhost:PORT)
    machine: str  # a machine client with read/update/create:users on the Management API
    machine_secret: str
    ca: Path
    env: dict[str, str]
    data_dir: Path
    page_server: PageServer

    def cli(self, *args: str) -> Any:
        return json.loads(run_cli(self.env, self.data_dir, *args, "--json"))

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, verify=ssl.create_default_context(cafile=self.ca), timeout=10
        )

    def signup(self, email: str, password: str = PASSWORD, client_id: str | None = None) -> str:
        """A database user, made through /dbconnections/signup as an app would; its user_id."""
        with self.http() as http:
            r = http.post(
                "/dbconnections/signup",
                json={
                    "client_id": client_id or self.spa,
                    "email": email,
                    "password": password,
                    "connection": REALM,
                },
            )
        assert r.status_code == 200, r.text
        return "auth0|" + str(r.json()["_id"])

    def node_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
        env.update({"NODE_EXTRA_CA_CERTS": str(self.ca), "TETHER_DOMAIN": self.domain})
        env.update(extra)
        return env


def email(label: str) -> str:
    return f"{label}-{secrets.token_hex(4)}@example.com"


def _wait_until_up(url: str, ca: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tether serve exited:\n{log.read_text(errors='replace')}")
        try:
            r = httpx.get(
                f"{url}/.well-known/openid-configuration",
                verify=ssl.create_default_context(cafile=ca),
                timeout=2,
            )
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(
        f"tether serve did not answer in {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}"
    )


def _provision(
    url: str, ca: Path, management: dict[str, str], pages: str, node_port: int, node_tls: int
) -> dict[str, dict[str, Any]]:
    """The SPA (implicit and code, cross-origin authentication, for the test pages), the
    regular web app (for node apps on ``node_port``), a machine client with a Management API
    grant, the database connection for all three and an ``email`` connection for the SPA."""
    with httpx.Client(
        base_url=url, verify=ssl.create_default_context(cafile=ca), timeout=30
    ) as http:
        token = http.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": management["client_id"],
                "client_secret": management["client_secret"],
                "audience": management["audience"],
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        def call(method: str, path: str, body: dict[str, Any]) -> Any:
            r = http.request(method, "/api/v2" + path, json=body)
            assert r.status_code in (200, 201), r.text
            return r.json()

        callbacks = [pages + "/", *(f"{pages}/{p}" for p in PAGES)]
        node_apps = [f"http://localhost:{node_port}", f"https://localhost:{node_tls}"]
        apps = {
            "spa": call("POST", "/clients", {
                "name": "SDK single-page app", "app_type": "spa", "callbacks": callbacks,
                "web_origins": [pages], "allowed_origins": [pages],
                "allowed_logout_urls": callbacks,
                "grant_types": ["implicit", "authorization_code", "refresh_token"],
                "cross_origin_authentication": True,
            }),
            "web": call("POST", "/clients", {
                "name": "SDK web app", "app_type": "regular_web",
                # passport-auth0, express-openid-connect; django-allauth's Auth0 provider.
                "callbacks": [
                    *(a + "/callback" for a in node_apps),
                    f"http://localhost:{node_port}/accounts/auth0/login/callback/",
                ],
                # express-openid-connect returns to its baseURL as is (no trailing slash).
                "allowed_logout_urls": [*node_apps, *(a + "/" for a in node_apps)],
                "grant_types": ["authorization_code", "implicit", "refresh_token"],
            }),
            "machine": call("POST", "/clients", {
                "name": "SDK machine", "app_type": "non_interactive",
                "grant_types": ["client_credentials"],
            }),
        }  # fmt: skip
        call("POST", "/client-grants", {
            "client_id": apps["machine"]["client_id"], "audience": url + "/api/v2/",
            "scope": ["read:users", "update:users", "create:users"],
        })  # fmt: skip
        [database] = [c for c in http.get("/api/v2/connections").json() if c["name"] == REALM]
        ids = [a["client_id"] for a in apps.values()]
        call("PATCH", f"/connections/{database['id']}", {
            "enabled_clients": [*database["enabled_clients"], *ids],
        })  # fmt: skip
        # Lock's passwordless widget signs in with the connection named "email".
        call("POST", "/connections", {
            "name": "email", "strategy": "email", "enabled_clients": [apps["spa"]["client_id"]],
        })  # fmt: skip
    return apps


@pytest.fixture(scope="package")
def live(_requirements: None) -> Iterator[Live]:
    folder = Path(tempfile.mkdtemp(prefix="tether-sdks-"))
    data_dir = folder / "data"
    data_dir.mkdir()
    build = folder / "build"
    build.mkdir()
    certificates = make_certificates(folder)
    backend, port, pages_port, node_port = free_port(), free_port(), free_port(), free_port()
    node_tls_port = free_port()
    url = f"https://localhost:{port}"
    pages = f"https://localhost:{pages_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {
            "TETHER_DATA_DIR": str(data_dir),
            "TETHER_PORT": str(backend),
            "TETHER_PUBLIC_URL": url,
            "TETHER_LOG_LEVEL": "warning",
            "TETHER_MASTER_SECRET": secrets.token_urlsafe(32),
        }
    )
    database: str | None = None
    if PG_URL:
        from sqlalchemy.engine import make_url

        from tests.browser.conftest import _pg_admin

        name = "tether_sdks_" + secrets.token_hex(6)
        _pg_admin(f'CREATE DATABASE "{name}"')
        database = name
        env["TETHER_DATABASE_URL"] = (
            make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        )
        run_cli(env, data_dir, "db", "upgrade")
    front = TlsFront(certificates, port, backend)
    # Node apps that only work over https (express-openid-connect's form_post cookies) get one.
    node_front = TlsFront(certificates, node_tls_port, node_port)
    page_server = PageServer(certificates, build).start(pages_port)
    process: subprocess.Popen[bytes] | None = None
    log = data_dir / "serve.log"
    bundle = ThreadPoolExecutor(1)
    built = bundle.submit(build_lock, build / "lock.js")  # beside the start-up below
    try:
        # Not run_cli's 60 s: on a loaded machine the first start-up (schema, keys) takes longer.
        init = json.loads(
            subprocess.run(
                [tether_bin(), "init", "--json"],
                env=env,
                cwd=data_dir,
                capture_output=True,
                text=True,
                timeout=180,
                check=True,
            ).stdout
        )
        assert init["issuer"] == url + "/"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [tether_bin(), "serve", "--port", str(backend)],
                env=env,
                cwd=data_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_until_up(url, certificates.ca, process, log)
        # Set up through the Management API, as an operator's script would: one process
        # already running, instead of a CLI start-up per application.
        apps = _provision(
            url, certificates.ca, init["management_client"], pages, node_port, node_tls_port
        )
        built.result()
        page_server.config.update(
            {
                "domain": f"localhost:{port}",
                "issuer": url + "/",
                "clientID": apps["spa"]["client_id"],
            }
        )
        yield Live(
            url=url,
            domain=f"localhost:{port}",
            issuer=url + "/",
            pages=pages,
            spa=apps["spa"]["client_id"],
            web=apps["web"]["client_id"],
            web_secret=apps["web"]["client_secret"],
            node_port=node_port,
            node_tls_port=node_tls_port,
            machine=apps["machine"]["client_id"],
            machine_secret=apps["machine"]["client_secret"],
            ca=certificates.ca,
            env=env,
            data_dir=data_dir,
            page_server=page_server,
        )
    finally:
        bundle.shutdown()
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        page_server.close()
        front.close()
        node_front.close()
        if database:
            from tests.browser.conftest import _pg_admin

            _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="package")
def browser(_requirements: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile that trusts the test CA's certificates (ignore_https_errors)."""
    ctx = browser.new_context(ignore_https_errors=True)
    ctx.set_default_timeout(15_000)
    ctx.set_default_navigation_timeout(20_000)
    errors: list[str] = []
    ctx.on("page", lambda page: page.on("pageerror", lambda exc: errors.append(str(exc))))
    try:
        yield ctx
    finally:
        ctx.close()
    assert [e for e in errors if e not in KNOWN_PAGE_ERRORS] == []
