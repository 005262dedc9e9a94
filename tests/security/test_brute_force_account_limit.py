"""The per-account limit across every IP (issue 11, finding 6): failed sign-ins for one
account are counted over all addresses (default 100 an hour, ``TETHER_LOGIN_RATE_LIMIT_ACCOUNT``);
past it, sign-in is refused before the password is checked, except from the IP the account last
signed in from, so spreading guesses over many addresses stops without locking the owner out.

OWASP ASVS 5.0 §6.3.1 (no more than 100 failed attempts per hour on a single account, without
allowing a denial of service against the legitimate user)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import FAST_HASH, World, make_settings
from tests.security.support_s4_bruteforce import right_password, wrong_guesses
from tests.web.conftest import create_user, serve
from tether.bootstrap import build_container


def _at(http: httpx.AsyncClient, ip: str) -> httpx.AsyncClient:
    """A client on the same app as ``http`` whose requests come from ``ip``."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=transport.app, client=(ip, 40000)),
        base_url=http.base_url,
    )


async def test_guesses_spread_over_ips_stop_at_the_account_limit(
    world: World, tmp_path: Path
) -> None:
    """ASVS 5.0 §6.3.1: 3 failures (the limit here) from 3 addresses; a 4th address is refused
    with 429 without its password being checked, even the right one; the owner's own address
    (where they last signed in) still gets in. Fails before this fix: the limit was per
    account and IP, so every new address had a fresh budget."""
    await create_user(world)
    settings = make_settings(tmp_path, login_rate_limit_account="3/hour")
    limited = build_container(settings, engine=world.container.engine, hash_parameters=FAST_HASH)
    async with serve(limited) as http:
        async with _at(http, "203.0.113.1") as home:
            assert (await right_password(home, world)).status_code == 200  # the owner, at home
        for n in range(3):
            async with _at(http, f"198.51.100.{n + 1}") as attacker:
                assert await wrong_guesses(attacker, world, 1) == [403]
        async with _at(http, "198.51.100.99") as fourth:
            refused = await right_password(fourth, world)
            assert refused.status_code == 429
            assert refused.json()["error"] == "too_many_attempts"
            assert "for this account" in refused.json()["error_description"]
        async with _at(http, "203.0.113.1") as home:
            assert (await right_password(home, world)).status_code == 200
