"""Issue 11, finding 3: only a verified email makes a dashboard administrator.

``tether admins add EMAIL`` used to promote whoever had signed up with the address, verified or
not: a stranger who signs up with ops@example.com before the operator types the command owns the
dashboard. By email, only a user whose email is verified is named, and exactly one; otherwise a
refusal says to verify first or to name the user_id (which stays accepted, explicitly).
"""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from tests.conftest import World
from tests.dashboard.support import alert, form, notice, sign_in, submit
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


async def test_the_dashboard_lists_each_admins_verification_state(
    http: httpx.AsyncClient, world: World
) -> None:
    """Issue 11, finding 3 ("the dashboard's admin list shows each admin's verification state");
    pre-account takeover (Sudhodanan & Paverd 2022): an admin named by user_id while unverified
    is flagged on the list, so the operator can check who holds it."""
    owner = await _verified(world, "owner@example.com")
    await world.container.admins.add(world.tenant, "owner@example.com", ACTOR)
    stranger = await _sign_up(http, world, "ops@example.com")
    await world.container.admins.add(world.tenant, stranger, ACTOR)

    page = await sign_in(http, "/dashboard/admins", "owner@example.com", PASSWORD)

    assert page.status_code == 200, page.text[:500]
    rows = _admin_rows(page.text)
    assert rows == {owner.user_id: "true", stranger: "false"}
    assert "1 admin has not verified" in page.text


async def test_the_dashboard_adds_admins_by_verified_email_only(
    http: httpx.AsyncClient, world: World
) -> None:
    """OWASP ASVS 8.2.1 and pre-account takeover (Sudhodanan & Paverd 2022): the dashboard's
    "Add admin" follows the CLI's rule (one verified address, or an explicit user_id), and
    removes another admin but not oneself."""
    await _verified(world, "owner@example.com")
    await world.container.admins.add(world.tenant, "owner@example.com", ACTOR)
    await _sign_up(http, world, "ops@example.com")
    colleague = await _verified(world, "colleague@example.com")
    page = await sign_in(http, "/dashboard/admins", "owner@example.com", PASSWORD)

    refused = await submit(http, form(page.text, "/dashboard/admins"), who="ops@example.com")
    assert refused.status_code == 400
    assert "No user has verified the email ops@example.com" in alert(refused.text)
    assert len(await _admin_ids(world)) == 1

    added = await submit(http, form(page.text, "/dashboard/admins"), who="colleague@example.com")
    assert added.status_code == 200
    assert notice(added.text) == "The user is an admin now."
    assert colleague.user_id in await _admin_ids(world)

    me = form(added.text, "/dashboard/admins/remove")  # only the colleague's row has the button
    assert me.fields["user_id"] == colleague.user_id
    removed = await submit(http, me)
    assert notice(removed.text) == "The user is no longer an admin."
    assert colleague.user_id not in await _admin_ids(world)


def _admin_rows(html: str) -> dict[str, str]:
    """user_id -> data-verified, from the admin list's rows."""
    found = re.findall(r'<code class="hint">([^<]+)</code>.*?data-verified="(\w+)"', html, re.S)
    return {unescape(user_id): verified for user_id, verified in found}
