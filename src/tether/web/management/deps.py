"""FastAPI dependencies: the tenant, the authenticated caller, the rate limit."""

from __future__ import annotations

import re

from fastapi.security import HTTPBearer
from starlette.requests import Request

from tether.web.context import services, tenant
from tether.web.management.auth import Caller, authenticate
from tether.web.management.errors import ManagementError
from tether.web.management.limits import RULE

#: Documents the bearer scheme in OpenAPI; the check itself is ``caller`` below.
bearer_scheme = HTTPBearer(auto_error=False, description="A Management API access token")


async def caller(request: Request) -> Caller:
    return await _caller(request, allow_id_token=False)


async def caller_or_id_token(request: Request) -> Caller:
    """For the linking endpoints and GET /users/{id}: also the legacy ID-token bearer."""
    return await _caller(request, allow_id_token=True)


async def _caller(request: Request, *, allow_id_token: bool) -> Caller:
    current = await tenant(request)
    who = await authenticate(request, current, allow_id_token=allow_id_token)
    request.state.caller = who
    state = await services(request).limiter.hit(
        RULE, f"{current.id}:{who.client_id or who.subject}"
    )
    request.state.rate_limit = state
    if not state.allowed:
        raise ManagementError(429, "Global limit has been reached", "too_many_requests")
    _check_request(request)
    return who


#: What no stored text can hold: NUL (PostgreSQL refuses it outright) and lone surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> bool:
    """Whether ``value`` holds what no stored text can (PostgreSQL refuses NUL outright)."""
    return _UNSTORABLE.search(value) is not None


def _check_request(request: Request) -> None:
    """Ids and parameters are looked up as they are: a NUL or a lone surrogate (``%00``,
    ``%ED%A0%80`` decoded) can name nothing, and PostgreSQL refuses NUL in a query (it was a
    500). ``q`` is left to its parser, which says at which column."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and unstorable(value):
            raise ManagementError(
                400,
                f"Path validation error: '{name}' may not hold a NUL or a lone surrogate.",
                "invalid_uri",
            )
    for name, value in request.query_params.multi_items():
        if name != "q" and unstorable(name + value):
            raise ManagementError(
                400,
                f"Query validation error: '{name}' may not hold a NUL or a lone surrogate.",
                "invalid_query_string",
            )
