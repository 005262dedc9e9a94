"""A master-secret change without downtime (issue 14, "Operations"; docs/deploy.md): processes
that accept the old and the new secret (TETHER_EXTRA_MASTER_SECRETS) open everything sealed
under either; ``tether secret rotate``'s service re-seals the old values under the new secret;
then the old secret can go, and a process with it alone opens nothing any more."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, World, make_settings
from tether.bootstrap import Container, build_container
from tether.domain.sealing import Sealer, SealError

OLD = "test-master-secret-" + "x" * 32  # tests/conftest.py's
NEW = "the-new-master-secret-" + "n" * 32
UPSTREAM = "upstream-client-secret-value"


def _container(engine: AsyncEngine, tmp_path: Path, master: str, *extra: str) -> Container:
    settings = make_settings(tmp_path, master_secret=master, extra_master_secrets=list(extra))
    return build_container(settings, engine=engine, hash_parameters=FAST_HASH)


async def _opens_everything(c: Container, world: World) -> None:
    tenant = world.tenant
    c.keys.forget(tenant.id)
    assert (await c.keys.keyset(tenant)).signing.kid
    for app in (world.app, world.machine):
        found = await c.applications.get(tenant, app.client_id)
        assert c.applications.secret_of(found) == app.client_secret


async def test_rotate_the_master_secret(world: World, engine: AsyncEngine, tmp_path: Path) -> None:
    tenant = world.tenant
    await world.container.connections.create(
        tenant,
        "upstream",
        "oidc",
        {
            "discovery_url": "https://idp.example.com/.well-known/openid-configuration",
            "client_id": "tether",
            "client_secret": UPSTREAM,
        },
    )

    # Step 1: every process accepts the new secret beside the old (still sealing with the old).
    accepting = _container(engine, tmp_path, OLD, NEW)
    await _opens_everything(accepting, world)
    # Step 2: seal with the new, accept the old: a new application is sealed under the new one.
    switching = _container(engine, tmp_path, NEW, OLD)
    await _opens_everything(switching, world)
    # Step 3: re-seal what the old secret sealed.
    done = await switching.secret_rotation.reseal_all()
    assert done.signing_keys == 2 and done.client_secrets == 2 and done.upstream_secrets == 1
    again = await switching.secret_rotation.reseal_all()
    assert (again.signing_keys, again.client_secrets, again.upstream_secrets) == (0, 0, 0)

    # Step 4: the old secret goes. The new one alone opens everything; the old alone nothing.
    new_only = _container(engine, tmp_path, NEW)
    await _opens_everything(new_only, world)
    async with new_only.uow(read_only=True) as uow:
        [connection] = [c for c in await uow.connections.list(tenant.id) if c.name == "upstream"]
        sealed = base64.b64decode(str(connection.options["client_secret_sealed"]))
    assert Sealer(NEW.encode()).open(tenant.id, sealed).decode() == UPSTREAM
    with pytest.raises(SealError):
        Sealer(OLD.encode()).open(tenant.id, sealed)
    old_only = _container(engine, tmp_path, OLD)
    with pytest.raises(SealError):
        await old_only.keys.keyset(tenant)
    with pytest.raises(SealError):
        old_only.applications.secret_of(
            await old_only.applications.get(tenant, world.app.client_id)
        )
