"""``/dashboard/users``: the tenant's users, searched with Auth0's user-search syntax (the same
query language as ``GET /api/v2/users?q=``, domain/user_search.py), a page at a time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain import user_search
from tether.domain.errors import InvalidInput
from tether.domain.models import User
from tether.web.context import services
from tether.web.dashboard.common import MAX_PAGE, PER_PAGE, Admin, page_number, section_page
from tether.web.html.errors import HtmlRoute

router = APIRouter(route_class=HtmlRoute)


def _user_row(user: User) -> dict[str, Any]:
    return {
        "user": user,
        "connections": sorted({i.connection_name for i in user.identities}),
        "providers": sorted({i.provider for i in user.identities}),
    }


@router.get("/dashboard/users")
async def users(request: Request, who: Admin) -> Response:
    q = (request.query_params.get("q") or "").strip()[:1024]
    number = page_number(request.query_params.get("page"))
    error = None
    found: list[User] = []
    total = 0
    try:
        query = user_search.compile_query(q) if q else None
        found, total = await services(request).user_admin.search(
            who.tenant.id, query, page=number, per_page=PER_PAGE, sort=None
        )
    except InvalidInput as exc:
        error = exc.message
    pages = min((total + PER_PAGE - 1) // PER_PAGE, MAX_PAGE + 1)
    return section_page(
        request,
        who,
        "dashboard/users.html",
        "users",
        status=400 if error else 200,
        title="Users",
        q=q,
        rows=[_user_row(u) for u in found],
        total=total,
        number=number,
        pages=pages,
        prev_url=f"/dashboard/users?{urlencode({'q': q, 'page': number - 1})}"
        if number > 0
        else None,
        next_url=f"/dashboard/users?{urlencode({'q': q, 'page': number + 1})}"
        if number + 1 < pages
        else None,
        error=error,
    )
