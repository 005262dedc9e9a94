"""The writers' turn across processes (storage/writer_turn.py): a loop writer waits for another
process's turn with the event loop free and gets it when that process lets go; the busy timeout
bounds the wait; a turn is never left held: not after a commit, a rollback or a failed
statement, and not after a wait that timed out or was cancelled."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded, count
from tether.domain.errors import Conflict, Unavailable
from tether.storage import tables as t
from tether.storage.db import create_engine
from tether.storage.uow import SqlUnitOfWorkFactory

pytestmark = pytest.mark.sqlite_only

# Another process that takes the turn, says so, and gives it back when told (after leaving a
# mark, so a waiter can tell it got the turn only after the release).
_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
open(sys.argv[2], "w").write("released")
os.close(fd)
"""

# Another process that tries for up to 2 s to take the turn without waiting in flock.
_PROBE = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("taken")
        break
    except BlockingIOError:
        if time.monotonic() > deadline:
            print("busy")
            break
        time.sleep(0.01)
"""


def _turn_file(engine: AsyncEngine) -> str:
    database = engine.url.database
    assert database and Path(database).exists()
    return database + "-writer"


@contextmanager
def _held_elsewhere(
    engine: AsyncEngine, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    marker = tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, _turn_file(engine), str(marker)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder, marker
    finally:
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(10)


def _release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait(10)


def _another_process_can_take_it(engine: AsyncEngine, within: float = 0.0) -> bool:
    answer = subprocess.run(
        [sys.executable, "-c", _PROBE, _turn_file(engine), str(within)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return answer.stdout.strip() == "taken"


async def _write(uows: SqlUnitOfWorkFactory, seeded: Seeded) -> None:
    async with uows() as uow:
        await uow.logs.add(r.log_event(seeded.a.tenant.id))
        await uow.commit()


async def test_a_writer_waits_for_another_process_and_writes_after_its_release(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine, tmp_path: Path
) -> None:
    with _held_elsewhere(engine, tmp_path) as (holder, marker):
        writing = asyncio.create_task(_write(uows, seeded))
        ticks = 0
        for _ in range(20):  # 0.2 s in which the loop keeps running and the writer waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not writing.done()
        assert await count(engine, t.log_events) == 0
        _release(holder)
        await asyncio.wait_for(writing, 10)
        # The writer had the turn only after the holder let go of it.
        assert marker.read_text() == "released"
    assert ticks == 20
    assert await count(engine, t.log_events) == 1
    mode = os.stat(_turn_file(engine)).st_mode
    assert stat.S_IMODE(mode) == 0o600


async def test_the_busy_timeout_bounds_the_wait_and_the_abandoned_wait_holds_nothing(
    seeded: Seeded, engine: AsyncEngine, tmp_path: Path
) -> None:
    impatient = create_engine(f"sqlite+aiosqlite:///{engine.url.database}", busy_timeout_ms=250)
    try:
        with _held_elsewhere(engine, tmp_path) as (holder, _):
            with pytest.raises(Unavailable):
                async with SqlUnitOfWorkFactory(impatient)() as uow:
                    await uow.logs.add(r.log_event(seeded.a.tenant.id))
                    await uow.commit()
            _release(holder)
        # This process's waiting thread takes the turn after the release, sees nobody wants
        # it any more, and gives it back.
        assert _another_process_can_take_it(engine, within=2.0)
        # The same engine's next writer holds its turn for its whole transaction: the
        # abandoned wait, which shares the process's descriptor, does not let go of it.
        async with SqlUnitOfWorkFactory(impatient)() as uow:
            await uow.logs.add(r.log_event(seeded.a.tenant.id))
            assert not _another_process_can_take_it(engine)
            await uow.commit()
        assert _another_process_can_take_it(engine)
    finally:
        await impatient.dispose()
    assert await count(engine, t.log_events) == 1


async def test_a_writer_right_after_an_abandoned_wait_keeps_its_turn(
    seeded: Seeded, engine: AsyncEngine, tmp_path: Path
) -> None:
    """The holder lets go while this process's abandoned wait is still in flock: the next
    writer of the process waits for that thread first, then holds the turn itself."""
    impatient = create_engine(f"sqlite+aiosqlite:///{engine.url.database}", busy_timeout_ms=250)
    uows = SqlUnitOfWorkFactory(impatient)
    try:
        with _held_elsewhere(engine, tmp_path) as (holder, _):
            with pytest.raises(Unavailable):
                async with uows() as uow:
                    await uow.logs.add(r.log_event(seeded.a.tenant.id))
            _release(holder)
            async with uows() as uow:  # at once, racing the abandoned thread
                await uow.logs.add(r.log_event(seeded.a.tenant.id))
                assert not _another_process_can_take_it(engine)
                await uow.commit()
    finally:
        await impatient.dispose()
    assert await count(engine, t.log_events) == 1


async def test_a_cancelled_wait_holds_nothing(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine, tmp_path: Path
) -> None:
    with _held_elsewhere(engine, tmp_path) as (holder, _):
        writing = asyncio.create_task(_write(uows, seeded))
        await asyncio.sleep(0.1)
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        _release(holder)
    assert _another_process_can_take_it(engine, within=2.0)
    # And this process's next writer gets it as usual.
    async with uows() as uow:
        await uow.logs.add(r.log_event(seeded.a.tenant.id))
        await uow.commit()
    assert await count(engine, t.log_events) == 1


async def test_the_turn_is_given_back_after_commit_rollback_and_a_failed_statement(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    async with uows() as uow:
        await uow.logs.add(r.log_event(seeded.a.tenant.id))
        assert not _another_process_can_take_it(engine)  # held for the transaction
        await uow.commit()
        assert _another_process_can_take_it(engine)
        await uow.logs.add(r.log_event(seeded.a.tenant.id))
        assert not _another_process_can_take_it(engine)
        await uow.rollback()
        assert _another_process_can_take_it(engine)
    event = r.log_event(seeded.a.tenant.id)
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.logs.add(event)
            await uow.logs.add(event)  # the same log_id twice
    assert _another_process_can_take_it(engine)
    assert await count(engine, t.log_events) == 1
