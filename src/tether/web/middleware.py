"""ASGI middleware: request ids, a cap on body size, and headers every response carries."""

from __future__ import annotations

import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestLimits:
    """Give each request an id and refuse bodies over ``max_body`` bytes with 413.

    Checks Content-Length up front and counts streamed bytes too, so a chunked upload cannot
    slip past the cap.
    """

    def __init__(self, app: ASGIApp, max_body: int, larger: dict[str, int] | None = None):
        self.app = app
        self.max_body = max_body
        self.larger = larger or {}  # path -> its own cap (a users file upload, say)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # web/access_log.AccessLog gives the id (a trusted proxy's, or a new one) first.
        state = scope.setdefault("state", {})
        request_id = state.get("request_id") or secrets.token_hex(8)
        state["request_id"] = request_id
        length = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                length = value  # the last one, as a dict of the headers would have it
        max_body = self.larger.get(scope.get("path", ""), self.max_body)
        if length is not None and (not length.isdigit() or int(length) > max_body):
            await _too_large(scope, send, request_id)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            if not started:
                await _too_large(scope, send, request_id)


class BodyTooLarge(Exception):
    """Raised by the capped ``receive`` past the cap; answered 413 here, so an endpoint that
    renders its own errors lets it through."""


async def _too_large(scope: Scope, send: Send, request_id: str) -> None:
    path: str = scope.get("path", "")
    if path.startswith("/api/v2"):
        body = {
            "statusCode": 413,
            "error": "Payload Too Large",
            "message": "The request body is too large.",
            "errorCode": "payload_too_large",
        }
    elif path.startswith("/dbconnections/signup"):
        body = {
            "name": "BadRequestError",
            "code": "invalid_request",
            "description": "The request body is too large.",
            "statusCode": 413,
        }
    else:
        body = {"error": "invalid_request", "error_description": "The request body is too large."}
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
