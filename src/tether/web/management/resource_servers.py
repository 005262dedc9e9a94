"""``/api/v2/resource-servers``: APIs. ``{id}`` is the API's id or its identifier (Auth0 accepts
either; an identifier such as ``https://api.example.com/`` is sent percent-encoded)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from starlette.requests import Request

from tether.domain.applications import ApiChanges, NewApi
from tether.domain.models import Api
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.crud import Family, item_routes
from tether.web.management.deps import bearer_scheme
from tether.web.management.shared import Paging, scoped
from tether.web.management.views import ManagementRoute

router = APIRouter(
    dependencies=[Security(bearer_scheme)], tags=["resource-servers"], route_class=ManagementRoute
)
Reader = Annotated[Caller, scoped("read:resource_servers")]
Creator = Annotated[Caller, scoped("create:resource_servers")]


def resource_server_view(api: Api) -> dict[str, Any]:
    return {
        "id": api.id,
        "name": api.name,
        "identifier": api.identifier,
        "scopes": [dict(s) for s in api.scopes],
        "signing_alg": "RS256",
        "token_lifetime": api.token_lifetime,
        "allow_offline_access": api.allow_offline_access,
        "is_system": api.is_system,
    }


def _scopes(scopes: list[schemas.ResourceServerScope]) -> list[tuple[str, str]]:
    return [(s.value, s.description or "") for s in scopes]


@router.get(
    "/resource-servers",
    response_model=list[schemas.ResourceServer] | schemas.ResourceServersPage,
    responses=schemas.errors(),
    summary="List APIs",
)
async def list_resource_servers(
    request: Request,
    who: Reader,
    listing: Paging,
    identifiers: Annotated[
        list[str] | None, Query(max_length=100, description="Only these identifiers.")
    ] = None,
) -> Any:
    apis, total = await services(request).apis.page(
        who.tenant, page=listing.page, per_page=listing.per_page, identifiers=identifiers
    )
    return listing.respond("resource_servers", [resource_server_view(a) for a in apis], total)


@router.post(
    "/resource-servers",
    status_code=201,
    response_model=schemas.ResourceServer,
    responses=schemas.errors(409),
    summary="Create an API",
)
async def create_resource_server(
    request: Request, who: Creator, body: schemas.CreateResourceServer
) -> dict[str, Any]:
    spec = NewApi(
        name=body.name or "",
        identifier=body.identifier,
        token_lifetime=body.token_lifetime if body.token_lifetime is not None else 86400,
        allow_offline_access=bool(body.allow_offline_access),
    )
    scopes = [{"value": v, "description": d} for v, d in _scopes(body.scopes or [])]
    api = await services(request).apis.register(who.tenant, spec, who.actor, scopes=scopes)
    return resource_server_view(api)


async def _read(request: Request, who: Caller, id: str) -> dict[str, Any]:
    return resource_server_view(await services(request).apis.find(who.tenant, id))


async def _update(
    request: Request, who: Caller, id: str, body: schemas.UpdateResourceServer
) -> dict[str, Any]:
    """The Management API itself keeps its identifier and scopes (400 if asked to change)."""
    changes = ApiChanges(
        name=body.name,
        identifier=body.identifier,
        scopes=None if body.scopes is None else tuple(_scopes(body.scopes)),
        token_lifetime=body.token_lifetime,
        allow_offline_access=body.allow_offline_access,
    )
    api = await services(request).apis.update(who.tenant, id, changes, who.actor)
    return resource_server_view(api)


async def _delete(request: Request, who: Caller, id: str) -> None:
    """The Management API cannot be deleted (403 operation_not_supported)."""
    await services(request).apis.remove(who.tenant, id, who.actor)


item_routes(
    router,
    Family(
        "/resource-servers/{id:path}",
        "resource_server",
        "an API",
        schemas.ResourceServer,
        schemas.UpdateResourceServer,
        ("read:resource_servers",),
        "update:resource_servers",
        "delete:resource_servers",
    ),
    read=_read,
    update=_update,
    delete=_delete,
    summaries=(
        "Get an API by id or identifier",
        "Update an API",
        "Delete an API and its client grants",
    ),
    update_errors=(404, 409),
)
