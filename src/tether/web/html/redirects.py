"""The redirects of Tether's pages: a POST that did its work answers 303 (RFC 9110 §15.4.4), so
reloading the next page never re-sends the form; a notice travels as a code (``?msg=``, the keys
of web/html/render.MESSAGES), never as free text."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def here(request: Request) -> str:
    """This request's path and query: where a sign-in brings the browser back to."""
    return f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path


def with_msg(path: str, msg: str, **params: str) -> str:
    return f"{path}?{urlencode({**params, 'msg': msg})}"
