"""The Authentication API's error renderers: OAuth JSON ``{"error", "error_description"}``
(RFC 6749 §5.2, auth0-wire.md §3.1) and the ``/dbconnections/signup`` shape
``{"name", "code", "description", "statusCode"}`` (auth0-wire.md §3.1, §3.5).

Statuses come from the one table in web/errors.py; the departures the wire demands are listed
there and applied here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.errors import (
    DomainError,
    ErrorKind,
    Forbidden,
    InvalidCredentials,
    PasswordRejected,
    UserBlocked,
)
from tether.protocol import errors as oauth
from tether.web.errors import (
    NO_STORE,
    STATUS,
    BodyError,
    log_unhandled,
    retry_headers,
    surface_route,
)

#: What each kind of domain error is called on the OAuth endpoints (RFC 6749 §5.2).
OAUTH_ERROR: dict[ErrorKind, type[oauth.OAuth2Error]] = {
    ErrorKind.INVALID_INPUT: oauth.InvalidRequest,
    ErrorKind.NOT_FOUND: oauth.InvalidRequest,
    ErrorKind.CONFLICT: oauth.InvalidRequest,
    ErrorKind.UNAUTHENTICATED: oauth.InvalidGrant,
    ErrorKind.FORBIDDEN: oauth.AccessDenied,
    ErrorKind.RATE_LIMITED: oauth.TooManyAttempts,
    ErrorKind.UNAVAILABLE: oauth.TemporarilyUnavailable,
}


def as_oauth(exc: DomainError) -> oauth.OAuth2Error:
    """The Authentication API's reading of a domain error, with Auth0's exact descriptions."""
    if isinstance(exc, InvalidCredentials):
        return oauth.InvalidGrant("Wrong email or password.")
    if isinstance(exc, UserBlocked):
        return oauth.InvalidGrant("user is blocked")  # spa-js matches this text
    if isinstance(exc, Forbidden) and exc.code == "unauthorized_client":
        return oauth.UnauthorizedClient(exc.message)
    if exc.kind is ErrorKind.UNAVAILABLE:
        return oauth.TemporarilyUnavailable(headers=retry_headers(exc))
    error = OAUTH_ERROR.get(exc.kind)
    if error is None:
        return oauth.ServerError()
    return error(exc.message, headers=retry_headers(exc))


def oauth_response(exc: oauth.OAuth2Error) -> JSONResponse:
    headers = {**NO_STORE, **exc.headers}
    if isinstance(exc, oauth.InvalidToken):
        headers["WWW-Authenticate"] = (
            f'Bearer error="{exc.error}", error_description="{exc.description}"'
        )
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def _body_error(exc: BodyError) -> oauth.OAuth2Error:
    error = oauth.InvalidRequest(exc.message)
    if exc.status != 400:
        error.status_code = exc.status  # type: ignore[misc]  # 413 / 415 keep the OAuth body
    return error


def render_oauth(request: Request, exc: Exception) -> Response:
    """The renderer of the OAuth endpoints (and of requests no route matched)."""
    if isinstance(exc, BodyError):
        return oauth_response(_body_error(exc))
    if isinstance(exc, oauth.OAuth2Error):
        return oauth_response(exc)
    if isinstance(exc, DomainError) and exc.kind is not ErrorKind.INTERNAL:
        return oauth_response(as_oauth(exc))
    request_id = log_unhandled(request, exc)
    return oauth_response(oauth.ServerError(f"Something went wrong (request id {request_id})."))


#: Auth0's ``name`` for each status of the signup shape.
SIGNUP_NAME = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    429: "TooManyRequestsError",
    502: "BadGatewayError",
    503: "ServiceUnavailableError",
}

#: Auth0 answers these with a 400 on signup (``user_exists``: auth0-wire.md §3.1).
SIGNUP_STATUS = {ErrorKind.CONFLICT: 400, ErrorKind.NOT_FOUND: 400}


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
    elif exc.kind is not ErrorKind.INTERNAL:
        status = SIGNUP_STATUS.get(exc.kind, STATUS[exc.kind])
        name, code, description = SIGNUP_NAME[status], exc.code, exc.message
        headers = retry_headers(exc)
    else:
        status, name, code, description = (
            500,
            "InternalServerError",
            "server_error",
            "Something went wrong.",
        )
    body = {"name": name, "code": code, "description": description, "statusCode": status}
    return JSONResponse(body, status_code=status, headers=headers)


def render_signup(request: Request, exc: Exception) -> Response:
    """The renderer of ``POST /dbconnections/signup``."""
    if isinstance(exc, BodyError):
        return signup_response(_body_error(exc))  # 413 / 415 keep their status here too
    if isinstance(exc, oauth.OAuth2Error | DomainError):
        return signup_response(exc)
    return render_oauth(request, exc)


#: The route classes of the Authentication API's routers: each names its renderer.
OAuthRoute = surface_route(render_oauth)
SignupRoute = surface_route(render_signup)
