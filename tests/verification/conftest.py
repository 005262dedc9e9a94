"""The verification tests run on tests/conftest.py's world with a clock they move by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH
from tests.domain.conftest import FakeClock
from tether.bootstrap import Container, build_container
from tether.config import Settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def container(
    settings: Settings, engine: AsyncEngine, clock: FakeClock
) -> AsyncIterator[Container]:
    yield build_container(settings, engine=engine, clock=clock, hash_parameters=FAST_HASH)
