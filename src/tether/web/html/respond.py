"""Delivering an authorization response in the request's response_mode (RFC 6749 §4.1.2,
OAuth 2.0 Form Post Response Mode, Auth0's web_message, and the WinChan relay that ends an
auth0-js ``owp=true`` popup, lock-protocol.md §2.7b)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tether.domain.models import Application, Tenant
from tether.protocol import authorize as authz
from tether.protocol.errors import OAuth2Error
from tether.web.html.render import page


def deliver(
    request: Request,
    app: Application,
    redirect_uri: str,
    mode: str,
    params: Mapping[str, str],
) -> Response:
    origin = authz.origin_of(redirect_uri)
    if mode == authz.WINCHAN:
        return page(
            request,
            "winchan_relay.html",
            target_origin=origin,
            response=_winchan_result(params),
        )
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


def refuse(
    request: Request,
    tenant: Tenant,
    app: Application,
    req: authz.AuthorizationRequest,
    error: OAuth2Error,
) -> Response:
    """``error`` for a validated authorization request: to its redirect URI, in its response
    mode, with its state (RFC 6749 §4.1.2.1)."""
    return deliver_error(request, tenant, app, req.redirect_uri, req.answer_mode, req.state, error)


def _winchan_result(params: Mapping[str, str]) -> dict[str, Any]:
    """auth0-js hands this object to the app as the authResult with no further checks (no
    state, nonce or signature validation in popup.authorize): it carries the decoded ID token
    as ``id_token_payload`` too, as apps read ``authResult.idTokenPayload``."""
    result: dict[str, Any] = dict(params)
    if "expires_in" in result and str(result["expires_in"]).isdigit():
        result["expires_in"] = int(result["expires_in"])
    token = params.get("id_token")
    if token:
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError, binascii.Error):
            claims = None
        if isinstance(claims, dict):
            result["id_token_payload"] = claims
    return result
