"""The database goes away: the Authentication API answers 503 temporarily_unavailable with
Retry-After, quickly, never a 500 and never a hang (auth0-wire.md §3.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, World, make_settings
from tests.web.conftest import PASSWORD_REALM, REALM, assert_oauth_error, serve
from tether.bootstrap import build_container
from tether.storage.db import create_engine

#: Nothing listens on port 1: connections are refused at once.
DEAD_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


@pytest.fixture
async def dead_engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DEAD_URL)
    yield engine
    await engine.dispose()


def assert_unavailable(response: httpx.Response) -> None:
    assert_oauth_error(response, 503, "temporarily_unavailable")
    assert int(response.headers["retry-after"]) > 0


def _login(world: World) -> dict[str, str]:
    return {
        "grant_type": PASSWORD_REALM,
        "client_id": world.app.client_id,
        "client_secret": world.app.client_secret,
        "username": "ann@example.com",
        "password": "correct horse battery staple",
        "realm": REALM,
    }


async def test_a_database_that_was_never_reachable(
    world: World, dead_engine: AsyncEngine, tmp_path: Path
) -> None:
    """Even the tenant lookup fails: the first thing each request does."""
    container = build_container(
        make_settings(tmp_path), engine=dead_engine, hash_parameters=FAST_HASH
    )
    async with serve(container) as http:
        started = time.monotonic()
        response = await asyncio.wait_for(http.post("/oauth/token", data=_login(world)), 10)
        assert time.monotonic() - started < 5
        assert_unavailable(response)
        assert_unavailable(await http.get("/userinfo", headers={"Authorization": "Bearer x.y.z"}))
        assert_unavailable(await http.get("/.well-known/jwks.json"))


async def test_the_database_goes_away_after_start(
    http: httpx.AsyncClient, world: World, dead_engine: AsyncEngine
) -> None:
    """The tenant is cached from a first request; then every query meets a refused connection.

    The unit-of-work factory every service shares is pointed at the dead engine: the same
    process, the same caches, only the database is gone."""
    assert (await http.get("/.well-known/openid-configuration")).status_code == 200
    world.container.uow.engine = dead_engine  # type: ignore[attr-defined]

    started = time.monotonic()
    for body in (
        _login(world),
        {**_login(world), "grant_type": "refresh_token", "refresh_token": "abc"},
        {
            "grant_type": "client_credentials",
            "client_id": world.machine.client_id,
            "client_secret": world.machine.client_secret,
            "audience": world.tenant.management_audience,
        },
    ):
        response = await asyncio.wait_for(http.post("/oauth/token", data=body), 10)
        assert_unavailable(response)
        assert response.headers["cache-control"] == "no-store"
    assert time.monotonic() - started < 10

    signup = await http.post(
        "/dbconnections/signup",
        json={
            "client_id": world.app.client_id,
            "email": "new@example.com",
            "password": "correct horse battery staple",
            "connection": REALM,
        },
    )
    assert signup.status_code == 503
    assert signup.json()["statusCode"] == 503
    assert set(signup.json()) == {"name", "code", "description", "statusCode"}


async def test_a_database_that_accepts_but_never_answers(world: World, tmp_path: Path) -> None:
    """A black hole (a firewall dropping packets, a wedged server): the connect timeout ends
    the wait, and the answer is still a 503, not a hung request."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client gives up

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x")
    container = build_container(make_settings(tmp_path), engine=engine, hash_parameters=FAST_HASH)
    try:
        async with serve(container) as http:
            started = time.monotonic()
            response = await asyncio.wait_for(http.post("/oauth/token", data=_login(world)), 20)
            assert_unavailable(response)
            assert time.monotonic() - started < 15  # the engine's 5 s connect timeout, once
    finally:
        await engine.dispose()
        server.close()
