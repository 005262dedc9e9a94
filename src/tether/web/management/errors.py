"""The Management API's error shape ``{"statusCode", "error", "message", "errorCode"}``
(auth0-wire.md §1.6), rendered by the sub-application's own handlers (web/management/app.py).

Statuses of domain errors come from the one table in web/errors.py."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

from tether.domain.errors import DomainError, ErrorKind
from tether.protocol import errors as oauth
from tether.web.errors import STATUS, retry_headers


class ManagementError(Exception):
    """A web-only error that already knows its Management API status: the bearer token, its
    scopes, the query string. ``attributes`` adds Auth0's ``attributes.error`` (401 bodies)."""

    def __init__(
        self, status: int, message: str, code: str | None = None, *, attributes: bool = False
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or ""
        self.attributes = attributes


def unauthorized(message: str) -> ManagementError:
    return ManagementError(401, message, attributes=True)


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
    elif exc.kind is ErrorKind.INTERNAL:
        status, message, code = 500, "Internal error.", "server_error"
    else:
        status, message, code = STATUS[exc.kind], exc.message, exc.code
        if exc.kind is ErrorKind.RATE_LIMITED:
            code = "too_many_requests"
        headers = retry_headers(exc)
    return JSONResponse(management_body(status, message, code), status_code=status, headers=headers)


def error_response(exc: ManagementError) -> JSONResponse:
    extra = {"attributes": {"error": exc.message}} if exc.attributes else {}
    body = management_body(exc.status, exc.message, exc.code or None, **extra)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    return JSONResponse(body, status_code=exc.status, headers=headers)
