"""``GET /api/v2/users/{id}`` on a short way (issue 13, decision 5: a Management read costs its
one statement, the bearer check from memory and one JSON encoding, not the framework).

``ManagementApp`` is the ``/api/v2`` FastAPI application; a ``GET /users/{id}`` reaching it is
answered by :func:`read_user` directly, without FastAPI's middleware stack, its routing over
every Management route and its dependency solving (about 1 ms of CPU a read, docs/
benchmarks.md). Everything else, including any other method on that path, goes through FastAPI.

The answer is the same one FastAPI's route in users.py documents and would give: the same
dependency (``deps.caller_or_id_token``: the tenant, the bearer, the rate limit, the NUL check),
the query parameters validated by a model with the route's constraints and refused with the
same ``RequestValidationError``, the same scope check and service call, the same response
model (``schemas.User``, validated and serialized once by pydantic's Rust core), and errors
rendered by the app's one renderer with the rate-limit headers (``limits.RateLimitHeaders``).
The OpenAPI document keeps describing it from users.py; schemathesis checks the two agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from tether.web.management import schemas
from tether.web.management import users as user_routes
from tether.web.management.deps import caller_or_id_token
from tether.web.management.limits import headers
from tether.web.management.users import user_answer

#: The path FastAPI's route in users.py matches (``{id}``: one segment, already decoded).
PREFIX = "/users/"

Renderer = Callable[[Request, Exception], Awaitable[Response]]


def user_read_id(path: str) -> str | None:
    """The ``{id}`` of ``/users/{id}`` (one path segment), or None for any other path."""
    user_id = path[len(PREFIX) :]
    return user_id if path.startswith(PREFIX) and user_id and "/" not in user_id else None


class ReadQuery(BaseModel):
    """``GET /users/{id}``'s query, with the constraints users.py declares for the document."""

    model_config = ConfigDict(extra="ignore")
    fields: Annotated[str | None, Field(max_length=1024)] = None
    include_fields: bool = True


_USER = TypeAdapter(schemas.User)


def _query(request: Request) -> ReadQuery:
    # FastAPI takes the last of a repeated scalar parameter; so does a dict of the pairs.
    sent = dict(request.query_params.multi_items())
    if not sent:
        return ReadQuery()
    try:
        return ReadQuery.model_validate(sent)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("query", *err["loc"])} for err in exc.errors()]
        ) from exc


async def read_user(request: Request) -> Response:
    who = await caller_or_id_token(request)
    query = _query(request)
    answer = await user_answer(
        request, who, request.path_params["id"], query.fields, query.include_fields
    )
    try:
        user = _USER.validate_python(answer)
    except ValidationError as exc:
        # As FastAPI reports an answer off its model; without the values (app.py logs where).
        errors = [{**err, "loc": ("response", *err["loc"])} for err in exc.errors()]
        raise ResponseValidationError(errors) from None
    return Response(_USER.dump_json(user, exclude_unset=True), media_type="application/json")


class ManagementApp(FastAPI):
    """The ``/api/v2`` application, answering ``GET /users/{id}`` by :func:`read_user`."""

    render: Renderer
    read_route: BaseRoute | None = None

    def hot(self, render: Renderer) -> None:
        """Turn the short way on: errors go to ``render``, and the scope names FastAPI's route
        (the access log's and the metrics' route template)."""
        self.render = render
        self.read_route = next(
            r
            for r in user_routes.router.routes
            if getattr(r, "path", None) == "/users/{id}" and "GET" in getattr(r, "methods", ())
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.read_route is not None and scope["type"] == "http" and scope["method"] == "GET":
            user_id = user_read_id(scope["path"][len(scope.get("root_path", "")) :])
            if user_id is not None:
                await self._read(scope, receive, send, user_id)
                return
        await super().__call__(scope, receive, send)

    async def _read(self, scope: Scope, receive: Receive, send: Send, user_id: str) -> None:
        scope["app"] = self
        scope["route"] = self.read_route
        scope["path_params"] = {"id": user_id}
        request = Request(scope, receive)
        try:
            response = await read_user(request)
        except Exception as exc:  # every error is the renderer's, as in FastAPI's stack
            response = await self.render(request, exc)
        state: Any = scope.get("state", {}).get("rate_limit")
        if state is not None:
            response.raw_headers.extend(headers(state))
        await response(scope, receive, send)
