"""``/dashboard/connections``: the tenant's connections, creating one (its options as JSON) and
which applications may sign in with each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.connections import ConnectionChanges
from tether.domain.errors import DomainError, InvalidInput
from tether.protocol import json_text
from tether.web.context import services
from tether.web.dashboard.common import Admin, Form, RawForm, actor, admin_after_form, section_page
from tether.web.errors import status_of
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other, with_msg

router = APIRouter(route_class=HtmlRoute)
PATH = "/dashboard/connections"
ConnectionsAdmin = Annotated[gate.Visitor, admin_after_form(PATH)]


async def _connections_page(
    request: Request,
    who: gate.Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    c = services(request)
    return section_page(
        request,
        who,
        "dashboard/connections.html",
        "connections",
        status=status,
        title="Connections",
        connections=await c.connections.list(who.tenant),
        apps=await c.applications.list(who.tenant),
        form=form or {},
        error=error,
    )


@router.get(PATH)
async def connections(request: Request, who: Admin) -> Response:
    return await _connections_page(request, who)


@router.post(PATH)
async def connection_create(request: Request, form: Form, who: ConnectionsAdmin) -> Response:
    try:
        options_text = form.get("options", "").strip()
        try:
            options = json_text.loads(options_text) if options_text else None
        except json_text.NonFiniteNumber as exc:
            raise InvalidInput(f"options: {json_text.MESSAGE}") from exc
        except (ValueError, RecursionError) as exc:
            raise InvalidInput("options: not valid JSON.") from exc
        if options is not None and not isinstance(options, dict):
            raise InvalidInput("options: must be a JSON object.")
        await services(request).connections.register(
            who.tenant,
            form.get("name", "").strip(),
            form.get("strategy", ""),
            await actor(request, who),
            options=options,
        )
    except DomainError as exc:
        return await _connections_page(
            request, who, status=status_of(exc), error=exc.message, form=form
        )
    return see_other(with_msg(PATH, "created"))


@router.post("/dashboard/connections/apps")
async def connection_apps(request: Request, raw: RawForm, who: ConnectionsAdmin) -> Response:
    """Which applications may sign in with a connection (checkboxes named ``app``)."""
    wanted = tuple(k.removeprefix("app:") for k in raw if k.startswith("app:"))
    try:
        await services(request).connections.update(
            who.tenant,
            str(raw.get("connection") or ""),
            ConnectionChanges(enabled_clients=wanted),
            await actor(request, who),
        )
    except DomainError as exc:
        return await _connections_page(request, who, status=status_of(exc), error=exc.message)
    return see_other(with_msg(PATH, "updated"))
