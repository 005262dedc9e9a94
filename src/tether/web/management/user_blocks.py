"""``/api/v2/user-blocks``: the blocks brute-force protection set (Auth0's Management API,
"User Blocks"): list them by user id or by identifier, and lift them (204)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Security
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.brute_force import BruteForceGuard, Policy
from tether.domain.models import LoginBlock
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme, caller
from tether.web.management.views import ManagementRoute

router = APIRouter(dependencies=[Security(bearer_scheme)], route_class=ManagementRoute)
Who = Annotated[Caller, Depends(caller)]
Identifier = Annotated[str, Query(min_length=1, max_length=320)]


def _body(blocks: list[LoginBlock]) -> dict[str, Any]:
    return {
        "blocked_for": [
            {"identifier": b.identifier, "ip": b.ip, "connection": b.connection} for b in blocks
        ]
    }


@router.get(
    "/user-blocks",
    response_model=schemas.UserBlocks,
    responses=schemas.ERRORS,
    summary="Blocks of an identifier (email or username)",
)
async def blocks_by_identifier(
    request: Request,
    who: Who,
    identifier: Identifier,
    consider_brute_force_enablement: bool = False,
) -> dict[str, Any]:
    who.require(["read:users"])
    if consider_brute_force_enablement and not Policy.of(who.tenant).enabled:
        return _body([])  # auth0-python 6 sends it: only blocks that are enforced
    return _body(await services(request).guard.blocks(who.tenant, [identifier]))


@router.delete(
    "/user-blocks", status_code=204, responses=schemas.ERRORS, summary="Unblock an identifier"
)
async def unblock_identifier(request: Request, who: Who, identifier: Identifier) -> Response:
    who.require(["update:users"])
    await services(request).guard.unblock(
        who.tenant, [identifier], actor=who.client_id or who.subject, request=who.request
    )
    return Response(status_code=204)


@router.get(
    "/user-blocks/{id}",
    response_model=schemas.UserBlocks,
    responses=schemas.errors(404),
    summary="Blocks of a user",
)
async def blocks_of_user(request: Request, who: Who, id: str) -> dict[str, Any]:
    who.require(["read:users"])
    c = services(request)
    user = await c.user_admin.get(who.tenant.id, id)
    return _body(await c.guard.blocks(who.tenant, BruteForceGuard.identifiers_of(user)))


@router.delete(
    "/user-blocks/{id}", status_code=204, responses=schemas.errors(404), summary="Unblock a user"
)
async def unblock_user(request: Request, who: Who, id: str) -> Response:
    who.require(["update:users"])
    c = services(request)
    user = await c.user_admin.get(who.tenant.id, id)
    await c.guard.unblock(
        who.tenant,
        BruteForceGuard.identifiers_of(user),
        user=user,
        actor=who.client_id or who.subject,
        request=who.request,
    )
    return Response(status_code=204)
