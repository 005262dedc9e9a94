"""``GET /authorize`` and ``GET /authorize/resume`` (RFC 6749 §4.1.1, OIDC Core §3.1.2).

/authorize checks the client and callback (errors here are a page, never a redirect), then the
rest of the request (errors go back to the client), then decides: answer now from the SSO
session, or park the request and send the person to the sign-in page. /authorize/resume answers
a parked request once the sign-in (and consent, for third-party apps) is done.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tether.domain.authorization import BadAuthorizeRequest
from tether.domain.errors import DomainError
from tether.domain.federation import UPSTREAM_STRATEGIES
from tether.domain.models import Application, Session, Tenant
from tether.protocol import authorize as authz
from tether.protocol.errors import OAuth2Error
from tether.protocol.params import normalise
from tether.web.auth_api.cross_origin import authorize_with_ticket
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.cookies import session_value
from tether.web.html.errors import HtmlRoute, error_page
from tether.web.html.respond import deliver, deliver_error, refuse

router = APIRouter(route_class=HtmlRoute)


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def login_url(request: Request, tx_id: str, req: authz.AuthorizationRequest) -> str:
    path = "/u/signup" if req.screen_hint == "signup" else "/u/login"
    return f"{path}?{urlencode({'state': tx_id})}"


async def _sign_in_url(
    request: Request, current: Tenant, app: Application, tx_id: str, req: authz.AuthorizationRequest
) -> str:
    """``connection=<an upstream provider>`` goes straight to that provider, as Auth0's
    /authorize does (Lock's and auth0-js' social buttons, ``owp`` popups included); anything
    else goes to the sign-in page, which shows only the named connection if there is one."""
    if req.connection:
        enabled = await services(request).connections.enabled_for(current, app.client_id)
        if any(c.name == req.connection and c.strategy in UPSTREAM_STRATEGIES for c in enabled):
            query = urlencode({"state": tx_id, "connection": req.connection})
            return f"/u/login/upstream?{query}"
    return login_url(request, tx_id, req)


async def _answer(
    request: Request,
    current: Tenant,
    app: Application,
    req: authz.AuthorizationRequest,
    session: Session,
) -> Response:
    c = services(request)
    params = await c.authorization.respond(current, app, req, session.user_pk, session)
    return deliver(request, app, req.redirect_uri, req.answer_mode, params)


@router.api_route("/authorize", methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    """OIDC Core §3.1.2.1: GET with a query, or POST with a form body, both supported."""
    current = await tenant(request)
    c = services(request)
    raw: dict[str, Any]
    try:
        if request.method == "POST":
            if request.query_params:
                raise BadAuthorizeRequest("Send the parameters in the query or the body, not both.")
            raw = await read_params(request, allow_empty=True)
        else:
            names = [k for k, _ in request.query_params.multi_items()]
            if len(names) != len(set(names)):
                raise BadAuthorizeRequest("A parameter was sent more than once.")
            raw = dict(request.query_params)
        params = normalise(raw)
        app, matched_uri = await c.authorization.client_for(current, params)
        # From here on only the URI the matcher rendered is used (RFC 8252 §7.3).
        params = {**params, "redirect_uri": matched_uri}
    except (BadAuthorizeRequest, OAuth2Error) as exc:
        message = exc.message if isinstance(exc, DomainError) else exc.description
        return error_page(request, message, code="invalid_request", status=400)
    redirect_uri = params["redirect_uri"]
    mode = (
        params.get("response_mode") if params.get("response_mode") in authz.RESPONSE_MODES else None
    )
    default_mode = "query" if params.get("response_type") == "code" else "fragment"
    if params.get("owp") == "true" and mode in (None, "query", "fragment"):
        default_mode = mode = authz.WINCHAN  # the popup's opener hears the error, as the tokens
    try:
        req = await c.authorization.validate(current, app, params)
    except OAuth2Error as exc:
        return deliver_error(
            request, current, app, redirect_uri, mode or default_mode, params.get("state"), exc
        )
    if params.get("login_ticket"):  # Lock / auth0-js embedded login (cross_origin.py)
        return await authorize_with_ticket(request, current, app, req, params["login_ticket"])
    session = await c.sessions.current(current, session_value(request))
    need = c.authorization.needs_login(req, session, c.clock.now())
    if need is not None or session is None:
        if "none" in req.prompt:
            return refuse(request, current, app, req, authz.LoginRequired())
        tx_id = await c.authorization.park(current, req)
        return _redirect(await _sign_in_url(request, current, app, tx_id, req))
    if await c.authorization.needs_consent(current, app, session.user_pk, req):
        if "none" in req.prompt:
            return refuse(request, current, app, req, authz.ConsentRequired())
        tx_id = await c.authorization.park(current, req)
        user = await c.users.get_by_pk(current, session.user_pk)
        tx, _ = await c.authorization.transaction(current, tx_id)
        await c.authorization.record_login(current, tx, user, session)
        return _redirect(f"/u/consent?{urlencode({'state': tx_id})}")
    return await _answer(request, current, app, req, session)


@router.get("/authorize/resume")
async def resume(request: Request) -> Response:
    """Answer a parked request: the browser's session must be the one that signed in for it."""
    current = await tenant(request)
    c = services(request)
    try:
        tx, app = await c.authorization.transaction(current, request.query_params.get("state"))
    except DomainError as exc:
        return error_page(request, exc.message, code=exc.code, status=400)
    req = authz.AuthorizationRequest.from_dict(tx.request)
    session = await c.sessions.current(current, session_value(request))
    if tx.user_pk is None or session is None or session.id != tx.session_id:
        return _redirect(login_url(request, tx.id, req))
    if await c.authorization.needs_consent(current, app, session.user_pk, req):
        return _redirect(f"/u/consent?{urlencode({'state': tx.id})}")
    # Linking at sign-in (domain/sign_in_linking/): an account with the same verified email
    # exists; the person chooses on the hosted page before the request is answered.
    if await c.sign_in_linking.offer(
        current, app, tx, req.prompt, flag=True, request=request_info(request)
    ):
        return _redirect(f"/u/link-account?{urlencode({'state': tx.id})}")
    if not await c.authorization.finish(current, tx):
        return error_page(
            request, "This sign-in was already completed.", code="invalid_state", status=400
        )
    return await _answer(request, current, app, req, session)
