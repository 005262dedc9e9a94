"""``POST /dashboard/user/verification``: the user page's "Send verification mail" button, the
same use case as ``POST /api/v2/jobs/verification-email`` (domain/jobs/verification_email.py),
with the admin as the actor and the same per-user limit."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.errors import DomainError
from tether.web.context import services
from tether.web.dashboard.common import Form, actor
from tether.web.dashboard.user import UserAdmin, show_user, user_url
from tether.web.errors import status_of
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other

router = APIRouter(route_class=HtmlRoute)


@router.post("/dashboard/user/verification")
async def send_verification(request: Request, form: Form, who: UserAdmin) -> Response:
    user_id = form.get("id", "")
    try:
        await services(request).verification_jobs.send(
            who.tenant, user_id, await actor(request, who)
        )
    except DomainError as exc:
        return await show_user(request, who, user_id, status=status_of(exc), error=exc.message)
    return see_other(user_url(user_id, "verification_sent"))
