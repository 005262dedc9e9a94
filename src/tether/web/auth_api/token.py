"""``POST /oauth/token`` (RFC 6749 §3.2) and ``POST /oauth/revoke`` (RFC 7009).

Both are plain ASGI endpoints (``RAW``): web/app.py hands a POST to these paths straight to
them, inside the same middleware stack as every route (proxy, request id and access log, body
cap, CORS), without FastAPI's routing, dependency solving and exception middleware, which cost
more than the rest of a client-credentials grant but its signature (issue 13, item 1). Each
catches its own errors and renders them as the OAuth JSON its FastAPI route would have
(web/auth_api/errors.py ``render_oauth``); the same handlers stay on the router, so any other
method still gets FastAPI's 405.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tether.domain.errors import InvalidCredentials
from tether.domain.models import Application, Tenant
from tether.domain.tokens import RULE_TOKEN_IP
from tether.protocol import client_auth
from tether.protocol.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    TooManyRequests,
)
from tether.protocol.grant_requests import (
    ClientCredentialsRequest,
    CodeRequest,
    OtpRequest,
    PasswordRequest,
    RefreshRequest,
    grant_type_of,
    read_request,
)
from tether.protocol.params import normalise, require
from tether.web import ratelimit
from tether.web.auth_api.errors import OAuthRoute, render_oauth
from tether.web.body import read_params
from tether.web.context import client_ip, note_client, request_info, services, tenant
from tether.web.errors import NO_STORE
from tether.web.json_response import json_response
from tether.web.middleware import BodyTooLarge

router = APIRouter(route_class=OAuthRoute)


async def _limit(request: Request, current: Tenant) -> dict[str, str]:
    ip = client_ip(request)
    state = await services(request).limiter.hit(RULE_TOKEN_IP, f"{current.id}:{ip}")
    headers = ratelimit.headers(state)
    if not state.allowed:
        raise TooManyRequests(headers={**headers, "Retry-After": "60"})
    return headers


async def _client(request: Request, current: Tenant, params: dict[str, str]) -> Application:
    c = services(request)
    credentials = client_auth.extract(request.headers.get("authorization"), params)
    try:
        # A Basic header skips the body's checks: hold its id and secret to the same rules, so
        # a NUL or a 9 kB id is a client error, not a database error (PostgreSQL refuses NUL).
        normalise({"client_id": credentials.client_id, "client_secret": credentials.client_secret})
    except InvalidRequest as exc:
        raise InvalidClient("Malformed client credentials.") from exc
    app = await c.applications.authenticate(
        current, credentials.client_id, credentials.client_secret, credentials.method
    )
    note_client(request, app.client_id)  # also when it came in a Basic header
    return app


@router.post("/oauth/token")
async def token(request: Request) -> Response:
    current = await tenant(request)
    limit_headers = await _limit(request, current)
    params = normalise(await read_params(request))
    grant = grant_type_of(params)
    app = await _client(request, current, params)
    tokens = services(request).tokens
    info = request_info(request)
    match read_request(grant, params):
        case CodeRequest() as r:
            result = await tokens.authorization_code(
                current, app, r.code, r.redirect_uri, r.code_verifier, info
            )
        case ClientCredentialsRequest() as r:
            result = await tokens.client_credentials(current, app, r.audience, r.scope, info)
        case PasswordRequest() as r:
            result = await tokens.password(
                current, app, r.grant, r.username, r.password, r.realm, r.scope, r.audience, info
            )
        case OtpRequest() as r:
            c = services(request)
            connection = await c.passwordless.connection(current, r.realm, app)
            try:
                user = await c.passwordless.verify(
                    current, app, connection, r.username, r.otp, info
                )
            except InvalidCredentials as exc:
                raise InvalidGrant("Wrong email or verification code.") from exc
            result = await tokens.passwordless_user_tokens(
                current, app, user, r.scope, r.audience, info
            )
        case RefreshRequest() as r:
            result = await tokens.refresh(current, app, r.refresh_token, r.scope, info)
    return json_response(result.body(), headers={**NO_STORE, **limit_headers})


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009 §2.2: 200 whether or not the token was known."""
    current = await tenant(request)
    await _limit(request, current)
    params = normalise(await read_params(request))
    require(params, "token")
    app = await _client(request, current, params)
    await services(request).tokens.revoke(current, app, params["token"], request_info(request))
    return Response(status_code=200, headers=NO_STORE)


Handler = Callable[[Request], Awaitable[Response]]


class RawEndpoint:
    """A handler as an ASGI app that renders its own errors (the OAuth JSON, with the status
    web/errors.py gives each kind), as ``OAuthRoute`` does for the FastAPI route."""

    def __init__(self, handler: Handler):
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handler(request)
        except BodyTooLarge:
            raise  # web/middleware.py answers it with 413, as for every route
        except Exception as exc:  # every error gets its OAuth answer, as on the route
            response = render_oauth(request, exc)
        await response(scope, receive, send)


#: The POST endpoints web/app.py serves without FastAPI's router, by path.
RAW: dict[str, RawEndpoint] = {
    "/oauth/token": RawEndpoint(token),
    "/oauth/revoke": RawEndpoint(revoke),
}
