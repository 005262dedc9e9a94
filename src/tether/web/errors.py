"""One error taxonomy for every surface (DESIGN.md, Errors).

A domain error declares its kind; :data:`STATUS` maps kinds to HTTP statuses once. Each surface
registers its own renderer on its own router with :func:`surface_route` (starlette's habit of
handlers per app, found by the exception's class): the OAuth JSON of the Authentication API
(web/auth_api/errors.py), the ``/dbconnections/signup`` shape (same module), the Management shape
(web/management/errors.py, on its own sub-application) and the HTML error page
(web/html/errors.py). The application's handler hands each error to the renderer of the route
that raised it; a request no route matched gets the Authentication API's JSON.

A client's mistake is never a 500. A 500 shows no internals and logs a request id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError, ErrorKind, RateLimited

log = logging.getLogger("tether.web")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

#: The HTTP status of each kind of error, on every surface. Where a wire protocol demands
#: otherwise, the surface's renderer says so, and these are the only such places:
#:
#: - OAuth endpoints (RFC 6749 §5.2, auth0-wire.md §3.1): a not-found or conflicting value is
#:   ``invalid_request``, 400, since OAuth has no 404 or 409 for a request's parameters; wrong
#:   credentials are ``invalid_grant`` with Auth0's 403; an upstream or internal failure is
#:   ``server_error``, 500.
#: - ``/dbconnections/signup`` (auth0-wire.md §3.1): Auth0 answers an existing user
#:   (``user_exists``) and an unknown connection with a 400 ``BadRequestError``.
STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_INPUT: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
    ErrorKind.UPSTREAM: 502,
    ErrorKind.UNAVAILABLE: 503,
}


def status_of(exc: DomainError) -> int:
    return STATUS[exc.kind]


class BodyError(Exception):
    """The request body could not be read: too big, not UTF-8, not the declared type."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def rate_headers(exc: RateLimited) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(exc.limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(exc.reset_at),
        "Retry-After": "60",
    }


def retry_headers(exc: DomainError) -> dict[str, str]:
    """What tells a client when to come back: rate-limit headers, or a short Retry-After."""
    if isinstance(exc, RateLimited):
        return rate_headers(exc)
    if exc.kind is ErrorKind.UNAVAILABLE:
        return {"Retry-After": "1"}
    return {}


def log_unhandled(request: Request, exc: Exception) -> str:
    """Logs an error no renderer understood, with its traceback; returns the request id."""
    request_id: str = getattr(request.state, "request_id", "-")
    # By name: an error no route handled is logged after the request's context has ended.
    log.error(
        "unhandled error, request id %s",
        request_id,
        exc_info=exc,
        extra={"fields": {"request_id": request_id}},
    )
    return request_id


Renderer = Callable[[Request, Exception], Response]


def surface_route(render: Renderer) -> type[APIRoute]:
    """A route class that names ``render`` as the renderer of every error its routes raise.

    The renderer is kept in the request's state before the route's dependencies run, so an error
    raised anywhere in the route (a dependency, the body, the handler) reaches it through
    :func:`dispatch`, the one handler the application registers."""

    class SurfaceRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                request.state.render_error = render
                return await handler(request)

            return route

    return SurfaceRoute


def dispatch(request: Request, exc: Exception, default: Renderer) -> Response:
    render: Renderer = getattr(request.state, "render_error", None) or default
    return render(request, exc)
