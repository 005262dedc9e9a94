"""``/u/consent``: a third-party application asks for scopes the person has not granted it yet;
allowing records the grant and goes on with the parked request, denying answers the application
with ``access_denied`` (RFC 6749 §4.1.2.1)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.management_scopes import MANAGEMENT_SCOPES
from tether.protocol import authorize as authz
from tether.protocol.errors import AccessDenied
from tether.web import cookies
from tether.web.context import services
from tether.web.hosted.flow import Open, Posted, form_page, posted, sign_in_context
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other
from tether.web.html.respond import refuse

router = APIRouter(route_class=HtmlRoute)
ConsentPost = Annotated[Posted, posted("consent")]
_SCOPE_TEXT = {
    "openid": "Know who you are",
    "profile": "See your name and picture",
    "email": "See your email address",
    "offline_access": "Stay signed in (keep access when you are away)",
}


def _scope_list(req: authz.AuthorizationRequest) -> list[dict[str, str]]:
    known = {s["value"]: s["description"] for s in MANAGEMENT_SCOPES}
    return [{"value": s, "description": _SCOPE_TEXT.get(s) or known.get(s) or s} for s in req.scope]


@router.get("/u/consent")
async def consent_form(request: Request, opened: Open) -> Response:
    current, tx, app = opened
    if tx.user_pk is None:
        return see_other(f"/u/login?{urlencode({'state': tx.id})}")
    req = authz.AuthorizationRequest.from_dict(tx.request)
    ctx = await sign_in_context(request, current, tx, app)
    return form_page(
        request, "consent.html", ctx, "consent", title="Allow access?", scopes=_scope_list(req)
    )


@router.post("/u/consent")
async def consent_submit(request: Request, submitted: ConsentPost) -> Response:
    current, tx, app, form = submitted
    req = authz.AuthorizationRequest.from_dict(tx.request)
    c = services(request)
    session = await c.sessions.current(current, cookies.session_value(request))
    if tx.user_pk is None or session is None or session.id != tx.session_id:
        return see_other(f"/u/login?{urlencode({'state': tx.id})}")
    if form.get("decision") != "accept":
        await c.authorization.finish(current, tx)
        return refuse(request, current, app, req, AccessDenied("The user denied access."))
    await c.authorization.grant_consent(current, app, tx.user_pk, list(req.scope))
    return see_other(f"/authorize/resume?{urlencode({'state': tx.id})}")
