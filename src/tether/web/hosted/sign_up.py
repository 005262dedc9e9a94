"""``/u/signup``: signing up with the database connection, from a parked ``/authorize`` request
(unless the connection disables sign-up). An address that has an account gets an answer that
says no more than a sign-in would."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from tether.domain.users import NewDatabaseUser
from tether.web.context import request_info, services
from tether.web.hosted.flow import Open, Posted, form_page, posted, sign_in_context, signed_in
from tether.web.html.errors import HtmlRoute, error_page

router = APIRouter(route_class=HtmlRoute)
SignupPost = Annotated[Posted, posted("signup")]


@router.get("/u/signup")
async def signup_form(request: Request, opened: Open) -> Response:
    current, tx, app = opened
    ctx = await sign_in_context(request, current, tx, app)
    if not ctx["signup_url"]:
        return error_page(
            request, "Sign-up is not available for this application.", code="signup_disabled"
        )
    return form_page(request, "signup.html", ctx, "signup", title="Sign up")


@router.post("/u/signup")
async def signup_submit(request: Request, submitted: SignupPost) -> Response:
    current, tx, app, form = submitted
    ctx = await sign_in_context(request, current, tx, app)
    if not ctx["signup_url"]:
        return error_page(
            request, "Sign-up is not available for this application.", code="signup_disabled"
        )
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    try:
        user = await services(request).users.signup(
            current,
            app,
            ctx["database"].name,
            NewDatabaseUser(email=email, password=password),
            request_info(request),
        )
    except (Conflict, InvalidInput, Forbidden, NotFound) as exc:
        # A conflict says no more than a sign-in would: the address may or may not have an
        # account.
        message = (
            "We could not create an account with these details. If you already have one, sign in instead."
            if isinstance(exc, Conflict)
            else exc.message.split(": ", 1)[-1]
        )
        return form_page(
            request,
            "signup.html",
            ctx,
            "signup",
            title="Sign up",
            status=400,
            error=message,
            email=email,
        )
    return await signed_in(request, current, tx, user, ["pwd"])
