"""Dashboard and Linked accounts tests in process: the app over httpx, a clock that moves."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import FAST_HASH, PUBLIC_URL
from tests.dashboard.support import PASSWORD, MovableClock
from tether.bootstrap import Container, build_container
from tether.config import Settings
from tether.domain.actor import Actor
from tether.domain.models import Tenant, User
from tether.domain.users import NewDatabaseUser
from tether.web.app import create_app

TEST_ACTOR = Actor(client_id="tests")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def container(settings: Settings, engine, clock: MovableClock) -> AsyncIterator[Container]:  # type: ignore[no-untyped-def]
    yield build_container(settings, engine=engine, hash_parameters=FAST_HASH, clock=clock)


@pytest.fixture
async def tenant(container: Container) -> Tenant:
    return (await container.provision()).tenant


def make_client(container: Container) -> httpx.AsyncClient:
    app = create_app(container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)


@pytest.fixture
async def http(container: Container, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(container) as client:
        yield client


async def new_user(container: Container, tenant: Tenant, email: str, **profile: str) -> User:
    return await container.users.create(
        tenant,
        None,
        NewDatabaseUser(email=email, password=PASSWORD, email_verified=True, profile=profile),
    )


@pytest.fixture
async def admin(container: Container, tenant: Tenant) -> User:
    user = await new_user(container, tenant, "admin@example.com", name="Ada Admin")
    await container.admins.add(tenant, "admin@example.com", TEST_ACTOR)
    return user
