"""``/u/passwordless``: signing in with a code mailed to the address (Auth0's passwordless
``email`` connection, ``send=code``), in two steps on one page: the address, then the code.
:data:`EmailCode` is the guard it shares with the magic link (magic_link.py)."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import (
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    RateLimited,
)
from tether.domain.models import Application, Connection, LoginTransaction, Tenant
from tether.web.body import read_params
from tether.web.context import request_info, services
from tether.web.hosted.flow import Open, form_page, sign_in_context, signed_in
from tether.web.html import csrf
from tether.web.html.errors import Detour, HtmlRoute, error_page

router = APIRouter(route_class=HtmlRoute)


class EmailCodeFlow(NamedTuple):
    """A parked request signing in with the passwordless connection ``?connection=`` names."""

    tenant: Tenant
    tx: LoginTransaction
    app: Application
    connection: Connection
    ctx: dict[str, Any]


async def _email_code(request: Request, opened: Open) -> EmailCodeFlow:
    """The parked request and its passwordless connection; an unknown one is the error page."""
    current, tx, app = opened
    name = request.query_params.get("connection") or "email"
    try:
        connection = await services(request).passwordless.connection(current, name, app)
    except DomainError as exc:
        raise Detour(error_page(request, exc.message, code=exc.code)) from exc
    ctx = await sign_in_context(request, current, tx, app)
    ctx["action"] = (
        f"{request.url.path}?{urlencode({'state': tx.id, 'connection': connection.name})}"
    )
    return EmailCodeFlow(current, tx, app, connection, ctx)


EmailCode = Annotated[EmailCodeFlow, Depends(_email_code)]


@router.get("/u/passwordless")
async def passwordless_form(request: Request, flow: EmailCode) -> Response:
    ctx = flow.ctx
    return form_page(
        request,
        "passwordless.html",
        {**ctx, "action": ctx["action"]},
        "passwordless",
        title="Sign in with an email code",
        step="email",
    )


@router.post("/u/passwordless")
async def passwordless_submit(request: Request, flow: EmailCode) -> Response:
    """Step 1 sends a code; step 2 checks it and signs the person in."""
    current, tx, app, connection, ctx = flow
    form = await read_params(request)
    csrf.check(request, "passwordless", form.get("csrf"))
    service = services(request).passwordless
    email = str(form.get("email") or "")

    def again(step: str, email: str, status: int = 200, **fields: str) -> Response:
        """The form again at ``step`` (``email`` or ``code``), with why or what next."""
        return form_page(
            request,
            "passwordless.html",
            ctx,
            "passwordless",
            title="Sign in with an email code",
            status=status,
            step=step,
            email=email,
            **fields,
        )

    if form.get("step") != "code":
        try:
            email = await service.start(current, app, connection, email, request_info(request))
        except InvalidInput:
            return again("email", email, 400, error="Enter a valid email address.")
        except RateLimited as exc:
            return again("email", email, 429, error=exc.message)
        notice = f"We sent a 6-digit code to {email}. It works for 5 minutes."
        return again("code", email, notice=notice)
    try:
        user = await service.verify(
            current, app, connection, email, str(form.get("code") or ""), request_info(request)
        )
    except (InvalidCredentials, InvalidInput):
        return again("code", email, 400, error="That code is wrong or has expired.")
    except RateLimited as exc:  # brute-force protection: this address is blocked from here
        return again("code", email, 429, error=exc.message)
    except Forbidden as exc:
        return again("code", email, 403, error=exc.message)
    return await signed_in(request, current, tx, user, ["otp"])
