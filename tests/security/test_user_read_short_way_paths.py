"""The short way into ``GET /api/v2/users/{id}`` (web/app.py ``TetherApp.user_read``, issue 13)
decides from the raw path which requests skip the outer application's routing. An attacker
shapes that path: a doubled slash, a missing one, an encoded slash or dot segment, a huge id or
query, a token of another kind. Each must answer exactly what the mount answers, and none 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import PUBLIC_URL, World
from tests.management.conftest import machine_token
from tether.web.app import TetherApp, create_app

PATHS = [
    "/api/v2/users/auth0%7Cnobody",
    "/api/v2//users/auth0%7Cnobody",
    "/api/v2users/auth0%7Cnobody",
    "/api/v2/users/",
    "/api/v2/users/a%2Fb",
    "/api/v2/users/%2e%2e",
    "/api/v2/users/..%2Fclients",
    "/api/v2/users/" + "x" * 20_000,
    "/api/v2/users/auth0%7Cnobody?fields=" + "a," * 5_000,
    "/api/v2/users/auth0%7Cnobody?include_fields=NaN",
]


@pytest.fixture
async def served(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, TetherApp]]:
    app = create_app(world.container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client, app


async def test_shaped_paths_answer_as_the_mount_does(
    served: tuple[httpx.AsyncClient, TetherApp], world: World
) -> None:
    http, app = served
    machine = {"Authorization": f"Bearer {await machine_token(http, world)}"}
    # An access token for another API is no Management bearer, on either way.
    other = {"Authorization": "Bearer " + "e30." * 3}
    asked = [(path, headers) for path in PATHS for headers in (machine, other, {})]

    async def answers() -> list[tuple[int, bytes]]:
        seen = []
        for path, headers in asked:
            response = await http.get(path, headers=headers)
            seen.append((response.status_code, response.content))
        return seen

    short = await answers()
    outer, app.user_read = app.user_read, None
    try:
        mounted = await answers()
    finally:
        app.user_read = outer
    assert short == mounted
    assert all(status < 500 for status, _ in short), short
    assert short[0][0] == 404  # the plain read of a missing user, with the machine's bearer
    assert short[2][0] == 401  # and without one
