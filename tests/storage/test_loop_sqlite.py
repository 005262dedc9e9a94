"""SQLite units of work run their statements on the event loop (storage/loop_sqlite.py; issue
13, decision 3): lock waits are asyncio sleeps, never a blocked loop; the bound is the engine's
busy timeout; readers read a snapshot; connections are pooled and closed with the engine."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded, count
from tether.domain.errors import Conflict, Unavailable
from tether.storage import tables as t
from tether.storage.db import create_engine, loop_engine
from tether.storage.loop_sqlite import THREADED, LoopConnection
from tether.storage.uow import SqlUnitOfWorkFactory

pytestmark = pytest.mark.sqlite_only


def _path(engine: AsyncEngine) -> str:
    database = engine.url.database
    assert database and Path(database).exists()
    return database


@contextmanager
def _write_lock(engine: AsyncEngine, *, exclusive: bool = False) -> Iterator[sqlite3.Connection]:
    """Another process's view: a plain sqlite3 connection holding the write lock (or, with
    ``exclusive``, every lock: WAL in locking_mode=EXCLUSIVE, which makes even reads busy)."""
    other = sqlite3.connect(_path(engine), isolation_level=None, timeout=0)
    try:
        if exclusive:
            other.execute("PRAGMA locking_mode=EXCLUSIVE")
            other.execute("BEGIN IMMEDIATE")
            other.execute("CREATE TABLE IF NOT EXISTS lock_probe (x)")
            other.execute("COMMIT")  # the exclusive lock stays until the connection closes
        else:
            other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        other.close()


class _Ticker:
    """Counts how often the event loop ran a 5 ms sleep: a loop blocked in a lock wait would
    not tick."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    def stop(self) -> int:
        self._task.cancel()
        return self.ticks


async def _after(delay: float, work: Awaitable[Any]) -> None:
    await asyncio.sleep(delay)
    await work


async def test_busy_writer_waits_with_the_loop_free(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """Another connection holds the write lock for 0.3 s: the writer waits it out, and the loop
    keeps serving another coroutine all the while."""
    with _write_lock(engine) as other:

        async def release() -> None:
            other.execute("COMMIT")

        releaser = asyncio.create_task(_after(0.3, release()))
        ticker = _Ticker()
        started = time.monotonic()
        async with uows() as uow:
            await uow.logs.add(r.log_event(seeded.a.tenant.id))
            await uow.commit()
        waited = time.monotonic() - started
        ticks = ticker.stop()
        await releaser
    assert waited >= 0.28
    # A loop blocked in the wait would tick at most once; a free one ticks unless the machine
    # is starved (60 in 0.3 s when idle).
    assert ticks >= 5
    assert await count(engine, t.log_events) == 1


async def test_the_busy_timeout_bounds_the_wait_with_unavailable(
    seeded: Seeded, engine: AsyncEngine
) -> None:
    impatient = create_engine(f"sqlite+aiosqlite:///{_path(engine)}", busy_timeout_ms=250)
    try:
        with _write_lock(engine):
            ticker = _Ticker()
            started = time.monotonic()
            with pytest.raises(Unavailable):
                async with SqlUnitOfWorkFactory(impatient)() as uow:
                    await uow.logs.add(r.log_event(seeded.a.tenant.id))
                    await uow.commit()
            waited = time.monotonic() - started
            ticks = ticker.stop()
        assert 0.2 <= waited < 3.0
        assert ticks >= 5
        sync = loop_engine(impatient)
        assert sync is not None and sync.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await impatient.dispose()
    assert await count(engine, t.log_events) == 0


async def test_a_reader_reads_beside_a_held_write_lock_and_keeps_its_snapshot(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    tenant = seeded.a.tenant.id
    async with uows(read_only=True) as reader:
        before = await reader.users.count(tenant)
        with _write_lock(engine):  # a writer elsewhere: the reader does not wait for it
            started = time.monotonic()
            assert await reader.users.count(tenant) == before
            assert time.monotonic() - started < 1.0  # not the 5 s busy timeout
        async with uows() as writer:
            await writer.users.add(r.user(tenant))
            await writer.commit()
        assert await reader.users.count(tenant) == before  # its snapshot, not the new row
    async with uows(read_only=True) as fresh:
        assert await fresh.users.count(tenant) == before + 1


async def test_a_new_connection_is_opened_off_the_loop(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    """Opening a connection reads the database (its pragmas) and may wait in SQLite's busy
    handler: it happens on a worker thread. An exclusive lock (WAL in locking_mode=EXCLUSIVE)
    makes even that read wait."""
    tenant = seeded.a.tenant.id
    await engine.dispose()  # no connection open: the exclusive lock needs none
    with _write_lock(engine, exclusive=True) as other:

        async def release() -> None:
            other.close()

        releaser = asyncio.create_task(_after(0.2, release()))
        ticker = _Ticker()
        async with uows(read_only=True) as reader:
            assert await reader.users.count(tenant) == 1
        ticks = ticker.stop()
        await releaser
    assert ticks >= 5


async def test_a_reader_whose_first_read_is_busy_tries_again(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite may answer SQLITE_BUSY to a WAL reader's first read (another connection is
    recovering or restarting the WAL): the reader rolls back, sleeps and reads again, bounded."""
    tenant = seeded.a.tenant.id
    real = sa.engine.Connection.execute
    failures = {"left": 3}

    def busy_thrice(self: sa.engine.Connection, *args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = 261  # type: ignore[attr-defined]  # SQLITE_BUSY_RECOVERY
            raise sa.exc.OperationalError("SELECT", None, error)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(sa.engine.Connection, "execute", busy_thrice)
    async with uows(read_only=True) as reader:
        assert await reader.users.count(tenant) == 1
    assert failures["left"] == 0

    failures["left"] = 10_000  # busy for good: Unavailable within the busy timeout (5 s)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        async with uows(read_only=True) as reader:
            await reader.users.count(tenant)
    assert 4.5 < time.monotonic() - started < 10


async def test_an_error_rolls_back_and_the_connection_is_clean_for_the_next(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    tenant = seeded.a.tenant.id
    with pytest.raises(RuntimeError):
        async with uows() as uow:
            await uow.logs.add(r.log_event(tenant))
            raise RuntimeError("the service failed after its write")
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.users.add(seeded.a.user)  # its user_id is taken
    assert await count(engine, t.log_events) == 0
    async with uows() as uow:  # the pooled connection carries no transaction over
        await uow.logs.add(r.log_event(tenant))
        await uow.commit()
    assert await count(engine, t.log_events) == 1


async def test_connections_are_reused_and_closed_with_the_engine(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    sync = loop_engine(engine)
    assert sync is not None
    opened: list[object] = []
    event.listen(sync.engine, "connect", lambda dbapi, _record: opened.append(dbapi))
    sync.engine.dispose()  # start from an empty pool, counting what is opened
    for _ in range(20):
        async with uows(read_only=True) as uow:
            await uow.users.count(seeded.a.tenant.id)
        async with uows() as uow:
            await uow.logs.add(r.log_event(seeded.a.tenant.id))
            await uow.commit()
    assert len(opened) == 1
    assert sync.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    await engine.dispose()  # closes the loop connections too
    assert sync.engine.pool.checkedin() == 0  # type: ignore[attr-defined]


async def test_a_pooled_connection_serves_another_event_loop_in_another_thread(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    tenant = seeded.a.tenant.id

    async def write() -> None:
        async with uows() as uow:
            await uow.logs.add(r.log_event(tenant))
            await uow.commit()

    await write()
    threads: set[int] = set()
    sync = loop_engine(engine)
    assert sync is not None
    event.listen(sync.engine, "checkout", lambda *_: threads.add(threading.get_ident()))
    await asyncio.to_thread(asyncio.run, write())  # a new loop, the same pool
    await write()
    assert len(threads) == 2
    assert await count(engine, t.log_events) == 3


def _count_to(n: int) -> sa.TextClause:
    return sa.text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) "
        "SELECT count(*) FROM c"
    ).execution_options(**{THREADED: True})


async def test_a_threaded_statement_leaves_the_loop_free_and_cancels_cleanly(
    engine: AsyncEngine,
) -> None:
    sync = loop_engine(engine)
    assert sync is not None
    conn = await LoopConnection.open(sync, read_only=True)
    try:
        ticker = _Ticker()
        assert await conn.scalar(_count_to(2_000_000), {"n": 2_000_000}) == 2_000_000
        assert ticker.stop() >= 5  # the loop ran while the thread counted

        # Some 10-30 s of counting: a cancelled unit of work interrupts it.
        task = asyncio.create_task(conn.scalar(_count_to(50_000_000), {"n": 50_000_000}))
        await asyncio.sleep(0.05)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 3
        await conn.rollback()
        assert await conn.scalar(sa.text("SELECT 1")) == 1  # the connection still works
    finally:
        await conn.close()


async def test_wal_checkpoints_run_on_a_worker_thread(
    uows: SqlUnitOfWorkFactory,
    seeded: Seeded,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loop connections do not autocheckpoint (it would run in the committing connection, on
    the loop); every so many commits a checkpoint is handed to a thread."""
    import tether.storage.loop_sqlite as loop_sqlite

    monkeypatch.setattr(loop_sqlite, "COMMITS_PER_CHECKPOINT", 16)
    sync = loop_engine(engine)
    assert sync is not None
    threads: set[int] = set()
    real = loop_sqlite.Checkpointer._checkpoint

    def spy(self: loop_sqlite.Checkpointer) -> None:
        threads.add(threading.get_ident())
        real(self)

    monkeypatch.setattr(loop_sqlite.Checkpointer, "_checkpoint", spy)
    for _ in range(100):
        async with uows() as uow:
            await uow.logs.add_many([r.log_event(seeded.a.tenant.id) for _ in range(5)])
            await uow.commit()
        await asyncio.sleep(0)
    for _ in range(500):  # the last one may still be running
        if not sync.checkpoints._running.locked():
            break
        await asyncio.sleep(0.01)
    assert sync.checkpoints.runs >= 1
    assert threads and threading.get_ident() not in threads
    with sync.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0


#: Who holds a byte of a file, as the kernel answers another process (fcntl F_GETLK): the lock
#: type and the holder's pid, or F_UNLCK. ``struct flock`` on Linux: l_type, l_whence, l_start,
#: l_len, l_pid, in native alignment.
_WHO_LOCKS = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, int(sys.argv[2]), 1, 0)
kind, _, _, _, pid = struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, query))
print(kind == fcntl.F_UNLCK and "none" or pid)
"""

#: The WAL-index's "dead man switch" byte: every process using the database holds a shared
#: lock on it; one that finds it unlocked rebuilds the WAL-index (SQLite's os_unix.c,
#: UNIX_SHM_DMS: 120 + 8 lock bytes).
_DMS_BYTE = 128


async def test_checkpoint_checks_keep_the_processes_sqlite_locks(
    uows: SqlUnitOfWorkFactory,
    seeded: Seeded,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deciding when to checkpoint opens none of SQLite's files. A descriptor of the -shm file
    opened and closed drops every POSIX lock the process holds on it, the shared lock on the
    dead man switch among them; the next process to open the database then rebuilds the
    WAL-index under the feet of this one, which dies of SIGBUS (a server lost during
    ``tether db backup``). After commits and checkpoints, another process still sees ours."""
    import os
    import subprocess
    import sys

    import tether.storage.loop_sqlite as loop_sqlite

    monkeypatch.setattr(loop_sqlite, "COMMITS_PER_CHECKPOINT", 4)
    sync = loop_engine(engine)
    assert sync is not None
    for _ in range(20):
        async with uows() as uow:
            await uow.logs.add_many([r.log_event(seeded.a.tenant.id)])
            await uow.commit()
    for _ in range(500):
        if not sync.checkpoints._running.locked():
            break
        await asyncio.sleep(0.01)
    assert sync.checkpoints.runs >= 1
    answer = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _WHO_LOCKS, _path(engine) + "-shm", str(_DMS_BYTE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    holder = answer.stdout.strip()
    assert holder == str(os.getpid())
