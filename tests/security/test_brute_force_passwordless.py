"""Brute-force protection for passwordless codes (issue 11, finding 6): the same per-address,
per-IP block as passwords, counted before the code is compared.

OWASP ASVS 5.0 §6.3.1 (brute force on every authentication factor), §6.6.3 (out-of-band codes
are rate limited); Auth0 brute-force protection covers passwordless connections too."""

from __future__ import annotations

import re

import httpx

from tests.conftest import World
from tests.security.support_s4_bruteforce import from_ip, log_types, unblock_link
from tether.domain.applications import NewApplication
from tether.domain.brute_force import BLOCKED_MESSAGE
from tether.domain.models import AppType
from tether.protocol.grants import GrantType

OTP = GrantType.PASSWORDLESS_OTP.value
EMAIL = "pat@example.com"


async def _app(world: World) -> tuple[str, str]:
    c = world.container
    created = await c.applications.create(
        world.tenant,
        NewApplication(
            name="Passwordless app",
            app_type=AppType.REGULAR_WEB,
            callbacks=("http://localhost:3000/callback",),
            grant_types=(GrantType.AUTHORIZATION_CODE.value, OTP),
        ),
    )
    client_id = created.application.client_id
    await c.connections.create(world.tenant, "email", "email", {}, [client_id])
    return client_id, created.client_secret or ""


async def _start(http: httpx.AsyncClient, app: tuple[str, str]) -> None:
    response = await http.post(
        "/passwordless/start",
        json={
            "client_id": app[0],
            "client_secret": app[1],
            "connection": "email",
            "send": "code",
            "email": EMAIL,
        },
    )
    assert response.status_code == 200, response.text


async def _code(world: World) -> str:
    mails = [m for m in await world.container.mail.list(world.tenant) if m.to == EMAIL]
    found = re.search(r"\b(\d{6})\b", mails[0].body)
    assert found
    return found.group(1)


async def _otp(http: httpx.AsyncClient, app: tuple[str, str], code: str) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": OTP,
            "client_id": app[0],
            "client_secret": app[1],
            "username": EMAIL,
            "otp": code,
            "realm": "email",
            "scope": "openid",
        },
    )


async def test_ten_wrong_codes_block_the_address_from_that_ip(
    world: World, http: httpx.AsyncClient
) -> None:
    """ASVS 5.0 §6.3.1 / Auth0 brute-force protection on passwordless: after 10 wrong codes
    from one IP, even a fresh right code is refused there (429 ``too_many_attempts``) and the
    address is mailed an unblock link; another IP still signs in. Fails before this fix: the
    fresh code signed in (only each code's own 3 tries were limited)."""
    app = await _app(world)
    await _start(http, app)
    code = await _code(world)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(10):
        response = await _otp(http, app, wrong)
        assert response.status_code == 403, response.text
    await _start(http, app)
    fresh = await _code(world)
    blocked = await _otp(http, app, fresh)
    assert blocked.status_code == 429
    assert blocked.json() == {"error": "too_many_attempts", "error_description": BLOCKED_MESSAGE}
    assert "limit_wc" in await log_types(world)
    assert "/u/unblock?ticket=" in await unblock_link(world, EMAIL)
    async with from_ip(world, "198.51.100.9") as other:
        signed_in = await _otp(other, app, fresh)
        assert signed_in.status_code == 200, signed_in.text
