"""Who is signed in to Tether's own pages, and the way in for who is not.

A page uses the browser's SSO session. Without one, the person goes through ``/authorize`` of
the page's own first-party application (domain/account/hosted_apps.py, HostedApps) and comes back to
``/<kind>/callback``, where the code is redeemed. The flow's ``state`` is also kept in an HttpOnly
cookie scoped to that callback, so a callback only completes in the browser that started it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from tether.domain.account import LINK, FinishedFlow
from tether.domain.errors import DomainError
from tether.domain.models import Session, Tenant, User
from tether.web import cookies
from tether.web.context import request_info, services, tenant
from tether.web.html.errors import Detour
from tether.web.html.redirects import see_other
from tether.web.html.render import MESSAGES, page

FLOW_COOKIE = "tether_flow"
FLOW_COOKIE_SECONDS = 600


@dataclass(frozen=True)
class Visitor:
    tenant: Tenant
    session: Session
    user: User


async def visitor(request: Request) -> Visitor | None:
    """The signed-in person, from the SSO session; None when there is none."""
    current = await tenant(request)
    c = services(request)
    session = await c.sessions.current(current, cookies.session_value(request))
    if session is None:
        return None
    try:
        user = await c.account.user_of(current, session)
    except DomainError:
        return None
    return Visitor(current, session, user)


async def signed_in(request: Request, kind: str, purpose: str, *, return_to: str) -> Visitor:
    """The signed-in person; else a :class:`Detour` through /authorize of the ``kind``
    application (``purpose``: a first sign-in), which comes back to ``return_to``."""
    who = await visitor(request)
    if who is None:
        raise Detour(await sign_in(request, kind, purpose, return_to=return_to))
    return who


async def sign_in(
    request: Request,
    kind: str,
    purpose: str,
    *,
    return_to: str,
    who: Visitor | None = None,
) -> Response:
    """Send the browser through /authorize of the ``kind`` application, and back."""
    current = who.tenant if who else await tenant(request)
    started = await services(request).hosted_apps.start(
        current,
        kind,
        purpose,
        return_to=return_to,
        user=who.user if who else None,
        session=who.session if who else None,
        login_hint=(who.user.email if who and purpose != LINK else None),
    )
    response = see_other(started.authorize_url)
    response.set_cookie(
        FLOW_COOKIE,
        started.state,
        max_age=FLOW_COOKIE_SECONDS,
        httponly=True,
        secure=cookies.is_secure(request),
        samesite="lax",
        path=f"/{kind}/callback",
    )
    return response


def error(request: Request, message: str, *, code: str, status: int, back: str) -> Response:
    return page(
        request,
        "account/error.html",
        status=status,
        title="Error",
        message=message,
        code=code,
        back=back,
    )


async def finish(request: Request, kind: str) -> FinishedFlow:
    """The callback: the flow this browser started, its code redeemed. On failure a
    :class:`Detour` to an error page (the flow's cookie forgotten: it is spent either way)."""
    q = request.query_params
    back = f"/{kind}"

    def failed(message: str, code: str) -> Detour:
        answer = error(request, message, code=code, status=400, back=back)
        return Detour(forget_flow(answer, request, kind))

    if q.get("error"):
        text = q.get("error_description") or q.get("error") or ""
        raise failed(f"The sign-in did not finish: {text[:300]}", "sign_in_failed")
    state = q.get("state") or ""
    cookie = request.cookies.get(FLOW_COOKIE) or ""
    if not state or not cookie or not hmac.compare_digest(state.encode(), cookie.encode()):
        raise failed(
            "This sign-in did not start in this browser, or it has expired. Start again.",
            "invalid_state",
        )
    current = await tenant(request)
    try:
        return await services(request).hosted_apps.finish(
            current, kind, state, q.get("code") or "", request_info(request)
        )
    except DomainError as exc:
        raise failed(exc.message, exc.code) from exc


def forget_flow(response: Response, request: Request, kind: str) -> Response:
    response.delete_cookie(
        FLOW_COOKIE,
        path=f"/{kind}/callback",
        httponly=True,
        secure=cookies.is_secure(request),
        samesite="lax",
    )
    return response


async def sign_out(request: Request, kind: str) -> Response:
    current = await tenant(request)
    await services(request).sessions.end(current, cookies.session_value(request))
    response = see_other(f"/{kind}/signed-out")
    cookies.clear_session(request, response)
    return response


def signed_out(request: Request, home: str) -> Response:
    """The page after ``sign_out``, the same for the account and the dashboard."""
    return page(
        request,
        "account/signed_out.html",
        title="Signed out",
        home=home,
        notice=MESSAGES["signed_out"],
    )
