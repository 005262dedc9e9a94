"""``/api/v2/connections``: where identities come from, with Auth0's connection object."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from starlette.requests import Request

from tether.domain.connections import ConnectionChanges
from tether.domain.models import Connection
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.crud import Family, item_routes
from tether.web.management.deps import bearer_scheme
from tether.web.management.shared import Paging, scoped
from tether.web.management.views import ManagementRoute

router = APIRouter(
    dependencies=[Security(bearer_scheme)], tags=["connections"], route_class=ManagementRoute
)
Reader = Annotated[Caller, scoped("read:connections")]
Creator = Annotated[Caller, scoped("create:connections")]


def connection_view(connection: Connection) -> dict[str, Any]:
    return {
        "id": connection.id,
        "name": connection.name,
        "strategy": connection.strategy,
        "options": dict(connection.options),
        "enabled_clients": list(connection.enabled_clients),
        "realms": [connection.name],
        "is_domain_connection": False,
    }


@router.get(
    "/connections",
    response_model=list[schemas.Connection] | schemas.ConnectionsPage,
    responses=schemas.errors(),
    summary="List connections",
)
async def list_connections(
    request: Request,
    who: Reader,
    listing: Paging,
    strategy: Annotated[
        list[schemas.Strategy] | None, Query(max_length=16, description="Only these strategies.")
    ] = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> Any:
    found, total = await services(request).connections.page(
        who.tenant,
        page=listing.page,
        per_page=listing.per_page,
        strategies=strategy,
        name=name,
    )
    return listing.respond("connections", [connection_view(c) for c in found], total)


@router.post(
    "/connections",
    status_code=201,
    response_model=schemas.Connection,
    responses=schemas.errors(409),
    summary="Create a connection",
)
async def create_connection(
    request: Request, who: Creator, body: schemas.CreateConnection
) -> dict[str, Any]:
    connection = await services(request).connections.register(
        who.tenant,
        body.name,
        body.strategy,
        who.actor,
        options=body.options,
        enabled_clients=body.enabled_clients or (),
    )
    return connection_view(connection)


async def _read(request: Request, who: Caller, id: str) -> dict[str, Any]:
    return connection_view(await services(request).connections.get(who.tenant, id))


async def _update(
    request: Request, who: Caller, id: str, body: schemas.UpdateConnection
) -> dict[str, Any]:
    """``options``, when sent, replaces the whole options object (as in Auth0)."""
    changes = ConnectionChanges(
        options=body.options,
        enabled_clients=None if body.enabled_clients is None else tuple(body.enabled_clients),
    )
    connection = await services(request).connections.update(who.tenant, id, changes, who.actor)
    return connection_view(connection)


async def _delete(request: Request, who: Caller, id: str) -> None:
    """Refused (409 connection_in_use) while users still sign in with the connection."""
    await services(request).connections.remove(who.tenant, id, who.actor)


item_routes(
    router,
    Family(
        "/connections/{id}",
        "connection",
        "a connection",
        schemas.Connection,
        schemas.UpdateConnection,
        ("read:connections",),
        "update:connections",
        "delete:connections",
    ),
    read=_read,
    update=_update,
    delete=_delete,
    delete_errors=(404, 409),
)
