"""Management API tests: /clients, /connections, /resource-servers, /client-grants.

On PostgreSQL the folder shares one schema for the session, emptied before each test; on
SQLite every test has its own file. RSA keys come from a small pool made once (provisioning
a tenant per test otherwise spends most of its time generating keys).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import PG_URL, PUBLIC_URL, World
from tether.domain.log_filter import LogFilter
from tether.domain.models import LogEvent
from tether.protocol import jose
from tether.storage.db import create_engine
from tether.storage.tables import metadata

MANAGEMENT_AUDIENCE = PUBLIC_URL + "/api/v2/"
API = "/api/v2"

_KEY_POOL: list[bytes] = []
_KEY_MEMO: dict[tuple[str, bytes, bytes], Any] = {}


@pytest.fixture(autouse=True)
def reuse_rsa_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys from a pool of four real RSA keys, and each PEM parsed once."""
    if not _KEY_POOL:
        _KEY_POOL.extend(jose.generate_private_pem() for _ in range(4))
    counter = iter(range(1 << 30))
    from_pem = jose.PrivateKey.from_pem.__func__  # type: ignore[attr-defined]
    real = {"thumbprint_kid": jose.thumbprint_kid, "public_jwk_from_pem": jose.public_jwk_from_pem}

    def memo(name: str, kid: str, pem: bytes, make: Callable[[], Any]) -> Any:
        key = (name, kid.encode(), pem)
        if key not in _KEY_MEMO:
            _KEY_MEMO[key] = make()
        return _KEY_MEMO[key]

    monkeypatch.setattr(
        jose, "generate_private_pem", lambda bits=2048: _KEY_POOL[next(counter) % len(_KEY_POOL)]
    )
    monkeypatch.setattr(
        jose,
        "thumbprint_kid",
        lambda pem: memo("kid", "", pem, lambda: real["thumbprint_kid"](pem)),
    )
    monkeypatch.setattr(
        jose,
        "public_jwk_from_pem",
        lambda kid, pem: dict(memo("jwk", kid, pem, lambda: real["public_jwk_from_pem"](kid, pem))),
    )
    monkeypatch.setattr(
        jose.PrivateKey,
        "from_pem",
        classmethod(lambda cls, kid, pem: memo("priv", kid, pem, lambda: from_pem(cls, kid, pem))),
    )


@pytest.fixture(scope="session")
def management_pg_schema() -> Iterator[str | None]:
    """On PostgreSQL, one schema for this folder's session (None on SQLite)."""
    if not PG_URL:
        yield None
        return
    schema = "m_" + secrets.token_hex(6)

    async def run(statement: str, create_tables: bool = False) -> None:
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(sa.text(statement))
        await admin.dispose()
        if create_tables:
            eng = create_engine(PG_URL, schema=schema)
            async with eng.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await eng.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"', create_tables=True))
    yield schema
    asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
async def engine(tmp_path: Path, management_pg_schema: str | None) -> AsyncIterator[AsyncEngine]:
    """An empty database with the current schema (overrides tests/conftest.py's)."""
    if management_pg_schema is None:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield eng
        await eng.dispose()
        return
    eng = create_engine(PG_URL, schema=management_pg_schema)
    async with eng.begin() as conn:
        for table in reversed(metadata.sorted_tables):  # children first: foreign keys hold
            await conn.execute(table.delete())
    yield eng
    await eng.dispose()


async def machine_token(http: httpx.AsyncClient, world: World, scope: str | None = None) -> str:
    """A Management API token for the world's machine client (every scope unless narrowed)."""
    body = {
        "grant_type": "client_credentials",
        "client_id": world.machine.client_id,
        "client_secret": world.machine.client_secret,
        "audience": MANAGEMENT_AUDIENCE,
    }
    if scope is not None:
        body["scope"] = scope
    response = await http.post("/oauth/token", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def token(http: httpx.AsyncClient, world: World) -> str:
    return await machine_token(http, world)


@pytest.fixture
async def api(http: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    """The in-process client with the machine token as its bearer."""
    http.headers["Authorization"] = f"Bearer {token}"
    return http


async def sapi_events(world: World) -> list[LogEvent]:
    """The tenant's ``sapi`` events, newest first."""
    events, _ = await world.container.logs.page(
        world.tenant.id, LogFilter(types=("sapi",)), offset=0, limit=100
    )
    return events


def assert_error(response: httpx.Response, status: int, code: str | None) -> dict[str, Any]:
    """Auth0's Management API error body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == status, body
    assert isinstance(body["error"], str) and isinstance(body["message"], str), body
    if code is not None:
        assert body.get("errorCode") == code, body
    return body
