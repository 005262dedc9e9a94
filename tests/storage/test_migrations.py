"""Migrations: an empty database upgrades to head, and the result is exactly tables.metadata, so
the models and the Alembic history cannot drift apart.

SQLite runs on a temporary file. PostgreSQL (when TETHER_TEST_DATABASE_URL is set) gets a fresh
database of its own: the first test migrates its ``public`` schema, as a deployment has it; the
others each take a schema of that database.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import PG_URL
from tests.storage import records as r
from tether.domain.errors import Conflict
from tether.storage import migrate
from tether.storage.db import create_engine
from tether.storage.tables import metadata
from tether.storage.uow import SqlUnitOfWorkFactory


@dataclass
class Target:
    """Where a test migrates: a SQLite file, or on PostgreSQL a schema of the fresh database
    (``schema=None``: its ``public`` schema)."""

    url: str
    schema: str | None = None

    def engine(self) -> AsyncEngine:
        return create_engine(self.url, schema=self.schema)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fresh_database() -> AsyncIterator[str | None]:
    """PostgreSQL: one new database for this module (CREATE and DROP DATABASE are slow on a busy
    server, so once), dropped at the end. SQLite: None."""
    if not PG_URL:
        yield None
        return
    name = "tether_mig_" + secrets.token_hex(6)
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def target(fresh_database: str | None, tmp_path: Path) -> AsyncIterator[Target]:
    """An empty place to migrate, of this test's own."""
    if fresh_database is None:
        yield Target(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
        return
    schema = "m_" + secrets.token_hex(6)
    admin = create_async_engine(fresh_database, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield Target(fresh_database, schema)
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture
async def empty(target: Target) -> AsyncIterator[AsyncEngine]:
    engine = target.engine()
    yield engine
    await engine.dispose()


def _diff(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; index_names() below covers them.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return list(compare_metadata(context, metadata))


def _index_names(sync_conn: Any) -> set[str]:
    if sync_conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return set(sync_conn.exec_driver_sql(sql).scalars())


async def index_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_index_names)


def model_index_names() -> set[str]:
    return {str(index.name) for table in metadata.tables.values() for index in table.indexes}


async def schema_diff(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_empty_database_upgrades_to_head_matching_the_models(
    fresh_database: str | None, tmp_path: Path
) -> None:
    """The whole database, on PostgreSQL its plain ``public`` schema as a deployment has it."""
    empty = Target(fresh_database or f"sqlite+aiosqlite:///{tmp_path / 'public.db'}").engine()
    try:
        await _empty_database_upgrades_to_head_matching_the_models(empty)
    finally:
        await empty.dispose()


async def _empty_database_upgrades_to_head_matching_the_models(empty: AsyncEngine) -> None:
    assert await migrate.current_revision(empty) is None
    await migrate.upgrade(empty)
    head = migrate.head_revision()
    assert head is not None
    assert await migrate.current_revision(empty) == head
    assert await table_names(empty) == set(metadata.tables) | {"alembic_version"}
    assert await schema_diff(empty) == []
    # Every index of the models exists, expression and partial ones included (which
    # compare_metadata cannot see on SQLite, or whose predicate it does not compare).
    missing = model_index_names() - await index_names(empty)
    assert not missing


async def test_upgrading_twice_is_a_no_op(empty: AsyncEngine) -> None:
    await migrate.upgrade(empty)
    kept = r.tenant(name="kept")
    async with SqlUnitOfWorkFactory(empty)() as uow:
        await uow.tenants.add(kept)
        await uow.commit()
    await migrate.upgrade(empty)
    assert await migrate.current_revision(empty) == migrate.head_revision()
    assert await schema_diff(empty) == []
    async with SqlUnitOfWorkFactory(empty)() as uow:
        assert await uow.tenants.list() == [kept]


async def test_partial_unique_indexes_survive_migration(empty: AsyncEngine) -> None:
    """compare_metadata does not compare index predicates: check the rules on migrated tables."""
    await migrate.upgrade(empty)
    uows = SqlUnitOfWorkFactory(empty)
    tenant = r.tenant(is_default=True)
    conn = r.connection(tenant.id)
    user = r.user(tenant.id)
    async with uows() as uow:
        await uow.tenants.add(tenant)
        await uow.tenants.add(r.tenant())
        await uow.tenants.add(r.tenant())
        await uow.connections.add(conn)
        await uow.users.add(user)
        await uow.identities.add(r.identity(user, conn, is_primary=True))
        await uow.identities.add(r.identity(user, conn))
        await uow.identities.add(r.identity(user, conn))
        await uow.commit()
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.tenants.add(r.tenant(is_default=True))
            await uow.commit()
    with pytest.raises(Conflict):
        async with uows() as uow:
            await uow.identities.add(r.identity(user, conn, is_primary=True))
            await uow.commit()
    with pytest.raises(Conflict):  # foreign keys are on in the migrated schema too
        async with uows() as uow:
            await uow.identities.add(r.identity(r.user(tenant.id), conn))
            await uow.commit()


async def test_step_by_step_upgrade_and_full_downgrade(empty: AsyncEngine) -> None:
    """Every revision applies on its own, and downgrade to base removes every table."""
    script = migrate.ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert revisions[-1] == migrate.head_revision()
    for revision in revisions:
        await migrate.upgrade(empty, revision=revision)
        assert await migrate.current_revision(empty) == revision
    assert await schema_diff(empty) == []

    def _downgrade(sync_conn: Any) -> None:
        config = migrate.alembic_config(str(empty.url))
        config.attributes["connection"] = sync_conn
        with warnings.catch_warnings():  # batch mode reflects users; see _diff
            warnings.filterwarnings("ignore", message=".*expression-based index")
            command.downgrade(config, "base")

    async with empty.connect() as conn:
        await conn.run_sync(_downgrade)
        await conn.commit()
    assert await migrate.current_revision(empty) is None
    assert await table_names(empty) <= {"alembic_version"}


def test_upgrade_sync_from_a_url(target: Target) -> None:
    """``tether db upgrade`` runs Alembic's own env.py with a URL, outside any event loop."""
    migrate.upgrade_sync(target.url, schema=target.schema)
    migrate.upgrade_sync(target.url, schema=target.schema)  # idempotent

    async def check() -> tuple[str | None, list[Any]]:
        engine = target.engine()
        try:
            return await migrate.current_revision(engine), await schema_diff(engine)
        finally:
            await engine.dispose()

    revision, diff = migrate.run(check())  # type: ignore[misc]
    assert revision == migrate.head_revision()
    assert diff == []


async def test_0016_defines_the_new_management_scopes_for_older_tenants(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    """A tenant made before create:user_tickets and update:client_keys existed gets their
    definitions on its Management API (so a client grant can name them), once, and nothing
    else changes; a tenant that has them is left as it is."""
    from tests.conftest import FAST_HASH, make_settings
    from tether.bootstrap import build_container
    from tether.storage.tables import apis

    await migrate.upgrade(empty)
    c = build_container(make_settings(tmp_path), engine=empty, hash_parameters=FAST_HASH)
    await c.provision()
    new = {"create:user_tickets", "update:client_keys"}

    async def system_scopes() -> list[str]:
        async with empty.connect() as conn:
            stored = (await conn.execute(sa.select(apis.c.scopes).where(apis.c.is_system))).one()
        return [s["value"] for s in stored[0]]

    before = await system_scopes()
    assert new <= set(before)
    older = [s for s in before if s not in new]
    async with empty.begin() as conn:  # the tenant as release 0015 made it
        await conn.execute(
            apis.update()
            .where(apis.c.is_system)
            .values(scopes=[{"value": v, "description": v} for v in older])
        )
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0015'"))

    await migrate.upgrade(empty)

    after = await system_scopes()
    assert after[: len(older)] == older and sorted(after[len(older) :]) == sorted(new)
    await migrate.upgrade(empty)  # at head: nothing runs again
    assert await system_scopes() == after
