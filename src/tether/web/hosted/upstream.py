"""Signing in through an upstream provider: ``/u/login/upstream`` sends the person there, and
``/login/callback`` takes them back (Auth0's callback path).

The flow's ``state`` is also put in a short-lived cookie and checked on the way back, so a
callback URL made for someone else's browser cannot sign this browser in (login CSRF).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError
from tether.domain.federation import UpstreamFailure
from tether.domain.models import Application, LoginTransaction, Tenant, User
from tether.domain.sign_in_linking import LINK_PROOF
from tether.protocol import authorize as authz
from tether.protocol.errors import AccessDenied, ServerError
from tether.web import cookies
from tether.web.context import request_info, services, tenant
from tether.web.hosted.flow import signed_in
from tether.web.html.errors import HtmlRoute, error_page
from tether.web.html.redirects import see_other
from tether.web.html.respond import refuse

router = APIRouter(route_class=HtmlRoute)
FLOW_COOKIE = "tether_upstream"


@router.get("/u/login/upstream")
async def begin(request: Request) -> Response:
    current = await tenant(request)
    c = services(request)
    try:
        tx, app = await c.authorization.transaction(current, request.query_params.get("state"))
        name = request.query_params.get("connection") or ""
        enabled = {x.name: x for x in await c.connections.enabled_for(current, app.client_id)}
        connection = enabled.get(name)
        if connection is None:
            return error_page(
                request, "That way of signing in is not available here.", code="invalid_connection"
            )
        # A request parked for the link prompt's proof asks the provider for a fresh sign-in.
        url = await c.federation.begin(
            current, tx, connection, reauthenticate=LINK_PROOF in tx.request
        )
    except DomainError as exc:
        return error_page(request, exc.message, code=exc.code)
    # The adapter appends its parameters to the endpoint's own query: ours is the last state
    # (an endpoint with e.g. ?ui_state=1 must not become the cookie).
    state = (parse_qs(urlsplit(url).query).get("state") or [""])[-1]
    response = see_other(url)
    response.set_cookie(
        FLOW_COOKIE,
        state,
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=cookies.is_secure(request),
        path="/login/callback",
    )
    return response


@router.get("/login/callback")
async def callback(request: Request) -> Response:
    current = await tenant(request)
    c = services(request)
    q = request.query_params
    state = q.get("state") or ""
    cookie = request.cookies.get(FLOW_COOKIE) or ""
    if not state or not hmac.compare_digest(state.encode(), cookie.encode()):
        # Login CSRF: a callback made for another browser. The flow is left alone (its own
        # browser may still finish it); the attempt is logged.
        message = (
            "This sign-in did not start in this browser. Go back to the application and try again."
        )
        await c.federation.log_failure(current, message, request_info(request))
        return error_page(request, message, code="invalid_state")
    try:
        tx, app, user = await c.federation.finish(
            current, state, q.get("code"), q.get("error"), request_info(request)
        )
    except UpstreamFailure as exc:
        if exc.tx_id is None:
            return error_page(request, exc.message, code="invalid_state")
        # The application hears about it, with its own state (RFC 6749 §4.1.2.1).
        try:
            tx, app = await c.authorization.transaction(current, exc.tx_id)
        except DomainError:
            return error_page(request, exc.message, code=exc.error)
        req = authz.AuthorizationRequest.from_dict(tx.request)
        await c.authorization.finish(current, tx)
        error = (
            AccessDenied(exc.message) if exc.error == "access_denied" else ServerError(exc.message)
        )
        return refuse(request, current, app, req, error)
    if LINK_PROOF in tx.request:
        response = await _link_proven(request, current, tx, app, user)
    else:
        response = await signed_in(request, current, tx, user, ["fed"])
    response.delete_cookie(FLOW_COOKIE, path="/login/callback")
    return response


async def _link_proven(
    request: Request, current: Tenant, proof_tx: LoginTransaction, app: Application, user: User
) -> Response:
    """The sign-in the link prompt asked for (domain/sign_in_linking/): link, then the
    original request goes on as the existing account."""
    c = services(request)
    await c.authorization.finish(current, proof_tx)
    try:
        tx, primary = await c.sign_in_linking.link_after_upstream(
            current, app, proof_tx, user, request_info(request)
        )
    except DomainError as exc:
        return error_page(request, f"Nothing was linked: {exc.message}", code=exc.code, status=409)
    started = await c.sessions.sign_in(
        current, primary, ["fed"], replaces=cookies.session_value(request)
    )
    await c.authorization.record_login(current, tx, primary, started.session)
    response = see_other(f"/authorize/resume?{urlencode({'state': tx.id})}")
    cookies.set_session(request, response, current, started.cookie_value)
    return response


def upstream_url(state: str, connection: str) -> str:
    return f"/u/login/upstream?{urlencode({'state': state, 'connection': connection})}"
