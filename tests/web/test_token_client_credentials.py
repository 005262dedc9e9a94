"""The client_credentials grant (RFC 6749 §4.4; auth0-wire.md §3.3)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conftest import World
from tests.web.conftest import (
    ISSUER,
    assert_oauth_error,
    client_credentials,
    create_api,
    verify_rs256,
)


async def test_token_for_the_management_api(
    http: httpx.AsyncClient, world: World, jwks: dict[str, Any]
) -> None:
    before = int(time.time())
    response = await client_credentials(http, world.machine, world.tenant.management_audience)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert "read:users" in body["scope"].split()
    assert "update:users" in body["scope"].split()
    claims = verify_rs256(body["access_token"], jwks)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == f"{world.machine.client_id}@clients"
    assert claims["aud"] == world.tenant.management_audience
    assert claims["azp"] == world.machine.client_id
    assert claims["gty"] == "client-credentials"
    assert claims["scope"] == body["scope"]
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 86400


async def test_json_body_as_auth0_python_sends_it(
    http: httpx.AsyncClient, world: World, jwks: dict[str, Any]
) -> None:
    response = await http.post(
        "/oauth/token",
        json={
            "client_id": world.machine.client_id,
            "client_secret": world.machine.client_secret,
            "audience": world.tenant.management_audience,
            "grant_type": "client_credentials",
            "organization": None,
            "scope": None,
        },
    )
    assert response.status_code == 200, response.text
    assert verify_rs256(response.json()["access_token"], jwks)["aud"] == (
        world.tenant.management_audience
    )


async def test_scopes_are_narrowed_to_what_was_asked_and_granted(
    http: httpx.AsyncClient, world: World, jwks: dict[str, Any]
) -> None:
    api = await create_api(world, scopes=("read:things", "write:things", "delete:things"))
    await world.container.applications.grant(
        world.tenant, world.app.client_id, api.identifier, ["read:things", "write:things"]
    )
    response = await client_credentials(
        http, world.app, api.identifier, scope="read:things delete:things unknown:scope"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "read:things"
    assert body["expires_in"] == 7200  # the API's token lifetime
    claims = verify_rs256(body["access_token"], jwks)
    assert claims["scope"] == "read:things"
    assert claims["aud"] == api.identifier
    assert claims["exp"] - claims["iat"] == 7200

    everything = await client_credentials(http, world.app, api.identifier)
    assert everything.json()["scope"] == "read:things write:things"


async def test_no_requested_scope_is_granted(http: httpx.AsyncClient, world: World) -> None:
    api = await create_api(world)
    await world.container.applications.grant(
        world.tenant, world.app.client_id, api.identifier, ["read:things"]
    )
    response = await client_credentials(http, world.app, api.identifier, scope="write:things")
    assert_oauth_error(response, 400, "invalid_scope")


async def test_audience_is_required(http: httpx.AsyncClient, world: World) -> None:
    for audience in (None, ""):
        response = await client_credentials(http, world.machine, audience)
        body = assert_oauth_error(response, 403, "access_denied")
        assert body["error_description"] == (
            "No audience parameter was provided, and no default audience has been configured"
        )


async def test_unknown_audience(http: httpx.AsyncClient, world: World) -> None:
    response = await client_credentials(http, world.machine, "https://nowhere.example/")
    body = assert_oauth_error(response, 403, "access_denied")
    assert (
        body["error_description"] == "Service not enabled within domain: https://nowhere.example/"
    )


async def test_the_userinfo_audience_is_no_api(http: httpx.AsyncClient, world: World) -> None:
    response = await client_credentials(http, world.machine, ISSUER + "userinfo")
    assert_oauth_error(response, 403, "access_denied")


async def test_no_client_grant_for_the_audience(http: httpx.AsyncClient, world: World) -> None:
    """The Default App may use client_credentials but has no grant on the Management API."""
    response = await client_credentials(http, world.app, world.tenant.management_audience)
    body = assert_oauth_error(response, 403, "access_denied")
    assert world.tenant.management_audience in body["error_description"]


async def test_failures_are_logged(http: httpx.AsyncClient, world: World) -> None:
    await client_credentials(http, world.machine, "https://nowhere.example/")
    async with world.container.uow() as uow:
        events = await uow.logs.list(world.tenant.id)
    assert [e.type for e in events][:1] == ["feccft"]
    assert events[0].client_id == world.machine.client_id
