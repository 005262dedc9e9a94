"""Forgot password (``/u/reset-password``, from an application's sign-in page) and the link of
the mail it sends (``/lo/reset``, choose a new password). The forgot page answers the same
whether or not the address has an account."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from tether.domain.models import Application, Tenant
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.hosted.flow import form_page, sign_in_context
from tether.web.html import csrf
from tether.web.html.errors import Detour, HtmlRoute, error_page
from tether.web.html.render import page

router = APIRouter(route_class=HtmlRoute)


class ForgotPage(NamedTuple):
    tenant: Tenant
    app: Application
    ctx: dict[str, Any]


async def _forgot(request: Request) -> ForgotPage:
    """The application whose sign-in page the person came from (the parked request's, or
    ``?client_id=``); without one, the error page."""
    current, app, ctx = await _forgot_context(request)
    if app is None:
        raise Detour(
            error_page(
                request, "Start from your application's sign-in page to reset your password."
            )
        )
    return ForgotPage(current, app, ctx)


Forgot = Annotated[ForgotPage, Depends(_forgot)]


async def _forgot_context(request: Request) -> tuple[Tenant, Application | None, dict[str, Any]]:
    current = await tenant(request)
    state = request.query_params.get("state")
    c = services(request)
    if state:
        try:
            tx, tx_app = await c.authorization.transaction(current, state)
        except DomainError:
            return current, None, {}
        ctx = await sign_in_context(request, current, tx, tx_app)
        return current, tx_app, ctx
    client_id = request.query_params.get("client_id")
    app: Application | None = None
    if client_id:
        try:
            app = await c.applications.get(current, client_id)
        except NotFound:
            app = None
    return current, app, {"app_name": app.name if app else current.name, "state": ""}


@router.get("/u/reset-password")
async def forgot_form(request: Request, forgot: Forgot) -> Response:
    _, _, ctx = forgot
    return form_page(request, "forgot.html", ctx, "forgot", title="Reset your password")


@router.post("/u/reset-password")
async def forgot_submit(request: Request, forgot: Forgot) -> Response:
    current, app, ctx = forgot
    form = await read_params(request)
    csrf.check(request, "forgot", form.get("csrf"))
    database = ctx.get("database")
    try:
        await services(request).users.request_password_change(
            current,
            app,
            database.name if database else None,
            str(form.get("email") or ""),
            request_info(request),
        )
    except InvalidInput:
        return form_page(
            request,
            "forgot.html",
            ctx,
            "forgot",
            title="Reset your password",
            status=400,
            error="Enter a valid email address.",
        )
    except (NotFound, Forbidden):
        pass  # answer the same as for a sent mail: no account enumeration
    return csrf.with_cookie(
        request, page(request, "forgot.html", title="Check your email", sent=True, **ctx)
    )


@router.get("/lo/reset")
async def reset_form(request: Request) -> Response:
    ticket = request.query_params.get("ticket") or ""
    if not ticket:
        return error_page(
            request, "This link is incomplete. Use the link from the email.", code="invalid_ticket"
        )
    ctx = {"ticket": ticket, "redirect_origin": None}
    return form_page(request, "reset.html", ctx, "reset", title="Choose a new password")


@router.post("/lo/reset")
async def reset_submit(request: Request) -> Response:
    current = await tenant(request)
    form = await read_params(request)
    csrf.check(request, "reset", form.get("csrf"))
    ticket = str(form.get("ticket") or "")
    password = str(form.get("password") or "")
    ctx = {"ticket": ticket, "redirect_origin": None}
    error = None
    if password != str(form.get("confirm") or ""):
        error = "The two passwords are not the same."
    else:
        try:
            await services(request).users.reset_password(
                current, ticket, password, request_info(request)
            )
        except InvalidInput as exc:
            error = exc.message.split(": ", 1)[-1]
    if error is not None:
        return form_page(
            request,
            "reset.html",
            ctx,
            "reset",
            title="Choose a new password",
            status=400,
            error=error,
        )
    return csrf.with_cookie(
        request, page(request, "reset.html", title="Password changed", done=True)
    )
