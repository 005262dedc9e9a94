"""Unit of work: one connection, one transaction, every repository on it.

SQLAlchemy errors never leave this package: an IntegrityError becomes a domain Conflict and a
locked or unreachable database becomes Unavailable (the web layer answers 503 with Retry-After).

The transaction begins with the first statement (a unit of work that runs none costs nothing)
and, after ``commit`` or ``rollback``, the next statement begins the next one. On SQLite, whose
one write lock every transaction takes (BEGIN IMMEDIATE), the units of work of one process take
turns on an asyncio lock first: a waiter then waits for its turn instead of polling the database
lock in SQLite's busy handler, which sleeps up to 100 ms a try while the lock sits free. The wait
is bounded by the engine's busy timeout and ends in Unavailable, as a busy database does.

A write to a tenant's configuration (tenants, signing keys, applications, APIs, client grants,
connections) notes the tenant; ``commit`` then bumps those tenants' ``config_version`` in the
same transaction, and after it the factory's listeners hear which tenants changed, so the
writing process's read model applies the change at once (domain/configuration.py).

A read-only unit of work (``uows(read_only=True)``) skips both on SQLite: it begins a deferred
transaction, a WAL snapshot that neither waits for the writer nor blocks it, so reads run beside
writes and beside each other in every worker. It must not write (SQLite would have to upgrade it
to a writer, which may fail at once with "database is locked"). On PostgreSQL it runs without
a transaction (AUTOCOMMIT): at READ COMMITTED each statement reads its own snapshot either way,
and a read is then one round trip instead of three (issue 13, decision 3).

On SQLite the statements run on the event loop through stdlib sqlite3 (storage/loop_sqlite.py):
no thread round trip per statement; lock waits are asyncio sleeps there.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import cast

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tether.domain.errors import Conflict, Unavailable
from tether.domain.metrics import NO_METRICS, Metrics
from tether.storage import repositories as repos
from tether.storage import tables as t
from tether.storage.db import READ_ONLY, loop_engine, sqlite_busy_timeout
from tether.storage.loop_sqlite import LoopConnection

#: PostgreSQL's deadlock_detected and serialization_failure: two transactions collided and one
#: was rolled back whole. The client may simply try again, so it is a 409, not a 500.
_COLLISIONS = frozenset({"40P01", "40001"})


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def translate(exc: BaseException) -> Exception | None:
    """The domain error an exception from the database stands for, if any."""
    if isinstance(exc, DBAPIError) and _sqlstate(exc) in _COLLISIONS:
        return Conflict(
            "The change collided with another made at the same time; try again.", code="conflict"
        )
    if isinstance(exc, IntegrityError):
        return Conflict("The change conflicts with existing data.", code="conflict")
    if isinstance(exc, OperationalError | PoolTimeout | ConnectionError | OSError):
        return Unavailable("The database is busy or unreachable.")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return Unavailable("The database connection was lost.")
    return None


class SqlUnitOfWork:
    tenants: repos.Tenants
    keys: repos.Keys
    applications: repos.Applications
    apis: repos.Apis
    client_grants: repos.ClientGrants
    connections: repos.Connections
    users: repos.Users
    identities: repos.Identities
    credentials: repos.Credentials
    refresh_tokens: repos.RefreshTokens
    password_tickets: repos.PasswordTickets
    logs: repos.Logs
    outbox: repos.Outbox
    sessions: repos.Sessions
    transactions: repos.Transactions
    codes: repos.Codes
    consents: repos.Consents
    passwordless: repos.Passwordless
    login_tickets: repos.LoginTickets
    upstream_flows: repos.UpstreamFlows
    admins: repos.Admins
    account_flows: repos.AccountFlows
    jobs: repos.Jobs
    bulk_users: repos.BulkUsers

    def __init__(
        self,
        engine: AsyncEngine,
        turns: _Turns | None = None,
        *,
        read_only: bool = False,
        metrics: Metrics = NO_METRICS,
        listeners: list[Callable[[frozenset[str]], None]] | None = None,
    ):
        self._engine = engine
        self._listeners = listeners if listeners is not None else []
        self._touched: set[str] = set()
        self._metrics = metrics
        self._read_only = read_only
        self._turns = None if read_only else turns if turns is not None else _turns_for(engine)
        self._lock: asyncio.Lock | None = None
        self._conn: AsyncConnection | LoopConnection | None = None
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> SqlUnitOfWork:
        asked = time.monotonic()
        if self._turns is not None:
            self._lock = await self._turns.take()
        try:
            conn = await self._connect()
        except BaseException as exc:
            self._release()
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        # The wait for a pooled connection (and on SQLite for the writer's turn): the metric
        # that says the pool is too small or the database too slow.
        self._metrics.database_wait(time.monotonic() - asked)
        self._conn = conn
        # LoopConnection offers the part of AsyncConnection the repositories call.
        repo_conn = cast(AsyncConnection, conn)
        touched = self._touched
        self.tenants = repos.Tenants(repo_conn, touched)
        self.keys = repos.Keys(repo_conn, touched)
        self.applications = repos.Applications(repo_conn, touched)
        self.apis = repos.Apis(repo_conn, touched)
        self.client_grants = repos.ClientGrants(repo_conn, touched)
        self.connections = repos.Connections(repo_conn, touched)
        self.users = repos.Users(repo_conn)
        self.identities = repos.Identities(repo_conn)
        self.credentials = repos.Credentials(repo_conn)
        self.refresh_tokens = repos.RefreshTokens(repo_conn)
        self.password_tickets = repos.PasswordTickets(repo_conn)
        self.logs = repos.Logs(repo_conn)
        self.outbox = repos.Outbox(repo_conn)
        self.sessions = repos.Sessions(repo_conn)
        self.transactions = repos.Transactions(repo_conn)
        self.codes = repos.Codes(repo_conn)
        self.consents = repos.Consents(repo_conn)
        self.passwordless = repos.Passwordless(repo_conn)
        self.login_tickets = repos.LoginTickets(repo_conn)
        self.upstream_flows = repos.UpstreamFlows(repo_conn)
        self.admins = repos.Admins(repo_conn)
        self.account_flows = repos.AccountFlows(repo_conn)
        self.jobs = repos.Jobs(repo_conn)
        self.bulk_users = repos.BulkUsers(repo_conn)
        self.login_blocks = repos.LoginBlocks(repo_conn)
        self.verification_tickets = repos.VerificationTickets(repo_conn)
        self.link_choices = repos.LinkChoices(repo_conn)
        return self

    async def _connect(self) -> AsyncConnection | LoopConnection:
        sync = loop_engine(self._engine)
        if sync is not None:  # SQLite: statements on the event loop (storage/loop_sqlite.py)
            return await LoopConnection.open(sync, read_only=self._read_only)
        conn = await self._engine.connect()
        if self._read_only:
            options: dict[str, object] = {READ_ONLY: True}
            if conn.dialect.name == "postgresql":
                # At READ COMMITTED every statement reads its own snapshot, in a transaction or
                # not, so BEGIN and ROLLBACK would buy a reader nothing but two round trips:
                # without them a read is one (issue 13, decision 3).
                options["isolation_level"] = "AUTOCOMMIT"
            await conn.execution_options(**options)
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        self._after_commit.clear()
        self._touched.clear()
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            try:
                await conn.close()  # after a failed BEGIN (SQLite busy) too: no leak
            finally:
                self._release()
        if exc is not None:
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc

    async def commit(self) -> None:
        assert self._conn is not None  # noqa: S101
        changed = frozenset(self._touched)
        if changed:
            # In the change's own transaction: the version moves if and only if the change lands.
            await self._conn.execute(
                t.tenants.update()
                .where(t.tenants.c.id.in_(sorted(changed)))
                .values(config_version=t.tenants.c.config_version + 1)
            )
        await self._conn.commit()  # the next statement, if any, begins the next transaction
        self._touched.clear()
        callbacks, self._after_commit = self._after_commit, []
        if changed:
            for listener in self._listeners:
                listener(changed)
        for callback in callbacks:
            callback()

    async def rollback(self) -> None:
        assert self._conn is not None  # noqa: S101
        self._after_commit.clear()
        self._touched.clear()
        await self._conn.rollback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


class _Turns:
    """One asyncio lock per event loop for the units of work on one SQLite engine."""

    def __init__(self, timeout: float):
        self._timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def take(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        try:
            async with asyncio.timeout(self._timeout):
                await lock.acquire()
        except TimeoutError as exc:
            raise Unavailable("The database is busy or unreachable.") from exc
        return lock


_TURNS: weakref.WeakKeyDictionary[AsyncEngine, _Turns] = weakref.WeakKeyDictionary()


def _turns_for(engine: AsyncEngine) -> _Turns | None:
    """The turns of a SQLite engine made by ``create_engine``; None for any other engine."""
    timeout = sqlite_busy_timeout(engine)
    if timeout is None:
        return None
    turns = _TURNS.get(engine)
    if turns is None:
        turns = _TURNS[engine] = _Turns(timeout)
    return turns


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, *, metrics: Metrics = NO_METRICS):
        self.engine = engine
        self._turns = _turns_for(engine)
        self._metrics = metrics
        self._listeners: list[Callable[[frozenset[str]], None]] = []

    def on_configuration_change(self, listener: Callable[[frozenset[str]], None]) -> None:
        """``listener`` hears, after each commit that changed configuration, whose tenants."""
        self._listeners.append(listener)

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine,
            self._turns,
            read_only=read_only,
            metrics=self._metrics,
            listeners=self._listeners,
        )
