"""What every dashboard section shares: the admin guard, the actor, the page frame, the form.

The guard is a dependency (:data:`Admin`, :func:`admin_after_form`): a route's handler receives
the signed-in admin, and whoever is not gets a :class:`~tether.web.html.errors.Detour` instead:
the way to sign in (back to this page, or for a POST to the page the form was on), or a 403 page
for a signed-in person who is not an admin. A POST's form is read and its CSRF token checked
before the guard runs, so a forged POST is refused before anything else happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.account import DASHBOARD, SIGN_IN
from tether.domain.actor import Actor
from tether.web.body import read_params
from tether.web.context import request_info, services
from tether.web.html import csrf, gate
from tether.web.html.errors import Detour
from tether.web.html.redirects import here
from tether.web.html.render import render

HOME = "/dashboard"
PER_PAGE = 20
MAX_PAGE = 1000 // PER_PAGE - 1
SECTIONS = [
    ("users", "Users"),
    ("logs", "Logs"),
    ("applications", "Applications"),
    ("apis", "APIs"),
    ("connections", "Connections"),
    ("keys", "Keys"),
    ("jobs", "Jobs"),
    ("admins", "Admins"),
]


# -- the form --------------------------------------------------------------------------------


async def raw_form(request: Request) -> dict[str, Any]:
    """The POST body as sent, CSRF-checked before anything else runs."""
    form = await read_params(request, allow_empty=True)
    csrf.check_form(request, DASHBOARD, form)
    return form


RawForm = Annotated[dict[str, Any], Depends(raw_form)]


async def text_form(form: RawForm) -> dict[str, str]:
    return {k: str(v) for k, v in form.items()}


#: The POST body's fields as text, CSRF-checked.
Form = Annotated[dict[str, str], Depends(text_form)]


# -- who may come in -------------------------------------------------------------------------


async def _guard(request: Request, back: str) -> gate.Visitor:
    who = await gate.signed_in(request, DASHBOARD, SIGN_IN, return_to=back)
    if not await services(request).admins.is_admin(who.tenant, who.user.pk):
        raise Detour(
            render(
                request,
                "dashboard/forbidden.html",
                status=403,
                title="No access",
                tenant_name=who.tenant.name,
                user=who.user,
            )
        )
    return who


async def admin(request: Request) -> gate.Visitor:
    """The signed-in admin of a page (GET): a sign-in comes back to this very page."""
    return await _guard(request, here(request) if request.method == "GET" else HOME)


#: A page's admin.
Admin = Annotated[gate.Visitor, Depends(admin)]

#: Where a sign-in asked for by a POST returns: the page that form was on.
Back = Callable[[Request, dict[str, str]], str]


def admin_after_form(back: str | Back) -> Any:
    """The admin of a POST, checked after its form (:data:`Form`) was read and CSRF-checked."""

    async def guard(request: Request, form: Form) -> gate.Visitor:
        return await _guard(request, back if isinstance(back, str) else back(request, form))

    return Depends(guard)


async def actor(request: Request, who: gate.Visitor) -> Actor:
    """The admin as the actor of a change: the dashboard application, the admin's user_id."""
    app = await services(request).hosted_apps.ensure(who.tenant, DASHBOARD)
    return Actor(client_id=app.client_id, user_id=who.user.user_id, request=request_info(request))


# -- the page --------------------------------------------------------------------------------


def section_page(
    request: Request, who: gate.Visitor, template: str, section: str, **context: Any
) -> Response:
    """A dashboard page in its frame: the tenant, the admin, the sections with this one open."""
    return render(
        request,
        template,
        tenant_name=who.tenant.name,
        admin=who.user,
        sections=SECTIONS,
        section=section,
        **context,
    )


def lines(value: str) -> tuple[str, ...]:
    """A textarea's values, one a line or comma-separated."""
    return tuple(v for v in value.replace(",", "\n").split() if v)


def page_number(value: str | None, most: int = MAX_PAGE) -> int:
    try:
        return max(0, min(int(value or 0), most))
    except ValueError:
        return 0
