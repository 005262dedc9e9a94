"""CSRF protection for Tether's forms (OWASP ASVS 3.5.1; OWASP CSRF cheat sheet, "signed
double-submit cookie").

Each browser gets a random secret in an HttpOnly cookie (``__Host-tether_csrf`` on https, see
web/cookies.py). A form's token is an HMAC, under a key derived from the master secret, of that
secret and the form's purpose. A POST is accepted only with the token of this browser's secret
for this form: a token cannot be computed from a cookie value an attacker picks (the key is the
server's), and a token from one browser fails in another (the secrets differ). The check runs
before anything else the POST would do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import Forbidden
from tether.web import cookies
from tether.web.context import services

COOKIE = "tether_csrf"
_MIN_SECRET = 32
_EXPIRED = "Your session for this form expired. Go back, reload the page and try again."


def _key(request: Request) -> bytes:
    """The CSRF key: HKDF (RFC 5869) of the master secret, apart from every other key; derived
    once per app."""
    state = request.app.state
    key: bytes | None = getattr(state, "csrf_key", None)
    if key is None:
        master = services(request).settings.master_secret_bytes()
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"tether-csrf-v1", info=b"csrf"
        ).derive(master)
        state.csrf_key = key
    return key


def _cookie(request: Request) -> str | None:
    value = request.cookies.get(cookies.host_only(request, COOKIE))
    return value if value and len(value) >= _MIN_SECRET else None


def _secret(request: Request) -> str:
    value = _cookie(request)
    if value:
        return value
    cached: str | None = getattr(request.state, "csrf_secret", None)
    if cached is None:
        cached = secrets.token_urlsafe(32)
        request.state.csrf_secret = cached
    return cached


def _mac(request: Request, secret: str, purpose: str) -> str:
    message = b"\x00".join([b"tether-csrf", secret.encode(), purpose.encode()])
    return hmac.new(_key(request), message, hashlib.sha256).hexdigest()


def token(request: Request, purpose: str) -> str:
    return _mac(request, _secret(request), purpose)


def check(request: Request, purpose: str, submitted: object) -> None:
    secret = _cookie(request)
    if not secret or not isinstance(submitted, str):
        raise Forbidden(_EXPIRED, code="invalid_csrf")
    if not hmac.compare_digest(_mac(request, secret, purpose).encode(), submitted.encode()):
        raise Forbidden(_EXPIRED, code="invalid_csrf")


def set_cookie(request: Request, response: Response, *, secure: bool) -> None:
    """Send the secret if the browser does not have it yet (Secure always with ``__Host-``)."""
    new = getattr(request.state, "csrf_secret", None)
    if new and not _cookie(request):
        name = cookies.host_only(request, COOKIE)
        response.set_cookie(
            name,
            new,
            httponly=True,
            samesite="lax",
            secure=secure or name.startswith("__Host-"),
            path="/",
        )


def check_form(request: Request, purpose: str, form: dict[str, Any]) -> None:
    """The form's ``csrf`` field checked for ``purpose``; run before the POST does anything."""
    check(request, purpose, form.get("csrf"))


def with_cookie(request: Request, response: Response) -> Response:
    """``response`` with this browser's CSRF secret, if it had none (a page that has a form)."""
    set_cookie(request, response, secure=cookies.is_secure(request))
    return response
