"""The demo as a person runs it: ``tether serve --demo`` as a subprocess, the AngularJS sample
(examples/angularjs-linking) on its own port, and Debian's Chromium driven by Playwright.

Setup (scripts/test does it): ``apt-get install chromium`` and
``npm ci --prefix examples/angularjs-linking``. Without them the browser tests here are skipped,
or fail when ``CI=true``. The in-process test (test_legacy.py) needs neither.

Backend: SQLite in a temporary data folder or, with ``TETHER_TEST_DATABASE_URL`` set, a fresh
database ``tether_demo_<random>`` on that PostgreSQL server (``tether db upgrade`` first), dropped
afterwards. Everything listens on loopback; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, free_port, run_cli, tether_bin
from tests.demo.support import SAMPLE, Demo, Person, new_person

PG_URL = os.environ.get("TETHER_TEST_DATABASE_URL", "")
START_TIMEOUT_S = 45


def _unavailable() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it as root)"
    for needed in (
        "angular/angular.min.js",
        "@auth0/auth0-spa-js/dist/auth0-spa-js.production.js",
    ):
        if not (SAMPLE / "node_modules" / needed).is_file():
            return (
                "examples/angularjs-linking/node_modules is missing "
                "(npm ci --prefix examples/angularjs-linking)"
            )
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="package")
def _requirements() -> None:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"demo browser tests cannot run: {reason}")
        pytest.skip(reason)


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
def _database_url(_requirements: None) -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    from sqlalchemy.engine import make_url

    name = "tether_demo_" + secrets.token_hex(6)
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_until_up(urls: list[str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tether serve --demo exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(pending[0], timeout=2).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    if pending:
        raise AssertionError(
            f"tether serve --demo did not answer {pending[0]} in {START_TIMEOUT_S} s:\n"
            + log.read_text(errors="replace")
        )


@pytest.fixture(scope="package")
def demo(_database_url: str | None) -> Iterator[Demo]:
    """``tether serve --demo --port P --sample-port Q`` on a fresh data folder (and database)."""
    data_dir = Path(tempfile.mkdtemp(prefix="tether-demo-"))
    port, sample_port, lock_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {
            "TETHER_DATA_DIR": str(data_dir),
            "TETHER_LOG_LEVEL": "warning",
            "TETHER_MASTER_SECRET": secrets.token_urlsafe(32),
        }
    )
    if _database_url:
        env["TETHER_DATABASE_URL"] = _database_url
        run_cli(env, data_dir, "db", "upgrade")
    log = data_dir / "serve.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [tether_bin(), "serve", "--demo", "--port", str(port)]
                + ["--sample-port", str(sample_port), "--lock-sample-port", str(lock_port)],
                env={**env, "COLUMNS": "200"},
                cwd=data_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://localhost:{port}"
        sample_url = f"http://localhost:{sample_port}/"
        lock_url = f"http://localhost:{lock_port}/"
        _wait_until_up(
            [
                f"{url}/.well-known/openid-configuration",
                f"{sample_url}config.json",
                f"{lock_url}config.json",
            ],
            process,
            log,
        )
        config = httpx.get(f"{sample_url}config.json", timeout=5).json()
        lock_config = httpx.get(f"{lock_url}config.json", timeout=5).json()
        yield Demo(
            url=url,
            sample_url=sample_url,
            client_id=config["clientId"],
            config=config,
            lock_url=lock_url,
            lock_config=lock_config,
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
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def browser(_requirements: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def people(
    browser: Any, demo: Demo, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Person]]:
    """``people()`` opens one more browser window (its own cookies) on the sample. After the
    test: each window's page errors fail it; after a failure, their screenshots are kept."""
    made: list[Person] = []

    def person() -> Person:
        p = new_person(browser, demo)
        made.append(p)
        p.open_sample()
        return p

    try:
        yield person
        if request.node.stash.get(_FAILED, False):
            for p in made:
                p.leave_evidence()
        else:
            errors = [e for p in made for e in p.problems if "page error" in e or "CORS" in e]
            assert not errors, "the sample's pages failed:\n" + "\n".join(errors)
    finally:
        for p in made:
            p.context.close()
