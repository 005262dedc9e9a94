"""CORS for the endpoints browsers call directly (auth0-wire.md §5): /oauth/token,
/oauth/revoke and /userinfo, and the Management API (an SPA reads and links its own user with a
``read:current_user`` / ``update:current_user_identities`` token, as the seed's sample does), for
the tenant's registered web origins only. /authorize never answers CORS (RFC 9700 §2.6).
Bearer tokens only: no ``Access-Control-Allow-Credentials``, so cookies never ride along."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.web.context import services

CORS_PATHS = frozenset(
    {
        "/oauth/token",
        "/oauth/revoke",
        "/userinfo",
        # Lock's sign-up, forgot-password and email-code requests (lock-protocol.md §2.4-2.9).
        "/dbconnections/signup",
        "/dbconnections/change_password",
        "/passwordless/start",
    }
)
ALLOW_HEADERS = "auth0-client, content-type, authorization"
MANAGEMENT_PREFIX = "/api/v2/"
MANAGEMENT_METHODS = "GET, POST, PATCH, PUT, DELETE"
MANAGEMENT_EXPOSE = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


class Cors:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        management = scope["path"].startswith(MANAGEMENT_PREFIX)
        if not management and scope["path"] not in CORS_PATHS:
            await self.app(scope, receive, send)
            return
        origin = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
                break
        if origin is None and scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)  # not a cross-origin call: nothing to add
            return
        request = Request(scope)
        allowed = False
        if origin:
            host = request.headers.get("host", "")
            current = await services(request).tenants.resolve(host)
            if current is not None:
                allowed = origin in await services(request).applications.web_origins(current)
        if request.method == "OPTIONS" and request.headers.get("access-control-request-method"):
            headers = {"Vary": "Origin"}
            if allowed and origin:
                headers.update(
                    {
                        "Access-Control-Allow-Origin": origin,
                        "Access-Control-Allow-Methods": MANAGEMENT_METHODS
                        if management
                        else "GET, POST",
                        "Access-Control-Allow-Headers": ALLOW_HEADERS,
                        "Access-Control-Max-Age": "600",
                    }
                )
            await Response(status_code=204 if allowed else 403, headers=headers)(
                scope, receive, send
            )
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed and origin:
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin.encode()),
                    (b"vary", b"Origin"),
                ]
                if management:
                    message["headers"].append(
                        (b"access-control-expose-headers", MANAGEMENT_EXPOSE.encode())
                    )
            await send(message)

        await self.app(scope, receive, send_with_cors)
