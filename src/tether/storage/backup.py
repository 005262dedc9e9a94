"""``tether db backup PATH``: a consistent copy of a SQLite database while Tether serves it.

SQLite's online backup API (https://www.sqlite.org/backup.html, Python's
``sqlite3.Connection.backup``) copies the database page by page through a connection of its
own; pages a writer changes meanwhile are copied again, so the copy is one committed state,
WAL included. The copy is written beside the target and renamed into place, so a crash leaves
no half-written file under the target's name. PostgreSQL has its own tools (``pg_dump``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tether.domain.errors import InvalidInput

PAGES_PER_STEP = 1024  # between steps writers get the database back


async def backup(engine: AsyncEngine, target: Path) -> int:
    """Copy the SQLite database behind ``engine`` to ``target`` (a new file); its size."""
    if engine.dialect.name != "sqlite":
        raise InvalidInput(
            "tether db backup copies SQLite databases; for PostgreSQL use pg_dump, e.g. "
            "pg_dump --format=custom --file=tether.dump DATABASE_URL"
        )
    source = engine.url.database
    if not source or source == ":memory:":
        raise InvalidInput("This SQLite database is in memory: there is no file to back up.")
    partial = target.with_name(f".{target.name}.partial")

    def copy() -> int:
        if target.exists():
            raise InvalidInput(f"{target} exists: choose a new file name.")
        if not target.parent.is_dir():
            raise InvalidInput(f"{target.parent} is not a folder.")
        src = sqlite3.connect(f"file:{Path(source).as_posix()}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst, pages=PAGES_PER_STEP)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
        return target.stat().st_size

    try:
        return await asyncio.to_thread(copy)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"The backup failed: {exc}") from exc
