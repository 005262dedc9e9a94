"""Embedded login for Lock 14 and auth0-js (lock-protocol.md §1, §2.1-2.2):

- ``GET /client/{client_id}.js``: Lock's client configuration script, see ``lock_client``
  (its router is included in this one);
- ``POST /co/authenticate``: credentials in, ``{login_ticket, co_verifier, co_id}`` out, CORS
  with credentials for the app's allowed origins when the app allows cross-origin
  authentication (Auth0's setting of that name). The verifier also goes into an HttpOnly cookie:
  /authorize spends the ticket only in the browser that holds it (§2.3);
- ``/authorize?login_ticket=...``: see ``authorize_with_ticket``;
- ``POST /co/verify``: the fallback for browsers that block that cookie (§2.3), see
  ``verification_page``.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from tether.domain import cross_origin as co
from tether.domain.errors import (
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    RateLimited,
    UserBlocked,
)
from tether.domain.models import Application, Tenant
from tether.protocol import authorize as authz
from tether.protocol.errors import AccessDenied
from tether.web.auth_api import lock_client
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.cookies import is_secure, session_value, set_session
from tether.web.errors import BodyError
from tether.web.html.errors import error_page
from tether.web.html.render import page
from tether.web.html.respond import deliver, refuse

router = APIRouter()
router.include_router(lock_client.router)

VERIFIER_COOKIE = "tether_co_verifier"
#: Beside a request parked for /co/verify: the digest of its ticket (never the ticket itself).
CO_TICKET = "co_ticket_sha256"
ALLOW_HEADERS = "Auth0-Client, Content-Type, Authorization, X-Request-Language"


# -- /co/authenticate ----------------------------------------------------------------------------


async def _origin_allowed(request: Request, current: Tenant, origin: str | None) -> bool:
    """For a preflight (no body, so no client_id): some app allows this origin."""
    apps = await services(request).applications.list(current)
    return any(co.allows(a, origin) for a in apps)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _cors(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


@router.options("/co/authenticate")
async def preflight(request: Request) -> Response:
    current = await tenant(request)
    origin = request.headers.get("origin")
    if not origin or not await _origin_allowed(request, current, origin):
        return Response(status_code=403, headers={"Vary": "Origin"})
    return Response(
        status_code=204,
        headers={
            **_cors(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


def _error(status: int, error: str, description: str, headers: dict[str, str]) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**headers, "Cache-Control": "no-store"},
    )


@router.post("/co/authenticate")
async def authenticate(request: Request) -> Response:
    """auth0-js ``CrossOriginAuthentication.login``: Auth0's answers and status codes, so Lock
    shows its own messages ("Wrong email or password.", "The user is blocked.")."""
    current = await tenant(request)
    c = services(request)
    origin = request.headers.get("origin")
    try:
        body = await read_params(request)
        client_id = body.get("client_id")
        app = await c.applications.get(current, client_id if isinstance(client_id, str) else "")
    except (BodyError, DomainError):
        return _error(400, "invalid_request", "Unknown client.", {"Vary": "Origin"})
    if origin is None or not co.allows(app, origin):
        return _error(
            403, "unauthorized_client", "Cross origin login not allowed.", {"Vary": "Origin"}
        )
    cors = _cors(origin)
    fields = {k: body.get(k) for k in ("credential_type", "realm", "username")}
    secret = body.get("password") if fields["credential_type"] == co.PASSWORD_REALM else None
    secret = body.get("otp") if fields["credential_type"] == co.PASSWORDLESS_OTP else secret
    if not all(isinstance(v, str) and v for v in (*fields.values(), secret)):
        return _error(
            400,
            "invalid_request",
            "credential_type, realm, username and password (or otp) are required.",
            cors,
        )
    try:
        ticket = await c.cross_origin.authenticate(
            current,
            app,
            origin,
            str(fields["credential_type"]),
            str(fields["realm"]),
            str(fields["username"]).strip(),
            str(secret),
            request_info(request),
        )
    except InvalidCredentials:
        wrong = "Wrong email or verification code." if body.get("otp") else None
        return _error(403, "access_denied", wrong or "Wrong email or password.", cors)
    except UserBlocked:
        return _error(401, "unauthorized", "user is blocked", cors)
    except RateLimited as exc:
        return _error(429, "too_many_attempts", exc.message, cors)
    except (Forbidden, InvalidInput) as exc:
        return _error(403 if isinstance(exc, Forbidden) else 400, exc.code, exc.message, cors)
    response = JSONResponse(
        {
            "login_ticket": ticket.login_ticket,
            "co_verifier": ticket.co_verifier,
            "co_id": ticket.co_id,
        },
        headers={**cors, "Cache-Control": "no-store"},
    )
    secure = is_secure(request)
    response.set_cookie(
        VERIFIER_COOKIE,
        ticket.co_verifier,
        max_age=int(co.TICKET_LIFETIME.total_seconds()),
        httponly=True,
        secure=secure,
        # The cookie rides in the app's iframe or redirect to /authorize: cross-site deployments
        # need None (and so Secure); a plain-http dev server falls back to Lax (same-site only).
        samesite="none" if secure else "lax",
        path="/authorize",
    )
    return response


# -- /authorize with a login ticket --------------------------------------------------------------


async def authorize_with_ticket(
    request: Request,
    current: Tenant,
    app: Application,
    req: authz.AuthorizationRequest,
    login_ticket: str,
) -> Response:
    """The ticket is the sign-in (so ``prompt=none`` does not ask for an earlier session): spend
    it, start the browser's session, answer in the request's response_mode. Without the verifier
    cookie (a browser that blocks third-party cookies) and with the app's ``cross_origin_loc``
    set, the verifier is fetched from the app's page first (§2.3, ``verification_page``)."""
    verifier = request.cookies.get(VERIFIER_COOKIE)
    if not verifier and app.cross_origin_loc:
        fallback = await verification_page(request, current, app, req, login_ticket)
        if fallback is not None:
            return fallback
    return await _spend(request, current, app, req, login_ticket, verifier)


async def _spend(
    request: Request,
    current: Tenant,
    app: Application,
    req: authz.AuthorizationRequest,
    login_ticket: str,
    verifier: str | None,
) -> Response:
    c = services(request)
    try:
        started = await c.cross_origin.redeem(
            current,
            app,
            req.redirect_uri,
            login_ticket,
            verifier,
            session_value(request),
        )
    except co.TicketRefused as exc:
        return refuse(request, current, app, req, AccessDenied(exc.message))
    session = started.session
    if await c.authorization.needs_consent(current, app, session.user_pk, req):
        response = refuse(request, current, app, req, authz.ConsentRequired())
    elif await c.sign_in_linking.offer_for(
        current, app, session.user_pk, req.prompt, flag=True, request=request_info(request)
    ):
        # Linking at sign-in (domain/sign_in_linking/): the ticket was a fresh sign-in and an
        # account with the same verified email exists; the hosted page asks, then
        # /authorize/resume answers in the request's mode.
        tx_id = await c.authorization.park(current, req)
        tx, _ = await c.authorization.transaction(current, tx_id)
        user = await c.users.get_by_pk(current, session.user_pk)
        await c.authorization.record_login(current, tx, user, session)
        response = RedirectResponse(
            f"/u/link-account?{urlencode({'state': tx_id})}",
            status_code=303,
            headers={"Cache-Control": "no-store"},
        )
    else:
        params = await c.authorization.respond(current, app, req, session.user_pk, session)
        response = deliver(request, app, req.redirect_uri, req.answer_mode, params)
    set_session(request, response, current, started.cookie_value)
    response.delete_cookie(VERIFIER_COOKIE, path="/authorize")
    return response


# -- /co/verify: the fallback for browsers that block Tether's cookie -----------------------------


async def verification_page(
    request: Request,
    current: Tenant,
    app: Application,
    req: authz.AuthorizationRequest,
    login_ticket: str,
) -> Response | None:
    """Auth0's fallback page (lock-protocol.md §2.3): frame the app's ``cross_origin_loc``,
    where auth0-js answers a ``co_verifier_request`` for this ticket's ``co_id`` with the
    verifier it kept in a cookie of the app's origin, then POST it to /co/verify. The request
    is parked meanwhile; the ticket stays unspent. None if there is no such waiting ticket."""
    c = services(request)
    loc = app.cross_origin_loc or ""
    co_id = await c.cross_origin.verification_id(current, app, req.redirect_uri, login_ticket)
    if co_id is None:
        return None
    tx_id = await c.authorization.park(current, req, extra={CO_TICKET: _digest(login_ticket)})
    own_origin = co.origin_of(current.public_url)
    loc_origin = co.origin_of(loc)
    redirect_origin = authz.origin_of(req.redirect_uri)
    return page(
        request,
        "co_verify.html",
        iframe_url=f"{loc.split('#', 1)[0]}#origin={quote(own_origin, safe='')}",
        target_origin=loc_origin,
        co_id=co_id,
        state=tx_id,
        login_ticket=login_ticket,
        # Popup mode runs this in the app's hidden iframe: framed by the app's web origin only;
        # anything else is a top-level page that nobody frames.
        frame_ancestors=[o for o in app.web_origins if o == redirect_origin]
        if req.response_mode == "web_message"
        else [],
        frame_src=[loc_origin],
        form_targets=[redirect_origin],
    )


def _from_own_page(request: Request, current: Tenant) -> bool:
    """Fetch Metadata first (the page's ``no-referrer`` policy makes a form's Origin ``null``):
    ``Sec-Fetch-Site: same-origin``; else an Origin header naming this server."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin", "").rstrip("/").lower()
    return origin == co.origin_of(current.public_url)


@router.post("/co/verify")
async def verify(request: Request) -> Response:
    """The fallback page's form: the verifier from the app's page, the parked request's state
    and the ticket. Only a form of this server's own pages is taken (Fetch Metadata, or the
    Origin header): another site could otherwise post its own ticket and verifier and sign this
    browser in as someone else (login CSRF)."""
    current = await tenant(request)
    c = services(request)
    if not _from_own_page(request, current):
        return error_page(request, "This form can only be sent from Tether's own page.", status=403)
    try:
        form = await read_params(request)
        tx, app = await c.authorization.transaction(current, str(form.get("state") or ""))
    except (BodyError, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "The form could not be read."
        return error_page(request, message, code="invalid_request")
    ticket = str(form.get("login_ticket") or "")
    if not ticket or tx.request.get(CO_TICKET) != _digest(ticket):
        return error_page(request, "This sign-in does not match.", code="invalid_state")
    if not await c.authorization.finish(current, tx):
        return error_page(
            request, "This sign-in was already completed.", code="invalid_state", status=400
        )
    req = authz.AuthorizationRequest.from_dict(tx.request)
    verifier = form.get("verifier")
    return await _spend(
        request, current, app, req, ticket, verifier if isinstance(verifier, str) else None
    )
