"""The access log without secrets (OWASP ASVS 16.2.5: logs hold no credentials or tokens), and
structured logs (issue 14, "Logs": ``TETHER_LOG_FORMAT=json``, one line per request with its id).

uvicorn's access log records each request's path with its query string, and Tether's query
strings carry secrets: ``/lo/reset?ticket=...`` (valid for an hour), ``/login/callback?code=...``,
``/u/passwordless/link?...``, ``state`` handles of parked sign-ins. This filter keeps each
parameter's name and replaces every value with ``[redacted]``, except for a few names whose values
are never secret and help reading the log.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_plus

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.domain.metrics import NO_METRICS, Metrics

#: Query parameters whose values are shown; everything else is redacted.
SHOWN = frozenset(
    {
        "client_id",
        "response_type",
        "response_mode",
        "scope",
        "prompt",
        "connection",
        "screen_hint",
        "audience",
        "code_challenge_method",
        "page",
        "per_page",
        "include_totals",
        "include_fields",
        "fields",
        "sort",
        "search_engine",
        "msg",
    }
)
REDACTED = "[redacted]"
ACCESS_LOGGER = "uvicorn.access"


def redact_path(full_path: str) -> str:
    """``/lo/reset?ticket=abc`` -> ``/lo/reset?ticket=[redacted]``."""
    path, sep, query = full_path.partition("?")
    if not sep:
        return full_path
    shown = []
    for pair in query.split("&"):
        name, has_value, value = pair.partition("=")
        if not has_value:
            # A bare word (``?abc``) may itself be the secret.
            shown.append(REDACTED if name else "")
        elif name in SHOWN:
            shown.append(pair)
        else:
            shown.append(f"{quote(name[:64], safe='')}={REDACTED}")
    return f"{path}?{'&'.join(shown)}"


class RedactQuery(logging.Filter):
    """uvicorn.access records carry (client, method, full_path, http_version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Add the filter once to uvicorn's access logger (each worker process calls this)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQuery) for f in logger.filters):
        logger.addFilter(RedactQuery())


# -- structured logs (TETHER_LOG_FORMAT=json) ---------------------------------------------------

#: The request being served, for every line logged while it runs (domain log events included).
REQUEST_ID: ContextVar[str | None] = ContextVar("tether_request_id", default=None)
REQUEST_LOGGER = "tether.access"
#: What a proxy may send as X-Request-Id (nginx's $request_id is 32 hex digits).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_MAX_CLIENT_ID = 128


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request id in force, and the
    record's ``fields`` (``log.info(..., extra={"fields": {...}})``)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(fmt: str, level: str) -> None:
    """The process's logging: text lines (uvicorn's access log, redacted), or JSON lines with
    Tether's own request line instead of uvicorn's (each worker process calls this)."""
    install()
    root = logging.getLogger()
    root.setLevel(level.upper())
    if fmt != "json":
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # One line per request: Tether's (AccessLog), which knows the route, tenant and client.
    logging.getLogger(ACCESS_LOGGER).disabled = True


def uvicorn_log_config(fmt: str) -> dict[str, Any] | None:
    """``uvicorn.run(log_config=...)``: JSON from uvicorn's first line on; None keeps its own."""
    if fmt != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def note_client(scope_state: dict[str, Any], client_id: object) -> None:
    """Remember which application a request is for (the request line's ``client_id``)."""
    if isinstance(client_id, str) and client_id:
        scope_state["client_id"] = client_id[:_MAX_CLIENT_ID]


def _route_template(scope: Scope) -> str | None:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or isinstance(route, Mount):
        return None
    # A route of a mounted application (/api/v2) is relative to its mount.
    return f"{scope.get('root_path', '')}{path}"


class AccessLog:
    """Gives each request its id (a trusted proxy's X-Request-Id, else a new one) and, with
    ``enabled``, logs one line when it ends: id, method, route template (never the path, which
    can carry a ticket), status, latency, tenant, client and address. Sits just inside
    web/proxy.ProxyHeaders, so the address and the proxy's trust are known."""

    def __init__(self, app: ASGIApp, *, enabled: bool, metrics: Metrics = NO_METRICS):
        self.app = app
        self.enabled = enabled
        self.metrics = metrics
        self.log = logging.getLogger(REQUEST_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        given = None
        if state.get("via_trusted_proxy"):
            for name, value in scope.get("headers") or []:
                if name == b"x-request-id":
                    text = value.decode("latin-1")
                    given = text if _REQUEST_ID.fullmatch(text) else None
        request_id = given or secrets.token_hex(8)
        state["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client sees if the app dies before it answers

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.request(scope.get("method", ""), _route_template(scope), status, seconds)
            if self.enabled:
                self._line(scope, state, status, seconds)
            REQUEST_ID.reset(token)

    def _line(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        client_id = state.get("client_id")
        if client_id is None:
            for pair in (scope.get("query_string") or b"").split(b"&"):
                name, _, value = pair.partition(b"=")
                if name == b"client_id" and value:
                    client_id = unquote_plus(value.decode("latin-1"))[:_MAX_CLIENT_ID]
                    break
        route = _route_template(scope)
        client = scope.get("client")
        self.log.info(
            "%s %s %s",
            scope.get("method"),
            route or "(no route)",
            status,
            extra={
                "fields": {
                    "method": scope.get("method"),
                    "route": route,
                    "status": status,
                    "latency_ms": round(seconds * 1000, 2),
                    "tenant": state.get("tenant"),
                    "client_id": client_id,
                    "client_ip": client[0] if client else None,
                }
            },
        )
