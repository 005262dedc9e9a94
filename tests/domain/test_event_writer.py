"""domain/event_writer.py: grant log events group-committed (issue 13, decision 2)."""

from __future__ import annotations

import asyncio

import pytest

from tests.domain.conftest import Domain
from tether.domain.audit import LogType, RequestInfo
from tether.domain.errors import Unavailable
from tether.domain.event_writer import EventWriter
from tether.domain.log_filter import LogFilter


async def test_concurrent_events_commit_together_and_each_waits_for_its_commit(
    domain: Domain,
) -> None:
    container = domain.container
    writer = EventWriter(container.uow)
    events = [
        container.audit.build(
            domain.tenant.id,
            LogType.SUCCESS_EXCHANGE_CLIENT_CREDENTIALS,
            RequestInfo(user_agent=f"agent-{n}"),
            application=domain.machine,
        )
        for n in range(40)
    ]
    await asyncio.gather(*(writer.write(e) for e in events))
    # The first event found the writer idle and went alone; the others gathered behind it.
    assert sum(writer.batches) == 40
    assert len(writer.batches) < 40
    async with container.uow(read_only=True) as uow:
        for event in events:
            stored = await uow.logs.get(domain.tenant.id, event.log_id)
            assert stored is not None and stored.user_agent == event.user_agent


async def test_a_failed_commit_fails_every_request_of_its_batch(domain: Domain) -> None:
    container = domain.container

    class Broken:
        def __call__(self, *, read_only: bool = False) -> object:
            raise Unavailable("The database is busy or unreachable.")

    writer = EventWriter(Broken())  # type: ignore[arg-type]
    event = container.audit.build(domain.tenant.id, LogType.SUCCESS_EXCHANGE_CLIENT_CREDENTIALS)
    results = await asyncio.gather(writer.write(event), writer.write(event), return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results)
    # Nothing was written, and the writer keeps working for the next request.
    async with container.uow(read_only=True) as uow:
        found, _ = await uow.logs.search(domain.tenant.id, LogFilter(), offset=0, limit=100)
    assert event.log_id not in {e.log_id for e in found}
    with pytest.raises(Unavailable):
        await writer.write(event)
