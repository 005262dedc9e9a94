"""What every repository shares: a connection, and rows to domain records and back."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.storage.loop_sqlite import THREADED

R = TypeVar("R")
E = TypeVar("E", bound=sa.Executable)


def threaded(statement: E) -> E:
    """Mark a statement that may scan many rows (a search, an export or import page, a count
    of a tenant's users): on SQLite it runs on a worker thread, not on the event loop
    (storage/loop_sqlite.py); elsewhere the mark does nothing."""
    return statement.execution_options(**{THREADED: True})


def to_record(cls: type[R], row: Any, **extra: Any) -> R:
    data = dict(row._mapping)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in names}
    values.update(extra)
    return cls(**values)


def to_values(record: Any, table: sa.Table, **renames: str) -> dict[str, Any]:
    columns = set(table.c.keys())
    out: dict[str, Any] = {}
    for f in fields(record):
        column = renames.get(f.name, f.name)
        if column in columns:
            out[column] = getattr(record, f.name)
    return out


class Repository:
    """One port's implementation over the unit of work's connection (storage/uow.py)."""

    def __init__(self, conn: AsyncConnection):
        self._c = conn


class ConfigRepository(Repository):
    """A repository of tenant configuration (tenants, keys, applications, APIs, client grants,
    connections). Each write notes its tenant in ``touched``: the unit of work bumps those
    tenants' ``config_version`` in the same transaction when it commits (storage/uow.py), which
    is how every process learns its in-memory copy is stale (domain/configuration.py)."""

    def __init__(self, conn: AsyncConnection, touched: set[str]):
        super().__init__(conn)
        self._touched = touched

    def _touch(self, tenant_id: str) -> None:
        self._touched.add(tenant_id)
