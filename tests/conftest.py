"""Shared fixtures. Configuration is built in code; the database is fresh for every test.

Backend: SQLite in a temporary folder by default. With ``TETHER_TEST_DATABASE_URL`` set to a
PostgreSQL URL (``postgresql+asyncpg://...``) every test gets its own schema there, dropped after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tether.bootstrap import Container, build_container
from tether.config import Settings
from tether.domain.models import Tenant
from tether.domain.passwords import HashParameters
from tether.storage.db import create_engine
from tether.storage.tables import metadata
from tether.web.app import create_app

PG_URL = os.environ.get("TETHER_TEST_DATABASE_URL", "")
PUBLIC_URL = "http://tether.test"
#: Cheap argon2 for tests that are not about hashing; the hashing tests use the real parameters.
FAST_HASH = HashParameters(time_cost=1, memory_kib=1024, parallelism=1)


def backend() -> str:
    return "postgresql" if PG_URL else "sqlite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of SQLite's own locking belong to the SQLite pass only: on PostgreSQL they are
    deselected (they would test nothing there), not skipped. Tests of several processes on one
    PostgreSQL database (tests/production/test_two_nodes.py) belong to the PostgreSQL pass."""
    other = "postgresql_only" if not PG_URL else "sqlite_only"
    keep = [item for item in items if item.get_closest_marker(other) is None]
    dropped = [item for item in items if item.get_closest_marker(other) is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database with the current schema."""
    if PG_URL:
        schema = "t_" + secrets.token_hex(6)
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        eng = create_engine(PG_URL, schema=schema)
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield eng
        await eng.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
    else:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield eng
        await eng.dispose()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "public_url": PUBLIC_URL,
        "master_secret": "test-master-secret-" + "x" * 32,
        "token_rate_limit": "10000/minute",
        "login_rate_limit_ip": "10000/minute",
        "login_rate_limit_account": "10000/minute",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@dataclass
class Client:
    client_id: str
    client_secret: str


@dataclass
class World:
    """A provisioned default tenant: its Default App (password grant, database connection
    enabled) and a Management API machine client with every scope."""

    container: Container
    tenant: Tenant
    app: Client
    machine: Client


@pytest.fixture
async def container(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Container]:
    c = build_container(settings, engine=engine, hash_parameters=FAST_HASH)
    yield c


@pytest.fixture
async def world(container: Container) -> World:
    result = await container.provision()
    assert result.default_app and result.management_client
    return World(
        container,
        result.tenant,
        Client(result.default_app.application.client_id, result.default_app.client_secret or ""),
        Client(
            result.management_client.application.client_id,
            result.management_client.client_secret or "",
        ),
    )


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process (no lifespan: the engine is the fixture's)."""
    app = create_app(world.container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client
