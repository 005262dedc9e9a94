"""``POST /oauth/token`` (RFC 6749 §3.2) and ``POST /oauth/revoke`` (RFC 7009)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.domain.errors import InvalidCredentials
from tether.domain.models import Application, Tenant
from tether.domain.tokens import RULE_TOKEN_IP
from tether.protocol import client_auth
from tether.protocol.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    TooManyRequests,
    UnsupportedGrantType,
)
from tether.protocol.grants import GrantType
from tether.protocol.params import normalise, require
from tether.web import ratelimit
from tether.web.auth_api.errors import OAuthRoute
from tether.web.body import read_params
from tether.web.context import note_client, request_info, services, tenant
from tether.web.errors import NO_STORE

router = APIRouter(route_class=OAuthRoute)


async def _limit(request: Request, current: Tenant) -> dict[str, str]:
    info = request_info(request)
    state = await services(request).limiter.hit(RULE_TOKEN_IP, f"{current.id}:{info.ip}")
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
    require(params, "grant_type")
    grant = GrantType.parse(params["grant_type"])
    if grant is None:
        raise UnsupportedGrantType(f"Unsupported grant type: {params['grant_type']}")
    app = await _client(request, current, params)
    tokens = services(request).tokens
    info = request_info(request)
    if grant is GrantType.AUTHORIZATION_CODE:
        require(params, "code")
        result = await tokens.authorization_code(
            current,
            app,
            params["code"],
            params.get("redirect_uri"),
            params.get("code_verifier"),
            info,
        )
    elif grant is GrantType.CLIENT_CREDENTIALS:
        result = await tokens.client_credentials(
            current, app, params.get("audience"), params.get("scope"), info
        )
    elif grant in (GrantType.PASSWORD, GrantType.PASSWORD_REALM):
        require(params, "username", "password")
        if grant is GrantType.PASSWORD_REALM:
            require(params, "realm")
        result = await tokens.password(
            current,
            app,
            grant,
            params["username"],
            params["password"],
            params.get("realm"),
            params.get("scope"),
            params.get("audience"),
            info,
        )
    elif grant is GrantType.PASSWORDLESS_OTP:
        require(params, "username", "otp", "realm")
        c = services(request)
        connection = await c.passwordless.connection(current, params["realm"], app)
        try:
            user = await c.passwordless.verify(
                current, app, connection, params["username"], params["otp"], info
            )
        except InvalidCredentials as exc:
            raise InvalidGrant("Wrong email or verification code.") from exc
        result = await tokens.passwordless_user_tokens(
            current, app, user, params.get("scope"), params.get("audience"), info
        )
    else:
        require(params, "refresh_token")
        result = await tokens.refresh(
            current, app, params["refresh_token"], params.get("scope"), info
        )
    return JSONResponse(result.body(), headers={**NO_STORE, **limit_headers})


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
