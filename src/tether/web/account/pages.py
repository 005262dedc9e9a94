"""``/account``: the signed-in person's Linked accounts page (DESIGN.md, Beyond Auth0).

Their profile, each identity with its provider and when and how it was linked, Link another
account (they sign in to it in the same flow: that is the proof they own it), Unlink (not the
main identity, never the last way to sign in, and only within 10 minutes of a sign-in), and
their recent security events. Every form has a CSRF token and every POST answers 303.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.account import (
    ACCOUNT,
    LINK,
    REAUTH,
    SIGN_IN,
    security_label,
)
from tether.domain.actor import Actor
from tether.domain.errors import DomainError, Forbidden
from tether.web import cookies
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.html import csrf, gate
from tether.web.html.errors import Detour, HtmlRoute
from tether.web.html.redirects import see_other, with_msg
from tether.web.html.render import render

router = APIRouter(route_class=HtmlRoute)
HOME = "/account"


async def _page(
    request: Request, who: gate.Visitor, *, status: int = 200, error: str | None = None
) -> Response:
    c = services(request)
    rows = await c.account.identities(who.tenant, who.user)
    events = await c.account.security_events(who.tenant, who.user)
    fresh = c.account.is_fresh(who.session)
    return render(
        request,
        "account/index.html",
        status=status,
        title="Linked accounts",
        tenant_name=who.tenant.name,
        user=who.user,
        rows=rows,
        events=[(e, security_label(e)) for e in events],
        fresh=fresh,
        fresh_until=c.account.fresh_until(who.session),
        error=error,
    )


async def _form(request: Request) -> dict[str, str]:
    """The POST body, CSRF-checked before anything else runs."""
    form = await read_params(request, allow_empty=True)
    csrf.check_form(request, ACCOUNT, form)
    return {k: str(v) for k, v in form.items()}


Form = Annotated[dict[str, str], Depends(_form)]


async def _signed_in(request: Request) -> gate.Visitor:
    return await gate.signed_in(request, ACCOUNT, SIGN_IN, return_to=HOME)


#: The signed-in person; whoever is not goes to sign in first.
SignedIn = Annotated[gate.Visitor, Depends(_signed_in)]


async def _fresh(request: Request, _: Form, who: SignedIn) -> gate.Visitor:
    if not services(request).account.is_fresh(who.session):
        raise Detour(await gate.sign_in(request, ACCOUNT, REAUTH, return_to=HOME, who=who))
    return who


#: For a change (a POST, its form CSRF-checked first): the signed-in person, signed in within
#: the last minutes; else they sign in again first.
Fresh = Annotated[gate.Visitor, Depends(_fresh)]


@router.get("/account")
async def account(request: Request, who: SignedIn) -> Response:
    return await _page(request, who)


@router.get("/account/callback")
async def callback(request: Request) -> Response:
    finished = await gate.finish(request, ACCOUNT)
    flow = finished.flow
    if flow.purpose != LINK:
        target = flow.return_to
        if flow.purpose == REAUTH:
            target = with_msg(HOME, "signed_in_again")
        return gate.forget_flow(see_other(target), request, ACCOUNT)
    c = services(request)
    current = await tenant(request)
    browser = await c.sessions.current(current, cookies.session_value(request))
    try:
        linked = await c.account.link(current, finished, browser, request_info(request))
    except DomainError as exc:
        response = gate.error(request, exc.message, code=exc.code, status=400, back=HOME)
        return gate.forget_flow(response, request, ACCOUNT)
    response = see_other(with_msg(HOME, "linked"))
    cookies.set_session(request, response, current, linked.started.cookie_value)
    return gate.forget_flow(response, request, ACCOUNT)


@router.post("/account/link")
async def link(request: Request, who: Fresh) -> Response:
    return await gate.sign_in(request, ACCOUNT, LINK, return_to=HOME, who=who)


@router.post("/account/reauthenticate")
async def reauthenticate(request: Request, _: Form) -> Response:
    who = await gate.visitor(request)
    return await gate.sign_in(request, ACCOUNT, REAUTH if who else SIGN_IN, return_to=HOME, who=who)


@router.post("/account/unlink")
async def unlink(request: Request, form: Form, who: Fresh) -> Response:
    c = services(request)
    app = await c.hosted_apps.ensure(who.tenant, ACCOUNT)
    actor = Actor(client_id=app.client_id, user_id=who.user.user_id, request=request_info(request))
    try:
        _, started, _ = await c.account.unlink(
            who.tenant, who.session, form.get("provider", ""), form.get("user_id", ""), actor
        )
    except Forbidden:
        return await gate.sign_in(request, ACCOUNT, REAUTH, return_to=HOME, who=who)
    except DomainError as exc:
        status = 404 if exc.code == "inexistent_identity" else 400
        return await _page(request, who, status=status, error=exc.message)
    response = see_other(with_msg(HOME, "unlinked"))
    cookies.set_session(request, response, who.tenant, started.cookie_value)
    return response


@router.post("/account/logout")
async def logout(request: Request, _: Form) -> Response:
    return await gate.sign_out(request, ACCOUNT)


@router.get("/account/signed-out")
async def signed_out(request: Request) -> Response:
    return gate.signed_out(request, HOME)
