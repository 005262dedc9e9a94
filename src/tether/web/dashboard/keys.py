"""``/dashboard/keys``: the tenant's signing keys (next, current, previous, retired) and a
rotation, recorded as a log event with the admin as the actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.web.context import services
from tether.web.dashboard.common import Admin, actor, admin_after_form, section_page
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other, with_msg

router = APIRouter(route_class=HtmlRoute)
PATH = "/dashboard/keys"
KeysAdmin = Annotated[gate.Visitor, admin_after_form(PATH)]


@router.get(PATH)
async def keys(request: Request, who: Admin) -> Response:
    found = await services(request).keys.list(who.tenant, include_retired=True)
    order = {"next": 0, "current": 1, "previous": 2, "retired": 3}
    return section_page(
        request,
        who,
        "dashboard/keys.html",
        "keys",
        title="Signing keys",
        keys=sorted(found, key=lambda k: (order.get(k.state.value, 9), k.created_at)),
    )


@router.post("/dashboard/keys/rotate")
async def keys_rotate(request: Request, who: KeysAdmin) -> Response:
    c = services(request)
    rotated = await c.keys.rotate(who.tenant)
    await c.admins.record(
        who.tenant,
        await actor(request, who),
        "Rotate the signing keys",
        {
            "event": "keys_rotated",
            "keys": {k.kid: k.state.value for k in rotated},
        },
    )
    return see_other(with_msg(PATH, "rotated"))
