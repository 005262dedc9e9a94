"""Repository contract: the one-time flows no other module covered: passwordless codes, upstream
(federated) flows, tether admins and account-page flows.

Each test writes in one unit of work, commits, and reads back in a fresh one, so what is
checked is what the database kept. The same tests run on every backend (conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage import records as r
from tests.storage.support import Seeded
from tether.domain.account_records import AccountFlow, Admin
from tether.domain.models import PasswordlessCode, UpstreamFlow
from tether.storage.uow import SqlUnitOfWorkFactory


def _code(
    seeded: Seeded, *, email: str = "ann@example.com", created: float = 0
) -> PasswordlessCode:
    a = seeded.a
    return PasswordlessCode(
        id=r.uid("pwl_"),
        tenant_id=a.tenant.id,
        connection_id=a.conn.id,
        client_id="client-a",
        email=email,
        code_mac=r.uid() * 2,
        created_at=r.at(created),
        expires_at=r.at(created + 300),
    )


async def test_passwordless_latest_is_the_newest_for_that_address_in_that_tenant(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    old, new = _code(seeded, created=0), _code(seeded, created=10)
    other = _code(seeded, email="bob@example.com", created=20)
    async with uows() as uow:
        for code in (old, new, other):
            await uow.passwordless.add(code)
        await uow.commit()
    async with uows(read_only=True) as uow:
        a, b = seeded.a, seeded.b
        assert await uow.passwordless.latest(a.tenant.id, a.conn.id, "ann@example.com") == new
        assert await uow.passwordless.latest(a.tenant.id, a.conn.id, "bob@example.com") == other
        assert await uow.passwordless.latest(b.tenant.id, a.conn.id, "ann@example.com") is None
        assert await uow.passwordless.latest(a.tenant.id, b.conn.id, "ann@example.com") is None


async def test_passwordless_use_once_and_count_failures(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    code = _code(seeded)
    async with uows() as uow:
        await uow.passwordless.add(code)
        await uow.commit()
    async with uows() as uow:
        await uow.passwordless.fail(code.id)
        await uow.passwordless.fail(code.id)
        assert await uow.passwordless.use(code.id, r.at(30)) is True
        assert await uow.passwordless.use(code.id, r.at(31)) is False
        await uow.commit()
    async with uows(read_only=True) as uow:
        kept = await uow.passwordless.latest(code.tenant_id, code.connection_id, code.email)
    assert kept == replace(code, attempts=2, used_at=r.at(30))


def _upstream(seeded: Seeded, *, expires: float = 600) -> UpstreamFlow:
    a = seeded.a
    return UpstreamFlow(
        id=r.uid("st_"),
        tenant_id=a.tenant.id,
        tx_id=r.uid("tx_"),
        connection_id=a.conn.id,
        nonce=r.uid("n-"),
        code_verifier=r.uid() * 4,
        created_at=r.at(0),
        expires_at=r.at(expires),
    )


async def test_upstream_flow_is_taken_once_in_its_tenant_before_it_expires(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    flow, stale = _upstream(seeded), _upstream(seeded, expires=5)
    async with uows() as uow:
        await uow.upstream_flows.add(flow)
        await uow.upstream_flows.add(stale)
        await uow.commit()
    async with uows() as uow:
        assert await uow.upstream_flows.take(seeded.b.tenant.id, flow.id, r.at(1)) is None
        assert await uow.upstream_flows.take(flow.tenant_id, stale.id, r.at(5)) is None
        assert await uow.upstream_flows.take(flow.tenant_id, flow.id, r.at(1)) == replace(
            flow, used_at=r.at(1)
        )
        assert await uow.upstream_flows.take(flow.tenant_id, flow.id, r.at(2)) is None
        await uow.commit()
    async with uows() as uow:
        assert await uow.upstream_flows.take(flow.tenant_id, flow.id, r.at(3)) is None


async def test_admins_add_get_list_remove_and_isolation(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a, b = seeded.a, seeded.b
    second = r.user(a.tenant.id, created=5)
    first_admin = Admin(tenant_id=a.tenant.id, user_pk=a.user.pk, created_at=r.at(1))
    second_admin = Admin(tenant_id=a.tenant.id, user_pk=second.pk, created_at=r.at(2))
    async with uows() as uow:
        await uow.users.add(second)
        await uow.admins.add(second_admin)
        await uow.admins.add(first_admin)
        await uow.commit()
    async with uows() as uow:
        assert await uow.admins.get(a.tenant.id, a.user.pk) == first_admin
        assert await uow.admins.get(b.tenant.id, a.user.pk) is None
        assert await uow.admins.list(a.tenant.id) == [first_admin, second_admin]
        assert await uow.admins.list(b.tenant.id) == []
        assert await uow.admins.remove(b.tenant.id, a.user.pk) is False
        assert await uow.admins.remove(a.tenant.id, a.user.pk) is True
        assert await uow.admins.remove(a.tenant.id, a.user.pk) is False
        await uow.commit()
    async with uows(read_only=True) as uow:
        assert await uow.admins.list(a.tenant.id) == [second_admin]


async def test_account_flow_is_taken_once_in_its_tenant_before_it_expires(
    uows: SqlUnitOfWorkFactory, seeded: Seeded
) -> None:
    a = seeded.a
    flow = AccountFlow(
        id=r.uid() * 4,
        tenant_id=a.tenant.id,
        client_id="client-a",
        purpose="link",
        code_verifier=r.uid() * 4,
        nonce=r.uid("n-"),
        return_to="/account?tab=identities&x=é",
        created_at=r.at(0),
        expires_at=r.at(600),
        user_pk=a.user.pk,
        session_id=r.uid("ses_"),
    )
    async with uows() as uow:
        await uow.account_flows.add(flow)
        await uow.commit()
    async with uows() as uow:
        assert await uow.account_flows.take(seeded.b.tenant.id, flow.id, r.at(1)) is None
        assert await uow.account_flows.take(a.tenant.id, flow.id, r.at(600)) is None
        assert await uow.account_flows.take(a.tenant.id, flow.id, r.at(1)) == replace(
            flow, used_at=r.at(1)
        )
        await uow.commit()
    async with uows() as uow:
        assert await uow.account_flows.take(a.tenant.id, flow.id, r.at(2)) is None
