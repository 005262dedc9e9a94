"""``GET|POST /userinfo`` (OIDC Core §5.3)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.protocol.errors import InvalidToken
from tether.web.auth_api.errors import OAuthRoute
from tether.web.context import services, tenant
from tether.web.errors import NO_STORE

router = APIRouter(route_class=OAuthRoute)


def bearer(request: Request) -> str:
    """RFC 6750 §2.1. A missing token is ``invalid_token`` too, as Auth0 answers."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Missing access token.")
    return token.strip()


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request) -> Response:
    current = await tenant(request)
    claims = await services(request).tokens.userinfo(current, bearer(request))
    return JSONResponse(claims, headers=NO_STORE)
