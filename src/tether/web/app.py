"""``create_app(wiring)``: the ASGI application with every surface mounted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tether.domain.errors import DomainError
from tether.protocol.errors import OAuth2Error
from tether.web import errors, health
from tether.web.access_log import AccessLog
from tether.web.account import pages as account_pages
from tether.web.auth_api import (
    authorize,
    cross_origin,
    dbconnections,
    discovery,
    logout,
    passwordless,
    token,
    userinfo,
)
from tether.web.auth_api.errors import render_oauth
from tether.web.cors import Cors
from tether.web.dashboard import routes as dashboard
from tether.web.hosted import routes as hosted
from tether.web.lifecycle import Lifecycle
from tether.web.management import jobs
from tether.web.management.app import create_management_app
from tether.web.management.errors import management_body
from tether.web.management.hot import user_read_id
from tether.web.middleware import RequestLimits
from tether.web.proxy import ProxyHeaders
from tether.web.public_cors import PublicCors
from tether.web.services import Services, Wiring

log = logging.getLogger("tether.web")
OUTBOX_INTERVAL = 2.0
JOBS_INTERVAL = 0.5


async def _deliver_mail_forever(services: Services) -> None:
    while True:
        try:
            await services.mail.deliver_pending()
        except DomainError as exc:
            log.warning("mail delivery paused: %s", exc.code)
        except Exception:
            log.exception("mail delivery failed")
        await asyncio.sleep(OUTBOX_INTERVAL)


async def _run_jobs_forever(services: Services) -> None:
    """Bulk import/export jobs (domain/jobs): one at a time in this process, polled."""
    while True:
        try:
            if await services.jobs.run_next():
                continue
        except DomainError as exc:
            log.warning("jobs paused: %s", exc.code)
        except Exception:
            log.exception("a job failed")
        await asyncio.sleep(JOBS_INTERVAL)


#: Where the Management API is mounted; its ``GET /users/{id}`` is the hottest read (issue 13,
#: decision 5).
MANAGEMENT_PREFIX = "/api/v2"


class TetherApp(FastAPI):
    """FastAPI, with a short way for the hottest endpoints: the same middleware stack in front
    of a plain ASGI endpoint, instead of FastAPI's own layers (the error and exception
    middleware, routing over every route, dependency solving). For the POSTs of ``token.RAW``
    that endpoint is theirs; for ``GET /api/v2/users/{id}`` it is the ``/api/v2`` application
    itself, entered as its mount would enter it, which answers by its own short way
    (web/management/hot.py). Everything else, including any other method on those paths, goes
    through FastAPI."""

    raw: dict[str, tuple[ASGIApp, Any]] = {}  # set per instance by create_app
    user_read: ASGIApp | None = None  # set by create_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST":
                found = self.raw.get(scope["path"])
                if found is not None:
                    chain, route = found
                    scope["app"] = self
                    scope["route"] = route  # the access log's and the metrics' route template
                    await chain(scope, receive, send)
                    return
            elif scope["method"] == "GET" and self.user_read is not None:
                path: str = scope["path"]
                if path.startswith(MANAGEMENT_PREFIX) and user_read_id(
                    path[len(MANAGEMENT_PREFIX) :]
                ):
                    scope["app"] = self  # as FastAPI would set it: the middleware reads services
                    await self.user_read(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


def mounted(app: ASGIApp, prefix: str) -> ASGIApp:
    """``app`` entered as Starlette's ``Mount(prefix, app)`` enters it: the prefix joins the
    root path (the path stays whole)."""

    async def enter(scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        scope["app_root_path"] = scope.get("app_root_path", root)
        scope["root_path"] = root + prefix
        await app(scope, receive, send)

    return enter


def create_app(
    wiring: Wiring, *, deliver_mail: bool = True, drain_on_sigterm: bool = False
) -> TetherApp:
    """The app over ``wiring.services``; shutting it down calls ``wiring.close()``.
    ``drain_on_sigterm`` (the server's entry point, tether.asgi) turns readiness off on SIGTERM
    before the server stops (web/lifecycle.py)."""
    services = wiring.services
    lifecycle = Lifecycle()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if drain_on_sigterm:
            lifecycle.install(services.settings.shutdown_delay)
        task = asyncio.create_task(_deliver_mail_forever(services)) if deliver_mail else None
        job_task = asyncio.create_task(_run_jobs_forever(services)) if deliver_mail else None
        try:
            yield
        finally:
            lifecycle.drain()
            for running in (task, job_task):
                if running is not None:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
            await wiring.close()

    app = TetherApp(
        title="Tether",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.interactive = True
    app.state.lifecycle = lifecycle

    async def handle(request: Request, exc: Exception) -> Response:
        # Each surface's routes name their renderer; what no route matched answers OAuth JSON.
        response = errors.dispatch(request, exc, default=render_oauth)
        # An unhandled error is answered outside the middleware that stamps the request id.
        request_id = getattr(request.state, "request_id", None)
        if request_id and "x-request-id" not in response.headers:
            response.headers["X-Request-Id"] = request_id
        return response

    app.add_exception_handler(OAuth2Error, handle)
    app.add_exception_handler(DomainError, handle)
    app.add_exception_handler(errors.BodyError, handle)
    app.add_exception_handler(Exception, handle)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        # No route matched, so no surface named a renderer. A path the /api/v2 mount cannot
        # match (its pattern stops at a newline) is still addressed to the Management API.
        if request.url.path.startswith("/api/v2"):
            return JSONResponse(management_body(404, "Not Found"), status_code=404)
        return JSONResponse(
            {"error": "not_found", "error_description": "Not found."}, status_code=404
        )

    @app.exception_handler(405)
    async def not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"error": "method_not_allowed", "error_description": "Method not allowed."},
            status_code=405,
        )

    # First: FastAPI matches a request against every route of each included router in turn,
    # about 0.2 ms before reaching a mount listed last; nothing else lives under /api/v2.
    management = create_management_app(services)
    app.mount(MANAGEMENT_PREFIX, management)
    for module in (
        health,
        discovery,
        token,
        userinfo,
        dbconnections,
        passwordless,
        authorize,
        cross_origin,
        logout,
        hosted,
        account_pages,
        dashboard,
    ):
        app.include_router(module.router)
    if services.settings.demo:
        from tether.web import demo

        app.include_router(demo.router)
    static = Path(__file__).parent / "hosted" / "static"
    app.mount("/u/static", StaticFiles(directory=static), name="hosted_static")

    # Outermost first: the proxy's view of the client (web/proxy.py), then the request's id
    # and its log line, the body cap, and CORS, as every request sees them.
    layers: list[tuple[Any, dict[str, Any]]] = [
        (
            ProxyHeaders,
            {
                "trusted": services.settings.trusted_proxies,
                "style": services.settings.forwarded_headers,
            },
        ),
        (
            AccessLog,
            {"enabled": services.settings.log_format == "json", "metrics": services.metrics},
        ),
        (
            RequestLimits,
            {
                "max_body": services.settings.max_body_bytes,
                "larger": {jobs.IMPORT_PATH: jobs.IMPORT_MAX_BODY},
            },
        ),
        (PublicCors, {}),
        (Cors, {}),
    ]
    for layer, options in reversed(layers):
        app.add_middleware(layer, **options)  # FastAPI's own stack; behind_layers below
    # The route object FastAPI would have put in the scope (token's router is included bare).
    routes = {getattr(r, "path", None): r for r in token.router.routes}

    def behind_layers(endpoint: ASGIApp) -> ASGIApp:
        for layer, options in reversed(layers):
            endpoint = layer(endpoint, **options)
        return endpoint

    app.raw = {path: (behind_layers(e), routes[path]) for path, e in token.RAW.items()}
    app.user_read = behind_layers(mounted(management, MANAGEMENT_PREFIX))
    return app
