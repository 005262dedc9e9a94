"""Issue 11, finding 3: only a verified email makes a dashboard administrator.

``tether admins add EMAIL`` used to promote whoever had signed up with the address, verified or
not: a stranger who signs up with ops@example.com before the operator types the command owns the
dashboard. By email, only a user whose email is verified is named, and exactly one; otherwise a
refusal says to verify first or to name the user_id (which stays accepted, explicitly).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import World
from tether.domain.actor import Actor
from tether.domain.errors import InvalidInput
from tether.domain.models import User
from tether.domain.users import NewDatabaseUser

ACTOR = Actor(client_id="tests")
PASSWORD = "correct horse battery staple"
DATABASE = "Username-Password-Authentication"


async def _sign_up(http: httpx.AsyncClient, world: World, email: str) -> str:
    """Self-service sign-up: the address is not verified."""
    r = await http.post(
        "/dbconnections/signup",
        json={
            "client_id": world.app.client_id,
            "email": email,
            "password": PASSWORD,
            "connection": DATABASE,
        },
    )
    assert r.status_code == 200, r.text
    return "auth0|" + str(r.json()["_id"])


async def _verified(world: World, email: str, connection: str | None = None) -> User:
    if connection is not None:
        await world.container.connections.create(world.tenant, connection, "auth0")
    return await world.container.users.create(
        world.tenant,
        connection,
        NewDatabaseUser(email=email, password=PASSWORD, email_verified=True),
    )


async def _admin_ids(world: World) -> set[str]:
    return {a.user.user_id for a in await world.container.admins.list(world.tenant)}


async def test_a_stranger_who_signed_up_first_is_not_promoted(
    http: httpx.AsyncClient, world: World
) -> None:
    """Pre-account takeover (Sudhodanan & Paverd 2022), OWASP ASVS 8.2.1 (V8 authorization: a
    privilege goes only to the intended subject): an unverified sign-up with the operator's
    address is not made an admin by that address."""
    stranger = await _sign_up(http, world, "ops@example.com")

    with pytest.raises(InvalidInput) as refused:
        await world.container.admins.add(world.tenant, "ops@example.com", ACTOR)

    message = refused.value.message
    assert "verif" in message and "user_id" in message, message
    assert stranger in message  # names the unverified account, so the operator can look
    assert await _admin_ids(world) == set()


async def test_the_verified_owner_is_promoted_by_email_and_the_stranger_is_ignored(
    http: httpx.AsyncClient, world: World
) -> None:
    """Pre-account takeover (Sudhodanan & Paverd 2022): when the owner's verified account and a
    stranger's unverified one share the address, the email names the verified one only."""
    await _sign_up(http, world, "ops@example.com")
    owner = await _verified(world, "ops@example.com", "other-db")

    promoted = await world.container.admins.add(world.tenant, "OPS@example.com", ACTOR)

    assert promoted.user_id == owner.user_id
    assert await _admin_ids(world) == {owner.user_id}
    [listed] = await world.container.admins.list(world.tenant)
    assert listed.user.email_verified is True


async def test_two_verified_users_with_one_address_are_refused_by_user_id(world: World) -> None:
    """OWASP ASVS 8.2.1: an ambiguous name never picks an account; the refusal names the ids."""
    first = await _verified(world, "ops@example.com")
    second = await _verified(world, "ops@example.com", "other-db")

    with pytest.raises(InvalidInput) as refused:
        await world.container.admins.add(world.tenant, "ops@example.com", ACTOR)

    assert first.user_id in refused.value.message
    assert second.user_id in refused.value.message
    assert await _admin_ids(world) == set()


async def test_a_user_id_stays_accepted_explicitly(http: httpx.AsyncClient, world: World) -> None:
    """OWASP ASVS 8.2.1: naming the exact account by user_id is the operator's explicit choice,
    accepted even while its email is unverified."""
    stranger = await _sign_up(http, world, "ops@example.com")

    promoted = await world.container.admins.add(world.tenant, stranger, ACTOR)

    assert promoted.user_id == stranger
    assert promoted.email_verified is False
    assert await _admin_ids(world) == {stranger}
