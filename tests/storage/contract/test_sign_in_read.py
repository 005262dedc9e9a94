"""Repository contract: a password sign-in's one read (``Credentials.with_user``, issue 13
decision 4): the credential, its identity's user and that user's identities in one statement,
as the separate reads gave them; tenant-scoped."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.storage.db import statement_engines
from tether.storage.uow import SqlUnitOfWorkFactory


async def test_the_credential_its_user_and_every_identity_in_one_statement(
    uows: SqlUnitOfWorkFactory, seeded: Seeded, engine: AsyncEngine
) -> None:
    a, b = seeded.a, seeded.b
    google = r.connection(a.tenant.id, name="google-oauth2", strategy="google-oauth2")
    later = r.identity(a.user, google, linked=50, provider="google-oauth2")
    earlier = r.identity(a.user, google, linked=20, provider="google-oauth2")
    cred = r.credential(a.primary)
    async with uows() as uow:
        await uow.connections.add(google)
        await uow.identities.add(later)
        await uow.identities.add(earlier)
        await uow.credentials.add(cred)
        await uow.commit()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    async with uows(read_only=True) as uow:
        for target in statement_engines(engine):
            event.listen(target, "before_cursor_execute", seen)
        try:
            found = await uow.credentials.with_user(a.tenant.id, a.conn.id, cred.email)
        finally:
            for target in statement_engines(engine):
                event.remove(target, "before_cursor_execute", seen)
        expected = await uow.users.by_pk(a.tenant.id, a.user.pk)
        assert await uow.credentials.with_user(a.tenant.id, a.conn.id, "nobody@x.com") is None
        assert await uow.credentials.with_user(b.tenant.id, a.conn.id, cred.email) is None
    assert found is not None
    credential, user = found
    assert credential == cred
    assert user is not None and user == expected
    assert user.identities == [a.primary, earlier, later]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


async def test_a_credential_whose_user_is_in_another_tenant_has_no_user(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    # A credential row of tenant b pointing at tenant a's identity: the user is not b's.
    stray = r.credential(a.primary, email="stray@example.com")
    stray.tenant_id = b.tenant.id
    stray.connection_id = b.conn.id
    async with uows() as uow:
        await uow.credentials.add(stray)
        await uow.commit()
    async with uows(read_only=True) as uow:
        found = await uow.credentials.with_user(b.tenant.id, b.conn.id, "stray@example.com")
    assert found is not None and found[1] is None
