"""The Management API sub-application, mounted at ``/api/v2``, with its own error handlers
(Auth0's ``{"statusCode", "error", "message", "errorCode"}``) and OpenAPI document."""

from __future__ import annotations

import logging

from fastapi.exceptions import RequestValidationError, ResponseValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.audit import LogType
from tether.domain.errors import DomainError
from tether.protocol.errors import OAuth2Error
from tether.web.context import services as services_of
from tether.web.errors import BodyError, log_unhandled
from tether.web.management import (
    client_grants,
    clients,
    connections,
    identities,
    jobs,
    logs,
    resource_servers,
    tickets,
    user_blocks,
    users,
)
from tether.web.management.auth import Caller
from tether.web.management.errors import (
    ManagementError,
    error_response,
    management_body,
    management_response,
)
from tether.web.management.hot import ManagementApp
from tether.web.management.limits import RateLimitHeaders
from tether.web.services import Services

log = logging.getLogger("tether.management")


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    parts = []
    body = False
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            # The decoder's own reason (a non-finite number, a syntax error) says what to fix.
            reason = str((err.get("ctx") or {}).get("error") or "not valid JSON")
            return f"Payload validation error: {reason}", "invalid_body"
        loc = [str(p) for p in err.get("loc", ())]
        body = body or (loc[:1] == ["body"])
        where = ".".join(loc[1:]) or loc[0] if loc else "request"
        parts.append(f"{err.get('msg', 'invalid')} ({where})")
    if body:
        return "Payload validation error: " + "; ".join(parts), "invalid_body"
    return "Query validation error: " + "; ".join(parts), "invalid_query_string"


def _where(exc: ResponseValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))} ({err.get('type', '?')})"
        for err in exc.errors()[:10]
    )


async def _log_failure(request: Request, status: int, message: str) -> None:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None or status >= 500:
        return
    try:
        await services_of(request).logs.record(
            caller.tenant.id,
            LogType.FAILED_API_OPERATION,
            caller.request,
            description=message[:1000],
            client_id=caller.client_id,
            user_id=None if caller.is_machine else caller.subject,
            details={
                "request": {"method": request.method, "path": request.url.path},
                "status": status,
            },
        )
    except DomainError:
        log.warning("could not record a failed API operation")


def create_management_app(services: Services) -> ManagementApp:
    app = ManagementApp(
        title="Tether Management API",
        version="2",
        description="Auth0-compatible Management API v2.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services

    async def render(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ManagementError):
            response: Response = error_response(exc)
        elif isinstance(exc, RequestValidationError):
            message, code = _validation_message(exc)
            response = JSONResponse(management_body(400, message, code), status_code=400)
        elif isinstance(exc, DomainError | OAuth2Error):
            response = management_response(exc)
        elif isinstance(exc, BodyError):
            response = JSONResponse(
                management_body(exc.status, exc.message, "invalid_body"),
                status_code=exc.status,
            )
        elif isinstance(exc, HTTPException):
            response = JSONResponse(
                management_body(exc.status_code, str(exc.detail)),
                status_code=exc.status_code,
            )
        else:
            if isinstance(exc, ResponseValidationError):
                # The answer broke its response model: a bug here, logged without the values
                # (they may hold a client secret or a user's data), only where and why.
                exc = RuntimeError(f"response off its model: {_where(exc)}")
            request_id = log_unhandled(request, exc)
            return JSONResponse(
                management_body(500, f"Internal error (request id {request_id}).", "server_error"),
                status_code=500,
            )
        if response.status_code < 500:
            message = (
                response.body.decode(errors="replace") if isinstance(response.body, bytes) else ""
            )
            await _log_failure(request, response.status_code, message)
        return response

    for kind in (
        ManagementError,
        RequestValidationError,
        DomainError,
        OAuth2Error,
        BodyError,
        HTTPException,
        ResponseValidationError,  # by name: handled here, not re-raised to the outer app's log
        Exception,
    ):
        app.add_exception_handler(kind, render)

    app.include_router(users.router)
    app.include_router(identities.router)
    app.include_router(logs.router)
    app.include_router(jobs.router)
    app.include_router(jobs.files)
    app.include_router(user_blocks.router)
    app.include_router(tickets.router)
    for module in (clients, connections, resource_servers, client_grants):
        app.include_router(module.router)
    app.add_middleware(RateLimitHeaders)
    app.hot(render)
    return app
