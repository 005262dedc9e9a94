"""domain/tenants.py: several tenants in one process, picked by Host; the default moves with its URL."""

from __future__ import annotations

import pytest

from tests.conftest import PUBLIC_URL
from tests.domain.conftest import Domain
from tether.bootstrap import Container
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.management_scopes import MANAGEMENT_API_NAME
from tether.domain.tenants import normalise_public_url
from tether.protocol.errors import AccessDenied, InvalidToken


async def test_the_provisioned_default_tenant(domain: Domain) -> None:
    tenant = domain.tenant
    assert tenant.is_default and tenant.name == "default"
    assert tenant.public_url == PUBLIC_URL
    assert tenant.issuer == PUBLIC_URL + "/"
    assert tenant.management_audience == PUBLIC_URL + "/api/v2/"
    assert tenant.host == "tether.test"
    again = await domain.container.provision()
    assert again.created is False and again.tenant.id == tenant.id
    assert again.default_app is None


async def test_create_a_second_tenant_with_its_own_everything(domain: Domain) -> None:
    tenants = domain.container.tenants
    acme = await tenants.create("acme", "HTTPS://ID.Acme.test/")
    assert acme.public_url == "https://id.acme.test"
    assert acme.issuer == "https://id.acme.test/"
    assert not acme.is_default
    assert await tenants.get("acme") == acme
    assert (await tenants.get(None)).id == domain.tenant.id
    assert {t.name for t in await tenants.list()} == {"default", "acme"}

    api = await domain.container.apis.get(acme, "https://id.acme.test/api/v2/")
    assert api.is_system and api.name == MANAGEMENT_API_NAME
    connection = await domain.container.connections.by_name(
        acme, "Username-Password-Authentication"
    )
    assert connection.is_database and connection.enabled_clients == []

    ours = {k.kid for k in await domain.container.keys.list(domain.tenant)}
    theirs = {k.kid for k in await domain.container.keys.list(acme)}
    assert len(theirs) == 2 and not ours & theirs
    assert await domain.container.applications.list(acme) == []


async def test_resolve_by_host(domain: Domain) -> None:
    tenants = domain.container.tenants
    acme = await tenants.create("acme", "https://id.acme.test")
    ported = await tenants.create("ported", "http://localhost:9000/")
    assert (await tenants.resolve("id.acme.test")) == acme
    assert (await tenants.resolve("ID.ACME.TEST")) == acme
    assert (await tenants.resolve("localhost:9000")) == ported
    for host in ("tether.test", "unknown.example", "acme.test", "localhost", "localhost:9001", ""):
        resolved = await tenants.resolve(host)
        assert resolved is not None and resolved.id == domain.tenant.id, host


async def test_resolve_without_tenants_is_none(container: Container) -> None:
    assert await container.tenants.resolve("anything.test") is None
    with pytest.raises(NotFound):
        await container.tenants.get(None)


async def test_create_refuses_bad_and_duplicate_tenants(domain: Domain) -> None:
    tenants = domain.container.tenants
    await tenants.create("acme", "https://id.acme.test")
    with pytest.raises(Conflict):
        await tenants.create("acme", "https://other.test")
    with pytest.raises(Conflict):
        await tenants.create("acme2", "https://ID.acme.test")  # same host
    with pytest.raises(Conflict):
        await tenants.create("second-default", "https://x.test", default=True)
    for name in ("Acme", "-acme", "acme_1", "a" * 64, ""):
        with pytest.raises(InvalidInput):
            await tenants.create(name, "https://valid.test")
    with pytest.raises(NotFound):
        await tenants.get("nobody")
    assert {t.name for t in await tenants.list()} == {"default", "acme"}


async def test_no_tenant_may_take_the_default_tenants_host(domain: Domain) -> None:
    """Else resolve() would send every request for the default's own issuer to the newcomer."""
    tenants = domain.container.tenants
    for url in (PUBLIC_URL, PUBLIC_URL + "/acme", "http://TETHER.test"):
        with pytest.raises(Conflict):
            await tenants.create("acme", url)
    assert (await tenants.resolve("tether.test")) == domain.tenant


@pytest.mark.parametrize(
    "url",
    [
        "id.example.test",
        "ftp://id.example.test",
        "https://",
        "https://x.test/?a=1",
        "https://x.test/#f",
    ],
)
def test_public_url_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_public_url(url)


def test_public_url_is_normalised() -> None:
    assert normalise_public_url(" HTTPS://Id.Example.TEST/auth/ ") == "https://id.example.test/auth"


async def test_tokens_of_one_tenant_do_not_verify_in_another(domain: Domain) -> None:
    container = domain.container
    acme = await container.tenants.create("acme", "https://id.acme.test")
    token = (
        await container.tokens.client_credentials(
            domain.tenant, domain.machine, domain.tenant.management_audience, None
        )
    ).access_token
    with pytest.raises(InvalidToken):
        await container.tokens.verify_access_token(acme, token, None)
    with pytest.raises(AccessDenied):  # acme has no such client grant, nor that audience
        await container.tokens.client_credentials(
            acme, domain.machine, domain.tenant.management_audience, None
        )


async def test_ensure_default_with_the_same_url_changes_nothing(domain: Domain) -> None:
    for url in (PUBLIC_URL, PUBLIC_URL + "/", "HTTP://Tether.Test"):
        tenant, created = await domain.container.tenants.ensure_default(url)
        assert not created and tenant == domain.tenant


async def test_moving_the_public_url_retargets_the_management_api(domain: Domain) -> None:
    container = domain.container
    old_audience = domain.tenant.management_audience
    tenant, created = await container.tenants.ensure_default("https://id.moved.test/")
    assert not created and tenant.id == domain.tenant.id
    assert tenant.public_url == "https://id.moved.test"
    new_audience = "https://id.moved.test/api/v2/"
    assert tenant.management_audience == new_audience
    assert (await container.tenants.get(None)).public_url == "https://id.moved.test"
    assert (await container.tenants.resolve("whatever.test")) == tenant

    api = await container.apis.get(tenant, new_audience)
    assert api.is_system
    with pytest.raises(NotFound):
        await container.apis.get(tenant, old_audience)
    grants = await container.applications.client_grants(tenant, domain.machine.client_id)
    assert [g.audience for g in grants] == [new_audience]

    response = await container.tokens.client_credentials(
        tenant, domain.machine, new_audience, "read:users"
    )
    claims = await container.tokens.verify_access_token(tenant, response.access_token, new_audience)
    assert claims["iss"] == "https://id.moved.test/"
    assert claims["aud"] == new_audience
    with pytest.raises(AccessDenied):
        await container.tokens.client_credentials(tenant, domain.machine, old_audience, None)


async def test_moving_the_url_keeps_other_client_grants(domain: Domain) -> None:
    container = domain.container
    api = await domain.api()
    await container.applications.grant(
        domain.tenant, domain.machine.client_id, api.identifier, ["read:things"]
    )
    tenant, _ = await container.tenants.ensure_default("https://id.moved.test")
    grants = await container.applications.client_grants(tenant, domain.machine.client_id)
    assert sorted(g.audience for g in grants) == sorted(
        [api.identifier, "https://id.moved.test/api/v2/"]
    )
    response = await container.tokens.client_credentials(
        tenant, domain.machine, api.identifier, None
    )
    assert response.scope == "read:things"
