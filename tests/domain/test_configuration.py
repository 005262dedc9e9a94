"""domain/configuration.py: configuration served from memory, followed at once by the process
that changed it and within REFRESH_SECONDS by every other (issue 13, decision 1). The
two-process test with real servers is tests/production/test_configuration.py."""

from __future__ import annotations

from tests.domain.conftest import Domain
from tether.domain.applications import ApplicationService, NewApplication
from tether.domain.configuration import REFRESH_SECONDS, Configuration
from tether.domain.sealing import Sealer

ORIGIN = "https://spa.example.test"


async def test_web_origins_follow_a_new_application_here_at_once_elsewhere_within_the_bound(
    domain: Domain,
) -> None:
    container, tenant = domain.container, domain.tenant
    now = [1000.0]
    elsewhere = ApplicationService(
        container.uow,
        Sealer(container.settings.master_secret_bytes()),
        container.clock,
        Configuration(container.uow, monotonic=lambda: now[0]),
    )
    assert ORIGIN not in await container.applications.web_origins(tenant)
    assert ORIGIN not in await elsewhere.web_origins(tenant)

    created = await container.applications.create(
        tenant, NewApplication(name="spa", callbacks=(ORIGIN + "/cb",), web_origins=(ORIGIN,))
    )
    client_id = created.application.client_id
    assert ORIGIN in await container.applications.web_origins(tenant)  # the writer: at once
    assert await container.applications.find(tenant, client_id) is not None
    assert ORIGIN not in await elsewhere.web_origins(tenant)  # not polled yet
    assert await elsewhere.find(tenant, client_id) is None
    now[0] += REFRESH_SECONDS
    assert ORIGIN in await elsewhere.web_origins(tenant)
    assert await elsewhere.find(tenant, client_id) is not None

    await container.applications.delete(tenant, client_id)
    assert await container.applications.find(tenant, client_id) is None
    now[0] += REFRESH_SECONDS
    assert await elsewhere.find(tenant, client_id) is None
    assert ORIGIN not in await elsewhere.web_origins(tenant)


async def test_a_rolled_back_change_moves_no_version(domain: Domain) -> None:
    """The version is bumped in the change's own transaction: no commit, no bump."""
    container, tenant = domain.container, domain.tenant
    async with container.uow(read_only=True) as uow:
        before = dict((t.id, v) for t, v in await uow.tenants.with_versions())
    async with container.uow() as uow:
        current = await uow.tenants.get(tenant.id)
        assert current is not None
        current.settings = {**current.settings, "default_audience": "x"}
        await uow.tenants.update(current)
        await uow.rollback()
    async with container.uow(read_only=True) as uow:
        after = dict((t.id, v) for t, v in await uow.tenants.with_versions())
    assert after == before
    await container.tenants.update_settings(tenant, {"default_audience": "https://api/"})
    async with container.uow(read_only=True) as uow:
        bumped = dict((t.id, v) for t, v in await uow.tenants.with_versions())
    assert bumped[tenant.id] == before[tenant.id] + 1
