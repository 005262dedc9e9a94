"""A trusted upstream's verified email proves the mailbox (issue 16; DESIGN.md, "Trust"): when
the provider that owns the user's primary identity starts vouching for the address the user has
had unverified, what was linked while it was unverified is detached, as a verification link
would (security-checklist §4.1, trojan identifier)."""

from __future__ import annotations

from tests.conftest import World
from tests.security.support_s2_linking import api_events
from tests.verification.test_email_verification import EMAIL
from tether.domain.actor import Actor
from tether.domain.external import ExternalProfile
from tether.domain.linking import LinkIdentity
from tether.domain.mailbox import DETACHED_EVENT
from tether.domain.users import NewDatabaseUser

ADMIN = Actor(client_id="tests")


async def test_an_upstreams_verified_email_detaches_what_was_linked_while_unverified(
    world: World,
) -> None:
    c = world.container
    google = await c.connections.create(
        world.tenant,
        "google",
        "google-oauth2",
        {"client_id": "id", "client_secret": "secret"},
        enabled_clients=[world.app.client_id],
    )
    app = await c.applications.get(world.tenant, world.app.client_id)
    unverified = ExternalProfile(subject="1034", email=EMAIL, email_verified=False)
    owner = await c.external.sign_in(world.tenant, app, google, unverified)
    assert owner.email_verified is False
    trojan = await c.users.create(
        world.tenant, None, NewDatabaseUser(email="mallory@evil.example", password="x" * 16)
    )
    provider, subject = trojan.user_id.split("|")
    await c.linking.link(world.tenant, owner.user_id, LinkIdentity(provider, subject), ADMIN)

    verified = ExternalProfile(subject="1034", email=EMAIL, email_verified=True)
    again = await c.external.sign_in(world.tenant, app, google, verified)

    assert again.email_verified is True
    assert [i.user_id for i in again.identities] == [owner.user_id]
    assert (await c.user_admin.get(world.tenant.id, trojan.user_id)).user_id == trojan.user_id
    [event] = await api_events(world, DETACHED_EVENT)
    assert event.details["how"] == "upstream_verified_email"
    assert event.details["identities"] == [trojan.user_id]


async def test_an_untrusted_upstream_proves_nothing(world: World) -> None:
    """A generic OpenID provider's ``email_verified`` counts only with ``trust_email_verified``
    (security-checklist §4.2): nothing is detached, the address stays unverified."""
    c = world.container
    oidc = await c.connections.create(
        world.tenant,
        "corp",
        "oidc",
        {
            "client_id": "id",
            "client_secret": "secret",
            "issuer": "https://idp.example.com",
            "authorization_endpoint": "https://idp.example.com/authorize",
            "token_endpoint": "https://idp.example.com/token",
            "jwks_uri": "https://idp.example.com/jwks",
        },
        enabled_clients=[world.app.client_id],
    )
    app = await c.applications.get(world.tenant, world.app.client_id)
    owner = await c.external.sign_in(
        world.tenant, app, oidc, ExternalProfile(subject="7", email=EMAIL, email_verified=False)
    )
    trojan = await c.users.create(
        world.tenant, None, NewDatabaseUser(email="mallory@evil.example", password="x" * 16)
    )
    provider, subject = trojan.user_id.split("|")
    await c.linking.link(world.tenant, owner.user_id, LinkIdentity(provider, subject), ADMIN)
    again = await c.external.sign_in(
        world.tenant, app, oidc, ExternalProfile(subject="7", email=EMAIL, email_verified=True)
    )
    assert again.email_verified is False
    assert len(again.identities) == 2
    assert await api_events(world, DETACHED_EVENT) == []
