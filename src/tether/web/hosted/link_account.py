"""``/u/link-account``: the link prompt at sign-in (domain/sign_in_linking/).

``/authorize/resume`` sends the person here when an account with their verified address already
exists. The page says so in plain words, with how that account signs in (never its details),
and offers **Link** (the existing account's password, checked now: the fresh sign-in is the
proof) or **Keep separate** (remembered for the pair). Either way the original ``/authorize``
request then continues: after a link with the existing user, whose ``sub`` the tokens carry.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import (
    Conflict,
    DomainError,
    InvalidCredentials,
    InvalidInput,
    RateLimited,
)
from tether.domain.models import Application, LoginTransaction, Tenant
from tether.domain.sign_in_linking import Offer
from tether.protocol import authorize as authz
from tether.web import cookies
from tether.web.context import request_info, services
from tether.web.hosted.flow import Open, Posted, form_page, posted
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other
from tether.web.html.render import page

router = APIRouter(route_class=HtmlRoute)
PURPOSE = "link_account"
TEMPLATE = "link_account.html"
TITLE = "You already have an account"
LinkPost = Annotated[Posted, posted(PURPOSE)]


def _resume(tx: LoginTransaction) -> Response:
    return see_other(f"/authorize/resume?{urlencode({'state': tx.id})}")


async def _offer(
    request: Request, current: Tenant, tx: LoginTransaction, app: Application
) -> Offer | None:
    """The offer, only for the browser whose sign-in it is."""
    c = services(request)
    session = await c.sessions.current(current, cookies.session_value(request))
    if session is None or session.id != tx.session_id:
        return None
    req = authz.AuthorizationRequest.from_dict(tx.request)
    return await c.sign_in_linking.offer(current, app, tx, req.prompt)


def _show(
    request: Request, tx: LoginTransaction, app: Application, offer: Offer, **extra: Any
) -> Response:
    ctx = {
        "state": tx.id,
        "app_name": app.name,
        "email": offer.user.email,
        "ways": offer.ways,
        "offer": offer.token(tx),
        "can_link": offer.password_connection is not None,
        "can_code": offer.code_connection is not None,
        "upstream": [
            {
                "label": label,
                "href": "/u/link-account/upstream?"
                + urlencode({"state": tx.id, "offer": offer.token(tx), "connection": name}),
            }
            for name, label in offer.upstream
        ],
        "code_email": offer.code_email,
        "redirect_origin": authz.origin_of(
            authz.AuthorizationRequest.from_dict(tx.request).redirect_uri
        ),
    }
    return form_page(request, TEMPLATE, ctx, PURPOSE, title=TITLE, **extra)


@router.get("/u/link-account")
async def link_form(request: Request, opened: Open) -> Response:
    current, tx, app = opened
    offer = await _offer(request, current, tx, app)
    if offer is None:
        return _resume(tx)
    return _show(request, tx, app, offer)


@router.post("/u/link-account")
async def link_submit(request: Request, submitted: LinkPost) -> Response:
    current, tx, app, form = submitted
    c = services(request)
    offer = await _offer(request, current, tx, app)
    token = str(form.get("offer") or "")
    if offer is None or offer.token(tx) != token:
        return _gone(request, tx)
    prompt = authz.AuthorizationRequest.from_dict(tx.request).prompt
    if form.get("decision") == "separate":
        await c.sign_in_linking.keep_separate(
            current, app, tx, prompt, token, request_info(request)
        )
        return _resume(tx)
    if form.get("decision") == "send_code":
        try:
            sent_to = await c.sign_in_linking.send_code(
                current, app, tx, prompt, token, request_info(request)
            )
        except RateLimited as exc:
            return _show(request, tx, app, offer, status=429, error=exc.message)
        except (InvalidInput, DomainError) as exc:
            return _show(request, tx, app, offer, status=400, error=exc.message)
        return _show(
            request, tx, app, offer, code_sent=True, notice=f"We sent a code to {sent_to}."
        )
    code = form.get("code")
    try:
        primary = await c.sign_in_linking.link(
            current,
            app,
            tx,
            prompt,
            token,
            None if code is not None else str(form.get("password") or ""),
            request_info(request),
            code=None if code is None else str(code),
        )
    except (InvalidCredentials, InvalidInput) as exc:
        if isinstance(exc, InvalidCredentials):
            message = "Wrong password." if code is None else "Wrong or expired code."
        else:
            message = exc.message
        return _show(request, tx, app, offer, status=400, error=message, code_sent=code is not None)
    except RateLimited as exc:
        return _show(request, tx, app, offer, status=429, error=exc.message)
    except (Conflict, DomainError):
        return _gone(request, tx)
    # The existing account's fresh sign-in makes the session: the request goes on as it.
    started = await c.sessions.sign_in(
        current,
        primary,
        ["pwd" if code is None else "otp"],
        replaces=cookies.session_value(request),
    )
    await c.authorization.record_login(current, tx, primary, started.session)
    response = _resume(tx)
    cookies.set_session(request, response, current, started.cookie_value)
    return response


@router.get("/u/link-account/upstream")
async def link_upstream(request: Request, opened: Open) -> Response:
    """**Link** for an account that signs in upstream: a request parked for that sign-in,
    then the provider (``prompt=login``); ``/login/callback`` links when it comes back."""
    current, tx, app = opened
    c = services(request)
    offer = await _offer(request, current, tx, app)
    token = request.query_params.get("offer") or ""
    if offer is None or offer.token(tx) != token:
        return _gone(request, tx)
    req = authz.AuthorizationRequest.from_dict(tx.request)
    name = request.query_params.get("connection") or ""
    try:
        extra = await c.sign_in_linking.upstream_proof(current, app, tx, req.prompt, token, name)
    except DomainError as exc:
        return _show(request, tx, app, offer, status=400, error=exc.message)
    proof_tx = await c.authorization.park(current, req, extra=extra)
    return see_other(f"/u/login/upstream?{urlencode({'state': proof_tx, 'connection': name})}")


def _gone(request: Request, tx: LoginTransaction) -> Response:
    """The pair was linked meanwhile (another browser, say), or the sign-in is no longer this
    browser's: nothing was changed here; signing in again lands in the linked account."""
    return page(
        request,
        TEMPLATE,
        status=409,
        title=TITLE,
        gone=True,
        login_url=f"/u/login?{urlencode({'state': tx.id})}",
    )
