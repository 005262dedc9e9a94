"""``tether serve --demo``'s set-up, in process: idempotent, warns when the ports change, and
the mailbox page exists only in demo mode."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, make_settings
from tether.bootstrap import Container, build_container
from tether.domain import demo
from tether.web.app import create_app

SAMPLE_ORIGIN = "http://localhost:3000"


async def _provision(c: Container, origin: str = SAMPLE_ORIGIN) -> demo.Demo:
    provisioned = await c.provision()
    return await demo.provision_demo(
        c.tenants, c.applications, c.connections, c.users, provisioned.tenant, origin
    )


async def test_running_it_twice_reuses_everything(tmp_path: Path, engine: AsyncEngine) -> None:
    c = build_container(
        make_settings(tmp_path, demo=True), engine=engine, hash_parameters=FAST_HASH
    )
    first = await _provision(c)
    second = await _provision(c)
    assert second.sample_client_id == first.sample_client_id
    assert second.upstream.id == first.upstream.id
    assert first.warnings == second.warnings == ()
    names = [x.name for x in await c.connections.list(first.tenant)]
    assert sorted(names) == sorted(
        {"Username-Password-Authentication", demo.EMAIL_CONNECTION, demo.UPSTREAM_CONNECTION}
    )
    sample = await c.applications.get(first.tenant, first.sample_client_id)
    assert SAMPLE_ORIGIN in sample.callbacks and SAMPLE_ORIGIN + "/" in sample.callbacks
    assert list(sample.web_origins) == [SAMPLE_ORIGIN]
    enabled = {x.name for x in await c.connections.enabled_for(first.tenant, sample.client_id)}
    assert {demo.EMAIL_CONNECTION, demo.UPSTREAM_CONNECTION} <= enabled
    assert [a.name for a in await c.applications.list(first.tenant)].count(demo.SAMPLE_APP) == 1
    # The outside provider is the same server under another host name (another site).
    assert first.tenant.issuer == PUBLIC_URL + "/"
    assert first.upstream.issuer == "http://localhost/"


async def test_another_sample_port_later_moves_the_sample(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    c = build_container(
        make_settings(tmp_path, demo=True), engine=engine, hash_parameters=FAST_HASH
    )
    first = await _provision(c)
    moved = await _provision(c, "http://localhost:3001")
    assert moved.warnings == ()
    assert moved.sample_client_id == first.sample_client_id
    sample = await c.applications.get(moved.tenant, moved.sample_client_id)
    assert list(sample.web_origins) == ["http://localhost:3001"]
    assert set(sample.callbacks) == {"http://localhost:3001", "http://localhost:3001/"}
    assert set(sample.allowed_logout_urls) == {"http://localhost:3001", "http://localhost:3001/"}
    enabled = {x.name for x in await c.connections.enabled_for(moved.tenant, sample.client_id)}
    assert {demo.EMAIL_CONNECTION, demo.UPSTREAM_CONNECTION} <= enabled


async def test_the_lock_sample_gets_what_an_embedded_lock_needs(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    """Its own SPA with the implicit grant, cross-origin authentication for its origin, its
    /co/verify page, and the database and outside-provider buttons; moved with its port."""
    c = build_container(
        make_settings(tmp_path, demo=True), engine=engine, hash_parameters=FAST_HASH
    )
    provisioned = await c.provision()

    async def run(origin: str) -> demo.Demo:
        return await demo.provision_demo(
            c.tenants,
            c.applications,
            c.connections,
            c.users,
            provisioned.tenant,
            SAMPLE_ORIGIN,
            origin,
        )

    first = await run("http://localhost:3001")
    again = await run("http://localhost:3001/")
    assert first.lock_client_id and again.lock_client_id == first.lock_client_id
    assert first.lock_client_id != first.sample_client_id
    lock = await c.applications.get(first.tenant, first.lock_client_id)
    assert lock.cross_origin_authentication
    assert lock.cross_origin_loc == "http://localhost:3001/co-verify.html"
    assert list(lock.web_origins) == list(lock.allowed_origins) == ["http://localhost:3001"]
    assert set(lock.callbacks) == {"http://localhost:3001", "http://localhost:3001/"}
    assert "implicit" in lock.grant_types
    enabled = {x.name for x in await c.connections.enabled_for(first.tenant, lock.client_id)}
    assert enabled == {"Username-Password-Authentication", demo.UPSTREAM_CONNECTION}
    names = [a.name for a in await c.applications.list(first.tenant)]
    assert names.count(demo.LOCK_SAMPLE_APP) == 1

    moved = await run("http://localhost:3005")
    assert moved.lock_client_id == first.lock_client_id
    lock = await c.applications.get(first.tenant, first.lock_client_id)
    assert list(lock.web_origins) == ["http://localhost:3005"]
    assert lock.cross_origin_loc == "http://localhost:3005/co-verify.html"


async def test_another_port_later_is_a_warning(tmp_path: Path, engine: AsyncEngine) -> None:
    """The outside IdP is a tenant on the first run's port: it cannot follow (yet)."""
    c = build_container(
        make_settings(tmp_path, demo=True), engine=engine, hash_parameters=FAST_HASH
    )
    await _provision(c)
    c2 = build_container(
        make_settings(tmp_path, demo=True, public_url="http://localhost:9000"),
        engine=engine,
        hash_parameters=FAST_HASH,
    )
    moved = await _provision(c2)
    assert moved.tenant.issuer == "http://localhost:9000/"
    assert len(moved.warnings) == 1
    assert "http://localhost/" in moved.warnings[0]


async def test_the_mailbox_is_only_in_demo_mode(tmp_path: Path, engine: AsyncEngine) -> None:
    for on, status in ((False, 404), (True, 200)):
        c = build_container(
            make_settings(tmp_path, demo=on), engine=engine, hash_parameters=FAST_HASH
        )
        await c.provision()
        transport = httpx.ASGITransport(app=create_app(c, deliver_mail=False))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            response = await http.get("/demo/mailbox")
        assert response.status_code == status, response.text
