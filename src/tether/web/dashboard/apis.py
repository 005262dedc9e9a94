"""``/dashboard/apis``: the tenant's APIs (Auth0's resource servers): create and change them,
with their scopes, token lifetime and offline access."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.applications import ApiChanges, NewApi
from tether.domain.errors import DomainError, InvalidInput
from tether.web.context import services
from tether.web.dashboard.common import Admin, Form, actor, admin_after_form, lines, section_page
from tether.web.errors import status_of
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other, with_msg

router = APIRouter(route_class=HtmlRoute)
PATH = "/dashboard/apis"
ApisAdmin = Annotated[gate.Visitor, admin_after_form(PATH)]


async def _apis_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return section_page(
        request,
        who,
        "dashboard/apis.html",
        "apis",
        status=status,
        title="APIs",
        apis=await services(request).apis.list(who.tenant),
        form=form or {},
        error=error,
    )


@router.get(PATH)
async def apis(request: Request, who: Admin) -> Response:
    return await _apis_page(request, who)


def _lifetime(value: str) -> int:
    try:
        return int(value or 86400)
    except ValueError as exc:
        raise InvalidInput("token_lifetime: a whole number of seconds.") from exc


@router.post(PATH)
async def api_create(request: Request, form: Form, who: ApisAdmin) -> Response:
    try:
        await services(request).apis.register(
            who.tenant,
            NewApi(
                name=form.get("name", ""),
                identifier=form.get("identifier", "").strip(),
                scopes=lines(form.get("scopes", "")),
                token_lifetime=_lifetime(form.get("token_lifetime", "")),
                allow_offline_access=form.get("allow_offline_access") == "on",
            ),
            await actor(request, who),
        )
    except DomainError as exc:
        return await _apis_page(request, who, status=status_of(exc), error=exc.message, form=form)
    return see_other(with_msg(PATH, "created"))


@router.post("/dashboard/apis/update")
async def api_update(request: Request, form: Form, who: ApisAdmin) -> Response:
    try:
        await services(request).apis.update(
            who.tenant,
            form.get("api", ""),
            ApiChanges(
                name=form.get("name", ""),
                scopes=tuple((s, s) for s in lines(form.get("scopes", ""))),
                token_lifetime=_lifetime(form.get("token_lifetime", "")),
                allow_offline_access=form.get("allow_offline_access") == "on",
            ),
            await actor(request, who),
        )
    except DomainError as exc:
        return await _apis_page(request, who, status=status_of(exc), error=exc.message)
    return see_other(with_msg(PATH, "updated"))
