"""Administrators see and lift brute-force blocks (issue 11, finding 6): Auth0's Management API
``GET``/``DELETE /api/v2/user-blocks/{id}`` and ``GET``/``DELETE /api/v2/user-blocks?identifier=``
(scopes ``read:users`` / ``update:users``; body ``{"blocked_for": [{"identifier", "ip",
"connection"}]}``, 204 on DELETE), also through auth0-python 6's ``user_blocks`` client.

OWASP ASVS 5.0 §6.3.1 (a lockout an administrator can lift); Auth0 brute-force protection."""

from __future__ import annotations

import httpx
from auth0.management import AsyncAuth0
from auth0.management.core.api_error import ApiError

from tests.conftest import World
from tests.security.support_s4_bruteforce import (
    log_types,
    management_token,
    right_password,
    wrong_guesses,
)
from tests.web.conftest import EMAIL, REALM, create_user

BLOCKED_FOR = {"blocked_for": [{"identifier": EMAIL, "ip": "127.0.0.1", "connection": REALM}]}


async def test_list_and_lift_blocks_by_user_id(world: World, http: httpx.AsyncClient) -> None:
    """Auth0 ``GET /api/v2/user-blocks/{id}`` lists the user's blocked (identifier, IP) pairs;
    ``DELETE`` answers 204 and the owner signs in again from that IP. Fails before this fix: the
    endpoints did not exist (404) and the 11th attempt was not blocked."""
    user = await create_user(world)
    await wrong_guesses(http, world, 10)
    assert (await right_password(http, world)).status_code == 429
    auth = {"Authorization": f"Bearer {await management_token(http, world)}"}

    listed = await http.get(f"/api/v2/user-blocks/{user.user_id}", headers=auth)
    assert listed.status_code == 200, listed.text
    assert listed.json() == BLOCKED_FOR
    by_identifier = await http.get(
        "/api/v2/user-blocks", params={"identifier": EMAIL}, headers=auth
    )
    assert by_identifier.json() == BLOCKED_FOR

    lifted = await http.delete(f"/api/v2/user-blocks/{user.user_id}", headers=auth)
    assert lifted.status_code == 204 and lifted.content == b""
    assert (await http.get(f"/api/v2/user-blocks/{user.user_id}", headers=auth)).json() == {
        "blocked_for": []
    }
    assert (await right_password(http, world)).status_code == 200
    assert "ublkdu" in await log_types(world)

    missing = await http.get("/api/v2/user-blocks/auth0|nobody", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "inexistent_user"


async def test_lift_by_identifier_and_the_scopes(world: World, http: httpx.AsyncClient) -> None:
    """Auth0: reading needs ``read:users``, lifting ``update:users`` (403 insufficient_scope
    otherwise); ``DELETE /api/v2/user-blocks?identifier=`` lifts every block of the address."""
    await create_user(world)
    await wrong_guesses(http, world, 10)
    read_only = {"Authorization": f"Bearer {await management_token(http, world, 'read:users')}"}
    no_scope = {"Authorization": f"Bearer {await management_token(http, world, 'read:clients')}"}
    assert (
        await http.get("/api/v2/user-blocks", params={"identifier": EMAIL}, headers=no_scope)
    ).status_code == 403
    refused = await http.delete(
        "/api/v2/user-blocks", params={"identifier": EMAIL}, headers=read_only
    )
    assert refused.status_code == 403
    assert (await right_password(http, world)).status_code == 429
    auth = {"Authorization": f"Bearer {await management_token(http, world)}"}
    missing_identifier = await http.get("/api/v2/user-blocks", headers=auth)
    assert missing_identifier.status_code == 400
    lifted = await http.delete("/api/v2/user-blocks", params={"identifier": EMAIL}, headers=auth)
    assert lifted.status_code == 204
    assert (await right_password(http, world)).status_code == 200


async def test_auth0_python_user_blocks_client(world: World, http: httpx.AsyncClient) -> None:
    """auth0-python 6's ``client.user_blocks`` (list/delete, by id and by identifier) reads
    Tether's answers as it reads Auth0's."""
    user = await create_user(world)
    await wrong_guesses(http, world, 10)
    token = await management_token(http, world)
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    sdk_http = httpx.AsyncClient(transport=transport, base_url=str(http.base_url))
    client = AsyncAuth0(
        base_url=f"{http.base_url}/api/v2", token=token, max_retries=0, httpx_client=sdk_http
    )
    async with sdk_http:
        listed = await client.user_blocks.list(id=user.user_id)
        assert [(b.identifier, b.ip, b.connection) for b in listed.blocked_for or []] == [
            (EMAIL, "127.0.0.1", REALM)
        ]
        by_identifier = await client.user_blocks.list_by_identifier(
            identifier=EMAIL, consider_brute_force_enablement=True
        )
        assert [b.identifier for b in by_identifier.blocked_for or []] == [EMAIL]
        await client.user_blocks.delete_by_identifier(identifier=EMAIL)
        assert (await client.user_blocks.list(id=user.user_id)).blocked_for == []
        await client.user_blocks.delete(id=user.user_id)  # nothing left: still 204
        try:
            await client.user_blocks.list(id="auth0|nobody")
        except ApiError as exc:
            assert exc.status_code == 404
        else:
            raise AssertionError("an unknown user is a 404")
    assert (await right_password(http, world)).status_code == 200
