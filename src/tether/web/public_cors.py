"""CORS for the public metadata: discovery and the key set answer every origin, as Auth0 does.

A browser app validates an ID token in the page (auth0-js ``parseHash``, Lock, idtoken-verifier)
and fetches ``/.well-known/jwks.json`` with a plain ``fetch()`` from its own origin; without
``Access-Control-Allow-Origin`` the fetch fails and so does every sign-in. These documents are
the same for everyone and carry nothing secret, so ``*`` is right (Fetch Standard §3.2.5: a
wildcard never carries credentials, and no ``Access-Control-Allow-Credentials`` is sent).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PUBLIC_PATHS = frozenset({"/.well-known/openid-configuration", "/.well-known/jwks.json"})


class PublicCors:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            # A preflight (a client adding its own headers): GET only, any header it asks for.
            requested = dict(scope["headers"]).get(b"access-control-request-headers", b"")
            headers = {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET",
                "Access-Control-Max-Age": "86400",
            }
            if requested:
                headers["Access-Control-Allow-Headers"] = requested.decode("latin-1")
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", b"*"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)
