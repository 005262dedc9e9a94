"""The password and password-realm grants (RFC 6749 §4.3; auth0-wire.md §3.1, §3.3)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import World
from tests.web.conftest import (
    EMAIL,
    ISSUER,
    PASSWORD,
    REALM,
    USERINFO_AUDIENCE,
    WRONG_PASSWORD,
    assert_oauth_error,
    create_api,
    create_app,
    create_user,
    password_login,
    set_blocked,
    verify_rs256,
)
from tether.domain.models import User
from tether.protocol.jose import at_hash


async def test_password_realm_issues_id_and_access_tokens(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    before = int(time.time())
    response = await password_login(http, world.app, scope="openid profile email")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "id_token", "token_type", "expires_in", "scope"}
    assert body["scope"] == "openid profile email"
    assert body["expires_in"] == 86400

    id_claims = verify_rs256(body["id_token"], jwks)
    assert id_claims["iss"] == ISSUER
    assert id_claims["sub"] == user.user_id
    assert id_claims["aud"] == world.app.client_id
    assert id_claims["email"] == EMAIL
    assert id_claims["email_verified"] is False
    assert id_claims["name"] == EMAIL
    assert before <= id_claims["iat"] <= id_claims["auth_time"] + 1
    assert id_claims["exp"] > id_claims["iat"]
    assert id_claims["at_hash"] == at_hash(body["access_token"])

    access = verify_rs256(body["access_token"], jwks)
    assert access["iss"] == ISSUER
    assert access["sub"] == user.user_id
    assert access["aud"] == USERINFO_AUDIENCE
    assert access["azp"] == world.app.client_id
    assert access["scope"] == "openid profile email"
    assert access["gty"] == "password"
    assert access["exp"] == access["iat"] + 86400


async def test_password_grant_uses_the_default_database(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "username": EMAIL.upper(),
            "password": PASSWORD,
            "scope": "openid",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "openid"


async def test_scope_without_openid_gives_no_id_token(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await password_login(http, world.app, scope="profile email")
    assert response.status_code == 200, response.text
    assert "id_token" not in response.json()


async def test_audience_puts_the_api_and_userinfo_in_aud(
    http: httpx.AsyncClient, world: World, user: User, jwks: dict[str, Any]
) -> None:
    api = await create_api(world)
    response = await password_login(
        http, world.app, scope="openid read:things delete:things", audience=api.identifier
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "openid read:things"  # delete:things is not the API's
    assert body["expires_in"] == 7200
    access = verify_rs256(body["access_token"], jwks)
    assert access["aud"] == [api.identifier, USERINFO_AUDIENCE]


async def test_unknown_audience_is_access_denied(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await password_login(http, world.app, audience="https://nowhere.example/")
    assert_oauth_error(response, 403, "access_denied")


# -- offline_access --------------------------------------------------------


async def test_offline_access_without_audience_gives_a_refresh_token(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await password_login(http, world.app, scope="openid offline_access")
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 32
    assert body["scope"] == "openid offline_access"


async def test_offline_access_with_an_api_that_allows_it(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    api = await create_api(world, allow_offline_access=True)
    response = await password_login(
        http, world.app, scope="openid offline_access", audience=api.identifier
    )
    assert response.status_code == 200, response.text
    assert "refresh_token" in response.json()


async def test_offline_access_with_an_api_that_refuses_it(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    api = await create_api(world, allow_offline_access=False)
    response = await password_login(
        http, world.app, scope="openid offline_access", audience=api.identifier
    )
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()


async def test_no_refresh_token_without_offline_access(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await password_login(http, world.app, scope="openid profile")
    assert "refresh_token" not in response.json()


async def test_no_refresh_token_for_an_app_without_the_refresh_grant(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    app = await create_app(world, grant_types=("password",))
    response = await password_login(http, app, scope="openid offline_access")
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()


# -- failures look the same ----------------------------------------------------


async def test_wrong_password_unknown_user_and_blocked_user_are_indistinguishable(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    blocked = await create_user(world, "blocked@example.com")
    await set_blocked(world, blocked.user_id)
    responses = [
        await password_login(http, world.app, password="not the password"),
        await password_login(http, world.app, username="nobody@example.com"),
        await password_login(http, world.app, username="blocked@example.com"),
        await password_login(http, world.app, username="not-an-email"),
    ]
    for response in responses:
        assert response.status_code == 403, response.text
        assert response.json() == WRONG_PASSWORD
        assert response.headers["cache-control"] == "no-store"


async def test_blocked_user_with_the_right_password(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    await set_blocked(world, user.user_id)
    response = await password_login(http, world.app)
    assert response.status_code == 403
    assert response.json() == WRONG_PASSWORD


@pytest.mark.parametrize(
    ("realm", "status", "error"),
    [("No-Such-Connection", 400, "invalid_request"), (REALM, 403, "unauthorized_client")],
)
async def test_realm_must_exist_and_be_enabled_for_the_app(
    http: httpx.AsyncClient, world: World, user: User, realm: str, status: int, error: str
) -> None:
    other = await create_app(world, grant_types=("password",), enable_database=False)
    app = world.app if realm != REALM else other
    response = await password_login(http, app, realm=realm)
    assert_oauth_error(response, status, error)


async def test_failed_and_successful_logins_are_logged(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    await password_login(http, world.app, password="not the password")
    await password_login(http, world.app)
    async with world.container.uow() as uow:
        events = await uow.logs.list(world.tenant.id, limit=10)
    types = [e.type for e in events]
    assert "fp" in types and "s" in types and "sepft" in types
