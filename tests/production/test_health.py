"""/healthz, /readyz and graceful shutdown (issue 14, "Health").

In process: each readiness check passing and failing (no schema, a schema behind or ahead of
the code, a wrong master secret, Redis down or up, shutting down), with bounded time and no
exception text in the answer. Live: ``tether serve`` on SIGTERM answers /readyz 503 while it
still accepts connections for TETHER_SHUTDOWN_DELAY, then closes its listener, finishes the
request in flight, cuts the one that never ends after TETHER_SHUTDOWN_TIMEOUT, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, World, make_settings
from tests.production.support import Node, free_port, prepared, start_node
from tether.bootstrap import build_container
from tether.domain.health import Check, HealthService
from tether.storage import migrate
from tether.web.app import create_app

HEAD = migrate.head_revision()


async def _stamp(engine: AsyncEngine, revision: str | None) -> None:
    """Say which migration the database is at (the fixture's schema is made from the tables,
    which a test keeps equal to the head migration)."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS alembic_version "
                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
            )
        )
        await conn.execute(sa.text("DELETE FROM alembic_version"))
        if revision:
            await conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})


@pytest.fixture
def serve(world: World, engine: AsyncEngine, tmp_path: Path) -> Any:
    @contextlib.asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = make_settings(tmp_path, **overrides)
        container = build_container(settings, engine=engine, hash_parameters=FAST_HASH)
        app = create_app(container, deliver_mail=False)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield client

    return factory


async def test_healthz_answers_without_a_database(world: World, serve: Any) -> None:
    async with serve() as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_at_head(world: World, engine: AsyncEngine, serve: Any) -> None:
    await _stamp(engine, HEAD)
    async with serve() as http:
        response = await http.get("/readyz", headers={"Host": "anything.example"})
        keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    checks = body["checks"]
    assert set(checks) == {"database", "migrations", "signing_keys", "shutdown"}  # no Redis set
    assert all(c["ok"] is True for c in checks.values()), checks
    assert checks["migrations"] == {"ok": True, "database": HEAD, "code": HEAD}
    assert checks["signing_keys"]["kid"] in {k["kid"] for k in keys}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("revision", "ready", "detail"),
    [
        (None, False, "no schema: run `tether db upgrade`"),
        ("0001", False, "the database is behind: run `tether db upgrade`"),
        ("9999_from_a_newer_release", True, "the database is at a newer release's revision"),
    ],
)
async def test_migrations_check(
    world: World,
    engine: AsyncEngine,
    serve: Any,
    revision: str | None,
    ready: bool,
    detail: str,
) -> None:
    await _stamp(engine, revision)
    async with serve() as http:
        response = await http.get("/readyz")
    assert response.status_code == (200 if ready else 503), response.text
    body = response.json()
    assert body["status"] == ("ready" if ready else "not ready")
    assert body["checks"]["migrations"] == {
        "ok": ready,
        "detail": detail,
        "database": revision,
        "code": HEAD,
    }
    assert body["checks"]["database"] == {"ok": True}


async def test_a_wrong_master_secret_is_not_ready(
    world: World, engine: AsyncEngine, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await _stamp(engine, HEAD)
    with caplog.at_level(logging.WARNING, logger="tether.health"):
        async with serve(master_secret="another-master-secret-" + "y" * 32) as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["signing_keys"] == {"ok": False, "detail": "failed"}
    assert "readiness check signing_keys failed" in caplog.text


async def test_redis_is_checked_when_configured(
    world: World, engine: AsyncEngine, serve: Any
) -> None:
    await _stamp(engine, HEAD)
    # Nothing listens on port 1: refused at once; the probe answers, /readyz says why.
    async with serve(redis_url="redis://127.0.0.1:1/0") as http:
        down = await http.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"]["redis"]["ok"] is False
    assert "127.0.0.1" not in down.text

    async with serve(redis_url="redis://127.0.0.1:6379/0") as http:
        up = await http.get("/readyz")
    if up.json()["checks"]["redis"]["ok"] is not True:
        pytest.fail(
            f"Redis at 127.0.0.1:6379 is needed for this test (.ci/run starts it): {up.text}"
        )
    assert up.status_code == 200


async def test_draining_is_not_ready(world: World, engine: AsyncEngine, serve: Any) -> None:
    await _stamp(engine, HEAD)
    async with serve() as http:
        transport = http._transport
        assert isinstance(transport, httpx.ASGITransport)
        transport.app.state.lifecycle.drain()  # type: ignore[attr-defined]
        response = await http.get("/readyz")
        # Still serving while the load balancer catches up.
        assert (await http.get("/.well-known/openid-configuration")).status_code == 200
    assert response.status_code == 503
    assert response.json()["checks"]["shutdown"] == {
        "ok": False,
        "detail": "draining: the process received SIGTERM",
    }


async def test_checks_are_bounded_and_say_nothing_of_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def hangs() -> Check:
        await asyncio.sleep(60)
        return Check(True)

    async def leaks() -> Check:
        raise ConnectionError("could not connect to postgresql://tether:hunter2@db.internal/")

    async def fine() -> Check:
        return Check(True)

    service = HealthService({"slow": hangs, "bad": leaks, "good": fine}, timeout=0.2)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="tether.health"):
        found = await service.readiness()
    assert time.monotonic() - started < 2
    assert found.ready is False
    assert found.checks["slow"] == Check(False, "no answer within 0.2 s")
    assert found.checks["bad"] == Check(False, "failed")
    assert found.checks["good"] == Check(True)
    assert "hunter2" not in caplog.text and "db.internal" not in caplog.text


# -- graceful shutdown, live ------------------------------------------------------------------

DELAY = 2.0
TIMEOUT = 4


@pytest.fixture
def node() -> Iterator[Node]:
    folder = Path(tempfile.mkdtemp(prefix="tether-drain-"))
    port = free_port()
    settings = {
        "shutdown_delay": str(DELAY),
        "shutdown_timeout": str(TIMEOUT),
        "public_url": f"http://localhost:{port}",
    }
    with prepared(folder, **settings) as (env, _):
        started = start_node(env, folder, port)
        try:
            started.wait_ready("/readyz")
            yield started
        finally:
            started.stop(signal.SIGKILL)


def _begin_post(port: int, body: bytes) -> socket.socket:
    """A POST /oauth/token whose headers are sent and whose body is only half sent: a request
    in flight until the rest comes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /oauth/token HTTP/1.1\r\nHost: localhost:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) // 2])
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed without an answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return status, json.loads(rest[:length])


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_turns_readiness_off_drains_then_exits(node: Node) -> None:
    body = json.dumps(
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x" * 40}
    ).encode()
    finishing = _begin_post(node.port, body)
    stuck = _begin_post(node.port, body)
    time.sleep(0.3)  # both requests reached the application

    sent = time.monotonic()
    node.process.send_signal(signal.SIGTERM)
    # Not ready at once, while the listener still takes connections and requests.
    deadline = time.monotonic() + 1.5
    while True:
        ready = httpx.get(node.url + "/readyz", timeout=2)
        if ready.status_code == 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["shutdown"]["ok"] is False
    assert time.monotonic() - sent < DELAY, "readiness must turn off before the listener closes"
    assert httpx.get(node.url + "/healthz", timeout=2).status_code == 200

    # After the delay the listener closes ...
    while not _refused(node.port):
        assert time.monotonic() - sent < DELAY + 5, "the listener stayed open"
        time.sleep(0.1)
    assert time.monotonic() - sent >= DELAY - 0.2

    # ... the request in flight still gets its whole answer ...
    finishing.sendall(body[len(body) // 2 :])
    status, answer = _read_response(finishing)
    assert status == 401, answer
    assert answer["error"] == "invalid_client"
    finishing.close()

    # ... and the one that never finishes is cut after the timeout; then the process exits.
    code = node.process.wait(timeout=DELAY + TIMEOUT + 10)
    took = time.monotonic() - sent
    stuck.close()
    assert code in (0, -signal.SIGTERM), node.log()
    assert DELAY + TIMEOUT - 1 <= took <= DELAY + TIMEOUT + 5, took
    log = node.log()
    # uvicorn says it cut the request, and prints the cancelled task's traceback: that one only.
    assert "Cancel 1 running task(s), timeout graceful shutdown exceeded" in log, log
    assert log.count("Traceback") == 1, log
    assert "CancelledError: Task cancelled, timeout graceful shutdown exceeded" in log, log
