"""TETHER_LOG_FORMAT=json and request ids (issue 14, "Logs"), in process: one JSON line per
request with its id, tenant, client, route template, status and latency; one per log event,
with the id of the request that caused it; X-Request-Id honoured from a trusted proxy only, and
returned; a 500 names the request id, on the page and in the log line with the traceback.

The live full flow through ``tether serve`` in both formats, with every secret that flowed
looked for in the output, is tests/security/test_no_secrets_in_logs.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, World, make_settings
from tether.bootstrap import build_container
from tether.web.access_log import JsonFormatter
from tether.web.app import create_app

PROXY = ("10.0.0.5", 41000)
STRANGER = ("203.0.113.9", 41000)


class Lines(logging.Handler):
    """What the JSON formatter writes, parsed back."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("tether", "uvicorn")):  # not the test's own httpx
            self.lines.append(json.loads(self.format(record)))

    def of(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["logger"] == logger]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def serve(world: World, engine: AsyncEngine, tmp_path: Path) -> Any:
    @asynccontextmanager
    async def factory(
        peer: tuple[str, int] = PROXY, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        overrides.setdefault("trusted_proxies", ["10.0.0.0/24"])
        overrides.setdefault("log_format", "json")
        settings = make_settings(tmp_path, **overrides)
        container = build_container(settings, engine=engine, hash_parameters=FAST_HASH)
        app = create_app(container, deliver_mail=False)
        transport = httpx.ASGITransport(app=app, client=peer, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield client

    return factory


async def _token(http: httpx.AsyncClient, world: World, **headers: str) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        auth=(world.machine.client_id, world.machine.client_secret),
        data={"grant_type": "client_credentials", "audience": world.tenant.management_audience},
        headers=headers,
    )


async def test_one_line_per_request_and_per_event(world: World, serve: Any, lines: Lines) -> None:
    async with serve() as http:
        token = await _token(http, world, **{"X-Forwarded-For": "198.51.100.7"})
        assert token.status_code == 200
        user_id = "auth0|nobody-" + "x" * 8
        read = await http.get(
            f"/api/v2/users/{user_id}",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert read.status_code == 404
    request_id = token.headers["x-request-id"]
    first, second = lines.of("tether.access")
    assert first == {
        "time": first["time"],
        "level": "info",
        "logger": "tether.access",
        "message": "POST /oauth/token 200",
        "request_id": request_id,
        "method": "POST",
        "route": "/oauth/token",
        "status": 200,
        "latency_ms": first["latency_ms"],
        "tenant": "default",
        "client_id": world.machine.client_id,  # from the Basic header
        "client_ip": "198.51.100.7",
    }
    assert first["time"].endswith("+00:00") and first["latency_ms"] > 0
    # The route's template, never its path (which can carry an id, a ticket or a token).
    assert second["route"] == "/api/v2/users/{id}"
    assert second["status"] == 404
    assert second["client_id"] == world.machine.client_id
    assert second["request_id"] == read.headers["x-request-id"] != request_id
    assert user_id not in json.dumps(lines.lines)

    event, failed = lines.of("tether.events")
    assert failed["event"] == "fapi"  # the failed Management API call
    assert failed["request_id"] == read.headers["x-request-id"]
    assert event["event"] == "seccft"  # Auth0's "Success Exchange" for client credentials
    assert event["request_id"] == request_id
    assert event["client_id"] == world.machine.client_id
    assert event["tenant_id"] == world.tenant.id
    assert event["client_ip"] == "198.51.100.7"


async def test_query_values_stay_out_of_the_request_line(
    world: World, serve: Any, lines: Lines
) -> None:
    async with serve() as http:
        await http.get("/lo/reset", params={"ticket": "secret-ticket-value"})
        await http.get("/no/such/path", params={"code": "secret-code-value"})
        await http.get("/authorize", params={"client_id": "an-app", "state": "secret-state"})
    reset, missing, authorize = lines.of("tether.access")
    assert reset["route"] == "/lo/reset"
    assert missing["route"] is None and missing["status"] == 404
    assert authorize["client_id"] == "an-app"  # named in the query, as /authorize does
    text = json.dumps(lines.lines)
    assert "secret-" not in text


async def test_x_request_id_is_taken_from_a_trusted_proxy_only(
    world: World, serve: Any, lines: Lines
) -> None:
    given = "0f4c2e9a8b7d6c5e4f3a2b1c0d9e8f7a"  # nginx's $request_id
    async with serve() as http:
        trusted = await http.get("/healthz", headers={"X-Request-Id": given})
        junk = await http.get("/healthz", headers={"X-Request-Id": "a b\x7f" + "x" * 200})
    async with serve(peer=STRANGER) as http:
        stranger = await http.get("/healthz", headers={"X-Request-Id": given})
    assert trusted.headers["x-request-id"] == given
    assert junk.headers["x-request-id"] != "a b"
    assert len(junk.headers["x-request-id"]) == 16
    assert stranger.headers["x-request-id"] != given
    assert [line["request_id"] for line in lines.of("tether.access")] == [
        given,
        junk.headers["x-request-id"],
        stranger.headers["x-request-id"],
    ]


async def test_a_500_names_its_request_id(
    world: World, serve: Any, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database melted")

    async with serve() as http:
        transport = http._transport
        assert isinstance(transport, httpx.ASGITransport)
        services = transport.app.state.services  # type: ignore[attr-defined]
        monkeypatch.setattr(services.keys, "keyset", broken)
        given = "req-from-proxy-1"
        api = await http.get("/.well-known/jwks.json", headers={"X-Request-Id": given})
        monkeypatch.setattr(services.tenants, "resolve", broken)
        html = await http.get("/u/login", params={"state": "x"})

    assert api.status_code == 500
    assert api.headers["x-request-id"] == given
    assert api.json()["error_description"] == f"Something went wrong (request id {given})."
    assert html.status_code == 500
    assert html.headers["content-type"].startswith("text/html")
    assert f"request id {html.headers['x-request-id']}" in html.text
    assert "melted" not in api.text + html.text

    errors = [line for line in lines.lines if line["level"] == "error"]
    assert [e["request_id"] for e in errors] == [given, html.headers["x-request-id"]]
    assert all("RuntimeError: the database melted" in e["exception"] for e in errors)
    statuses = [(line["route"], line["status"]) for line in lines.of("tether.access")]
    assert statuses == [("/.well-known/jwks.json", 500), ("/u/login", 500)]


async def test_text_format_writes_no_request_lines(world: World, serve: Any, lines: Lines) -> None:
    """In text mode uvicorn's access line (redacted, web/access_log.RedactQuery) is the request
    line; the request id is still given and returned."""
    async with serve(log_format="text") as http:
        response = await http.get("/healthz")
    assert len(response.headers["x-request-id"]) == 16
    assert lines.of("tether.access") == []
