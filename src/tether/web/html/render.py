"""Rendering Tether's pages (hosted, account, dashboard, the authorization responses) with the
headers every HTML response carries (DESIGN.md, Browser rules): a strict Content-Security-Policy
with a per-response script nonce, ``frame-ancestors 'none'`` plus ``X-Frame-Options: DENY``,
``Referrer-Policy: no-referrer``, no caching.

:func:`page` renders a template; :func:`render` is the signed-in pages' (account, dashboard)
page: a CSRF token for its forms and the notice its redirect named (``?msg=``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tether.web import cookies
from tether.web.html import csrf

#: Every surface's templates, in one tree (a surface's own in its subfolder: account/, dashboard/).
TEMPLATES = Path(__file__).parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


#: Where the pages' stylesheet is served (web/app.py mounts it). A path, not a URL built from the
#: request: behind a TLS proxy the request says http://backend while the browser is on the
#: tenant's https URL, and CSP's ``style-src 'self'`` refuses a stylesheet from anywhere else.
STATIC = "/u/static/"


def csp(
    nonce: str,
    *,
    form_targets: Iterable[str] = (),
    frame_ancestors: Iterable[str] = (),
    frame_src: Iterable[str] = (),
) -> str:
    ancestors = " ".join(frame_ancestors) or "'none'"
    targets = " ".join(["'self'", *form_targets])
    frames = " ".join(frame_src)
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        + (f"frame-src {frames}; " if frames else "")
        + "style-src 'self'; img-src 'self' data:; "
        f"form-action {targets}; "
        f"frame-ancestors {ancestors}; "
        "base-uri 'none'"
    )


def security_headers(
    nonce: str,
    *,
    form_targets: Iterable[str] = (),
    frame_ancestors: Iterable[str] = (),
    frame_src: Iterable[str] = (),
) -> dict[str, str]:
    ancestors = list(frame_ancestors)
    headers = {
        "Content-Security-Policy": csp(
            nonce, form_targets=form_targets, frame_ancestors=ancestors, frame_src=frame_src
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if not ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    form_targets: Iterable[str] = (),
    frame_ancestors: Iterable[str] = (),
    frame_src: Iterable[str] = (),
    **context: Any,
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = _env.get_template(template).render(
        request=request,
        nonce=nonce,
        static=STATIC,
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers=security_headers(
            nonce, form_targets=form_targets, frame_ancestors=frame_ancestors, frame_src=frame_src
        ),
    )


#: Messages a page shows after a redirect, by code: the query never carries free text.
MESSAGES = {
    "signed_in_again": "You signed in again. For the next 10 minutes you can link and unlink accounts.",
    "linked": "The account was linked. You can now sign in with either.",
    "unlinked": "The account was unlinked. It is a separate account again; your other sessions were signed out.",
    "updated": "Saved.",
    "blocked": "The user is blocked and their sessions were ended.",
    "unblocked": "The user is unblocked.",
    "logins_unblocked": "Sign-in is unblocked from every address brute-force protection blocked.",
    "deleted": "The user was deleted.",
    "verification_sent": "A verification link was mailed to the user's address.",
    "user_unlinked": "The identity was unlinked; it is a user of its own again.",
    "user_linked": "The user was linked into this one.",
    "created": "Created.",
    "rotated": "The signing keys were rotated: the next key is now current.",
    "signed_out": "You are signed out.",
    "admin_added": "The user is an admin now.",
    "admin_removed": "The user is no longer an admin.",
}


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """A signed-in page: the security headers, a CSRF token for its forms (the purpose is the
    template's folder: ``account``, ``dashboard``), and the message its redirect named."""
    message = MESSAGES.get(request.query_params.get("msg") or "")
    context.setdefault("notice", message)
    response = page(
        request,
        template,
        status=status,
        csrf=csrf.token(request, template.split("/", 1)[0]),
        **context,
    )
    csrf.set_cookie(request, response, secure=cookies.is_secure(request))
    return response
