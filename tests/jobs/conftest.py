"""Helpers for the jobs tests: the Management API in process, a users file, running jobs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import World
from tests.management.conftest import machine_token
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.models import Connection


@pytest.fixture
async def api(http: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    http.headers["Authorization"] = f"Bearer {await machine_token(http, world)}"
    return http


@pytest.fixture
async def database(world: World) -> Connection:
    async with world.container.uow() as uow:
        connection = await uow.connections.by_name(world.tenant.id, DEFAULT_DATABASE)
    assert connection is not None
    return connection


async def post_import(
    api: httpx.AsyncClient,
    connection_id: str,
    users: Any,
    *,
    upsert: bool | None = None,
    raw: bytes | None = None,
    external_id: str | None = None,
    send_completion_email: bool | None = None,
) -> httpx.Response:
    data = {"connection_id": connection_id}
    if upsert is not None:
        data["upsert"] = "true" if upsert else "false"
    if send_completion_email is not None:
        data["send_completion_email"] = "true" if send_completion_email else "false"
    if external_id is not None:
        data["external_id"] = external_id
    content = raw if raw is not None else json.dumps(users).encode()
    return await api.post(
        "/api/v2/jobs/users-imports",
        data=data,
        files={"users": ("users.json", content, "application/json")},
    )


async def run_jobs(world: World) -> None:
    """What the server's background runner does: every waiting job, to its end."""
    while await world.container.jobs.run_next():
        pass


async def import_and_run(
    api: httpx.AsyncClient, world: World, connection_id: str, users: Any, **kwargs: Any
) -> dict[str, Any]:
    response = await post_import(api, connection_id, users, **kwargs)
    assert response.status_code == 202, response.text
    await run_jobs(world)
    job = await api.get(f"/api/v2/jobs/{response.json()['id']}")
    assert job.status_code == 200, job.text
    body: dict[str, Any] = job.json()
    return body
