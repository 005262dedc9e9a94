"""``/lo/verify_email``: the link of a verification mail or ticket (domain/verification.py).

The GET shows a button and changes nothing, so a mail scanner that fetches links does not spend
the single-use ticket; the POST (CSRF-checked) verifies the address and answers 303 to the
ticket's ``result_url`` with Auth0's ``success``/``message`` parameters, or shows the result.
A spent or expired link offers a new one (``/lo/verify_email/resend``, limited per user)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import RateLimited
from tether.protocol.authorize import origin_of
from tether.web.body import read_params
from tether.web.context import request_info, services, tenant
from tether.web.html import csrf
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other
from tether.web.html.render import page

router = APIRouter(route_class=HtmlRoute)
PURPOSE = "verify_email"
PATH = "/lo/verify_email"
TITLE = "Verify your email address"


def _incomplete(request: Request) -> Response:
    return page(
        request,
        "error.html",
        status=400,
        title="Error",
        message="This link is incomplete or unknown. Use the link from the email.",
        code="invalid_ticket",
    )


@router.get(PATH)
async def verify_form(request: Request) -> Response:
    ticket = request.query_params.get("ticket") or ""
    record = await services(request).verification.peek(await tenant(request), ticket)
    if not ticket or record is None:
        return _incomplete(request)
    response = page(
        request,
        "verify_email.html",
        title=TITLE,
        action=PATH,
        ticket=ticket,
        email=record.email,
        csrf=csrf.token(request, PURPOSE),
        # The POST may end in a redirect to result_url: form-action covers that redirect.
        form_targets=[origin_of(record.result_url)] if record.result_url else [],
    )
    return csrf.with_cookie(request, response)


@router.post(PATH)
async def verify_submit(request: Request) -> Response:
    current = await tenant(request)
    form = await read_params(request)
    csrf.check(request, PURPOSE, form.get("csrf"))
    ticket = str(form.get("ticket") or "")
    outcome = await services(request).verification.verify(current, ticket, request_info(request))
    if outcome.ticket is None:
        return _incomplete(request)
    target = outcome.redirect()
    if target is not None:
        return see_other(target)
    if outcome.verified:
        return page(request, "verify_email.html", title="Email verified", done=True)
    response = page(
        request,
        "verify_email.html",
        status=400,
        title=TITLE,
        spent=True,
        action=f"{PATH}/resend",
        ticket=ticket,
        csrf=csrf.token(request, PURPOSE),
    )
    return csrf.with_cookie(request, response)


@router.post(f"{PATH}/resend")
async def resend(request: Request) -> Response:
    current = await tenant(request)
    form = await read_params(request)
    csrf.check(request, PURPOSE, form.get("csrf"))
    try:
        await services(request).verification.resend(
            current, str(form.get("ticket") or ""), request_info(request)
        )
    except RateLimited:
        return page(
            request,
            "error.html",
            status=429,
            title="Error",
            message="Too many verification emails were sent. Try again later.",
            code="too_many_attempts",
        )
    return page(request, "verify_email.html", title=TITLE, resent=True)
