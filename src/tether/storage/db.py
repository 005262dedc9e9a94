"""Engines: SQLite (embedded default) and PostgreSQL (asyncpg), with the pragmas and pool
settings each needs."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(
    url: str, *, busy_timeout_ms: int = 5000, schema: str | None = None
) -> AsyncEngine:
    """An async engine for ``url``. ``schema`` pins PostgreSQL's search_path (tests use it)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        engine = create_async_engine(url, **kwargs)
        _sqlite_setup(engine, busy_timeout_ms)
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
