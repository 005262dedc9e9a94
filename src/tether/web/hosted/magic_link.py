"""``/u/passwordless/link``: the magic link from a passwordless mail (Auth0's ``send=link``).

Login CSRF: an attacker can ask for a link to their own address and get someone else to open
it. So the link completes on its own only in the browser that asked for it, which holds the
secret whose hash was parked with the request (``/passwordless/start`` set it in an HttpOnly
cookie; RFC 9700 §4.7 binds the upstream callbacks to their browser the same way). Anywhere else
a page names the account the link would sign in to (and the one signed in here, if any) and asks;
only a POST with this browser's CSRF token goes on. Opening the link never spends the code and
never touches an existing session.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError, Forbidden, InvalidCredentials, InvalidInput
from tether.domain.models import Application, Connection, LoginTransaction, Tenant, User
from tether.domain.passwordless import binding_matches
from tether.web import cookies
from tether.web.body import read_params
from tether.web.context import request_info, services
from tether.web.hosted.flow import form_page, signed_in
from tether.web.hosted.passwordless import EmailCode
from tether.web.html import csrf
from tether.web.html.errors import HtmlRoute, error_page

router = APIRouter(route_class=HtmlRoute)
PURPOSE = "magic-link"
_BAD_LINK = "This sign-in link is wrong, used or expired. Ask for a new one."


@router.get("/u/passwordless/link")
async def open_link(request: Request, flow: EmailCode) -> Response:
    current, tx, app, connection, ctx = flow
    q = request.query_params
    email, code = q.get("email") or "", q.get("code") or ""
    if not email or not code:
        return error_page(request, _BAD_LINK, code="invalid_code")
    cookie_name = cookies.host_only(request, cookies.MAGIC_LINK)
    if binding_matches(tx.request, request.cookies.get(cookie_name)):
        response = await _complete(request, current, tx, app, connection, email, code)
        response.delete_cookie(
            cookie_name, path="/", httponly=True, secure=cookies.is_secure(request)
        )
        return response
    signed_in = await _signed_in_user(request, current)
    return form_page(
        request,
        "magic_link.html",
        ctx,
        PURPOSE,
        title="Confirm the sign-in",
        email=email,
        code=code,
        signed_in_as=(signed_in.email or signed_in.user_id) if signed_in else None,
    )


@router.post("/u/passwordless/link")
async def confirm_link(request: Request, flow: EmailCode) -> Response:
    """The person confirmed, in a browser that did not ask for the link."""
    current, tx, app, connection, _ = flow
    form = await read_params(request)
    csrf.check(request, PURPOSE, form.get("csrf"))
    return await _complete(
        request,
        current,
        tx,
        app,
        connection,
        str(form.get("email") or ""),
        str(form.get("code") or ""),
    )


async def _complete(
    request: Request,
    current: Tenant,
    tx: LoginTransaction,
    app: Application,
    connection: Connection,
    email: str,
    code: str,
) -> Response:
    try:
        user = await services(request).passwordless.verify(
            current, app, connection, email, code, request_info(request)
        )
    except (InvalidCredentials, InvalidInput, Forbidden):
        return error_page(request, _BAD_LINK, code="invalid_code")
    return await signed_in(request, current, tx, user, ["otp"])


async def _signed_in_user(request: Request, current: Tenant) -> User | None:
    """Who this browser's SSO session belongs to, to say so on the page."""
    c = services(request)
    session = await c.sessions.current(current, cookies.session_value(request))
    if session is None:
        return None
    try:
        return await c.account.user_of(current, session)
    except DomainError:
        return None
