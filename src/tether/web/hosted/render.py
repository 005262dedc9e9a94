"""Rendering hosted pages with the headers every HTML response carries (DESIGN.md, Browser rules):
a strict Content-Security-Policy with a per-response script nonce, ``frame-ancestors 'none'`` plus
``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``, no caching."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
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
