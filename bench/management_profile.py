"""CPU per ``GET /api/v2/users/{id}`` in one process, against discovery, with no HTTP server and
no client in the way (issue 13, decision 5).

Usage (from the repository root)::

    .venv/bin/python -m bench.management_profile [--users 20000] [--runs 7] [--requests 1000]
        [--profile] [--top 40]

Builds a container on a fresh SQLite database in a temporary folder, provisions the default
tenant, bulk-inserts ``--users`` users as bench/management.py does, takes a Management API token
and calls the ASGI application directly, one request at a time, each read naming one of 5,000
users drawn at random. For each case it runs ``--runs`` batches of ``--requests`` and prints the
smallest CPU time per request (the machine is shared: the minimum is the least disturbed):
discovery, the user read through the whole application, the read through the ``/api/v2``
application alone (what the outer middleware and routing add is the difference), and two of
its parts, the service's read (the unit of work and the one statement) and the caller
(tenant, bearer, rate limit). ``--profile`` adds a cProfile listing of the full read, sorted by
own time. The ratio printed is discovery's CPU over the read's, the figure bench.management's
"CPU view" measures on a real server, where both also pay uvicorn's HTTP parsing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.management import populate

PUBLIC = "http://localhost:8000"
#: Any argon2id hash: nobody signs in here.
HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def _scope(path: str, token: str | None = None, root: str = "") -> dict[str, Any]:
    headers = [(b"host", b"localhost:8000"), (b"user-agent", b"bench")]
    if token:
        headers.append((b"authorization", b"Bearer " + token.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": root,
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _main(args: argparse.Namespace) -> None:
    import httpx
    from starlette.requests import Request
    from starlette.routing import Mount

    from tether.bootstrap import build_container
    from tether.config import Settings
    from tether.web.app import create_app
    from tether.web.management.deps import caller_or_id_token

    tmp = Path(tempfile.mkdtemp(prefix="tether-mgmt-profile-"))
    try:
        settings = Settings(  # type: ignore[call-arg]
            data_dir=tmp,
            public_url=PUBLIC,
            master_secret="bench-master-secret-" + "x" * 32,
            token_rate_limit="100000000/second",
            management_rate_limit="100000000/second",
            log_level="warning",
        )
        container = build_container(settings)
        await container.upgrade_database()
        made = await container.provision()
        assert made.management_client
        users = await populate(str(container.engine.url), args.users, HASH)
        random.seed(1)
        ids = [u.user_id for u in random.sample(users, min(5000, len(users)))]
        app = create_app(container, deliver_mail=False)
        [api] = [r.app for r in app.routes if isinstance(r, Mount) and r.path == "/api/v2"]
        machine = made.management_client
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            answer = await http.post(
                "/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": machine.application.client_id,
                    "client_secret": machine.client_secret,
                    "audience": f"{PUBLIC}/api/v2/",
                },
            )
            token = answer.json()["access_token"]
        statuses: set[int] = set()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.add(message["status"])

        def user(i: int) -> str:
            return ids[i % len(ids)]

        async def discovery(i: int) -> None:
            await app(_scope("/.well-known/openid-configuration"), _receive, send)

        async def read(i: int) -> None:
            await app(_scope(f"/api/v2/users/{user(i)}", token), _receive, send)

        async def read_api_only(i: int) -> None:
            await api(_scope(f"/api/v2/users/{user(i)}", token, "/api/v2"), _receive, send)

        tenant_id = made.tenant.id

        async def service_read(i: int) -> None:
            await container.user_admin.get(tenant_id, user(i))

        async def caller(i: int) -> None:
            scope = _scope(f"/api/v2/users/{user(i)}", token, "/api/v2")
            scope.update(app=api, path_params={"id": user(i)})
            await caller_or_id_token(Request(scope, _receive))

        cases: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
            ("GET /.well-known/openid-configuration", discovery),
            ("GET /api/v2/users/{id}", read),
            ("  through /api/v2 alone", read_api_only),
            ("  the service's read", service_read),
            ("  the caller", caller),
        ]
        best = {name: float("inf") for name, _ in cases}
        for _, fn in cases:
            for i in range(300):
                await fn(i)
        for _ in range(args.runs):
            for name, fn in cases:
                started = time.process_time()
                for i in range(args.requests):
                    await fn(i)
                spent = (time.process_time() - started) / args.requests * 1000
                best[name] = min(best[name], spent)
        if statuses != {200}:
            raise SystemExit(f"unexpected statuses: {sorted(statuses)}")
        print(f"{args.users:,} users, {len(ids):,} read at random; CPU per request, the least of")
        print(f"{args.runs} runs of {args.requests}:")
        for name, _ in cases:
            print(f"  {name:40s} {best[name]:.3f} ms")
        ratio = best[cases[0][0]] / best[cases[1][0]]
        print(f"discovery / read: {ratio:.0%} (target of the served read: >= 40%)")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for i in range(args.requests):
                await read(i)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
        await container.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
