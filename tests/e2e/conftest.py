"""End-to-end fixtures: the real ``tether`` console script, and a live ``tether serve`` process.

Every environment gets its own data folder, loopback port and database. The database is SQLite
in the data folder by default; with ``TETHER_TEST_DATABASE_URL`` set (``postgresql+asyncpg://``)
a fresh database ``tether_e2e_<random>`` is created on that server, migrated with ``tether db
upgrade`` (as the README's PostgreSQL recipe does, with ``TETHER_MASTER_SECRET`` in the
environment) and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

PG_URL = os.environ.get("TETHER_TEST_DATABASE_URL", "")
TETHER = str(Path(sys.executable).with_name("tether"))
DATABASE_CONNECTION = "Username-Password-Authentication"
CLI_TIMEOUT = 60
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def acme_url(port: int) -> str:
    return f"http://acme.localhost:{port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin(statement: str) -> None:
    """Run one statement on the PostgreSQL test server outside a transaction."""

    async def go() -> None:
        engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(go())


@contextlib.contextmanager
def fresh_database() -> Iterator[str | None]:
    """A new, empty PostgreSQL database (its URL), or None on SQLite."""
    if not PG_URL:
        yield None
        return
    name = "tether_e2e_" + secrets.token_hex(6)
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class TetherEnv:
    """A data folder, a port and a database, and the ``tether`` CLI pointed at them."""

    data_dir: Path
    port: int
    env: dict[str, str]
    database_url: str | None

    @property
    def issuer(self) -> str:
        return f"http://localhost:{self.port}/"

    @property
    def management_audience(self) -> str:
        return f"{self.issuer}api/v2/"

    def run(self, *args: str, expect: int | None = 0) -> Result:
        """Run ``tether ARGS``; check the exit code unless ``expect`` is None."""
        proc = subprocess.run(
            [TETHER, *args],
            env=self.env,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        result = Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        if expect is not None:
            assert proc.returncode == expect, (
                f"tether {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return self.run(*args, "--json").json()

    def fails(self, *args: str, expect: int = 1) -> str:
        """Run a command that must fail cleanly; return its stderr (the message)."""
        result = self.run(*args, expect=expect)
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output
        assert result.stderr.strip(), f"tether {' '.join(args)} failed without a message"
        return " ".join(result.stderr.split())


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent CLI invocations at once (each spends most of its second importing)."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


@contextlib.contextmanager
def tether_env(data_dir: Path, *, upgrade: bool = True) -> Iterator[TetherEnv]:
    """A fresh environment: nothing initialised yet; on PostgreSQL the schema exists unless
    ``upgrade`` is False."""
    port = free_port()
    # Nothing from the caller's TETHER_* settings leaks in; Rich gets room for whole table cells.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        TETHER_DATA_DIR=str(data_dir),
        TETHER_PORT=str(port),
        TETHER_LOG_LEVEL="warning",
        COLUMNS="250",
        NO_COLOR="1",
    )
    with fresh_database() as url:
        if url:
            env["TETHER_DATABASE_URL"] = url
            env["TETHER_MASTER_SECRET"] = secrets.token_urlsafe(32)
        tether = TetherEnv(data_dir, port, env, url)
        if url and upgrade:
            assert "Database at revision" in tether.run("db", "upgrade").stdout
        yield tether


@dataclass
class Client:
    client_id: str
    client_secret: str


@dataclass
class Server:
    """A running ``tether serve`` and what ``tether init --json`` printed for it."""

    env: TetherEnv
    process: subprocess.Popen[bytes]
    init: dict[str, Any]
    acme: dict[str, Any]
    app: Client
    machine: Client
    stdout_path: Path
    stderr_path: Path
    #: Values that must never show up in the server's output; tests add the passwords they use.
    secrets: set[str] = field(default_factory=set)

    @property
    def domain(self) -> str:
        """What auth0-python takes as ``domain``: the issuer's host, so ``iss`` matches."""
        return f"localhost:{self.env.port}"

    @property
    def issuer(self) -> str:
        return str(self.init["issuer"])

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}.well-known/jwks.json"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env.port}"

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(
            errors="replace"
        )


def _wait_healthy(process: subprocess.Popen[bytes], url: str, read_log: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"tether serve exited with {process.returncode}:\n{read_log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"tether serve did not answer {url} within {START_TIMEOUT}s:\n{read_log()}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    return process.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("serve")
    with tether_env(data_dir) as env:
        init = env.json("init")
        assert init["created"] is True, init
        # A second tenant, made before the server starts so its tenant cache already has it.
        acme = env.json("tenants", "create", "acme", "--public-url", acme_url(env.port))
        stdout_path, stderr_path = data_dir / "serve.stdout", data_dir / "serve.stderr"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [TETHER, "serve", "--host", "127.0.0.1", "--port", str(env.port)],
                env=env.env,
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        try:
            srv = Server(
                env=env,
                process=process,
                init=init,
                acme=acme,
                app=Client(init["default_app"]["client_id"], init["default_app"]["client_secret"]),
                machine=Client(
                    init["management_client"]["client_id"],
                    init["management_client"]["client_secret"],
                ),
                stdout_path=stdout_path,
                stderr_path=stderr_path,
            )
            srv.secrets.update({srv.app.client_secret, srv.machine.client_secret})
            if "TETHER_MASTER_SECRET" in env.env:
                srv.secrets.add(env.env["TETHER_MASTER_SECRET"])
            if (data_dir / "tether.secret").exists():
                srv.secrets.add((data_dir / "tether.secret").read_text().strip())
            _wait_healthy(process, f"{srv.base_url}/healthz", srv.output)
            yield srv
        finally:
            code = _stop(process)
        output = srv.output()
        assert "Traceback" not in output, f"tether serve printed a traceback:\n{output}"
        assert code in (0, -signal.SIGTERM), f"tether serve exited {code}:\n{output}"
