"""domain/event_writer.py: grant log events group-committed (issue 13, decision 2)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.domain.conftest import Domain
from tether.domain.audit import LogType, RequestInfo
from tether.domain.errors import Unavailable
from tether.domain.event_writer import EventWriter
from tether.domain.log_filter import LogFilter
from tether.domain.models import LogEvent
from tether.domain.ports import UnitOfWork


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


async def test_steps_commit_with_their_events_and_a_failing_step_fails_its_batch(
    domain: Domain,
) -> None:
    """A password sign-in hands its writes to the group commit as steps (decision 4): they
    commit in the batch's transaction with the events, or not at all."""
    container = domain.container
    user = await domain.user()
    writer = EventWriter(container.uow)
    at = container.clock.now()

    def login(uow: UnitOfWork) -> Awaitable[None]:
        return uow.users.record_login(domain.tenant.id, user.pk, at, "198.51.100.7")

    async def broken(uow: UnitOfWork) -> None:
        await uow.users.record_login(domain.tenant.id, user.pk, at, "198.51.100.8")
        raise Unavailable("The database is busy or unreachable.")

    def event(agent: str) -> LogEvent:
        return container.audit.build(
            domain.tenant.id, LogType.SUCCESS_LOGIN, RequestInfo(user_agent=agent), user=user
        )

    s, sepft = event("one-s"), event("one-sepft")
    await writer.write(s, sepft, steps=[login])
    async with container.uow(read_only=True) as uow:
        stored = await uow.users.by_pk(domain.tenant.id, user.pk)
        assert stored is not None and stored.logins_count == user.logins_count + 1
        assert stored.last_ip == "198.51.100.7"
        for e in (s, sepft):
            assert await uow.logs.get(domain.tenant.id, e.log_id) is not None
    # Three requests handed over together share a batch; one step fails: nothing commits.
    plain, ok, bad = event("plain"), event("ok"), event("bad")
    batched = EventWriter(container.uow)
    results = await asyncio.gather(
        batched.write(plain),
        batched.write(ok, steps=[login]),
        batched.write(bad, steps=[broken]),
        return_exceptions=True,
    )
    assert batched.batches == []  # no batch committed
    assert all(isinstance(r, Unavailable) for r in results)
    async with container.uow(read_only=True) as uow:
        after = await uow.users.by_pk(domain.tenant.id, user.pk)
        assert after is not None and after.logins_count == user.logins_count + 1
        assert after.last_ip == "198.51.100.7"
        for e in (plain, ok, bad):
            assert await uow.logs.get(domain.tenant.id, e.log_id) is None


async def test_a_batchs_steps_run_in_the_order_of_their_keys(domain: Domain) -> None:
    """Every process takes a batch's row locks in one order (the users' pks), so two batches
    updating the same users cannot deadlock on PostgreSQL."""
    container = domain.container
    writer = EventWriter(container.uow)
    ran: list[str] = []

    def step(name: str) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def run(uow: UnitOfWork) -> None:
            ran.append(name)

        return run

    await asyncio.gather(
        *(
            writer.write(
                container.audit.build(domain.tenant.id, LogType.SUCCESS_LOGIN),
                steps=[step(key)],
                order=key,
            )
            for key in ("u3", "u1", "u2")
        )
    )
    assert writer.batches == [3]
    assert ran == ["u1", "u2", "u3"]
