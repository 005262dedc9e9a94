"""CPU per ``POST /oauth/token`` in one process, with no HTTP server and no client in the way.

Usage (from the repository root)::

    .venv/bin/python -m bench.token_profile [--kind cc|login] [--requests 3000]
        [--concurrency 16|8] [--profile] [--top 40]

Builds a container on a fresh SQLite database in a temporary folder (the production argon2
parameters), provisions the default tenant and one user, and calls the ASGI application
directly with ``--concurrency`` concurrent requests (the body wrk sends in bench/run.py) on
uvloop. It prints the process's CPU time per request, the statements run per request and the
group commit's batches; ``--profile`` adds a cProfile listing of the event loop's thread (its CPU time,
``time.thread_time``: argon2's threads are not in it) sorted by own time. Because it
measures CPU time of the one process (argon2's threads included), the figure does not depend
on what else the machine is doing, unlike bench/run.py's rates.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
EMAIL = "bench@example.com"
PASSWORD = "a bench passphrase, long enough 123"


async def _setup(tmp: Path) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    from tether.bootstrap import build_container
    from tether.config import Settings
    from tether.domain.users import NewDatabaseUser
    from tether.web.app import create_app

    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp,
        public_url="http://localhost:8000",
        master_secret="bench-master-secret-" + "x" * 32,
        token_rate_limit="100000000/second",
        login_rate_limit_ip="100000000/second",
        login_rate_limit_account="100000000/second",
        log_level="warning",
    )
    container = build_container(settings)
    await container.upgrade_database()
    made = await container.provision()
    assert made.default_app and made.management_client
    await container.users.create(
        made.tenant, None, NewDatabaseUser(email=EMAIL, password=PASSWORD, email_verified=True)
    )
    mgmt = made.management_client
    app = made.default_app
    cc = {
        "grant_type": "client_credentials",
        "client_id": mgmt.application.client_id,
        "client_secret": mgmt.client_secret,
        "audience": "http://localhost:8000/api/v2/",
    }
    login = {
        "grant_type": PASSWORD_REALM,
        "client_id": app.application.client_id,
        "client_secret": app.client_secret,
        "username": EMAIL,
        "password": PASSWORD,
        "realm": "Username-Password-Authentication",
        "scope": "openid",
    }
    return container, create_app(container, deliver_mail=False), cc, login


def token_scope(body: bytes) -> dict[str, Any]:
    """The ASGI scope of a JSON ``POST /oauth/token`` carrying ``body`` (also bench/layer_cost.py)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/oauth/token",
        "raw_path": b"/oauth/token",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"localhost:8000"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def _call(app: Any, body: bytes) -> int:
    scope = token_scope(body)
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _drive(app: Any, body: bytes, requests: int, concurrency: int) -> list[int]:
    remaining = requests
    statuses: list[int] = []

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            statuses.append(await _call(app, body))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses


def _statement_counter(engine: Any) -> list[int]:
    from sqlalchemy import event

    from tether.storage.db import statement_engines

    count = [0]

    def before(*_args: Any) -> None:
        count[0] += 1

    for target in statement_engines(engine):  # on SQLite the units of work's pool too
        event.listen(target, "before_cursor_execute", before)
    return count


async def _main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tether-profile-"))
    try:
        container, app, cc, login = await _setup(tmp)
        body = json.dumps(cc if args.kind == "cc" else login).encode()
        warm = await _drive(app, body, min(200, args.requests), args.concurrency)
        if set(warm) != {200}:
            raise SystemExit(f"warm-up answered {sorted(set(warm))}")
        statements = _statement_counter(container.engine)
        batches_before = len(container.tokens._events.batches)
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        cpu, wall, loop_cpu = time.process_time(), time.perf_counter(), time.thread_time()
        if profiler:
            profiler.enable()
        statuses = await _drive(app, body, args.requests, args.concurrency)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        loop_cpu = time.thread_time() - loop_cpu
        bad = [s for s in statuses if s != 200]
        batches = container.tokens._events.batches[batches_before:]
        n = len(statuses)
        print(
            f"{args.kind}: {n} requests, {args.concurrency} concurrent, {len(bad)} not 200; "
            f"{cpu / n * 1000:.3f} ms CPU/request ({loop_cpu / n * 1000:.3f} ms on the event loop's "
            f"thread), {n / wall:,.0f}/s wall; "
            f"{statements[0] / n:.2f} statements/request; "
            f"{len(batches)} group commits ({n / max(1, len(batches)):.1f} events each)"
        )
        if profiler:
            if args.dump:
                profiler.dump_stats(args.dump)
            stats = pstats.Stats(profiler)
            stats.sort_stats(args.sort).print_stats(args.top)
        await container.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=("cc", "login"), default="cc")
    parser.add_argument("--requests", type=int, default=3000)
    # Logins: 8, wrk's in bench/run.py. One account's concurrent attempts past the tenant's
    # brute-force limit (10) are refused before the hash (domain/brute_force.py).
    parser.add_argument("--concurrency", type=int, default=None, help="16 for cc, 8 for login")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="write the cProfile stats to this file")
    args = parser.parse_args(argv)
    if args.concurrency is None:
        args.concurrency = 16 if args.kind == "cc" else 8
    import uvloop

    uvloop.run(_main(args))


if __name__ == "__main__":
    main()
