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


_FIELD_NAMES: dict[type, frozenset[str]] = {}
_COLUMNS: dict[tuple[type, sa.Table, tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]] = {}


def _field_names(cls: type) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return names


def _columns_of(
    cls: type, table: sa.Table, renames: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """(field, column) for each field of ``cls`` that ``table`` has a column for."""
    key = (cls, table, renames)
    found = _COLUMNS.get(key)
    if found is None:
        columns = set(table.c.keys())
        named = dict(renames)
        pairs = ((f.name, named.get(f.name, f.name)) for f in fields(cls))
        found = _COLUMNS[key] = tuple((n, c) for n, c in pairs if c in columns)
    return found


# Both run on every row read and written: the dataclass's fields are looked up once per class
# (and table), not per call.
def to_record(cls: type[R], row: Any, **extra: Any) -> R:
    names = _field_names(cls)
    values = {k: v for k, v in row._mapping.items() if k in names}
    values.update(extra)
    return cls(**values)


def to_values(record: Any, table: sa.Table, **renames: str) -> dict[str, Any]:
    pairs = _columns_of(type(record), table, tuple(sorted(renames.items())))
    return {column: getattr(record, name) for name, column in pairs}


def revoke_for_user(table: sa.Table) -> sa.Update:
    """Every live row of one user in ``table`` ends (an unlink, a password change): built once
    per table, run with ``b_tenant``, ``b_user`` and ``at`` (a statement built per call costs
    more than it takes to run)."""
    return (
        table.update()
        .where(
            table.c.tenant_id == sa.bindparam("b_tenant"),
            table.c.user_pk == sa.bindparam("b_user"),
            table.c.revoked_at.is_(None),
        )
        .values(revoked_at=sa.bindparam("at"))
    )


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
