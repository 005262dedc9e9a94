"""Brute-force protection on the token endpoint (issue 11, finding 6), as Auth0's: after 10
consecutive failures for one account from one IP, that IP is blocked for that account; the
attempt is counted before the password is checked, so parallel guesses cannot overshoot.

OWASP ASVS 5.0 §6.3.1 (controls against credential stuffing and brute force), §6.3.3 (an
attempt is counted before the credential is verified); Auth0 "Brute-force protection"
(``too_many_attempts``, log event ``limit_wc``, mailed unblock link)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_URL, World
from tests.security.support_s4_bruteforce import (
    from_ip,
    log_types,
    management_token,
    right_password,
    set_tenant,
    unblock_link,
    wrong_guesses,
)
from tests.web.conftest import EMAIL, WRONG_PASSWORD, create_user, password_login
from tether.domain.brute_force import BLOCKED_MESSAGE
from tether.domain.passwords import PasswordHasher

BLOCKED = {"error": "too_many_attempts", "error_description": BLOCKED_MESSAGE}


async def test_parallel_wrong_guesses_cannot_overshoot_the_limit(
    world: World, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS 5.0 §6.3.1/§6.3.3: 20 wrong password-realm requests sent at once; the count is taken
    atomically before the hash, so at most 10 are checked and the rest are refused (Auth0's 429
    ``too_many_attempts``). Fails before this fix: all 20 were checked (20 × 403)."""
    await create_user(world)
    checked = 0
    verify = PasswordHasher.verify

    async def counting(self: PasswordHasher, stored: str | None, password: str) -> Any:
        nonlocal checked
        checked += 1
        await asyncio.sleep(0.01)  # let the other requests run while this one "hashes"
        return await verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    responses = await asyncio.gather(
        *(password_login(http, world.app, password=f"wrong guess {n}!") for n in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert checked <= 10
    assert statuses.count(403) == checked
    assert statuses.count(429) == 20 - checked
    for response in responses:
        if response.status_code == 429:
            assert response.json() == BLOCKED
        else:
            assert response.json() == WRONG_PASSWORD
    # Blocked now: even the right password is refused, and is not checked.
    before = checked
    response = await right_password(http, world)
    assert response.status_code == 429 and response.json() == BLOCKED
    assert checked == before


async def test_ten_failures_block_that_ip_for_that_account_only(
    world: World, http: httpx.AsyncClient
) -> None:
    """Auth0 brute-force protection: the 10th consecutive failure blocks the IP for the account,
    logs ``limit_wc`` and mails the person an unblock link; another IP, and another account from
    the same IP, are not blocked (ASVS 5.0 §6.3.1 without a denial of service on the owner)."""
    await create_user(world)
    assert await wrong_guesses(http, world, 10) == [403] * 10
    response = await right_password(http, world)
    assert response.status_code == 429
    assert response.json() == BLOCKED
    assert "limit_wc" in await log_types(world)
    assert (await unblock_link(world, EMAIL)).startswith(f"{PUBLIC_URL}/u/unblock?ticket=")

    async with from_ip(world, "192.0.2.7") as other:
        assert (await right_password(other, world)).status_code == 200
    other_account = await password_login(http, world.app, username="bob@example.com")
    assert other_account.status_code == 403
    assert other_account.json() == WRONG_PASSWORD


async def test_a_success_resets_the_count(world: World, http: httpx.AsyncClient) -> None:
    """Auth0 counts consecutive failures: a successful sign-in starts the count again."""
    await create_user(world)
    assert await wrong_guesses(http, world, 9) == [403] * 9
    assert (await right_password(http, world)).status_code == 200
    assert await wrong_guesses(http, world, 9) == [403] * 9
    assert (await right_password(http, world)).status_code == 200


async def test_the_mailed_link_unblocks_once(world: World, http: httpx.AsyncClient) -> None:
    """Auth0: the person lifts the block with the link mailed when it happened; the link is
    single use (its token is stored hashed) and a GET alone changes nothing."""
    await create_user(world)
    await wrong_guesses(http, world, 10)
    link = await unblock_link(world, EMAIL)
    path = link.removeprefix(PUBLIC_URL)
    page = await http.get(path)
    assert page.status_code == 200
    assert "Unblock my account" in page.text
    assert (await right_password(http, world)).status_code == 429  # the GET did not unblock
    ticket = path.split("ticket=", 1)[1]
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = await http.post("/u/unblock", data={"ticket": ticket, "csrf": csrf})
    assert done.status_code == 200, done.text
    assert "unblocked" in done.text
    assert (await right_password(http, world)).status_code == 200
    again = await http.post("/u/unblock", data={"ticket": ticket, "csrf": csrf})
    assert again.status_code == 400
    assert "already used" in again.text
    async with world.container.uow(read_only=True) as uow:
        blocks = await uow.login_blocks.blocked(
            world.tenant.id, [EMAIL], 1, world.container.clock.now()
        )
    assert blocks == []


async def test_the_block_lapses_after_the_tenants_block_time(
    world: World, http: httpx.AsyncClient
) -> None:
    """Tenant setting ``brute_force.block_seconds``: the block ends by itself, and a fresh run of
    ``brute_force.max_attempts`` failures is needed to block again."""
    await create_user(world)
    await set_tenant(world, **{"brute_force.max_attempts": 3, "brute_force.block_seconds": 1})
    assert await wrong_guesses(http, world, 3) == [403] * 3
    assert (await right_password(http, world)).status_code == 429
    await asyncio.sleep(1.2)
    assert await wrong_guesses(http, world, 2) == [403] * 2
    assert (await right_password(http, world)).status_code == 200


async def test_the_tenant_can_turn_it_off(world: World, http: httpx.AsyncClient) -> None:
    """Tenant setting ``brute_force.enabled: false`` (Auth0 lets a tenant disable the
    protection): failures are answered, never blocked."""
    await create_user(world)
    await set_tenant(world, **{"brute_force.enabled": False})
    assert await wrong_guesses(http, world, 12) == [403] * 12
    assert (await right_password(http, world)).status_code == 200


async def test_the_hosted_login_page_says_the_account_is_blocked(
    world: World, http: httpx.AsyncClient
) -> None:
    """Auth0's Universal Login shows the block too: the hosted /u/login form answers 429 with
    the same text, without checking the password."""
    await create_user(world)
    await wrong_guesses(http, world, 10)
    token = await management_token(http, world)
    patched = await http.patch(
        f"/api/v2/clients/{world.app.client_id}",
        json={"callbacks": ["http://localhost:3000/callback"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert patched.status_code == 200, patched.text
    authorize = await http.get(
        "/authorize",
        params={
            "client_id": world.app.client_id,
            "response_type": "code",
            "redirect_uri": "http://localhost:3000/callback",
            "scope": "openid",
            "state": "s",
        },
    )
    assert authorize.status_code in (302, 303), authorize.text
    form_url = authorize.headers["location"].removeprefix(PUBLIC_URL)
    form = await http.get(form_url)
    assert form.status_code == 200, form.text
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    connection = form.text.split('name="connection" value="', 1)[1].split('"', 1)[0]
    answer = await http.post(
        form_url,
        data={"csrf": csrf, "connection": connection, "email": EMAIL, "password": "x" * 12},
    )
    assert answer.status_code == 429
    assert "blocked after multiple consecutive login attempts" in answer.text
