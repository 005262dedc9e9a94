"""Linking is the statements it needs and no more (issue 13, decision 6): each link and unlink
runs exactly the statements listed here, counted by a SQLAlchemy ``before_cursor_execute``
listener, so a read again after the lock, an answer read back from the database or a whole-row
UPDATE cannot creep back in.

On SQLite the write lock is held from the transaction's first statement (BEGIN IMMEDIATE), so
the users are read once; PostgreSQL adds one statement, ``SELECT ... FOR UPDATE`` of the users'
rows before that read. The read models' background polls (the configuration version, the token
cutoffs) and the BEGINs are not the link's and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import World
from tests.linking.support import (
    check_invariants,
    id_token,
    link,
    new_user,
    subject_of,
    unlink,
    user_token,
)
from tether.storage import tables as t
from tether.storage.db import statement_engines

#: Statements of the read models that may run during any request (once a second at most).
POLLS = ("FROM tenants", "tokens_valid_after >=")

_VERB = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b", re.IGNORECASE)
# A table's name, after a schema if any (PostgreSQL tests run in a schema of their own).
_FROM = re.compile(r"\bFROM\s+([\w.\"]+)", re.IGNORECASE)
_TABLE = re.compile(r"^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+([\w.\"]+)", re.IGNORECASE)


def kind(statement: str) -> str:
    """``"SELECT users"``, ``"UPDATE identities"``, ... for one statement's text."""
    verb = _VERB.match(statement)
    if verb is None:
        return statement.split()[0].upper()
    table = (_FROM if verb.group(1).upper() == "SELECT" else _TABLE).search(statement)
    name = table.group(1).replace('"', "").split(".")[-1] if table else "?"
    return f"{verb.group(1).split()[0].upper()} {name}"


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    """The kinds of the statements run on ``engine`` meanwhile (BEGINs and polls left out)."""
    seen: list[str] = []

    def hook(*args: Any) -> None:
        statement = str(args[2])
        if statement.strip().upper().startswith("BEGIN") or any(p in statement for p in POLLS):
            return
        seen.append(kind(statement))

    for target in statement_engines(engine):
        event.listen(target, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        for target in statement_engines(engine):
            event.remove(target, "before_cursor_execute", hook)


def locked_read(engine: AsyncEngine) -> list[str]:
    """How a transaction reads users under their locks: one statement on SQLite, the lock and
    the read on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        return ["SELECT users"]
    return ["SELECT users", "SELECT users"]


async def test_link_and_unlink_run_only_the_statements_they_need(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    a = await new_user(world, "ann@example.com")
    b = await new_user(world, "bob@example.com")
    token = await user_token(http, world.app, "ann@example.com")
    proof = await id_token(http, world.app, "bob@example.com")

    with counted(engine) as linking:
        response = await link(http, token, a.user_id, {"link_with": proof})
    assert response.status_code == 201, response.text
    assert [i["user_id"] for i in response.json()] == [
        subject_of(a.user_id),
        subject_of(b.user_id),
    ]
    with counted(engine) as unlinking:
        response = await unlink(http, token, a.user_id, "auth0", subject_of(b.user_id))
    assert response.status_code == 200, response.text
    assert [i["user_id"] for i in response.json()] == [subject_of(a.user_id)]
    async with engine.connect() as conn:
        recipients = (await conn.execute(sa.select(t.mail_outbox.c.recipient))).scalars().all()
    # Each of the two calls told both accounts (the folded INSERT wrote both rows).
    assert sorted(recipients) == sorted(["ann@example.com", "bob@example.com"] * 2)

    assert linking == [
        *locked_read(engine),  # both users and their identities
        "UPDATE identities",  # the one identity moves: owner, primary mark, link record
        "UPDATE users",  # the primary's updated_at (and merged metadata)
        "DELETE users",  # the secondary's row
        "INSERT log_events",
        "INSERT mail_outbox",  # a mail to each address, in one statement
    ]
    assert unlinking == [
        *locked_read(engine),  # the primary and its identities
        "INSERT users",  # the restored user, unless its user_id is taken (one statement)
        "UPDATE identities",
        "UPDATE refresh_tokens",
        "UPDATE sessions",
        "UPDATE users",
        "INSERT log_events",
        "INSERT mail_outbox",
    ]
    await check_invariants(engine)


async def test_user_updates_write_only_the_changed_columns(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """The primary's UPDATE sets updated_at alone when nothing else changed (metadata_merge is
    discard by default), not the whole row."""
    a = await new_user(world, "ann@example.com")
    await new_user(world, "bob@example.com")
    token = await user_token(http, world.app, "ann@example.com")
    proof = await id_token(http, world.app, "bob@example.com")
    texts: list[str] = []

    def hook(*args: Any) -> None:
        if kind(str(args[2])) == "UPDATE users":
            texts.append(" ".join(str(args[2]).split()))

    for target in statement_engines(engine):
        event.listen(target, "before_cursor_execute", hook)
    try:
        response = await link(http, token, a.user_id, {"link_with": proof})
    finally:
        for target in statement_engines(engine):
            event.remove(target, "before_cursor_execute", hook)

    assert response.status_code == 201, response.text
    assert len(texts) == 1
    assert texts[0].split(" SET ", 1)[1].split(" WHERE ")[0].startswith("updated_at="), texts[0]
    assert "," not in texts[0].split(" SET ", 1)[1].split(" WHERE ")[0], texts[0]


async def test_a_server_side_link_finds_the_secondary_in_one_statement(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    """An administrator's link names a provider and a user id: the identity is found by one
    SELECT whatever the number of connections (it was a lookup per connection), then the
    link runs as a user's does."""
    a = await new_user(world, "ann@example.com")
    b = await new_user(world, "bob@example.com")
    body = {"provider": "auth0", "user_id": subject_of(b.user_id)}

    with counted(engine) as linking:
        response = await link(http, admin_token, a.user_id, body)

    assert response.status_code == 201, response.text
    assert linking == [
        "SELECT identities",
        *locked_read(engine),
        "UPDATE identities",
        "UPDATE users",
        "DELETE users",
        "INSERT log_events",
        "INSERT mail_outbox",
    ]
    await check_invariants(engine)
