"""``/api/v2/client-grants``: which machine clients may ask which API for which scopes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.models import ClientGrant
from tether.web.body import StrictJsonRoute
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme
from tether.web.management.shared import Paging, scoped

router = APIRouter(
    dependencies=[Security(bearer_scheme)], tags=["client-grants"], route_class=StrictJsonRoute
)
Reader = Annotated[Caller, scoped("read:client_grants")]
Creator = Annotated[Caller, scoped("create:client_grants")]
Updater = Annotated[Caller, scoped("update:client_grants")]
Deleter = Annotated[Caller, scoped("delete:client_grants")]


def client_grant_view(grant: ClientGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "client_id": grant.client_id,
        "audience": grant.audience,
        "scope": list(grant.scope),
    }


@router.get(
    "/client-grants",
    response_model=list[schemas.ClientGrant] | schemas.ClientGrantsPage,
    responses=schemas.errors(),
    summary="List client grants",
)
async def list_client_grants(
    request: Request,
    who: Reader,
    listing: Paging,
    audience: Annotated[str | None, Query(max_length=600)] = None,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    grants, total = await services(request).applications.grants_page(
        who.tenant,
        page=listing.page,
        per_page=listing.per_page,
        client_id=client_id,
        audience=audience,
    )
    return listing.respond("client_grants", [client_grant_view(g) for g in grants], total)


@router.post(
    "/client-grants",
    status_code=201,
    response_model=schemas.ClientGrant,
    responses=schemas.errors(404, 409),
    summary="Create a client grant",
)
async def create_client_grant(
    request: Request, who: Creator, body: schemas.CreateClientGrant
) -> Response:
    """404 when the client or the API does not exist; 409 when the pair already has a grant."""
    grant = await services(request).applications.add_client_grant(
        who.tenant, body.client_id, body.audience, list(body.scope), who.actor
    )
    return JSONResponse(client_grant_view(grant), status_code=201)


@router.patch(
    "/client-grants/{id}",
    response_model=schemas.ClientGrant,
    responses=schemas.errors(404),
    summary="Change a client grant's scopes",
)
async def update_client_grant(
    request: Request, who: Updater, id: str, body: schemas.UpdateClientGrant
) -> Response:
    grant = await services(request).applications.update_client_grant(
        who.tenant, id, None if body.scope is None else list(body.scope), who.actor
    )
    return JSONResponse(client_grant_view(grant))


@router.delete(
    "/client-grants/{id}",
    status_code=204,
    responses=schemas.errors(404),
    summary="Delete a client grant",
)
async def delete_client_grant(request: Request, who: Deleter, id: str) -> Response:
    await services(request).applications.remove_client_grant(who.tenant, id, who.actor)
    return Response(status_code=204)
