"""``/api/v2/client-grants``: which client may ask which API for which scopes."""

from __future__ import annotations

import httpx

from tests.conftest import World
from tests.management.conftest import API, MANAGEMENT_AUDIENCE, assert_error, sapi_events

THINGS = "https://things.example.com/"


async def _things(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{API}/resource-servers",
        json={
            "identifier": THINGS,
            "scopes": [{"value": "read:things"}, {"value": "write:things"}],
        },
    )
    assert response.status_code == 201, response.text


async def test_grant_lets_the_client_get_tokens(api: httpx.AsyncClient, world: World) -> None:
    await _things(api)
    body = {
        "grant_type": "client_credentials",
        "client_id": world.app.client_id,
        "client_secret": world.app.client_secret,
        "audience": THINGS,
    }
    assert (await api.post("/oauth/token", json=body)).status_code == 403

    created = await api.post(
        f"{API}/client-grants",
        json={"client_id": world.app.client_id, "audience": THINGS, "scope": ["read:things"]},
    )
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant == {
        "id": grant["id"],
        "client_id": world.app.client_id,
        "audience": THINGS,
        "scope": ["read:things"],
    }
    token = await api.post("/oauth/token", json=body)
    assert token.status_code == 200 and token.json()["scope"] == "read:things"

    [event, *_] = await sapi_events(world)
    assert event.description == "Create client grant"
    assert event.details["client_grant"] == grant

    patched = await api.patch(
        f"{API}/client-grants/{grant['id']}", json={"scope": ["read:things", "write:things"]}
    )
    assert patched.status_code == 200
    assert patched.json()["scope"] == ["read:things", "write:things"]
    token = await api.post("/oauth/token", json=body)
    assert token.json()["scope"] == "read:things write:things"
    [event, *_] = await sapi_events(world)
    assert event.description == "Update client grant"

    assert (await api.delete(f"{API}/client-grants/{grant['id']}")).status_code == 204
    assert (await api.post("/oauth/token", json=body)).status_code == 403
    [event, *_] = await sapi_events(world)
    assert event.description == "Delete client grant"


async def test_list_filters(api: httpx.AsyncClient, world: World) -> None:
    await _things(api)
    await api.post(
        f"{API}/client-grants",
        json={"client_id": world.machine.client_id, "audience": THINGS, "scope": []},
    )
    everything = (await api.get(f"{API}/client-grants")).json()
    assert {(g["client_id"], g["audience"]) for g in everything} == {
        (world.machine.client_id, MANAGEMENT_AUDIENCE),
        (world.machine.client_id, THINGS),
    }
    things = (await api.get(f"{API}/client-grants", params={"audience": THINGS})).json()
    assert [g["audience"] for g in things] == [THINGS]
    none = (await api.get(f"{API}/client-grants", params={"client_id": world.app.client_id})).json()
    assert none == []
    envelope = (
        await api.get(f"{API}/client-grants", params={"include_totals": "true", "per_page": 1})
    ).json()
    assert envelope["total"] == 2 and envelope["length"] == 1
    assert len(envelope["client_grants"]) == 1


async def test_errors(api: httpx.AsyncClient, world: World) -> None:
    await _things(api)
    before = len(await sapi_events(world))
    app = world.app.client_id
    assert_error(
        await api.post(
            f"{API}/client-grants", json={"client_id": "nope", "audience": THINGS, "scope": []}
        ),
        404,
        "inexistent_client",
    )
    assert_error(
        await api.post(
            f"{API}/client-grants", json={"client_id": app, "audience": "urn:nope", "scope": []}
        ),
        404,
        "inexistent_resource_server",
    )
    undefined = assert_error(
        await api.post(
            f"{API}/client-grants",
            json={"client_id": app, "audience": THINGS, "scope": ["delete:things"]},
        ),
        400,
        "invalid_body",
    )
    assert "delete:things" in undefined["message"]
    for body in (
        {"client_id": app, "audience": THINGS},
        {"client_id": app, "audience": THINGS, "scope": "read:things"},
        {"client_id": app, "audience": THINGS, "scope": [], "extra": True},
        {"client_id": "a\u0000", "audience": THINGS, "scope": []},
    ):
        assert_error(await api.post(f"{API}/client-grants", json=body), 400, "invalid_body")
    assert len(await sapi_events(world)) == before

    ok = {"client_id": app, "audience": THINGS, "scope": []}
    assert (await api.post(f"{API}/client-grants", json=ok)).status_code == 201
    assert_error(await api.post(f"{API}/client-grants", json=ok), 409, None)

    assert_error(
        await api.patch(f"{API}/client-grants/cgr_nope", json={"scope": []}),
        404,
        "inexistent_client_grant",
    )
    assert_error(await api.delete(f"{API}/client-grants/cgr_nope"), 404, "inexistent_client_grant")
    [grant] = (await api.get(f"{API}/client-grants", params={"client_id": app})).json()
    assert_error(
        await api.patch(f"{API}/client-grants/{grant['id']}", json={"audience": "x"}),
        400,
        "invalid_body",
    )
    assert_error(
        await api.patch(f"{API}/client-grants/{grant['id']}", json={"scope": ["nope"]}),
        400,
        "invalid_body",
    )
