"""The HTML surfaces' error renderer: a page that says what went wrong, never a redirect (an
error raised before a redirect URI is validated must not send the browser anywhere).

Statuses of domain errors come from the one table in web/errors.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError, ErrorKind
from tether.protocol import errors as oauth
from tether.web.errors import BodyError, log_unhandled, status_of, surface_route
from tether.web.html.render import page


def error_page(
    request: Request, message: str, *, code: str | None = None, status: int = 400
) -> Response:
    """The error page, for what a page answers itself (a parked request gone, a bad link)."""
    return page(request, "error.html", status=status, title="Error", message=message, code=code)


def render_html(request: Request, exc: Exception) -> Response:
    """The renderer of hosted pages, browser redirects, the account page and the dashboard."""
    if isinstance(exc, BodyError):
        status, message, code = exc.status, exc.message, "invalid_request"
    elif isinstance(exc, oauth.OAuth2Error):
        status, message, code = exc.status_code, exc.description, exc.error
    elif isinstance(exc, DomainError) and exc.kind is not ErrorKind.INTERNAL:
        status, message, code = status_of(exc), exc.message, exc.code
    else:
        request_id = log_unhandled(request, exc)
        status, message, code = (
            500,
            f"Something went wrong on our side (request id {request_id}).",
            "server_error",
        )
    return error_page(request, message, code=code, status=status)


#: The route class of every page surface's router.
HtmlRoute = surface_route(render_html)
