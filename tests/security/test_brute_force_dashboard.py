"""The dashboard's user page shows the blocks brute-force protection set and lifts them (issue
11, finding 6), as ``DELETE /api/v2/user-blocks/{id}`` does.

OWASP ASVS 5.0 §6.3.1 (a lockout an administrator can lift); Auth0's dashboard shows a blocked
user and unblocks them."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.conftest import World
from tests.dashboard.support import form, notice, sign_in, submit
from tests.security.support_s4_bruteforce import log_types, right_password, wrong_guesses
from tests.web.conftest import create_user
from tether.domain.actor import Actor
from tether.domain.users import NewDatabaseUser

ADMIN = "admin@example.com"
ADMIN_PASSWORD = "a long admin passphrase"


async def test_the_user_page_lists_and_lifts_sign_in_blocks(
    world: World, http: httpx.AsyncClient
) -> None:
    """An admin sees the blocked IP on the user's page and lifts the block with one button;
    the owner then signs in from that IP. Fails before this fix: nothing was blocked."""
    c = world.container
    await c.users.create(
        world.tenant,
        None,
        NewDatabaseUser(email=ADMIN, password=ADMIN_PASSWORD, email_verified=True),
    )
    await c.admins.add(world.tenant, ADMIN, Actor(client_id="tests"))
    victim = await create_user(world)
    await wrong_guesses(http, world, 10)
    assert (await right_password(http, world)).status_code == 429

    page = await sign_in(http, f"/dashboard/user?id={quote(victim.user_id)}", ADMIN, ADMIN_PASSWORD)
    assert page.status_code == 200, page.text[:500]
    assert "brute-force protection" in page.text and "127.0.0.1" in page.text
    done = await submit(http, form(page.text, "/dashboard/user/unblock-logins"))
    assert done.status_code == 200
    assert notice(done.text).startswith("Sign-in is unblocked")
    assert "Lift the sign-in blocks" not in done.text
    assert "ublkdu" in await log_types(world)
    assert (await right_password(http, world)).status_code == 200
