"""``/dashboard/logs``: the tenant's log events, filtered by type, user, application and day, and
one event with its Auth0 JSON (web/views.py, as ``GET /api/v2/logs/{id}`` answers it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.audit import LogType
from tether.domain.errors import NotFound
from tether.domain.log_filter import LogFilter
from tether.web.context import services
from tether.web.dashboard.common import PER_PAGE, Admin, page_number, section_page
from tether.web.html.errors import HtmlRoute
from tether.web.views import log_view

router = APIRouter(route_class=HtmlRoute)
#: The log event types' names, as Auth0's dashboard shows them.
LOG_LABELS = {
    "s": "Success login",
    "ss": "Success signup",
    "f": "Failed login",
    "fp": "Failed login (wrong password)",
    "fu": "Failed login (invalid email/username)",
    "fs": "Failed signup",
    "slo": "Success logout",
    "scp": "Success change password",
    "fcp": "Failed change password",
    "scpr": "Success change password request",
    "fcpr": "Failed change password request",
    "sapi": "Success API operation",
    "fapi": "Failed API operation",
    "seacft": "Success exchange (code)",
    "feacft": "Failed exchange (code)",
    "seccft": "Success exchange (client credentials)",
    "feccft": "Failed exchange (client credentials)",
    "sepft": "Success exchange (password)",
    "fepft": "Failed exchange (password)",
    "sertft": "Success exchange (refresh token)",
    "fertft": "Failed exchange (refresh token)",
    "ferrt": "Refresh token reused",
    "srrt": "Refresh token revoked",
    "cls": "Passwordless code sent",
    "ssa": "Success silent auth",
    "fsa": "Failed silent auth",
    "limit_wc": "Blocked account",
    "limit_mu": "Blocked IP",
    "du": "Deleted user",
}


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    return day + timedelta(days=1) - timedelta(microseconds=1) if end else day


@router.get("/dashboard/logs")
async def logs(request: Request, who: Admin) -> Response:
    c = services(request)
    q = request.query_params
    filters = {
        "type": (q.get("type") or "").strip()[:32],
        "user": (q.get("user") or "").strip()[:512],
        "client": (q.get("client") or "").strip()[:64],
        "from": (q.get("from") or "").strip()[:10],
        "to": (q.get("to") or "").strip()[:10],
    }
    number = page_number(q.get("page"), 1000)
    flt = LogFilter(
        types=(filters["type"],) if filters["type"] else (),
        user_id=filters["user"] or None,
        client_id=filters["client"] or None,
        date_from=_day(filters["from"]),
        date_to=_day(filters["to"], end=True),
    )
    events, total = await c.logs.page(who.tenant.id, flt, offset=number * PER_PAGE, limit=PER_PAGE)
    apps = await c.applications.list(who.tenant)
    base = {k: v for k, v in filters.items() if v}
    pages = (total + PER_PAGE - 1) // PER_PAGE
    return section_page(
        request,
        who,
        "dashboard/logs.html",
        "logs",
        title="Logs",
        events=events,
        total=total,
        filters=filters,
        types=sorted({t.value for t in LogType}),
        labels=LOG_LABELS,
        apps=apps,
        app_names={a.client_id: a.name for a in apps},
        number=number,
        prev_url=f"/dashboard/logs?{urlencode({**base, 'page': number - 1})}"
        if number > 0
        else None,
        next_url=f"/dashboard/logs?{urlencode({**base, 'page': number + 1})}"
        if number + 1 < pages
        else None,
    )


@router.get("/dashboard/logs/{log_id}")
async def log_detail(request: Request, log_id: str, who: Admin) -> Response:
    try:
        event = await services(request).logs.get(who.tenant.id, log_id)
    except NotFound:
        return section_page(
            request,
            who,
            "dashboard/missing.html",
            "logs",
            status=404,
            title="No such log event",
            what="log event",
        )
    return section_page(
        request,
        who,
        "dashboard/log.html",
        "logs",
        title=f"Log event {event.log_id[:12]}…",
        event=event,
        label=LOG_LABELS.get(event.type, event.type),
        raw=json.dumps(log_view(event), indent=2, ensure_ascii=False),
    )
