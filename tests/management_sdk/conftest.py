"""Fixtures for the Management API tests with real SDKs and by hand.

- ``live``: a real ``tether serve`` (module scope) set up with ``tether init``, on SQLite or, with
  ``TETHER_TEST_DATABASE_URL``, on a fresh PostgreSQL database made and dropped by
  tests/e2e/conftest.py's ``tether_env``. Its Management API limit is raised so many calls
  in a row never meet a 429.
- ``run_sdk``: runs one of the client scripts here under another virtualenv's python (auth0-python
  4.x and 5.x cannot live in .venv beside 6.x; scripts/test makes .venv-sdk4 and .venv-sdk5).
- ``engine``, ``reuse_rsa_keys`` and ``serve_with`` from tests/web/conftest.py, for the in-process
  tests: one PostgreSQL schema per session emptied per test, a pool of RSA keys, and a second
  app with other settings over the same database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.e2e.conftest import DATABASE_CONNECTION, TETHER, tether_env
from tests.web.conftest import engine, reuse_rsa_keys, serve_with, web_pg_schema
from tether.config import Settings

__all__ = ["engine", "reuse_rsa_keys", "serve_with", "web_pg_schema"]

ROOT = Path(__file__).resolve().parents[2]
#: In process and live: far above what a test sends, so only the rate-limit test meets a 429.
TEST_RATE_LIMIT = "100000/second"
HERE = Path(__file__).resolve().parent
START_TIMEOUT = 30.0
SDK_TIMEOUT = 120.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """tests/conftest.py's settings, with the Management API limit out of the way."""
    return make_settings(tmp_path, management_rate_limit=TEST_RATE_LIMIT)


@dataclass(frozen=True)
class SdkEnv:
    """A virtualenv holding one auth0-python line, made by scripts/test from ``requirements``."""

    name: str
    venv: Path
    requirements: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def ready(self) -> bool:
        return self.python.exists()

    def check(self) -> Path:
        """The venv's python; fails (never skips) when scripts/test has not made it, or made it
        from other requirements than the file's."""
        stamp = self.venv / ".tether-sdk-installed"
        want = hashlib.sha256(self.requirements.read_bytes()).hexdigest()
        if not self.python.exists():
            pytest.fail(
                f"{self.venv.name} is missing: run scripts/test, which creates it with "
                f"{self.requirements.read_text().strip()!r} for {self.name}"
            )
        if not stamp.exists() or stamp.read_text().strip() != want:
            pytest.fail(
                f"{self.venv.name} was made from other requirements than "
                f"{self.requirements.relative_to(ROOT)}: run scripts/test to refresh it"
            )
        return self.python


SDK4 = SdkEnv("auth0-python 4.x", ROOT / ".venv-sdk4", HERE / "requirements-sdk4.txt")
SDK5 = SdkEnv("auth0-python 5.x", ROOT / ".venv-sdk5", HERE / "requirements-sdk5.txt")


@dataclass
class Live:
    """A running server and what ``tether init --json`` printed."""

    port: int
    init: dict[str, Any]
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def domain(self) -> str:
        return f"localhost:{self.port}"

    @property
    def issuer(self) -> str:
        return str(self.init["issuer"])

    @property
    def audience(self) -> str:
        return f"{self.issuer}api/v2/"

    def config(self, tag: str) -> dict[str, Any]:
        """What the client scripts read on stdin."""
        return {
            "domain": self.domain,
            "connection": DATABASE_CONNECTION,
            "tag": tag,
            "app": self.init["default_app"],
            "machine": self.init["management_client"],
        }

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("mgmt-live")
    with tether_env(data_dir) as env:
        env.env["TETHER_MANAGEMENT_RATE_LIMIT"] = TEST_RATE_LIMIT
        init = env.json("init")
        assert init["created"] is True, init
        assert init["issuer"] == env.issuer, init
        log = data_dir / "serve.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [TETHER, "serve", "--host", "127.0.0.1", "--port", str(env.port)],
                env=env.env,
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        server = Live(env.port, init, process, log)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if process.poll() is not None:
                    pytest.fail(f"tether serve exited {process.returncode}:\n{server.output()}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{env.port}/healthz", timeout=1).is_success:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"tether serve did not start:\n{server.output()}")
                time.sleep(0.1)
            yield server
        finally:
            code = _stop(process)
        output = server.output()
        assert "Traceback" not in output, f"tether serve printed a traceback:\n{output}"
        assert code in (0, -signal.SIGTERM), f"tether serve exited {code}:\n{output}"


def run_sdk(python: Path, script: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run ``python script`` with ``config`` on stdin; its stdout parsed as JSON."""
    proc = subprocess.run(
        [str(python), str(HERE / script)],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=SDK_TIMEOUT,
        cwd=HERE,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{python} {script} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n"
        f"--- stderr\n{proc.stderr[-4000:]}"
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


MAIN_PYTHON = Path(sys.executable)
