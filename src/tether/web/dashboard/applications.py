"""``/dashboard/applications``: the tenant's applications; create one, change one, rotate its
secret (shown once on the answer, never in a URL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.applications import ApplicationChanges, NewApplication
from tether.domain.errors import DomainError, NotFound
from tether.domain.models import AppType
from tether.web.context import services
from tether.web.dashboard.common import Admin, Form, actor, admin_after_form, lines, section_page
from tether.web.errors import status_of
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other, with_msg

router = APIRouter(route_class=HtmlRoute)
PATH = "/dashboard/applications"


def _app_path(request: Request, form: dict[str, str]) -> str:
    return f"{PATH}/{request.path_params['client_id']}"


ListAdmin = Annotated[gate.Visitor, admin_after_form(PATH)]
#: The admin of a POST on one application's page: a sign-in comes back to that page.
AppAdmin = Annotated[gate.Visitor, admin_after_form(_app_path)]


async def _apps_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    apps = await services(request).applications.list(who.tenant)
    return section_page(
        request,
        who,
        "dashboard/applications.html",
        "applications",
        status=status,
        title="Applications",
        apps=apps,
        types=[t.value for t in AppType],
        form=form or {},
        error=error,
    )


@router.get(PATH)
async def applications(request: Request, who: Admin) -> Response:
    return await _apps_page(request, who)


@router.post(PATH)
async def application_create(request: Request, form: Form, who: ListAdmin) -> Response:
    try:
        app_type = AppType(form.get("app_type", "regular_web"))
        created = await services(request).applications.register(
            who.tenant,
            NewApplication(
                name=form.get("name", ""),
                app_type=app_type,
                callbacks=lines(form.get("callbacks", "")),
                allowed_logout_urls=lines(form.get("logout_urls", "")),
                web_origins=lines(form.get("web_origins", "")),
            ),
            await actor(request, who),
        )
    except ValueError:
        return await _apps_page(
            request, who, status=400, error="Choose an application type.", form=form
        )
    except DomainError as exc:
        return await _apps_page(request, who, status=status_of(exc), error=exc.message, form=form)
    return see_other(with_msg(f"{PATH}/{created.application.client_id}", "created"))


async def _app_page(
    request: Request,
    who: gate.Visitor,
    client_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    new_secret: str | None = None,
) -> Response:
    try:
        app = await services(request).applications.get(who.tenant, client_id)
    except NotFound:
        return section_page(
            request,
            who,
            "dashboard/missing.html",
            "applications",
            status=404,
            title="No such application",
            what="application",
        )
    return section_page(
        request,
        who,
        "dashboard/application.html",
        "applications",
        status=status,
        title=app.name,
        app=app,
        error=error,
        new_secret=new_secret,
    )


@router.get("/dashboard/applications/{client_id}")
async def application(request: Request, client_id: str, who: Admin) -> Response:
    return await _app_page(request, who, client_id)


@router.post("/dashboard/applications/{client_id}")
async def application_update(
    request: Request, client_id: str, form: Form, who: AppAdmin
) -> Response:
    try:
        await services(request).applications.update(
            who.tenant,
            client_id,
            ApplicationChanges(
                name=form.get("name", ""),
                description=form.get("description", ""),
                callbacks=lines(form.get("callbacks", "")),
                allowed_logout_urls=lines(form.get("logout_urls", "")),
                web_origins=lines(form.get("web_origins", "")),
                allowed_origins=lines(form.get("allowed_origins", "")),
                # An unchecked box is not sent at all.
                cross_origin_authentication="cross_origin_authentication" in form,
            ),
            await actor(request, who),
        )
    except DomainError as exc:
        return await _app_page(request, who, client_id, status=status_of(exc), error=exc.message)
    return see_other(with_msg(f"{PATH}/{client_id}", "updated"))


@router.post("/dashboard/applications/{client_id}/rotate-secret")
async def application_rotate_secret(request: Request, client_id: str, who: AppAdmin) -> Response:
    """A new secret, shown once on the answer itself (no redirect: it must not sit in a URL)."""
    try:
        rotated = await services(request).applications.rotate_secret(
            who.tenant, client_id, await actor(request, who)
        )
    except DomainError as exc:
        return await _app_page(request, who, client_id, status=status_of(exc), error=exc.message)
    return await _app_page(request, who, client_id, new_secret=rotated.client_secret)
