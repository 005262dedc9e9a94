"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: domain/health.py, and it
is not shutting down: web/lifecycle.py). Both answer on every host, without a tenant; /readyz
is 503 with the same JSON detail when any check fails, so a load balancer needs only the status.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.web.context import services
from tether.web.lifecycle import Lifecycle

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    found = await services(request).health.readiness()
    checks: dict[str, dict[str, object]] = {}
    for name, check in found.checks.items():
        entry: dict[str, object] = {"ok": check.ok}
        if check.detail:
            entry["detail"] = check.detail
        entry.update(check.values)
        checks[name] = entry
    lifecycle: Lifecycle = request.app.state.lifecycle
    ready = found.ready and not lifecycle.draining
    checks["shutdown"] = (
        {"ok": False, "detail": "draining: the process received SIGTERM"}
        if lifecycle.draining
        else {"ok": True}
    )
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": checks,
            "elapsed_ms": found.elapsed_ms,
        },
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )
