"""Each surface renders errors in its own shape (DESIGN.md, Errors).

- Authentication API: ``{"error", "error_description"}`` (RFC 6749 §5.2, auth0-wire.md §3.1)
- ``/dbconnections/signup``: ``{"name", "code", "description", "statusCode"}``
- Management API (``/api/v2``): ``{"statusCode", "error", "message", "errorCode"}``

A client's mistake is never a 500. A 500 shows no internals and logs a request id.
"""

from __future__ import annotations

import logging
from enum import Enum
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    PasswordRejected,
    RateLimited,
    Unavailable,
    UserBlocked,
)
from tether.protocol import errors as oauth
from tether.web.hosted.render import page

log = logging.getLogger("tether.web")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Surface(Enum):
    AUTH = "auth"
    SIGNUP = "signup"
    MANAGEMENT = "management"
    HTML = "html"


HTML_PREFIXES = (
    "/u/",
    "/lo/",
    "/authorize",
    "/v2/logout",
    "/oidc/logout",
    "/login/callback",
    "/dashboard",
    "/account",
)


def surface_of(path: str) -> Surface:
    if path.startswith(HTML_PREFIXES):
        return Surface.HTML
    if path.startswith("/api/v2"):
        return Surface.MANAGEMENT
    if path.startswith("/dbconnections/signup"):
        return Surface.SIGNUP
    return Surface.AUTH


class BodyError(Exception):
    """The request body could not be read: too big, not UTF-8, not the declared type."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def _rate_headers(exc: RateLimited) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(exc.limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(exc.reset_at),
        "Retry-After": "60",
    }


def as_oauth(exc: DomainError) -> oauth.OAuth2Error:
    """The Authentication API's reading of a domain error."""
    if isinstance(exc, InvalidCredentials):
        return oauth.InvalidGrant("Wrong email or password.")
    if isinstance(exc, UserBlocked):
        return oauth.InvalidGrant("user is blocked")
    if isinstance(exc, RateLimited):
        return oauth.TooManyAttempts(exc.message, headers=_rate_headers(exc))
    if isinstance(exc, Unavailable):
        return oauth.TemporarilyUnavailable(headers={"Retry-After": "1"})
    if isinstance(exc, Forbidden):
        if exc.code == "unauthorized_client":
            return oauth.UnauthorizedClient(exc.message)
        return oauth.AccessDenied(exc.message)
    if isinstance(exc, NotFound | InvalidInput | Conflict):
        return oauth.InvalidRequest(exc.message)
    return oauth.ServerError()


def oauth_response(exc: oauth.OAuth2Error) -> JSONResponse:
    headers = {**NO_STORE, **exc.headers}
    if isinstance(exc, oauth.InvalidToken):
        headers["WWW-Authenticate"] = (
            f'Bearer error="{exc.error}", error_description="{exc.description}"'
        )
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def signup_response(exc: DomainError | oauth.OAuth2Error) -> JSONResponse:
    """The /dbconnections/signup shape (auth0-wire.md §3.5)."""
    headers: dict[str, str] = {}
    if isinstance(exc, oauth.OAuth2Error):
        status, name, code, description = (
            exc.status_code,
            "BadRequestError",
            exc.error,
            exc.description,
        )
        headers = exc.headers
    elif isinstance(exc, PasswordRejected):
        status, name, code = (
            400,
            exc.message.split(":", 1)[0] if ":" in exc.message else "PasswordStrengthError",
            "invalid_password",
        )
        description = exc.message.split(": ", 1)[-1]
    elif isinstance(exc, Conflict):
        status, name, code, description = 400, "BadRequestError", exc.code, exc.message
    elif isinstance(exc, InvalidInput | NotFound):
        status, name, code, description = 400, "BadRequestError", exc.code, exc.message
    elif isinstance(exc, Forbidden):
        status, name, code, description = 403, "ForbiddenError", exc.code, exc.message
    elif isinstance(exc, RateLimited):
        status, name, code, description = 429, "TooManyRequestsError", exc.code, exc.message
        headers = _rate_headers(exc)
    elif isinstance(exc, Unavailable):
        status, name, code, description = 503, "ServiceUnavailableError", exc.code, exc.message
        headers = {"Retry-After": "1"}
    else:
        status, name, code, description = (
            500,
            "InternalServerError",
            "server_error",
            "Something went wrong.",
        )
    body = {"name": name, "code": code, "description": description, "statusCode": status}
    return JSONResponse(body, status_code=status, headers=headers)


def management_body(
    status: int, message: str, error_code: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if error_code:
        body["errorCode"] = error_code
    body.update(extra)
    return body


def management_response(exc: DomainError | oauth.OAuth2Error) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, oauth.OAuth2Error):
        status, message, code = exc.status_code, exc.description, exc.error
    elif isinstance(exc, NotFound):
        status, message, code = 404, exc.message, exc.code
    elif isinstance(exc, Conflict):
        status, message, code = 409, exc.message, exc.code
    elif isinstance(exc, InvalidInput):
        status, message, code = 400, exc.message, exc.code
    elif isinstance(exc, Forbidden):
        status, message, code = 403, exc.message, exc.code
    elif isinstance(exc, RateLimited):
        status, message, code = 429, exc.message, "too_many_requests"
        headers = _rate_headers(exc)
    elif isinstance(exc, Unavailable):
        status, message, code = 503, exc.message, exc.code
        headers = {"Retry-After": "1"}
    else:
        status, message, code = 500, "Internal error.", "server_error"
    return JSONResponse(management_body(status, message, code), status_code=status, headers=headers)


def html_response(request: Request, exc: Exception) -> Response:
    """Hosted pages and browser redirects answer errors with a page, never a redirect."""
    if isinstance(exc, BodyError):
        status, message, code = exc.status, exc.message, "invalid_request"
    elif isinstance(exc, oauth.OAuth2Error):
        status, message, code = exc.status_code, exc.description, exc.error
    elif isinstance(exc, DomainError):
        status = {Forbidden: 403, NotFound: 404, RateLimited: 429, Unavailable: 503}.get(
            type(exc), 400
        )
        message, code = exc.message, exc.code
    else:
        request_id = getattr(request.state, "request_id", "-")
        log.error("unhandled error, request id %s", request_id, exc_info=exc)
        status, message, code = (
            500,
            f"Something went wrong on our side (request id {request_id}).",
            "server_error",
        )
    return page(request, "error.html", status=status, title="Error", message=message, code=code)


def render(request: Request, exc: Exception) -> Response:
    """One entry point for every error a route lets escape."""
    surface = surface_of(request.url.path)
    if surface is Surface.HTML:
        return html_response(request, exc)
    if isinstance(exc, BodyError):
        if surface is Surface.MANAGEMENT:
            return JSONResponse(
                management_body(exc.status, exc.message, "invalid_body"), status_code=exc.status
            )
        if surface is Surface.SIGNUP:
            return signup_response(_body_error(exc))  # 413 / 415 keep their status here too
        return oauth_response(_body_error(exc))
    if isinstance(exc, oauth.OAuth2Error | DomainError):
        if surface is Surface.MANAGEMENT:
            return management_response(exc)
        if surface is Surface.SIGNUP:
            return signup_response(exc)
        return oauth_response(exc if isinstance(exc, oauth.OAuth2Error) else as_oauth(exc))
    request_id = getattr(request.state, "request_id", "-")
    log.error("unhandled error, request id %s", request_id, exc_info=exc)
    if surface is Surface.MANAGEMENT:
        return JSONResponse(
            management_body(500, f"Internal error (request id {request_id}).", "server_error"),
            status_code=500,
        )
    return oauth_response(oauth.ServerError(f"Something went wrong (request id {request_id})."))


def _body_error(exc: BodyError) -> oauth.OAuth2Error:
    error = oauth.InvalidRequest(exc.message)
    if exc.status != 400:
        error.status_code = exc.status  # type: ignore[misc]  # 413 / 415 keep the OAuth body
    return error
