"""Engines: SQLite (embedded default) and PostgreSQL (asyncpg), with the pragmas and pool
settings each needs."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tether.storage.loop_sqlite import LoopEngine, loop_url


def create_engine(
    url: str,
    *,
    busy_timeout_ms: int = 5000,
    schema: str | None = None,
    statements_on_loop: bool = True,
) -> AsyncEngine:
    """An async engine for ``url``. ``schema`` pins PostgreSQL's search_path (tests use it).

    On SQLite the units of work run their statements on the event loop through a pool of
    stdlib sqlite3 connections beside the engine (storage/loop_sqlite.py; issue 13, decision 3)
    unless ``statements_on_loop`` is off (the benchmark's "before"); the async engine itself
    serves migrations, health checks and tests."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        engine = create_async_engine(url, **kwargs)
        _sqlite_setup(engine, busy_timeout_ms)
        sync_url = loop_url(parsed) if statements_on_loop else None
        if sync_url is not None:
            loop = LoopEngine(sync_url, busy_timeout_ms)
            _LOOP_ENGINES[engine.sync_engine] = loop
            # AsyncEngine.dispose disposes its sync engine, which tells its listeners.
            event.listen(engine.sync_engine, "engine_disposed", lambda _e: loop.dispose())
        return engine
    connect_args: dict[str, Any] = {"timeout": 5, "command_timeout": 30}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        pool_pre_ping=False,
        connect_args=connect_args,
    )


#: The execution option a read-only unit of work sets on its connection (storage/uow.py).
READ_ONLY = "tether_read_only"

#: SQLite engines made here, with their busy timeout in seconds (see ``sqlite_busy_timeout``).
_SQLITE_ENGINES: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


#: The pool of stdlib sqlite3 connections beside each SQLite engine (storage/loop_sqlite.py).
_LOOP_ENGINES: weakref.WeakKeyDictionary[Engine, LoopEngine] = weakref.WeakKeyDictionary()


def loop_engine(engine: AsyncEngine) -> LoopEngine | None:
    """The sync engine whose connections run ``engine``'s units of work on the event loop."""
    return _LOOP_ENGINES.get(engine.sync_engine)


def statement_engines(engine: AsyncEngine) -> list[Engine]:
    """The sync engines whose connections run ``engine``'s statements: its own and, on SQLite,
    the units of work's loop pool. A statement event listener (``before_cursor_execute``, as
    tests count statements) goes on each."""
    loop = loop_engine(engine)
    return [engine.sync_engine] + ([loop.engine] if loop is not None else [])


def sqlite_busy_timeout(engine: AsyncEngine) -> float | None:
    """The busy timeout, in seconds, of a SQLite engine made by ``create_engine``; else None."""
    return _SQLITE_ENGINES.get(engine.sync_engine)


def _sqlite_setup(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    _SQLITE_ENGINES[engine.sync_engine] = busy_timeout_ms / 1000

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that later upgrades to
        # a writer can fail at once with "database is locked" instead of waiting its turn. A
        # read-only unit of work never upgrades: a deferred BEGIN reads a snapshot, no lock.
        read_only = conn.get_execution_options().get(READ_ONLY)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
