"""Readiness probes for the database (domain/health.py): it answers, and its schema is at the
revision this code was written for."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine

from tether.domain.health import Check, Probe
from tether.storage import migrate


def database_probe(engine: AsyncEngine) -> Probe:
    async def probe() -> Check:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return Check(True)

    return probe


async def _revision(engine: AsyncEngine) -> str | None:
    """migrate.current_revision without Alembic's context, which logs two lines a call: this
    runs at every load balancer poll."""

    def read(sync_conn: sa.Connection) -> str | None:
        if not sa.inspect(sync_conn).has_table("alembic_version"):
            return None
        value = sync_conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return str(value) if value is not None else None

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def migrations_probe(engine: AsyncEngine) -> Probe:
    """Ready at this code's head; also when the database is at a revision this code does not
    know, which is a newer release's: during a rolling upgrade the old processes keep serving
    (each migration stays readable by the release before it, docs/deploy.md). Not ready when
    the database is behind: run ``tether db upgrade``."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    head = script.get_current_head()

    async def probe() -> Check:
        current = await _revision(engine)
        values = {"database": current, "code": head}
        if current == head:
            return Check(True, values=values)
        if current is None:
            return Check(False, "no schema: run `tether db upgrade`", values)
        try:
            script.get_revision(current)
        except CommandError:
            return Check(True, "the database is at a newer release's revision", values)
        return Check(False, "the database is behind: run `tether db upgrade`", values)

    return probe
