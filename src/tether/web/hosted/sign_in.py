"""``/u/login``: the sign-in page of a parked ``/authorize`` request: the database connection's
form (email and password) and a button for each of the others (upstream providers, an email
code). A failed sign-in says only "Wrong email or password." whether or not the account exists.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import Forbidden, InvalidCredentials, InvalidInput, RateLimited
from tether.web.context import request_info, services
from tether.web.hosted.flow import Open, Posted, form_page, posted, sign_in_context, signed_in
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other

router = APIRouter(route_class=HtmlRoute)
LoginPost = Annotated[Posted, posted("login")]


@router.get("/u/login")
async def login_form(request: Request, opened: Open) -> Response:
    current, tx, app = opened
    ctx = await sign_in_context(request, current, tx, app)
    return form_page(request, "login.html", ctx, "login", title="Sign in")


@router.post("/u/login")
async def login_submit(request: Request, submitted: LoginPost) -> Response:
    current, tx, app, form = submitted
    ctx = await sign_in_context(request, current, tx, app)
    connection = str(form.get("connection") or "")
    other = next((o for o in ctx["others"] if o["name"] == connection), None)
    if other is not None and other["strategy"] == "email":
        return see_other(f"/u/passwordless?{urlencode({'state': tx.id, 'connection': connection})}")

    def refused(status: int, error: str, **fields: str) -> Response:
        """The form again with why it was refused (each of the four refusals below)."""
        return form_page(
            request,
            "login.html",
            ctx,
            "login",
            title="Sign in",
            status=status,
            error=error,
            **fields,
        )

    if not ctx["database"] or connection != ctx["database"].name:
        return refused(400, "That way of signing in is not available here yet.")
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    try:
        user, _ = await services(request).users.authenticate(
            current, app, connection, email, password, request_info(request)
        )
    except (InvalidCredentials, InvalidInput):
        return refused(400, "Wrong email or password.", email=email)
    except RateLimited as exc:
        return refused(429, exc.message, email=email)
    except Forbidden as exc:
        return refused(403, exc.message, email=email)
    return await signed_in(request, current, tx, user, ["pwd"])
