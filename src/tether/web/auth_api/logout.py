"""Logout: Auth0's ``GET /v2/logout`` and OIDC RP-Initiated Logout ``GET /oidc/logout``
(OpenID Connect RP-Initiated Logout 1.0 §2-§3). Both end the SSO session; a return URL must be
registered for the application (or the tenant), so logout is never an open redirect."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tether.domain.clock import epoch
from tether.domain.errors import NotFound
from tether.domain.models import Application, Tenant
from tether.protocol import jose
from tether.web import cookies
from tether.web.context import request_info, services, tenant
from tether.web.html.errors import HtmlRoute, error_page
from tether.web.html.render import page

router = APIRouter(route_class=HtmlRoute)


async def _app(request: Request, current: Tenant, client_id: str | None) -> Application | None:
    if not client_id:
        return None
    try:
        return await services(request).applications.get(current, client_id)
    except NotFound:
        return None


def _allowed(current: Tenant, app: Application | None, url: str) -> bool:
    allowed = list(app.allowed_logout_urls) if app else []
    allowed += [str(u) for u in current.settings.get("allowed_logout_urls") or []]
    return url in allowed


async def _end(request: Request, current: Tenant, app: Application | None) -> None:
    c = services(request)
    await c.sessions.sign_out(
        current, cookies.session_value(request), request_info(request), application=app
    )


def _signed_out(request: Request) -> Response:
    response = page(
        request,
        "message.html",
        title="Signed out",
        heading="You are signed out",
        message="You can close this window.",
    )
    cookies.clear_session(request, response)
    return response


@router.get("/v2/logout")
async def v2_logout(request: Request) -> Response:
    current = await tenant(request)
    app = await _app(request, current, request.query_params.get("client_id"))
    return_to = request.query_params.get("returnTo")
    if return_to and not _allowed(current, app, return_to):
        return error_page(
            request,
            "The returnTo URL is not one of the application's allowed logout URLs.",
            code="invalid_request",
        )
    await _end(request, current, app)
    if not return_to:
        return _signed_out(request)
    response = RedirectResponse(return_to, status_code=302, headers={"Cache-Control": "no-store"})
    cookies.clear_session(request, response)
    return response


@router.get("/oidc/logout")
async def oidc_logout(request: Request) -> Response:
    current = await tenant(request)
    c = services(request)
    q = request.query_params
    client_id = q.get("client_id")
    hint = q.get("id_token_hint")
    if hint:
        keyset = await c.keys.keyset(current)
        try:
            # An expired ID token is still a good hint of who is logging out.
            claims = jose.verify(
                hint,
                keyset.public_jwks,
                issuer=current.issuer,
                audience=None,
                now=epoch(c.clock.now()),
                require_exp=False,
                leeway=10**9,
            )
        except jose.TokenRejected:
            return error_page(
                request, "The id_token_hint is not a valid ID token from this server."
            )
        aud = claims.get("aud")
        hinted = (
            aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
        )
        if client_id and hinted and client_id != hinted:
            return error_page(request, "client_id does not match the id_token_hint's audience.")
        client_id = client_id or hinted
    app = await _app(request, current, client_id)
    target = q.get("post_logout_redirect_uri")
    if target and (app is None or not _allowed(current, app, target)):
        return error_page(
            request,
            "post_logout_redirect_uri is not registered for this application.",
            code="invalid_request",
        )
    await _end(request, current, app)
    if not target:
        return _signed_out(request)
    if q.get("state"):
        parts = urlsplit(target)
        extra = urlencode({"state": q["state"]})
        target = urlunsplit(
            (
                parts.scheme,
                parts.netloc,
                parts.path,
                f"{parts.query}&{extra}" if parts.query else extra,
                parts.fragment,
            )
        )
    response = RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    cookies.clear_session(request, response)
    return response
