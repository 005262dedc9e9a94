"""Helpers for the brute-force protection tests (issue 11, finding 6)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.conftest import PUBLIC_URL, World
from tests.web.conftest import PASSWORD, client_credentials, password_login
from tether.web.app import create_app


@asynccontextmanager
async def from_ip(world: World, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``ip`` (the ASGI scope's client address)."""
    app = create_app(world.container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


async def wrong_guesses(http: httpx.AsyncClient, world: World, n: int, **kw: str) -> list[int]:
    statuses = []
    for _ in range(n):
        response = await password_login(http, world.app, password="not the password!", **kw)
        statuses.append(response.status_code)
    return statuses


async def right_password(http: httpx.AsyncClient, world: World, **kw: str) -> httpx.Response:
    return await password_login(http, world.app, password=PASSWORD, **kw)


async def set_tenant(world: World, **changes: object) -> None:
    world.tenant = await world.container.tenants.update_settings(world.tenant, changes)


async def management_token(http: httpx.AsyncClient, world: World, scope: str | None = None) -> str:
    response = await client_credentials(
        http, world.machine, world.tenant.management_audience, scope
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def unblock_link(world: World, to: str) -> str:
    """The unblock link in the newest block mail to ``to``."""
    mails = [
        m
        for m in await world.container.mail.list(world.tenant)
        if m.to == to and "blocked" in m.subject
    ]
    assert mails, "no block mail was sent"
    found = re.search(r"https?://\S+/u/unblock\?ticket=\S+", mails[0].body)
    assert found, mails[0].body
    return found.group(0)


async def log_types(world: World) -> list[str]:
    async with world.container.uow(read_only=True) as uow:
        events = await uow.logs.list(world.tenant.id, offset=0, limit=100)
    return [e.type for e in events]
