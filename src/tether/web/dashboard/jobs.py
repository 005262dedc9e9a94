"""``/dashboard/jobs``: the tenant's bulk import and export jobs, newest first, with progress
(the same jobs as ``GET /api/v2/jobs/{id}``; see domain/jobs)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.web.context import services
from tether.web.dashboard.common import Admin, section_page
from tether.web.html.errors import HtmlRoute

router = APIRouter(route_class=HtmlRoute)
SHOWN = 50


@router.get("/dashboard/jobs")
async def jobs(request: Request, who: Admin) -> Response:
    listed = await services(request).jobs.list(who.tenant, SHOWN)
    rows = [
        {
            "job": job,
            "percent": min(100, int(job.cursor * 100 / job.total)) if job.total else 0,
        }
        for job in listed
    ]
    # A page with work under way refreshes itself, so the bars move without a script.
    busy = any(job.status in ("pending", "processing") for job in listed)
    response = section_page(request, who, "dashboard/jobs.html", "jobs", title="Jobs", rows=rows)
    if busy:
        response.headers["Refresh"] = "5"
    return response
