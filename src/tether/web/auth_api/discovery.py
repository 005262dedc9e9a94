"""``/.well-known/openid-configuration`` and ``/.well-known/jwks.json``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tether.protocol.discovery import openid_configuration
from tether.web.auth_api.errors import OAuthRoute
from tether.web.context import services, tenant

router = APIRouter(route_class=OAuthRoute)


@router.get("/.well-known/openid-configuration")
async def configuration(request: Request) -> Response:
    current = await tenant(request)
    interactive = bool(getattr(request.app.state, "interactive", False))
    return JSONResponse(
        openid_configuration(current.issuer, interactive=interactive),
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> Response:
    """RFC 7517 §5: every published key, current first. Caches may hold it for 5 minutes; a
    rotation publishes the next key well before it signs."""
    current = await tenant(request)
    keyset = await services(request).keys.keyset(current)
    return JSONResponse(
        {"keys": keyset.public_jwks}, headers={"Cache-Control": "public, max-age=300"}
    )
