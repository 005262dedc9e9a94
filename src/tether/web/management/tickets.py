"""``POST /api/v2/tickets/email-verification`` (Auth0 Management API v2, "Tickets"): a
single-use link that verifies the user's address, for the caller to deliver (scope
``create:user_tickets``). It answers ``{"ticket": url}``; ``result_url`` is where the person
lands once the link is used, ``ttl_sec`` its lifetime (0 or absent: Auth0's 5 days).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Security
from starlette.requests import Request

from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme, caller
from tether.web.management.errors import ManagementError
from tether.web.management.views import ManagementRoute

router = APIRouter(dependencies=[Security(bearer_scheme)], route_class=ManagementRoute)
Who = Annotated[Caller, Depends(caller)]


def no_organizations(organization_id: str | None) -> None:
    if organization_id:
        raise ManagementError(
            400, "Organizations are not supported by this server.", "invalid_body"
        )


@router.post(
    "/tickets/email-verification",
    status_code=201,
    response_model=schemas.Ticket,
    responses=schemas.errors(404),
    summary="Create an email verification ticket",
)
async def email_verification(
    request: Request, who: Who, body: schemas.EmailVerificationTicket
) -> dict[str, str]:
    who.require(["create:user_tickets"])
    no_organizations(body.organization_id)
    link = await services(request).verification.ticket(
        who.tenant,
        body.user_id,
        who.actor,
        result_url=body.result_url,
        ttl_sec=body.ttl_sec,
        include_email=bool(body.includeEmailInRedirect),
        identity=body.identity.model_dump() if body.identity else None,
    )
    return {"ticket": link}
