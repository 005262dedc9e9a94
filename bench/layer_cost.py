"""CPU per request of each middleware layer in front of ``/oauth/token`` (issue 13, item 2).

Usage (from the repository root)::

    .venv/bin/python -m bench.layer_cost [--requests 20000]

Calls a do-nothing ASGI endpoint (it answers 200 with a two-byte body) through the layers of
web/app.py's stack, adding one at a time from the inside out, then through FastAPI's own
machinery (a route on a bare FastAPI app), and prints the CPU microseconds a request costs at
each step: the difference between two lines is that layer's cost. A POST without an Origin
header, as wrk sends it: CORS finds nothing to add. No server, no database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.token_profile import token_scope

BODY = b'{"grant_type":"client_credentials"}'


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _scope() -> dict[str, Any]:
    return token_scope(BODY)


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def _send(message: Any) -> None:
    return None


async def _cost(app: ASGIApp, requests: int) -> float:
    for _ in range(200):
        await app(_scope(), _receive, _send)
    started = time.process_time()
    for _ in range(requests):
        await app(_scope(), _receive, _send)
    return (time.process_time() - started) / requests * 1e6


async def _main(requests: int) -> None:
    from fastapi import FastAPI

    from tether.domain.metrics import NO_METRICS
    from tether.web.access_log import AccessLog
    from tether.web.cors import Cors
    from tether.web.middleware import RequestLimits
    from tether.web.proxy import ProxyHeaders
    from tether.web.public_cors import PublicCors

    layers: list[tuple[str, Any, dict[str, Any]]] = [
        ("Cors", Cors, {}),
        ("PublicCors", PublicCors, {}),
        ("RequestLimits", RequestLimits, {"max_body": 65536}),
        ("AccessLog", AccessLog, {"enabled": False, "metrics": NO_METRICS}),
        ("ProxyHeaders", ProxyHeaders, {"trusted": []}),
    ]
    app: ASGIApp = endpoint
    previous = await _cost(app, requests)
    print(f"{'endpoint alone':38} {previous:7.1f} us CPU/request")
    for name, layer, options in layers:
        app = layer(app, **options)
        total = await _cost(app, requests)
        print(f"{'+ ' + name:38} {total:7.1f} us   (this layer {total - previous:5.1f} us)")
        previous = total

    fast = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @fast.post("/oauth/token")
    async def route(request: Request) -> Response:
        return Response(b"{}")

    bare = await _cost(fast, requests)
    print(f"{'a FastAPI route, no middleware':38} {bare:7.1f} us")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args(argv)
    asyncio.run(_main(args.requests))


if __name__ == "__main__":
    main()
