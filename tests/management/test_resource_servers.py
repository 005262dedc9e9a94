"""``/api/v2/resource-servers``: APIs by id or identifier; the Management API stays put."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import World
from tests.management.conftest import API, MANAGEMENT_AUDIENCE, assert_error, sapi_events

THINGS = "https://things.example.com/"


async def _create(api: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "Things",
        "identifier": THINGS,
        "scopes": [
            {"value": "read:things", "description": "Read things"},
            {"value": "write:things", "description": "Write things"},
        ],
        "token_lifetime": 3600,
        "allow_offline_access": True,
        **extra,
    }
    response = await api.post(f"{API}/resource-servers", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _management_api(api: httpx.AsyncClient) -> dict[str, Any]:
    [found] = [s for s in (await api.get(f"{API}/resource-servers")).json() if s["is_system"]]
    return found  # type: ignore[no-any-return]


async def test_create_and_read_by_id_or_identifier(api: httpx.AsyncClient, world: World) -> None:
    created = await _create(api)
    assert created == {
        "id": created["id"],
        "name": "Things",
        "identifier": THINGS,
        "scopes": [
            {"value": "read:things", "description": "Read things"},
            {"value": "write:things", "description": "Write things"},
        ],
        "signing_alg": "RS256",
        "token_lifetime": 3600,
        "allow_offline_access": True,
        "is_system": False,
    }
    by_id = await api.get(f"{API}/resource-servers/{created['id']}")
    by_identifier = await api.get(f"{API}/resource-servers/{quote(THINGS, safe='')}")
    assert by_id.json() == created == by_identifier.json()
    # auth0-python puts the identifier in the path as it is, slashes and all
    as_is = await api.get(f"{API}/resource-servers/{THINGS}")
    assert as_is.json() == created
    listed = (await api.get(f"{API}/resource-servers", params={"include_totals": "true"})).json()
    assert listed["total"] == 2
    assert [s["identifier"] for s in listed["resource_servers"]] == [MANAGEMENT_AUDIENCE, THINGS]
    only = await api.get(f"{API}/resource-servers", params={"identifiers": THINGS})
    assert [s["id"] for s in only.json()] == [created["id"]]

    [event, *_] = await sapi_events(world)
    assert event.description == "Create a resource server"
    assert event.details["resource_server"]["identifier"] == THINGS

    assert_error(await api.post(f"{API}/resource-servers", json={"identifier": THINGS}), 409, None)
    assert_error(
        await api.get(f"{API}/resource-servers/api_nope"), 404, "inexistent_resource_server"
    )


async def test_defaults_and_bad_bodies(api: httpx.AsyncClient) -> None:
    minimal = await api.post(f"{API}/resource-servers", json={"identifier": "urn:minimal"})
    assert minimal.status_code == 201
    assert minimal.json()["name"] == "urn:minimal"
    assert minimal.json()["token_lifetime"] == 86400
    assert minimal.json()["scopes"] == []
    cases: list[object] = [
        {},
        {"identifier": ""},
        {"identifier": "urn:x", "token_lifetime": 59},
        {"identifier": "urn:x", "token_lifetime": 30 * 86400 + 1},
        {"identifier": "urn:x", "token_lifetime": "3600"},
        {"identifier": "urn:x", "signing_alg": "HS256"},
        {"identifier": "urn:x", "scopes": [{"value": "a b"}]},
        {"identifier": "urn:x", "scopes": [{"value": "a"}, {"value": "a"}]},
        {"identifier": "urn:x", "scopes": [{"value": ""}]},
        {"identifier": "urn:x", "scopes": [{"value": "a", "extra": 1}]},
        {"identifier": "urn:x", "scopes": ["a"]},
        {"identifier": "urn:\u0000"},
        {"identifier": "urn:x", "audience": "urn:x"},
    ]
    problems = []
    for body in cases:
        response = await api.post(f"{API}/resource-servers", json=body)
        if response.status_code != 400 or response.json().get("errorCode") != "invalid_body":
            problems.append(f"{body!r}: {response.status_code} {response.text[:200]}")
    assert not problems, problems


async def test_patch_and_scopes_leave_grants(api: httpx.AsyncClient, world: World) -> None:
    created = await _create(api)
    grant = await api.post(
        f"{API}/client-grants",
        json={
            "client_id": world.app.client_id,
            "audience": THINGS,
            "scope": ["read:things", "write:things"],
        },
    )
    assert grant.status_code == 201, grant.text
    path = f"{API}/resource-servers/{created['id']}"
    response = await api.patch(
        path,
        json={
            "name": "Stuff",
            "scopes": [{"value": "read:things", "description": "Read"}],
            "token_lifetime": 600,
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["name"] == "Stuff" and changed["token_lifetime"] == 600
    assert changed["scopes"] == [{"value": "read:things", "description": "Read"}]
    assert changed["allow_offline_access"] is True  # untouched
    # a scope the API no longer defines leaves its grants, so no token can carry it
    [kept] = (await api.get(f"{API}/client-grants", params={"audience": THINGS})).json()
    assert kept["scope"] == ["read:things"]
    token = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "audience": THINGS,
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "read:things"
    assert token.json()["expires_in"] == 600

    [event, *_] = await sapi_events(world)
    assert event.description == "Update a resource server"
    assert event.details["fields"] == ["name", "scopes", "token_lifetime"]


async def test_patch_identifier_moves_grants(api: httpx.AsyncClient, world: World) -> None:
    created = await _create(api)
    await api.post(
        f"{API}/client-grants",
        json={"client_id": world.app.client_id, "audience": THINGS, "scope": ["read:things"]},
    )
    moved = await api.patch(
        f"{API}/resource-servers/{quote(THINGS, safe='')}",
        json={"identifier": "https://stuff.example.com/"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == created["id"]
    grants = (
        await api.get(f"{API}/client-grants", params={"client_id": world.app.client_id})
    ).json()
    assert [g["audience"] for g in grants] == ["https://stuff.example.com/"]
    assert_error(
        await api.patch(
            f"{API}/resource-servers/{created['id']}", json={"identifier": MANAGEMENT_AUDIENCE}
        ),
        409,
        None,
    )


async def test_the_management_api_stays(api: httpx.AsyncClient, world: World) -> None:
    system = await _management_api(api)
    path = f"{API}/resource-servers/{system['id']}"
    body = assert_error(await api.delete(path), 403, "operation_not_supported")
    assert body["message"] == "The Management API cannot be deleted."
    body = assert_error(
        await api.patch(path, json={"identifier": "https://elsewhere.example.com/api/v2/"}),
        400,
        "operation_not_supported",
    )
    assert "identifier cannot be changed" in body["message"]
    assert_error(
        await api.patch(path, json={"scopes": [{"value": "read:users"}]}),
        400,
        "operation_not_supported",
    )
    renamed = await api.patch(path, json={"name": "Management", "identifier": MANAGEMENT_AUDIENCE})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Management"
    assert (await api.get(f"{API}/resource-servers/{system['id']}")).json()["is_system"] is True
    # and the Management API still answers this token
    assert (await api.get(f"{API}/clients")).status_code == 200


async def test_delete_removes_grants(api: httpx.AsyncClient, world: World) -> None:
    created = await _create(api)
    await api.post(
        f"{API}/client-grants",
        json={"client_id": world.app.client_id, "audience": THINGS, "scope": ["read:things"]},
    )
    assert (await api.delete(f"{API}/resource-servers/{quote(THINGS, safe='')}")).status_code == 204
    assert (await api.get(f"{API}/client-grants", params={"audience": THINGS})).json() == []
    assert_error(
        await api.get(f"{API}/resource-servers/{created['id']}"), 404, "inexistent_resource_server"
    )
    [event, *_] = await sapi_events(world)
    assert (event.description, event.details["resource_server"]["id"]) == (
        "Delete a resource server",
        created["id"],
    )
