"""``/api/v2/client-grants``: which machine clients may ask which API for which scopes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from starlette.requests import Request

from tether.domain.models import ClientGrant
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.crud import Family, item_routes
from tether.web.management.deps import bearer_scheme
from tether.web.management.shared import Paging, scoped
from tether.web.management.views import ManagementRoute

router = APIRouter(
    dependencies=[Security(bearer_scheme)], tags=["client-grants"], route_class=ManagementRoute
)
Reader = Annotated[Caller, scoped("read:client_grants")]
Creator = Annotated[Caller, scoped("create:client_grants")]


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
) -> Any:
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
) -> dict[str, Any]:
    """404 when the client or the API does not exist; 409 when the pair already has a grant."""
    grant = await services(request).applications.add_client_grant(
        who.tenant, body.client_id, body.audience, list(body.scope), who.actor
    )
    return client_grant_view(grant)


async def _update(
    request: Request, who: Caller, id: str, body: schemas.UpdateClientGrant
) -> dict[str, Any]:
    grant = await services(request).applications.update_client_grant(
        who.tenant, id, None if body.scope is None else list(body.scope), who.actor
    )
    return client_grant_view(grant)


async def _delete(request: Request, who: Caller, id: str) -> None:
    await services(request).applications.remove_client_grant(who.tenant, id, who.actor)


item_routes(
    router,
    Family(
        "/client-grants/{id}",
        "client_grant",
        "a client grant",
        schemas.ClientGrant,
        schemas.UpdateClientGrant,
        (),
        "update:client_grants",
        "delete:client_grants",
    ),
    read=None,
    update=_update,
    delete=_delete,
    summaries=("", "Change a client grant's scopes", "Delete a client grant"),
)
