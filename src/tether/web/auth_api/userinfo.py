"""``GET|POST /userinfo`` (OIDC Core §5.3)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.web.auth_api.bearer_token import access_token
from tether.web.auth_api.errors import OAuthRoute
from tether.web.context import services, tenant
from tether.web.errors import NO_STORE

router = APIRouter(route_class=OAuthRoute)


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request) -> Response:
    current = await tenant(request)
    claims = await services(request).tokens.userinfo(current, await access_token(request))
    return JSONResponse(claims, headers=NO_STORE)
