"""Running Alembic from code: ``tether db upgrade`` and the automatic SQLite upgrade at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, *, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade_sync(url: str, *, schema: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, schema=schema), revision)


async def upgrade(engine: AsyncEngine, *, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` on one of its connections."""

    def _run(sync_conn: object) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    def _read(sync_conn: object) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
