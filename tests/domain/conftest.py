"""Helpers for the domain tests that run against the real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import PG_URL, World
from tether.bootstrap import Container
from tether.domain.applications import NewApi, NewApplication
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.models import Api, Application, AppType, LogEvent, Tenant, User
from tether.domain.users import NewDatabaseUser
from tether.protocol import jose
from tether.storage.db import create_engine
from tether.storage.tables import metadata

PASSWORD = "a long enough password"
API_ID = "https://api.example.test/"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    """On PostgreSQL, one schema for the whole session, emptied before each test: creating and
    dropping twenty tables per test costs most of the run when the server is busy."""
    if not PG_URL:
        yield None
        return
    schema = "t_domain_" + secrets.token_hex(6)

    async def run(statement: str, create: bool = False) -> None:
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(sa.text(statement))
        await admin.dispose()
        if create:
            eng = create_engine(PG_URL, schema=schema)
            async with eng.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await eng.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"', create=True))
    yield schema
    asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
async def engine(tmp_path: Path, pg_schema: str | None) -> AsyncIterator[AsyncEngine]:
    """Overrides tests/conftest.py's ``engine``: still an empty database for every test."""
    if pg_schema is None:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
    else:
        eng = create_engine(PG_URL, schema=pg_schema)
        async with eng.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    yield eng
    await eng.dispose()


#: RSA keys made so far, shared by every test: a 2048-bit key takes a few hundred milliseconds
#: to make, and each tenant needs two, each rotation one more.
_KEY_POOL: list[bytes] = []
#: Loading a private PEM costs ~50 ms (cryptography validates the RSA key), so the pure functions
#: that load one remember their answers.
_LOADED: dict[tuple[str, bytes], Any] = {}


@pytest.fixture(autouse=True)
def reuse_rsa_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hand out pooled keys, distinct within a test (the database is fresh for every test)."""
    position = 0
    real_generate = jose.generate_private_pem
    real_thumbprint = jose.thumbprint_kid
    real_public_jwk = jose.public_jwk_from_pem
    real_from_pem = jose.PrivateKey.from_pem

    def generate(bits: int = jose.KEY_BITS) -> bytes:
        nonlocal position
        if position == len(_KEY_POOL):
            _KEY_POOL.append(real_generate(bits))
        position += 1
        return _KEY_POOL[position - 1]

    def remembered(name: str, pem: bytes, make: Callable[[], Any]) -> Any:
        if (name, pem) not in _LOADED:
            _LOADED[name, pem] = make()
        return _LOADED[name, pem]

    def thumbprint(pem: bytes) -> str:
        return str(remembered("thumbprint", pem, lambda: real_thumbprint(pem)))

    def public_jwk(kid: str, pem: bytes) -> dict[str, Any]:
        return dict(remembered("jwk:" + kid, pem, lambda: real_public_jwk(kid, pem)))

    def from_pem(kid: str, pem: bytes) -> jose.PrivateKey:
        key: jose.PrivateKey = remembered("key:" + kid, pem, lambda: real_from_pem(kid, pem))
        return key

    monkeypatch.setattr(jose, "generate_private_pem", generate)
    monkeypatch.setattr(jose, "thumbprint_kid", thumbprint)
    monkeypatch.setattr(jose, "public_jwk_from_pem", public_jwk)
    monkeypatch.setattr(jose.PrivateKey, "from_pem", staticmethod(from_pem))
    yield


@dataclass
class Domain:
    """The world's records, loaded: what the services take as arguments."""

    container: Container
    tenant: Tenant
    app: Application
    machine: Application

    async def user(
        self, email: str = "ann@example.com", password: str = PASSWORD, **kwargs: Any
    ) -> User:
        return await self.container.users.create(
            self.tenant,
            None,
            NewDatabaseUser(email=email, password=password, **kwargs),
        )

    async def api(
        self,
        identifier: str = API_ID,
        scopes: tuple[str, ...] = ("read:things", "write:things", "admin:things"),
        *,
        allow_offline_access: bool = False,
    ) -> Api:
        return await self.container.apis.create(
            self.tenant,
            NewApi(
                name="Things",
                identifier=identifier,
                scopes=scopes,
                allow_offline_access=allow_offline_access,
            ),
        )

    async def application(
        self, name: str, grant_types: tuple[str, ...], *, app_type: AppType = AppType.REGULAR_WEB
    ) -> Application:
        """A new application, enabled on the database connection."""
        created = await self.container.applications.create(
            self.tenant, NewApplication(name=name, app_type=app_type, grant_types=grant_types)
        )
        await self.container.connections.enable(
            self.tenant, DEFAULT_DATABASE, created.application.client_id
        )
        return created.application

    async def logs(self, user_id: str | None = None) -> list[LogEvent]:
        async with self.container.uow() as uow:
            return await uow.logs.list(self.tenant.id, user_id=user_id, limit=1000)

    async def log_types(self) -> list[str]:
        """Log event types, oldest first."""
        return [e.type for e in reversed(await self.logs())]


async def provisioned(container: Container) -> Domain:
    """Provision the default tenant in ``container`` (one built by the test itself)."""
    result = await container.provision()
    assert result.default_app and result.management_client
    return Domain(
        container,
        result.tenant,
        result.default_app.application,
        result.management_client.application,
    )


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
async def domain(world: World) -> Domain:
    apps = world.container.applications
    return Domain(
        world.container,
        world.tenant,
        await apps.get(world.tenant, world.app.client_id),
        await apps.get(world.tenant, world.machine.client_id),
    )
