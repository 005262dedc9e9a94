"""Real-browser tests: Playwright drives Debian's Chromium against a live ``tether serve``, and
the application page uses the real npm package @auth0/auth0-spa-js.

The page is the SPA playground (examples/spa-playground), served from another loopback port: the
app (http://localhost:APP) and Tether (http://localhost:TETHER) are different origins but the
same site, as in a local deployment. All traffic stays on loopback.

Setup (scripts/test does it): ``apt-get install chromium`` and ``npm ci --prefix tests/browser``.
Without them these tests are skipped, or fail when ``CI=true``.

Backend: SQLite in a temporary folder or, with ``TETHER_TEST_DATABASE_URL`` set, a fresh
database ``tether_browser_<random>`` on that PostgreSQL server, dropped afterwards.

Every test's browser context records the hosted pages it was served; when the test ends they are
checked against the browser rules (support.Watch.check), and a CSP violation fails the test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PLAYGROUND,
    SPA_JS,
    Live,
    Session,
    free_port,
    new_session,
    run_cli,
    tether_bin,
)

PG_URL = os.environ.get("TETHER_TEST_DATABASE_URL", "")


def _unavailable() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)"
    if not (SPA_JS / "auth0-spa-js.production.js").is_file():
        return "tests/browser/node_modules is missing (npm ci --prefix tests/browser)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="package")
def _requirements() -> None:
    """Package-scoped like the server and the browser: they stop when the browser tests end."""
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)


# -- the database ---------------------------------------------------------------------------


def _pg_admin(statement: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)

    async def run() -> None:
        conn = await asyncpg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database or "postgres",
            timeout=10,
        )
        try:
            await conn.execute(statement, timeout=30)
        finally:
            await conn.close()

    # In a thread of its own: Playwright's sync API keeps an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


@pytest.fixture(scope="package")
def database_url(_requirements: None) -> Iterator[str | None]:
    """The live server's database: None for SQLite (a file in its data folder)."""
    if not PG_URL:
        yield None
        return
    from sqlalchemy.engine import make_url

    name = "tether_browser_" + secrets.token_hex(6)
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the live server and the app ------------------------------------------------------------


def _load_playground() -> Any:
    spec = importlib.util.spec_from_file_location("spa_playground_serve", PLAYGROUND)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tether serve exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"tether serve did not answer in 30 s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="package")
def live(database_url: str | None) -> Iterator[Live]:
    """``tether init`` + an API + a SPA application, then ``tether serve`` on a free port."""
    # Not under pytest's basetemp: other pytest runs on this machine prune old ones.
    data_dir = Path(tempfile.mkdtemp(prefix="tether-browser-"))
    try:
        yield from _serve(data_dir, database_url)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _serve(data_dir: Path, database_url: str | None) -> Iterator[Live]:
    port = free_port()
    url = f"http://localhost:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {
            "TETHER_DATA_DIR": str(data_dir),
            "TETHER_PORT": str(port),
            "TETHER_PUBLIC_URL": url,
            "TETHER_LOG_LEVEL": "warning",
            # From the environment: `tether db upgrade` wants it before `tether init` runs.
            "TETHER_MASTER_SECRET": secrets.token_urlsafe(32),
        }
    )
    if database_url:
        env["TETHER_DATABASE_URL"] = database_url
        run_cli(env, data_dir, "db", "upgrade")
    init = json.loads(run_cli(env, data_dir, "init", "--json"))
    assert init["issuer"] == url + "/"

    app_server = _load_playground().start({}, spa_js=SPA_JS)
    app_origin = f"http://localhost:{app_server.port}"
    app_url = app_origin + "/"
    audience = f"{app_origin}/api/"
    # A callback whose origin is not one of the app's web origins.
    other_callback = f"http://127.0.0.1:{app_server.port}/"
    # Each CLI call is a second or more of start-up: the server and both commands run at once.
    log = data_dir / "serve.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [tether_bin(), "serve", "--port", str(port)],
                env=env,
                cwd=data_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        with ThreadPoolExecutor(2) as pool:
            api = pool.submit(
                run_cli, env, data_dir, "apis", "create", "Playground API",
                "--identifier", audience, "--scopes", "read:things write:things",
                "--allow-offline-access", "--json",
            )  # fmt: skip
            app = pool.submit(
                run_cli, env, data_dir, "apps", "create", "Playground", "--type", "spa",
                "--callbacks", f"{app_url} {other_callback}", "--web-origins", app_origin,
                "--logout-urls", app_url,
                "--grant-types", "authorization_code refresh_token",
                "--connection", "Username-Password-Authentication", "--json",
            )  # fmt: skip
            api.result()
            client_id = json.loads(app.result())["client_id"]
        app_server.config.update(
            {"domain": url, "clientId": client_id, "audience": audience, "redirectUri": app_url}
        )
        _wait_until_up(url, process, log)
        yield Live(
            url=url,
            issuer=init["issuer"],
            app_url=app_url,
            app_origin=app_origin,
            client_id=client_id,
            audience=audience,
            other_callback=other_callback,
            env=env,
            data_dir=data_dir,
            log=log,
        )
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        app_server.shutdown()
        app_server.server_close()


# -- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser(_requirements: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def _leave_evidence(s: Session) -> None:
    """After a failure: each tab's screenshot, address and HTML, and the server's log."""
    folder = Path(tempfile.mkdtemp(prefix="tether-browser-failure-"))
    shutil.copy(s.live.log, folder / "serve.log")
    for i, page in enumerate(s.context.pages):
        try:
            page.screenshot(path=str(folder / f"tab{i}.png"), timeout=5000)
            (folder / f"tab{i}.html").write_text(f"<!-- {page.url} -->\n" + page.content())
        except Exception as exc:  # a closed popup, a page mid-navigation: keep going
            (folder / f"tab{i}.txt").write_text(repr(exc))
    print(f"\nbrowser evidence (screenshots, HTML, server log) in {folder}")


@pytest.fixture
def session(browser: Any, live: Live, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A fresh browser context at desktop size; its hosted pages are checked at the end."""
    s = new_session(browser, live, viewport={"width": 1280, "height": 800})
    try:
        yield s
        if request.node.stash.get(_FAILED, False):
            _leave_evidence(s)
        else:
            s.page.wait_for_timeout(200)  # let the last response events reach the watch
            s.watch.check()
    finally:
        s.context.close()
