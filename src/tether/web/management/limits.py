"""Management API rate limits, per tenant and client, with Auth0's headers on every response
and its 429 body (auth0-wire.md §1.2, §2.5)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.domain.ports import RateLimitState

RULE = "management"


def headers(state: RateLimitState) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(state.limit).encode()),
        (b"x-ratelimit-remaining", str(state.remaining).encode()),
        (b"x-ratelimit-reset", str(state.reset_at).encode()),
    ]


class RateLimitHeaders:
    """Adds the headers the route's rate-limit check left in ``scope['state']``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state", {}).get("rate_limit")
                if state is not None:
                    message["headers"] = [*message.get("headers", []), *headers(state)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
