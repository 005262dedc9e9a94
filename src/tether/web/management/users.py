"""``/api/v2/users`` and ``/api/v2/users-by-email`` (auth0-wire.md §2.2-§2.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Security
from starlette.requests import Request
from starlette.responses import Response

from tether.domain import user_search
from tether.domain.errors import InvalidInput
from tether.domain.log_filter import LogFilter
from tether.domain.user_admin import UserChanges
from tether.presentation.users import user_json
from tether.web.context import services
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme, caller, caller_or_id_token
from tether.web.management.errors import ManagementError
from tether.web.management.views import ManagementRoute, envelope, pick_fields
from tether.web.views import log_view

router = APIRouter(dependencies=[Security(bearer_scheme)], route_class=ManagementRoute)
Who = Annotated[Caller, Depends(caller)]
WhoOrIdToken = Annotated[Caller, Depends(caller_or_id_token)]
SORT_PATTERN = r"^[a-zA-Z0-9_.]+:(1|-1)$"


def _sort(value: str | None) -> user_search.Sort | None:
    if not value:
        return None
    field, _, direction = value.partition(":")
    if field not in user_search.SORTABLE:
        raise ManagementError(400, f"Cannot sort by {field}.", "invalid_query_string")
    return user_search.Sort(field, descending=direction == "-1")


@router.get(
    "/users",
    response_model=list[schemas.User] | schemas.UsersPage,
    responses=schemas.ERRORS,
    summary="List or search users",
)
async def list_users(
    request: Request,
    who: Who,
    page: Annotated[int, Query(ge=0, le=1000)] = 0,
    per_page: Annotated[int, Query(ge=0, le=100)] = 50,
    include_totals: bool = False,
    sort: Annotated[str | None, Query(pattern=SORT_PATTERN, max_length=64)] = None,
    connection: Annotated[str | None, Query(max_length=128)] = None,
    fields: Annotated[str | None, Query(max_length=1024)] = None,
    include_fields: bool = True,
    q: Annotated[str | None, Query(max_length=1024)] = None,
    search_engine: Literal["v1", "v2", "v3"] | None = None,
    primary_order: bool | None = None,
) -> Any:
    who.require(["read:users"])
    if search_engine == "v1":
        raise ManagementError(
            400, "You are not allowed to use search_engine=v1.", "invalid_query_string"
        )
    if search_engine == "v2":
        raise ManagementError(
            400,
            "You are not allowed to use search_engine=v2. Use search_engine=v3 instead.",
            "invalid_query_string",
        )
    text = q or ""
    if connection:
        quoted = connection.replace("\\", "\\\\").replace('"', '\\"')
        text = (
            f'({text}) AND identities.connection:"{quoted}"'
            if text
            else f'identities.connection:"{quoted}"'
        )
    try:
        query = user_search.compile_query(text) if text else None
    except InvalidInput as exc:
        raise ManagementError(400, exc.message, "invalid_query_string") from exc
    users, total = await services(request).user_admin.search(
        who.tenant.id, query, page=page, per_page=per_page, sort=_sort(sort)
    )
    items = [pick_fields(user_json(u), fields, include_fields) for u in users]
    if include_totals:
        return envelope("users", items, start=page * per_page, limit=per_page, total=total)
    return items


@router.get("/users-by-email", response_model=list[schemas.User], responses=schemas.ERRORS)
async def users_by_email(
    request: Request,
    who: Who,
    email: Annotated[str, Query(min_length=1, max_length=320)],
    fields: Annotated[str | None, Query(max_length=1024)] = None,
    include_fields: bool = True,
) -> list[dict[str, Any]]:
    """Exact, case-insensitive, immediately consistent: always a bare array."""
    who.require(["read:users"])
    users = await services(request).user_admin.by_email(who.tenant.id, email)
    return [pick_fields(user_json(u), fields, include_fields) for u in users]


@router.get(
    "/users/{id}",
    response_model=schemas.User,
    responses={**schemas.ERRORS, 404: {"model": schemas.Error}},
)
async def get_user(
    request: Request,
    who: WhoOrIdToken,
    id: str,
    fields: Annotated[str | None, Query(max_length=1024)] = None,
    include_fields: bool = True,
) -> dict[str, Any]:
    # A GET reaching the /api/v2 app is answered by hot.read_user without FastAPI's layers;
    # this route documents it for OpenAPI (a comment, not a docstring, to keep the document's
    # text) and answers it only where the app is called without ManagementApp.
    return await user_answer(request, who, id, fields, include_fields)


async def user_answer(
    request: Request, who: Caller, id: str, fields: str | None, include_fields: bool
) -> dict[str, Any]:
    """``GET /users/{id}``: a machine scope for anyone, ``read:current_user`` for oneself."""
    who.require_for_user(id, ["read:users"], ["read:current_user"])
    user = await services(request).user_admin.get(who.tenant.id, id)
    return pick_fields(user_json(user), fields, include_fields)


@router.post(
    "/users",
    status_code=201,
    response_model=schemas.User,
    responses={**schemas.ERRORS, 409: {"model": schemas.Error}},
)
async def create_user(request: Request, who: Who, body: schemas.CreateUser) -> dict[str, Any]:
    who.require(["create:users"])
    data = body.model_dump(exclude_none=True)
    user = await services(request).user_admin.create(who.tenant.id, data, who.actor)
    return user_json(user)


@router.patch(
    "/users/{id}",
    response_model=schemas.User,
    responses={**schemas.ERRORS, 404: {"model": schemas.Error}, 409: {"model": schemas.Error}},
)
async def update_user(
    request: Request,
    who: Who,
    id: str,
    body: schemas.UpdateUser,
) -> dict[str, Any]:
    sent: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if set(sent) <= {"user_metadata"}:
        who.require_for_user(
            id, ["update:users"], ["update:current_user_metadata", "create:current_user_metadata"]
        )
    elif set(sent) <= {"app_metadata"}:
        who.require(["update:users", "update:users_app_metadata"])
    else:
        who.require(["update:users"])
    verify_email = sent.get("verify_email")
    for name in ("connection", "client_id", "verify_email"):
        sent.pop(name, None)
    for name in ("email_verified", "blocked", "password", "email"):
        if name in sent and sent[name] is None:
            raise ManagementError(
                400, f"Payload validation error: '{name}' may not be null.", "invalid_body"
            )
    user = await services(request).user_admin.update(
        who.tenant.id, id, UserChanges(sent), who.actor, verify_email=verify_email
    )
    return user_json(user)


@router.delete(
    "/users/{id}", status_code=204, responses={**schemas.ERRORS, 404: {"model": schemas.Error}}
)
async def delete_user(request: Request, who: Who, id: str) -> Response:
    who.require(["delete:users"])
    await services(request).user_admin.delete(who.tenant.id, id, who.actor)
    return Response(status_code=204)


@router.get(
    "/users/{id}/logs",
    response_model=list[schemas.LogEvent] | schemas.LogsPage,
    responses={**schemas.ERRORS, 404: {"model": schemas.Error}},
)
async def user_logs(
    request: Request,
    who: Who,
    id: str,
    page: Annotated[int, Query(ge=0, le=1000)] = 0,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
    sort: Annotated[str | None, Query(pattern=r"^date:(1|-1)$")] = None,
    include_totals: bool = False,
) -> Any:
    who.require(["read:logs", "read:logs_users"])
    flt = LogFilter(user_id=id, descending=sort != "date:1")
    events, total = await services(request).logs.page(
        who.tenant.id, flt, offset=page * per_page, limit=per_page
    )
    items = [log_view(e) for e in events]
    if include_totals:
        return envelope("logs", items, start=page * per_page, limit=per_page, total=total)
    return items
