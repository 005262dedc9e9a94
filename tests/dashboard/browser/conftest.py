"""Real-browser tests of the dashboard and the Linked accounts page: Playwright drives Debian's
Chromium against a live ``tether serve`` (SQLite in a temporary folder, or a fresh PostgreSQL
database ``tether_dash_<random>`` when ``TETHER_TEST_DATABASE_URL`` is set).

Users are made through the Management API with the machine client ``tether init`` prints (fast);
the admin role through ``tether admins add`` (the command under test). Every page Tether serves
is checked against the browser rules (tests/browser/support.Watch) when a test ends.

Setup (scripts/test does it): ``apt-get install chromium``, ``npm ci --prefix tests/browser`` is
not needed here, ``npm ci --prefix tests/dashboard`` (axe-core).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    Session,
    free_port,
    new_session,
    run_cli,
    tether_bin,
)

PG_URL = os.environ.get("TETHER_TEST_DATABASE_URL", "")
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
#: Set to a folder (docs/screenshots) to save the pages' screenshots there.
SCREENSHOTS = os.environ.get("TETHER_SCREENSHOTS", "")
DATABASE = "Username-Password-Authentication"


def _unavailable() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)"
    if not AXE.is_file():
        return "tests/dashboard/node_modules is missing (npm ci --prefix tests/dashboard)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="package")
def _requirements() -> None:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)


def _pg(url: str, statement: str, *args: Any) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)

    async def run() -> None:
        conn = await asyncpg.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            database=u.database or "postgres",
            timeout=10,
        )
        try:
            await conn.execute(statement, *args, timeout=30)
        finally:
            await conn.close()

    # In a thread of its own: Playwright's sync API keeps an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


@pytest.fixture(scope="package")
def database_url(_requirements: None) -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    from sqlalchemy.engine import make_url

    name = "tether_dash_" + secrets.token_hex(6)
    _pg(PG_URL, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _pg(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Live:
    """A running ``tether serve`` and a Management API token for making users."""

    url: str
    env: dict[str, str]
    data_dir: Path
    log: Path
    database_url: str | None
    token: str
    admin_email: str
    # What tests/browser/support.Watch reads: no app of its own here.
    app_url: str = "http://app.invalid/"
    app_origin: str = "http://app.invalid"

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        r = httpx.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            **kwargs,
        )
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    def user(self, label: str, name: str | None = None) -> dict[str, Any]:
        email = f"{label}-{secrets.token_hex(3)}@example.com"
        body = {
            "connection": DATABASE,
            "email": email,
            "password": PASSWORD,
            "email_verified": True,
        }
        if name:
            body["name"] = name
        user: dict[str, Any] = self.api("POST", "/users", json=body)
        return user

    def link(self, primary: dict[str, Any], secondary: dict[str, Any]) -> None:
        provider, _, subject = secondary["user_id"].partition("|")
        self.api(
            "POST",
            f"/users/{primary['user_id']}/identities",
            json={"provider": provider, "user_id": subject},
        )

    def age_sessions(self, email: str, minutes: int) -> None:
        """Make every session of ``email``'s user look signed in ``minutes`` earlier."""
        if self.database_url:
            _pg(
                self.database_url,
                "UPDATE sessions SET auth_time = auth_time - make_interval(mins => $2) "
                "WHERE user_pk IN (SELECT pk FROM users WHERE lower(email) = lower($1))",
                email,
                minutes,
            )
            return
        with sqlite3.connect(self.data_dir / "tether.db") as db:
            rows = db.execute(
                "SELECT id, auth_time FROM sessions "
                "WHERE user_pk IN (SELECT pk FROM users WHERE lower(email) = lower(?))",
                (email,),
            ).fetchall()
            for session_id, auth_time in rows:
                older = datetime.fromisoformat(auth_time) - timedelta(minutes=minutes)
                db.execute(
                    "UPDATE sessions SET auth_time = ? WHERE id = ?",
                    (older.isoformat(sep=" ", timespec="microseconds"), session_id),
                )


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
    data_dir = Path(tempfile.mkdtemp(prefix="tether-dashboard-"))
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
            "TETHER_MASTER_SECRET": secrets.token_urlsafe(32),
        }
    )
    if database_url:
        env["TETHER_DATABASE_URL"] = database_url
        run_cli(env, data_dir, "db", "upgrade")
    init = json.loads(run_cli(env, data_dir, "init", "--json"))
    machine = init["management_client"]
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
        _wait_until_up(url, process, log)
        r = httpx.post(
            f"{url}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": machine["client_id"],
                "client_secret": machine["client_secret"],
                "audience": machine["audience"],
            },
            timeout=10,
        )
        assert r.status_code == 200, r.text
        live = Live(url, env, data_dir, log, database_url, r.json()["access_token"], "")
        admin = live.user("admin", name="Ada Admin")
        run_cli(env, data_dir, "admins", "add", admin["email"])
        live.admin_email = admin["email"]
        yield live
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture(scope="package")
def browser(_requirements: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


def _session(browser: Any, live: Live, **options: Any) -> Session:
    return new_session(browser, live, **options)  # type: ignore[arg-type]


@pytest.fixture
def session(browser: Any, live: Live) -> Iterator[Session]:
    s = _session(browser, live, viewport={"width": 1280, "height": 900})
    try:
        yield s
        s.page.wait_for_timeout(100)
        s.watch.check()
    finally:
        s.context.close()


@pytest.fixture
def phone(browser: Any, live: Live) -> Iterator[Session]:
    s = _session(
        browser,
        live,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        yield s
        s.page.wait_for_timeout(100)
        s.watch.check()
    finally:
        s.context.close()
