"""SQLite statements on the event loop (issue 13, decision 3: "No per-statement thread hop on the
SQLite hot paths").

Through SQLAlchemy's aiosqlite adapter every statement crosses to aiosqlite's connection thread
and back about four times (cursor, execute, fetch, close), each hop some 28 us of CPU plus a wait
for the event loop to run again. A SQLite statement of the hot paths (a point read by key, an
insert) runs in 10-50 us, so the hops cost more than the work. Here a unit of work's connection
is a synchronous SQLAlchemy ``Connection`` (stdlib sqlite3, the same pragmas) and its statements
run on the event loop itself; ``LoopConnection`` offers the awaitable subset of
``AsyncConnection`` the repositories use, so neither they nor the domain change.

What must never block the loop is a wait for a lock, and SQLite waits in its busy handler, a
sleep in the calling thread. So these connections run with ``busy_timeout=0`` and the waits are
here, as ``asyncio.sleep``:

- A writer first takes the writers' turn across this database's processes, which the kernel
  hands on the moment it is let go (storage/writer_turn.py says why polling was not enough),
  then begins with ``BEGIN IMMEDIATE``, SQLite's one write lock. A writer that takes no turn
  (the CLI, a backup) can still hold that lock: then the writer sleeps 0.5 ms, 1, 2, up to 4 ms
  between tries. Both waits end at the engine's busy timeout with the error, which the unit of
  work turns into Unavailable.
- A reader begins with a deferred ``BEGIN``: its first read takes a WAL snapshot and waits for
  no one. SQLite can still answer SQLITE_BUSY to that first read in rare moments (another
  connection is recovering the WAL index after a crash, or resetting the WAL); the reader then
  rolls back, sleeps and tries again the same way. A later read of the same transaction reads
  its snapshot and is never busy.
- Inside a writer's transaction nothing else waits: in WAL mode the write lock covers every
  statement and the COMMIT. A COMMIT that still fails (disk full, I/O error) rolls back and
  becomes Unavailable; it is not retried.
- SQLite's WAL autocheckpoint would run in the committing connection, on the loop: it is off
  here and a worker thread checkpoints instead (``Checkpointer``).

A statement marked ``THREADED`` (an execution option: the import and export pages, user search,
whose scans can take tens of milliseconds on a large tenant) runs on a worker thread instead, on
the same connection, while the unit of work awaits it; its rows are read there too, since sqlite3
computes rows lazily as they are fetched.

Connections are pooled per engine (a ``QueuePool`` that never blocks: past its size it opens
more and closes them on return), are not tied to a thread or an event loop (``check_same_thread``
off; one unit of work uses a connection at a time), and are closed when the async engine is
disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Dialect, Result
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from tether.storage.writer_turn import TurnTimeout, WriterTurn

#: The execution option that sends a statement to a worker thread (see the module docstring).
THREADED = "tether_threaded"

#: Pooled connections kept open per engine; more are opened when needed (never a wait).
POOL_SIZE = 8

#: Commits by this process that start a checkpoint: about SQLite's autocheckpoint threshold of
#: 1,000 WAL frames (pages) at the 3-5 pages a hot-path commit writes.
COMMITS_PER_CHECKPOINT = 250

#: Growth of the ``-wal`` file since the last checkpoint that starts one sooner (large
#: transactions such as a bulk import's): 1,000 frames of 4 KiB pages.
WAL_GROWTH = 1000 * 4096

_FIRST_DELAY = 0.0005
_MAX_DELAY = 0.004


def loop_url(url: URL) -> URL | None:
    """The stdlib-sqlite3 URL of the same database file, or None for an in-memory database
    (each connection would be a database of its own)."""
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        return None
    return url.set(drivername="sqlite+pysqlite")


class LoopEngine:
    """The pool of loop connections beside one SQLite engine, and its checkpointer."""

    def __init__(self, url: URL, busy_timeout_ms: int):
        self.busy_timeout = busy_timeout_ms / 1000
        self.engine = sa.create_engine(
            url,
            poolclass=QueuePool,
            pool_size=POOL_SIZE,
            max_overflow=-1,
            connect_args={"check_same_thread": False, "timeout": self.busy_timeout},
        )
        self.checkpoints = Checkpointer(url.database or "", self.busy_timeout)
        self.turn = WriterTurn(url.database or "")
        event.listen(self.engine, "connect", _on_connect)

    def dispose(self) -> None:
        self.engine.dispose()
        self.checkpoints.close()
        self.turn.close()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by LoopConnection, not by the driver.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    # The checkpoints are the Checkpointer's, on a worker thread (its docstring).
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    # Every later wait for a lock is an asyncio.sleep in LoopConnection, not SQLite's sleep.
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def wal_size(wal: str) -> int:
    """The ``-wal`` file's size, 0 when there is none. ``os.stat`` opens no file descriptor:
    see ``Checkpointer`` for why nothing here may open SQLite's files."""
    try:
        return os.stat(wal).st_size
    except OSError:
        return 0


class Checkpointer:
    """WAL checkpoints off the event loop.

    SQLite's autocheckpoint runs in the connection whose COMMIT took the WAL past 1000 pages:
    it copies those pages into the database file and syncs it, 17 ms of wall time for a 4 MB
    WAL on this machine (docs/architecture.md), which on a loop connection would hold the loop.
    So loop connections turn it off, and every ``COMMITS_PER_CHECKPOINT`` commits of this
    process, or sooner when the ``-wal`` file grew by ``WAL_GROWTH``, a worker thread runs the
    same PASSIVE checkpoint on a connection of its own, one at a time. PASSIVE waits for no
    reader or writer: what it cannot copy yet, a later checkpoint does.

    Why not read the frames still to copy from the WAL-index (the ``-shm`` file), as an
    earlier version did: opening and closing any descriptor of that file drops every POSIX
    lock this process holds on it (fcntl locks belong to the process and file, not to the
    descriptor), SQLite's shared "dead man switch" lock among them. The next process to open
    the database then believes itself the only user, truncates and rebuilds the WAL-index, and
    a process still reading its mapping of that file dies of SIGBUS (a worker lost during a
    ``tether db backup``, and both workers of a benchmark at once)."""

    def __init__(self, database: str, busy_timeout: float):
        self._database = database
        self._wal = database + "-wal"
        self._timeout = busy_timeout
        #: Held while a checkpoint runs: a thread lock, since event loops come and go.
        self._running = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        #: The engine was disposed while a checkpoint ran: that thread closes its connection.
        self._close_after = False
        #: Commits since the last checkpoint began, and the WAL file's size then.
        self._commits = 0
        self._wal_size = 0
        #: Checkpoints run (tests and the benchmark read it).
        self.runs = 0

    def after_commit(self) -> None:
        self._commits += 1
        if self._running.locked():
            return
        size = wal_size(self._wal)
        if size < self._wal_size:  # truncated or made anew: measure from here
            self._wal_size = size
        if self._commits < COMMITS_PER_CHECKPOINT and size - self._wal_size < WAL_GROWTH:
            return
        if not self._running.acquire(blocking=False):
            return
        self._commits = 0
        self._wal_size = size
        try:
            asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        except BaseException:
            self._running.release()
            raise

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._database, timeout=self._timeout, check_same_thread=False
                )
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.runs += 1
        except sqlite3.Error:
            pass  # busy or failed: the WAL only grows until the next try
        finally:
            if self._close_after:
                self._close_after = False
                self._close_connection()
            self._running.release()

    def close(self) -> None:
        """Close the checkpoint connection (the engine was disposed); a later checkpoint opens
        another."""
        self._close_after = True
        if self._running.acquire(blocking=False):  # else the running checkpoint closes it
            self._close_after = False
            try:
                self._close_connection()
            finally:
                self._running.release()

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY or one of its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, ...)."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_BUSY


class LoopConnection:
    """A unit of work's connection whose statements run on the event loop (module docstring).

    Only the calls the repositories and the unit of work make: ``execute``, ``scalar``,
    ``scalars``, ``dialect``, ``in_transaction``, ``commit``, ``rollback``, ``close``."""

    @classmethod
    async def open(cls, loop_engine: LoopEngine, *, read_only: bool) -> LoopConnection:
        """A pooled connection; a new one is opened on a worker thread, since opening reads
        the database (its pragmas), which may wait in SQLite's busy handler."""
        engine = loop_engine.engine
        if engine.pool.checkedin() > 0:  # type: ignore[attr-defined]
            sync = engine.connect()
        else:
            sync = await asyncio.to_thread(engine.connect)
        return cls(sync, loop_engine, read_only=read_only)

    def __init__(self, sync: Connection, loop_engine: LoopEngine, *, read_only: bool):
        self._sync = sync
        self._checkpoints = loop_engine.checkpoints
        self._turn = loop_engine.turn
        #: Whether this connection holds the writers' turn (storage/writer_turn.py).
        self._has_turn = False
        driver = self._sync.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # noqa: S101
        self._db = driver
        self._read_only = read_only
        self._timeout = loop_engine.busy_timeout
        #: Statements run in the current transaction (a reader retries only its first).
        self._ran = 0

    @property
    def dialect(self) -> Dialect:
        return self._sync.dialect

    def in_transaction(self) -> bool:
        return self._db.in_transaction or self._sync.in_transaction()

    async def execute(
        self,
        statement: Any,
        parameters: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    ) -> Result[Any]:
        if not self._db.in_transaction:
            await self._begin()
        threaded = isinstance(statement, sa.Executable) and bool(
            statement.get_execution_options().get(THREADED)
        )
        try:
            result = await self._run(statement, parameters, threaded)
        except OperationalError as exc:
            if not (self._read_only and self._ran == 0 and is_busy(exc)):
                raise
            result = await self._first_read_again(statement, parameters, threaded)
        self._ran += 1
        return result

    async def _run(self, statement: Any, parameters: Any, threaded: bool) -> Result[Any]:
        if threaded:
            return await self._in_thread(statement, parameters)
        return self._sync.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def scalars(
        self, statement: Any, parameters: Mapping[str, Any] | None = None
    ) -> sa.ScalarResult[Any]:
        return (await self.execute(statement, parameters)).scalars()

    async def commit(self) -> None:
        wrote = not self._read_only and self._db.in_transaction
        self._end(commit=True)
        if wrote:
            self._checkpoints.after_commit()

    async def rollback(self) -> None:
        self._end(commit=False)

    async def close(self) -> None:
        try:
            self._end(commit=False)
        finally:
            self._sync.close()  # back to the pool

    async def _in_thread(self, statement: Any, parameters: Any) -> Result[Any]:
        work = asyncio.get_running_loop().run_in_executor(
            None, self._buffered, statement, parameters
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # The connection is the thread's until its statement ends: interrupt the statement
            # and wait for it, so the unit of work's rollback and close come after it.
            self._db.interrupt()
            while not work.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([work])
            raise

    def _buffered(self, statement: Any, parameters: Any) -> Result[Any]:
        result = self._sync.execute(statement, parameters)
        if not result.returns_rows:
            return result
        return result.freeze()()  # every row read here, on the worker thread

    async def _first_read_again(
        self, statement: Any, parameters: Any, threaded: bool
    ) -> Result[Any]:
        """A reader's first read answered SQLITE_BUSY (module docstring): begin again after
        growing sleeps, for at most the busy timeout."""
        deadline = time.monotonic() + self._timeout
        delay = _FIRST_DELAY
        while True:
            self._end(commit=False)
            if time.monotonic() + delay > deadline:
                raise OperationalError(
                    "BEGIN", None, sqlite3.OperationalError("database is locked")
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)
            self._db.execute("BEGIN")
            try:
                return await self._run(statement, parameters, threaded)
            except OperationalError as exc:
                if not is_busy(exc):
                    raise

    def _end(self, *, commit: bool) -> None:
        self._ran = 0
        ended = False
        try:
            if self._sync.in_transaction():
                self._sync.commit() if commit else self._sync.rollback()
            # BEGIN is ours, so the driver's transaction can be open while SQLAlchemy's is not
            # (a statement that failed before SQLAlchemy began its own).
            if self._db.in_transaction:
                self._db.commit() if commit else self._db.rollback()
            ended = True
        finally:
            try:
                if not ended and self._db.in_transaction:  # a failed COMMIT: nothing stays open
                    self._db.rollback()
            finally:
                self._give_turn()

    def _give_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            self._turn.give()

    async def _begin(self) -> None:
        """BEGIN: deferred for a reader; for a writer the turn, then IMMEDIATE."""
        if self._read_only:
            self._db.execute("BEGIN")  # takes no lock: the first read takes the snapshot
            return
        deadline = time.monotonic() + self._timeout
        try:
            await self._turn.take(self._timeout)
            self._has_turn = True
        except TurnTimeout:
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            ) from None
        try:
            await self._begin_immediate(deadline)
        except BaseException:
            self._give_turn()
            raise

    async def _begin_immediate(self, deadline: float) -> None:
        """With the turn the lock is free, unless a writer that takes no turn holds it (the
        CLI, a backup): for those, growing sleeps until the deadline."""
        delay = _FIRST_DELAY
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() + delay > deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)
