"""The item routes ``/clients/{id}``, ``/connections/{id}`` and ``/resource-servers/{id}`` share
(Auth0 Management API v2: get with ``fields``/``include_fields``, patch with a body, delete with
204), declared once. Each family hands in what differs: its service calls and views, its
scopes, its body and response models, its summaries; the functions' docstrings become the
operations' descriptions, as a route's own docstring would.

No ``from __future__ import annotations`` here: FastAPI reads the handlers' annotations, which
name each family's models and scopes, and string annotations could not reach those."""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.shared import scoped
from tether.web.management.views import pick_fields

View = dict[str, Any]
Reader = Callable[[Request, Caller, str], Awaitable[View]]
Updater = Callable[[Request, Caller, str, Any], Awaitable[View]]
Deleter = Callable[[Request, Caller, str], Awaitable[None]]


@dataclass(frozen=True)
class Family:
    """One resource family's item routes: ``path`` (e.g. ``/clients/{id}``), ``name`` (the
    operations are ``get_<name>``, ``update_<name>``, ``delete_<name>``) and ``noun`` (for the
    summaries, e.g. "an application")."""

    path: str
    name: str
    noun: str
    model: type[BaseModel]
    body: type[BaseModel]
    read_scopes: tuple[str, ...]
    update_scope: str
    delete_scope: str


def _doc(fn: Callable[..., Any]) -> str | None:
    return inspect.cleandoc(fn.__doc__) if fn.__doc__ else None


def item_routes(
    router: APIRouter,
    family: Family,
    *,
    read: Reader | None,
    update: Updater,
    delete: Deleter,
    summaries: tuple[str, str, str] | None = None,
    update_errors: tuple[int, ...] = (404,),
    delete_errors: tuple[int, ...] = (404,),
) -> None:
    """Add ``GET`` (unless ``read`` is None: /client-grants has none), ``PATCH`` and
    ``DELETE`` on ``family.path`` to ``router``; the scope is checked before the body (403
    before 400, as Auth0 answers)."""
    get_summary, update_summary, delete_summary = summaries or (
        f"Get {family.noun}",
        f"Update {family.noun}",
        f"Delete {family.noun}",
    )
    if read is not None:
        _get_route(router, family, read, get_summary)
    body_model = family.body
    updater = scoped(family.update_scope)
    deleter = scoped(family.delete_scope)

    async def update_item(
        request: Request,
        who: Annotated[Caller, updater],
        id: str,
        body: body_model,  # type: ignore[valid-type]
    ) -> View:
        return await update(request, who, id, body)

    async def delete_item(request: Request, who: Annotated[Caller, deleter], id: str) -> Response:
        await delete(request, who, id)
        return Response(status_code=204)

    router.add_api_route(
        family.path,
        update_item,
        methods=["PATCH"],
        name=f"update_{family.name}",
        response_model=family.model,
        responses=schemas.errors(*update_errors),
        summary=update_summary,
        description=_doc(update),
    )
    router.add_api_route(
        family.path,
        delete_item,
        methods=["DELETE"],
        name=f"delete_{family.name}",
        status_code=204,
        responses=schemas.errors(*delete_errors),
        summary=delete_summary,
        description=_doc(delete),
    )


def _get_route(router: APIRouter, family: Family, read: Reader, summary: str) -> None:
    reader = scoped(*family.read_scopes)

    async def get_item(
        request: Request,
        who: Annotated[Caller, reader],
        id: str,
        fields: Annotated[str | None, Query(max_length=1024)] = None,
        include_fields: bool = True,
    ) -> View:
        return pick_fields(await read(request, who, id), fields, include_fields)

    router.add_api_route(
        family.path,
        get_item,
        methods=["GET"],
        name=f"get_{family.name}",
        response_model=family.model,
        responses=schemas.errors(404),
        summary=summary,
        description=_doc(read),
    )
