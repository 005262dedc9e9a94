"""Refresh tokens: rotation, reuse detection, blocked users, revocation (RFC 6749 §6,
RFC 9700 §4.14.2, RFC 7009; auth0-wire.md §3.1, §3.3)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.web.conftest import (
    INVALID_REFRESH,
    assert_oauth_error,
    basic,
    create_api,
    create_app,
    password_login,
    refresh,
    set_blocked,
    verify_rs256,
)
from tether.domain.ids import hash_token
from tether.domain.models import User


async def _login(http: httpx.AsyncClient, world: World, scope: str = "openid profile email") -> str:
    response = await password_login(http, world.app, scope=scope + " offline_access")
    assert response.status_code == 200, response.text
    token: str = response.json()["refresh_token"]
    return token


async def _record(world: World, token: str) -> Any:
    async with world.container.uow() as uow:
        return await uow.refresh_tokens.by_hash(world.tenant.id, hash_token(token))


async def test_refresh_rotates_and_returns_an_id_token(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    first = await _login(http, world)
    response = await refresh(http, world.app, first)  # scope "" as auth0-python sends it
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "id_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "scope",
    }
    assert body["scope"] == "openid profile email offline_access"
    assert body["refresh_token"] != first
    id_claims = verify_rs256(body["id_token"], jwks)
    assert id_claims["sub"] == user.user_id
    assert id_claims["aud"] == world.app.client_id
    access = verify_rs256(body["access_token"], jwks)
    assert access["gty"] == "refresh_token"
    assert access["sub"] == user.user_id

    again = await refresh(http, world.app, body["refresh_token"])
    assert again.status_code == 200, again.text


async def test_refresh_with_a_form_body_and_basic_auth(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _login(http, world)
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={"Authorization": basic(world.app.client_id, world.app.client_secret)},
    )
    assert response.status_code == 200, response.text


async def test_refresh_keeps_the_audience(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    """spa-js strips audience on refresh: the server remembers it."""
    api = await create_api(world, allow_offline_access=True)
    login = await password_login(
        http, world.app, scope="openid read:things offline_access", audience=api.identifier
    )
    response = await refresh(http, world.app, login.json()["refresh_token"])
    assert response.status_code == 200, response.text
    assert verify_rs256(response.json()["access_token"], jwks)["aud"][0] == api.identifier
    assert response.json()["expires_in"] == 7200


async def test_refresh_can_narrow_but_not_widen_the_scope(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _login(http, world, scope="openid profile")
    wider = await refresh(http, world.app, token, scope="openid profile email")
    assert_oauth_error(wider, 400, "invalid_scope")
    narrower = await refresh(http, world.app, token, scope="openid")
    assert narrower.status_code == 200, narrower.text
    assert narrower.json()["scope"] == "openid"


async def test_reuse_revokes_the_whole_family(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    first = await _login(http, world)
    second = (await refresh(http, world.app, first)).json()["refresh_token"]
    third = (await refresh(http, world.app, second)).json()["refresh_token"]

    reused = await refresh(http, world.app, first)
    assert reused.status_code == 403
    assert reused.json() == INVALID_REFRESH
    assert reused.headers["cache-control"] == "no-store"

    record = await _record(world, third)
    assert record is not None and record.revoked_at is not None
    newest = await refresh(http, world.app, third)
    assert newest.status_code == 403
    assert newest.json() == INVALID_REFRESH

    async with world.container.uow() as uow:
        events = await uow.logs.list(world.tenant.id, limit=5)
    assert "ferrt" in [e.type for e in events]


async def test_reuse_leaves_other_families_alone(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    mine = await _login(http, world)
    other = await _login(http, world)
    await refresh(http, world.app, mine)
    await refresh(http, world.app, mine)  # reuse: family of `mine` revoked
    assert (await refresh(http, world.app, other)).status_code == 200


async def test_unknown_refresh_token(http: httpx.AsyncClient, world: World) -> None:
    response = await refresh(http, world.app, "not-a-refresh-token")
    assert response.status_code == 403
    assert response.json() == INVALID_REFRESH


async def test_refresh_token_of_another_client(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _login(http, world)
    other = await create_app(world, grant_types=("password", "refresh_token"))
    response = await refresh(http, other, token)
    assert response.status_code == 403
    assert response.json() == INVALID_REFRESH
    # The rightful owner can still use it: a stranger's attempt spends nothing.
    assert (await refresh(http, world.app, token)).status_code == 200


async def test_refresh_for_a_blocked_user(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _login(http, world)
    await set_blocked(world, user.user_id)
    response = await refresh(http, world.app, token)
    assert response.status_code == 403
    assert response.json() == {"error": "invalid_grant", "error_description": "user is blocked"}
    await set_blocked(world, user.user_id, blocked=False)
    assert (await refresh(http, world.app, token)).status_code == 200


# -- /oauth/revoke ---------------------------------------------------------------


async def test_revoke_then_refresh_fails(http: httpx.AsyncClient, world: World, user: User) -> None:
    token = await _login(http, world)
    response = await http.post(
        "/oauth/revoke",
        json={
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "token": token,
        },
    )
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    after = await refresh(http, world.app, token)
    assert after.status_code == 403
    assert after.json() == INVALID_REFRESH


async def test_revoke_an_unknown_token_is_still_200(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/oauth/revoke",
        data={"token": "never-issued"},
        headers={"Authorization": basic(world.app.client_id, world.app.client_secret)},
    )
    assert response.status_code == 200, response.text


async def test_revoke_by_another_client_does_nothing(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    token = await _login(http, world)
    other = await create_app(world, grant_types=("password", "refresh_token"))
    response = await http.post(
        "/oauth/revoke",
        data={"client_id": other.client_id, "client_secret": other.client_secret, "token": token},
    )
    assert response.status_code == 200
    assert (await refresh(http, world.app, token)).status_code == 200


async def test_revoke_needs_a_token_and_a_client(http: httpx.AsyncClient, world: World) -> None:
    missing_token = await http.post(
        "/oauth/revoke",
        data={"client_id": world.app.client_id, "client_secret": world.app.client_secret},
    )
    assert_oauth_error(missing_token, 400, "invalid_request")
    wrong_secret = await http.post(
        "/oauth/revoke",
        data={"client_id": world.app.client_id, "client_secret": "wrong", "token": "x"},
    )
    assert_oauth_error(wrong_secret, 401, "invalid_client")
