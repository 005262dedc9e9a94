"""``/api/v2/clients``: applications with Auth0's client object. The secret is shown to the
creator and to tokens with ``read:client_keys``, never otherwise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from starlette.requests import Request

from tether.domain.applications import ApplicationChanges, NewApplication
from tether.domain.models import Application, AppType, Tenant
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.crud import Family, item_routes
from tether.web.management.deps import bearer_scheme
from tether.web.management.errors import ManagementError
from tether.web.management.shared import Paging, scoped
from tether.web.management.views import ManagementRoute

router = APIRouter(
    dependencies=[Security(bearer_scheme)], tags=["clients"], route_class=ManagementRoute
)
READ_KEYS = "read:client_keys"
Reader = Annotated[Caller, scoped("read:clients", READ_KEYS)]
Creator = Annotated[Caller, scoped("create:clients")]
Rotator = Annotated[Caller, scoped("update:client_keys")]


def client_view(app: Application, tenant: Tenant, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "tenant": tenant.name,
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "app_type": app.app_type.value,
        "is_first_party": app.is_first_party,
        "oidc_conformant": True,
        "callbacks": list(app.callbacks),
        "allowed_logout_urls": list(app.allowed_logout_urls),
        "web_origins": list(app.web_origins),
        "allowed_origins": list(app.allowed_origins),
        "grant_types": list(app.grant_types),
        "token_endpoint_auth_method": app.token_endpoint_auth_method,
        "jwt_configuration": {"alg": "RS256"},
        "cross_origin_authentication": app.cross_origin_authentication,
    }
    if app.cross_origin_loc:
        view["cross_origin_loc"] = app.cross_origin_loc
    if secret is not None:
        view["client_secret"] = secret
    return view


def _view_for(request: Request, who: Caller, app: Application) -> dict[str, Any]:
    secret = services(request).applications.secret_of(app) if READ_KEYS in who.scopes else None
    return client_view(app, who.tenant, secret)


def _app_types(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    known = {t.value for t in AppType}
    for name in names:
        if name not in known:
            raise ManagementError(
                400,
                f"Query validation error: app_type {name[:64]!r} is not one of "
                f"{', '.join(sorted(known))}.",
                "invalid_query_string",
            )
    return names


@router.get(
    "/clients",
    response_model=list[schemas.Client] | schemas.ClientsPage,
    responses=schemas.errors(),
    summary="List applications",
)
async def list_clients(
    request: Request,
    who: Reader,
    listing: Paging,
    app_type: Annotated[
        str | None, Query(max_length=128, description="Comma-separated application types.")
    ] = None,
    is_first_party: bool | None = None,
) -> Any:
    apps, total = await services(request).applications.page(
        who.tenant,
        page=listing.page,
        per_page=listing.per_page,
        app_types=_app_types(app_type),
        is_first_party=is_first_party,
    )
    return listing.respond("clients", [_view_for(request, who, a) for a in apps], total)


@router.post(
    "/clients",
    status_code=201,
    response_model=schemas.Client,
    responses=schemas.errors(),
    summary="Create an application",
)
async def create_client(
    request: Request, who: Creator, body: schemas.CreateClient
) -> dict[str, Any]:
    app_type = AppType(body.app_type) if body.app_type else AppType.REGULAR_WEB
    spec = NewApplication(
        name=body.name,
        app_type=app_type,
        callbacks=tuple(body.callbacks or ()),
        allowed_logout_urls=tuple(body.allowed_logout_urls or ()),
        web_origins=tuple(body.web_origins or ()),
        allowed_origins=tuple(body.allowed_origins or ()),
        grant_types=tuple(body.grant_types) if body.grant_types is not None else None,
        token_endpoint_auth_method=body.token_endpoint_auth_method,
        description=body.description or "",
        is_first_party=True if body.is_first_party is None else body.is_first_party,
        cross_origin_authentication=bool(body.cross_origin_authentication),
        cross_origin_loc=body.cross_origin_loc or None,
    )
    created = await services(request).applications.register(who.tenant, spec, who.actor)
    return client_view(created.application, who.tenant, created.client_secret)


async def _read(request: Request, who: Caller, id: str) -> dict[str, Any]:
    return _view_for(request, who, await services(request).applications.get(who.tenant, id))


async def _update(
    request: Request, who: Caller, id: str, body: schemas.UpdateClient
) -> dict[str, Any]:
    def urls(value: list[str] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(value)

    changes = ApplicationChanges(
        name=body.name,
        description=body.description,
        app_type=AppType(body.app_type) if body.app_type else None,
        callbacks=urls(body.callbacks),
        allowed_logout_urls=urls(body.allowed_logout_urls),
        web_origins=urls(body.web_origins),
        allowed_origins=urls(body.allowed_origins),
        grant_types=urls(body.grant_types),
        token_endpoint_auth_method=body.token_endpoint_auth_method,
        is_first_party=body.is_first_party,
        cross_origin_authentication=body.cross_origin_authentication,
        cross_origin_loc=body.cross_origin_loc,
    )
    app = await services(request).applications.update(who.tenant, id, changes, who.actor)
    return _view_for(request, who, app)


async def _delete(request: Request, who: Caller, id: str) -> None:
    await services(request).applications.remove(who.tenant, id, who.actor)


item_routes(
    router,
    Family(
        "/clients/{id}",
        "client",
        "an application",
        schemas.Client,
        schemas.UpdateClient,
        ("read:clients", READ_KEYS),
        "update:clients",
        "delete:clients",
    ),
    read=_read,
    update=_update,
    delete=_delete,
)


@router.post(
    "/clients/{id}/rotate-secret",
    response_model=schemas.Client,
    responses=schemas.errors(400, 404),
    summary="Rotate an application's secret",
)
async def rotate_secret(request: Request, who: Rotator, id: str) -> dict[str, Any]:
    """Auth0's rotate-secret: the client with its new ``client_secret``; the old secret stops
    working at once (also on every other Tether process)."""
    rotated = await services(request).applications.rotate_secret(who.tenant, id, who.actor)
    return client_view(rotated.application, who.tenant, rotated.client_secret)
