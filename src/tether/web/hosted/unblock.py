"""``/u/unblock``: the person lifts a brute-force block with the link mailed when it happened
(Auth0's brute-force protection; domain/brute_force.py).

The GET shows a button and changes nothing, so a mail scanner that fetches links does not
spend the single-use ticket; the POST (CSRF-checked) lifts the block."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import NotFound
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.html import csrf
from tether.web.html.errors import HtmlRoute
from tether.web.html.render import page

router = APIRouter(route_class=HtmlRoute)
PURPOSE = "unblock"


@router.get("/u/unblock")
async def unblock_form(request: Request) -> Response:
    ticket = request.query_params.get("ticket") or ""
    if not ticket:
        return page(
            request,
            "error.html",
            status=400,
            title="Error",
            message="This link is incomplete. Use the link from the email.",
            code="invalid_ticket",
        )
    response = page(
        request,
        "unblock.html",
        title="Unblock your account",
        action="/u/unblock",
        ticket=ticket,
        csrf=csrf.token(request, PURPOSE),
    )
    return csrf.with_cookie(request, response)


@router.post("/u/unblock")
async def unblock_submit(request: Request) -> Response:
    current = await tenant(request)
    form = await read_params(request)
    csrf.check(request, PURPOSE, form.get("csrf"))
    ticket = str(form.get("ticket") or "")
    try:
        await services(request).guard.unblock_with_ticket(current, ticket, request_info(request))
    except NotFound as exc:
        return page(
            request, "error.html", status=400, title="Error", message=exc.message, code=exc.code
        )
    return page(request, "unblock.html", title="Account unblocked", done=True)
