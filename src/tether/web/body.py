"""Reading request bodies: JSON objects or url-encoded forms, UTF-8, size-capped."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from tether.protocol import json_text
from tether.web import access_log
from tether.web.errors import BodyError

MAX_FIELDS = 100


async def read_params(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The body as a mapping. JSON must be an object; a form field may appear once."""
    params = await _read_params(request, allow_empty=allow_empty)
    access_log.note_client(request.scope.setdefault("state", {}), params.get("client_id"))
    return params


async def _read_params(request: Request, *, allow_empty: bool) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    raw = await request.body()
    if not raw:
        if allow_empty:
            return {}
        raise BodyError(400, "The request body is empty.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "The request body is not valid UTF-8.") from exc
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            value = json_text.loads(text)
        except json_text.NonFiniteNumber as exc:
            raise BodyError(400, json_text.MESSAGE) from exc
        except (ValueError, RecursionError) as exc:
            # RecursionError: 64 KiB of "[" nests deeper than the parser's stack.
            raise BodyError(400, "The request body is not valid JSON.") from exc
        if not isinstance(value, dict):
            raise BodyError(400, "The request body must be a JSON object.")
        if "\\u" in text and _has_lone_surrogate(value):
            # "\ud800" is valid JSON but no UTF-8 text: it would fail later, in hashing or in
            # the database, as a 500.
            raise BodyError(400, "The request body is not valid UTF-8.")
        return value
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
            )
        except ValueError as exc:
            raise BodyError(400, "Too many form fields.") from exc
        params: dict[str, Any] = {}
        for name, value in pairs:
            if name in params:
                # RFC 6749 §3.1/§3.2: a parameter must not be sent more than once.
                raise BodyError(400, f"The parameter {name} was sent more than once.")
            params[name] = value
        return params
    raise BodyError(415, "Send application/json or application/x-www-form-urlencoded.")


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return True
    return False


class StrictJsonRequest(Request):
    """A request whose ``json()`` refuses NaN, Infinity and 1e999 (RFC 8259 §6)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json_text.loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """FastAPI reads JSON bodies through ``request.json()``: this route hands it a
    StrictJsonRequest, so a non-finite number is a JSONDecodeError (a 400), never a value."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
