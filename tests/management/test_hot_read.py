"""``GET /api/v2/users/{id}`` takes the short way (web/management/hot.py, issue 13 decision 5)
and answers exactly what FastAPI's documented route answers: the same status, body and headers
for a hit, a field pick, a missing user, bad query parameters, a missing or narrow bearer and an
id no stored text can hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.routing import Mount

from tests.conftest import PUBLIC_URL, World
from tests.management.conftest import API, machine_token
from tether.web.app import TetherApp, create_app
from tether.web.management import hot
from tether.web.management.hot import ManagementApp

#: Headers whose values differ between any two requests.
VOLATILE = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}


@pytest.fixture
async def served(
    world: World,
) -> AsyncIterator[tuple[httpx.AsyncClient, ManagementApp, TetherApp]]:
    app = create_app(world.container, deliver_mail=False)
    [management] = [r.app for r in app.routes if isinstance(r, Mount) and r.path == "/api/v2"]
    assert isinstance(management, ManagementApp) and management.read_route is not None
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client, management, app


def _seen(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: (v if k not in VOLATILE else "*") for k, v in response.headers.items()}
    return response.status_code, response.content, headers


async def test_the_short_way_answers_as_fastapis_route(
    served: tuple[httpx.AsyncClient, ManagementApp, TetherApp],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, management, app = served
    token = await machine_token(http, world)
    narrow = await machine_token(http, world, scope="read:clients")
    bearer = {"Authorization": f"Bearer {token}"}
    created = await http.post(
        f"{API}/users",
        headers=bearer,
        json={
            "connection": "Username-Password-Authentication",
            "email": "ada@example.com",
            "password": "correct horse battery staple",
            "user_metadata": {"plan": "gold"},
        },
    )
    assert created.status_code == 201, created.text
    user = f"{API}/users/{quote(created.json()['user_id'], safe='')}"
    cases: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (user, {}, bearer),
        (user, {"fields": "email,user_id"}, bearer),
        (user, {"fields": "identities", "include_fields": "false"}, bearer),
        (user, {"include_fields": "maybe"}, bearer),
        (user, {"fields": "x" * 1025}, bearer),
        (user, {"fields": "a", "other": "ignored"}, bearer),
        (f"{API}/users/auth0%7Cnobody", {}, bearer),
        (f"{API}/users/auth0%00x", {}, bearer),
        (user, {}, {}),
        (user, {}, {"Authorization": "Bearer not.a.token"}),
        (user, {}, {"Authorization": f"Bearer {narrow}"}),
        # A browser's cross-origin read: the CORS layer looks the tenant's origins up.
        (user, {}, {**bearer, "Origin": "https://elsewhere.example"}),
    ]
    calls: list[str] = []
    real = hot.read_user

    async def counted(request: Any) -> Any:
        calls.append(request.url.path)
        return await real(request)

    monkeypatch.setattr(hot, "read_user", counted)
    short = [_seen(await http.get(path, params=q, headers=h)) for path, q, h in cases]
    assert len(calls) == len(cases)  # every one went the short way
    route, management.read_route = management.read_route, None  # FastAPI's route from here
    try:
        documented = [_seen(await http.get(path, params=q, headers=h)) for path, q, h in cases]
    finally:
        management.read_route = route
    assert len(calls) == len(cases)
    assert short == documented
    # The outer short way (TetherApp.user_read) enters /api/v2 as its mount does.
    outer, app.user_read = app.user_read, None
    try:
        mounted = [_seen(await http.get(path, params=q, headers=h)) for path, q, h in cases]
    finally:
        app.user_read = outer
    assert len(calls) == 2 * len(cases)
    assert short == mounted
    statuses = [status for status, _, _ in short]
    assert statuses == [200, 200, 200, 400, 400, 200, 404, 400, 401, 401, 403, 200]
    assert "x-ratelimit-limit" in short[0][2]
    assert b'"plan":"gold"' in short[0][1]


async def test_other_methods_and_paths_still_reach_fastapi(
    served: tuple[httpx.AsyncClient, ManagementApp, TetherApp], world: World
) -> None:
    http, _, _ = served
    token = await machine_token(http, world)
    bearer = {"Authorization": f"Bearer {token}"}
    # A trailing slash and a longer path are not {id}: FastAPI's routing answers them.
    assert (await http.get(f"{API}/users/auth0%7Cx/logs", headers=bearer)).status_code == 200
    assert (await http.head(f"{API}/users/auth0%7Cx", headers=bearer)).status_code == 405
    listed = await http.get(f"{API}/users", headers=bearer)
    assert listed.status_code == 200 and listed.json() == []
