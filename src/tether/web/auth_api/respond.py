"""Delivering an authorization response in the request's response_mode (RFC 6749 §4.1.2,
OAuth 2.0 Form Post Response Mode, Auth0's web_message)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tether.domain.models import Application, Tenant
from tether.protocol import authorize as authz
from tether.protocol.errors import OAuth2Error
from tether.web.hosted.render import page


def deliver(
    request: Request,
    app: Application,
    redirect_uri: str,
    mode: str,
    params: Mapping[str, str],
) -> Response:
    origin = authz.origin_of(redirect_uri)
    if mode == "form_post":
        return page(
            request,
            "form_post.html",
            redirect_uri=redirect_uri,
            params=dict(params),
            form_targets=[origin],
        )
    if mode == "web_message":
        # Framed by the app during silent authentication: only its own web origins may frame it.
        return page(
            request,
            "web_message.html",
            target_origin=origin,
            response=dict(params),
            # None registered: no framing at all, and then X-Frame-Options: DENY as well.
            frame_ancestors=[o for o in app.web_origins if o == origin],
        )
    # 303: the browser must not re-send a POST body (RFC 9700 §4.12).
    return RedirectResponse(
        authz.redirect_url(redirect_uri, params, mode),
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def deliver_error(
    request: Request,
    tenant: Tenant,
    app: Application,
    redirect_uri: str,
    mode: str,
    state: str | None,
    error: OAuth2Error,
) -> Response:
    params = authz.response_params(
        {"error": error.error, "error_description": authz.error_description(error.description)},
        issuer=tenant.issuer,
        state=state,
    )
    return deliver(request, app, redirect_uri, mode, params)
