"""``/dashboard/admins``: who may use the dashboard, with each admin's email verification state.

An admin named by email had to have verified it (domain/admins.py); one named by user_id may not
have, so the list says so: an unverified address proves nothing about who holds the account
(pre-account takeover, Sudhodanan & Paverd 2022). Adding and removing go through the same
``AdminService`` as ``tether admins``, with the signed-in admin as the actor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError
from tether.web.context import services
from tether.web.dashboard.common import Admin, Form, actor, admin_after_form, section_page
from tether.web.errors import status_of
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other, with_msg

router = APIRouter(route_class=HtmlRoute)
HOME = "/dashboard/admins"
AdminsAdmin = Annotated[gate.Visitor, admin_after_form(HOME)]


@router.get(HOME)
async def admins(request: Request, who: Admin) -> Response:
    return await _admins_page(request, who)


async def _admins_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    value: str = "",
) -> Response:
    listed = await services(request).admins.list(who.tenant)
    return section_page(
        request,
        who,
        "dashboard/admins.html",
        "admins",
        title="Admins",
        admins=sorted(listed, key=lambda a: a.admin.created_at),
        unverified=sum(1 for a in listed if not a.user.email_verified),
        status=status,
        error=error,
        value=value,
    )


@router.post(HOME)
async def admins_add(request: Request, form: Form, who: AdminsAdmin) -> Response:
    named = form.get("who", "")
    try:
        await services(request).admins.add(who.tenant, named, await actor(request, who))
    except DomainError as exc:
        return await _admins_page(
            request, who, status=status_of(exc), error=exc.message, value=named
        )
    return see_other(with_msg(HOME, "admin_added"))


@router.post(HOME + "/remove")
async def admins_remove(request: Request, form: Form, who: AdminsAdmin) -> Response:
    user_id = form.get("user_id", "")
    if user_id == who.user.user_id:
        # Removing oneself would lock this browser out mid-page; another admin (or the CLI) can.
        return await _admins_page(
            request, who, status=400, error="You cannot remove yourself; ask another admin."
        )
    try:
        await services(request).admins.remove(who.tenant, user_id, await actor(request, who))
    except DomainError as exc:
        return await _admins_page(request, who, status=status_of(exc), error=exc.message)
    return see_other(with_msg(HOME, "admin_removed"))
