"""CSRF protection for hosted forms: a per-browser secret in a cookie, and in every form a token
derived from it (double submit, bound to the form's purpose). A POST whose token does not match
the cookie is refused before anything else runs."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import Forbidden

COOKIE = "tether_csrf"


def _secret(request: Request) -> str:
    value = request.cookies.get(COOKIE)
    if value and len(value) >= 32:
        return value
    cached: str | None = getattr(request.state, "csrf_secret", None)
    if cached is None:
        cached = secrets.token_urlsafe(32)
        request.state.csrf_secret = cached
    return cached


def token(request: Request, purpose: str) -> str:
    return hmac.new(_secret(request).encode(), purpose.encode(), hashlib.sha256).hexdigest()


def check(request: Request, purpose: str, submitted: object) -> None:
    cookie = request.cookies.get(COOKIE)
    if not cookie or not isinstance(submitted, str):
        raise Forbidden(
            "Your session for this form expired. Go back, reload the page and try again.",
            code="invalid_csrf",
        )
    expected = hmac.new(cookie.encode(), purpose.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, submitted):
        raise Forbidden(
            "Your session for this form expired. Go back, reload the page and try again.",
            code="invalid_csrf",
        )


def set_cookie(request: Request, response: Response, *, secure: bool) -> None:
    """Send the secret if the browser does not have it yet."""
    new = getattr(request.state, "csrf_secret", None)
    if new and not request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, new, httponly=True, samesite="lax", secure=secure, path="/")
