"""The HTML surfaces' error renderer: a page that says what went wrong, never a redirect (an
error raised before a redirect URI is validated must not send the browser anywhere).

Statuses of domain errors come from the one table in web/errors.py. A guard (a route's dependency:
the dashboard's admin, the account page's signed-in person, a hosted page's parked request) that
cannot let the request in raises :class:`Detour` with its answer instead; :class:`HtmlRoute`
answers with it, so a handler receives what its guards vouched for and never a ``Response``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError, ErrorKind
from tether.protocol import errors as oauth
from tether.web.errors import BodyError, log_unhandled, status_of
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


class Detour(Exception):
    """A guard's answer in place of the page: the way to sign in, a 303, a 403 or error page."""

    def __init__(self, response: Response) -> None:
        super().__init__("detour")
        self.response = response


class HtmlRoute(APIRoute):
    """The route class of every page surface's router: its errors are rendered by
    :func:`render_html` (web/errors.surface_route's contract: the renderer is named before the
    dependencies run), and a :class:`Detour` raised by a guard is answered as is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            request.state.render_error = render_html
            try:
                return await handler(request)
            except Detour as detour:
                return detour.response

        return route
