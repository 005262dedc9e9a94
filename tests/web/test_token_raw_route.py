"""``POST /oauth/token`` and ``/oauth/revoke`` are served as plain ASGI endpoints inside the
middleware stack, without FastAPI's router (issue 13, item 1): the same answers, errors and
headers as the FastAPI route, which still answers every other method."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_URL, World
from tests.web.conftest import client_credentials
from tether.web.app import create_app


@pytest.fixture
def app(world: World) -> Any:
    return create_app(world.container, deliver_mail=False)


@pytest.fixture
async def client(app: Any) -> Any:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
        yield c


@pytest.fixture
def routed(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths that reached FastAPI's router."""
    paths: list[str] = []
    router_app = app.router.__class__.__call__

    async def spy(self: Any, scope: Any, receive: Any, send: Any) -> None:
        paths.append(scope["path"])
        await router_app(self, scope, receive, send)

    monkeypatch.setattr(app.router.__class__, "__call__", spy)
    return paths


async def test_a_token_skips_fastapis_router(
    client: httpx.AsyncClient, world: World, routed: list[str]
) -> None:
    response = await client_credentials(client, world.machine, world.tenant.management_audience)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert (
        response.headers.get_list("x-request-id")
        and len(response.headers.get_list("x-request-id")) == 1
    )
    assert int(response.headers["x-ratelimit-remaining"]) >= 0
    assert routed == []
    # Any other method on the path still reaches FastAPI, and its 405.
    other = await client.get("/oauth/token")
    assert other.status_code == 405
    assert other.json()["error"] == "method_not_allowed"
    assert routed == ["/oauth/token"]


async def test_an_error_is_the_oauth_json_with_one_request_id(
    client: httpx.AsyncClient, world: World, routed: list[str]
) -> None:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": world.machine.client_id},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["cache-control"] == "no-store"
    assert len(response.headers.get_list("x-request-id")) == 1
    revoke = await client.post("/oauth/revoke", data={"client_id": world.machine.client_id})
    assert revoke.status_code == 400
    assert revoke.json() == {
        "error": "invalid_request",
        "error_description": revoke.json()["error_description"],
    }
    assert routed == []


async def test_an_unexpected_error_is_a_500_without_internals(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(world.container.tokens, "client_credentials", broken)
    response = await client_credentials(client, world.machine, world.tenant.management_audience)
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "server_error"
    request_id = response.headers["x-request-id"]
    assert request_id in body["error_description"]
    assert "secret" not in response.text
