"""FastAPI dependencies: the tenant, the authenticated caller, the rate limit."""

from __future__ import annotations

from fastapi.security import HTTPBearer
from starlette.requests import Request

from tether.web.context import container, tenant
from tether.web.management.auth import Caller, ManagementError, authenticate
from tether.web.management.limits import RULE

#: Documents the bearer scheme in OpenAPI; the check itself is ``caller`` below.
bearer_scheme = HTTPBearer(auto_error=False, description="A Management API access token")


async def caller(request: Request) -> Caller:
    current = await tenant(request)
    who = await authenticate(request, current)
    request.state.caller = who
    state = await container(request).limiter.hit(
        RULE, f"{current.id}:{who.client_id or who.subject}"
    )
    request.state.rate_limit = state
    if not state.allowed:
        raise ManagementError(429, "Global limit has been reached", "too_many_requests")
    return who
