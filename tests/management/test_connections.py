"""``/api/v2/connections``: database options checked, other strategies' stored as given,
``enabled_clients``, and no connection deleted while identities come from it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.management.conftest import API, assert_error, sapi_events
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.users import NewDatabaseUser

DEFAULT_OPTIONS = {
    "passwordPolicy": "fair",
    "password_complexity_options": {"min_length": 8},
    "brute_force_protection": True,
    "disable_signup": False,
    "requires_username": False,
}


async def _database(api: httpx.AsyncClient) -> dict[str, Any]:
    [found] = (await api.get(f"{API}/connections", params={"name": DEFAULT_DATABASE})).json()
    return found  # type: ignore[no-any-return]


async def test_list_and_get(api: httpx.AsyncClient, world: World) -> None:
    listed = (await api.get(f"{API}/connections")).json()
    assert listed == [
        {
            "id": listed[0]["id"],
            "name": DEFAULT_DATABASE,
            "strategy": "auth0",
            "options": DEFAULT_OPTIONS,
            "enabled_clients": [world.app.client_id],
            "realms": [DEFAULT_DATABASE],
            "is_domain_connection": False,
        }
    ]
    one = await api.get(f"{API}/connections/{listed[0]['id']}")
    assert one.json() == listed[0]
    picked = await api.get(f"{API}/connections/{listed[0]['id']}", params={"fields": "id,name"})
    assert picked.json() == {"id": listed[0]["id"], "name": DEFAULT_DATABASE}
    envelope = (await api.get(f"{API}/connections", params={"include_totals": "true"})).json()
    assert envelope["total"] == 1 and envelope["connections"] == listed
    assert (await api.get(f"{API}/connections", params={"strategy": "github"})).json() == []
    assert_error(
        await api.get(f"{API}/connections", params={"strategy": "samlp"}),
        400,
        "invalid_query_string",
    )
    assert_error(await api.get(f"{API}/connections/con_nope"), 404, "inexistent_connection")


async def test_create_database_connection(api: httpx.AsyncClient, world: World) -> None:
    response = await api.post(
        f"{API}/connections",
        json={
            "name": "Staff",
            "strategy": "auth0",
            "options": {
                "requires_username": True,
                "password_complexity_options": {"min_length": 12},
            },
            "enabled_clients": [world.app.client_id],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("con_")
    assert created["options"] == {
        **DEFAULT_OPTIONS,
        "requires_username": True,
        "password_complexity_options": {"min_length": 12},
    }
    assert created["enabled_clients"] == [world.app.client_id]
    [event, *_] = await sapi_events(world)
    assert event.description == "Create a connection"
    assert (event.connection, event.connection_id, event.strategy) == (
        "Staff",
        created["id"],
        "auth0",
    )
    assert event.client_id == world.machine.client_id
    assert_error(
        await api.post(f"{API}/connections", json={"name": "Staff", "strategy": "auth0"}),
        409,
        "connection_conflict",
    )


async def test_other_strategies_keep_their_options(api: httpx.AsyncClient) -> None:
    options = {"client_id": "gh-id", "scope": ["user:email"], "x": {"nested": [1, True]}}
    for strategy in ("email", "oidc", "google-oauth2", "github", "oauth2"):
        response = await api.post(
            f"{API}/connections",
            json={"name": f"c-{strategy}", "strategy": strategy, "options": options},
        )
        assert response.status_code == 201, response.text
        assert response.json()["options"] == options
        assert response.json()["strategy"] == strategy


async def test_upstream_client_secrets_are_stored_sealed(api: httpx.AsyncClient) -> None:
    created = await api.post(
        f"{API}/connections",
        json={
            "name": "gh",
            "strategy": "github",
            "options": {"client_id": "gh-id", "client_secret": "gh-secret"},
        },
    )
    assert created.status_code == 201, created.text
    path = f"{API}/connections/{created.json()['id']}"
    for response in (created, await api.get(path)):
        options = response.json()["options"]
        assert "client_secret" not in options and "gh-secret" not in response.text
        assert options["client_secret_sealed"]
    patched = await api.patch(
        path, json={"options": {"client_id": "gh-id", "client_secret": "new-secret"}}
    )
    assert patched.status_code == 200
    options = patched.json()["options"]
    assert "client_secret" not in options and "new-secret" not in patched.text
    assert options["client_secret_sealed"] != created.json()["options"]["client_secret_sealed"]


async def test_create_refuses_bad_bodies(api: httpx.AsyncClient, world: World) -> None:
    before = len(await sapi_events(world))
    cases: list[object] = [
        {"name": "x"},
        {"strategy": "auth0"},
        {"name": "x", "strategy": "samlp"},
        {"name": "x", "strategy": "auth0", "display_name": "X"},
        {"name": "has space", "strategy": "auth0"},
        {"name": "-x", "strategy": "auth0"},
        {"name": "x", "strategy": "auth0", "options": []},
        {"name": "x", "strategy": "auth0", "options": {"passwordPolicy": "great"}},
        {"name": "x", "strategy": "auth0", "options": {"requires_username": "yes"}},
        {"name": "x", "strategy": "auth0", "options": {"brute_force_protection": 1}},
        {"name": "x", "strategy": "auth0", "options": {"disable_signup": None}},
        {"name": "x", "strategy": "auth0", "options": {"password_history": {"size": 5}}},
        {
            "name": "x",
            "strategy": "auth0",
            "options": {"password_complexity_options": {"min_length": 4}},
        },
        {
            "name": "x",
            "strategy": "auth0",
            "options": {"password_complexity_options": {"min_length": True}},
        },
        {"name": "x", "strategy": "auth0", "options": {"password_complexity_options": 8}},
        {"name": "x", "strategy": "github", "options": {"k": "a\u0000b"}},
        {"name": "x", "strategy": "github", "options": {"k": "x" * 70000}},
        {"name": "x", "strategy": "auth0", "enabled_clients": ["no-such-client"]},
        {"name": "x", "strategy": "auth0", "enabled_clients": "abc"},
    ]
    problems = []
    for body in cases:
        response = await api.post(f"{API}/connections", json=body)
        if response.status_code not in (400, 413) or response.json().get("errorCode") not in (
            "invalid_body",
            "payload_too_large",
        ):
            problems.append(f"{body!r:.120}: {response.status_code} {response.text[:200]}")
    assert not problems, problems
    assert len(await sapi_events(world)) == before
    assert len((await api.get(f"{API}/connections")).json()) == 1


async def test_patch_replaces_options_and_checks_them(api: httpx.AsyncClient, world: World) -> None:
    database = await _database(api)
    path = f"{API}/connections/{database['id']}"
    response = await api.patch(path, json={"options": {"disable_signup": True}})
    assert response.status_code == 200, response.text
    assert response.json()["options"] == {**DEFAULT_OPTIONS, "disable_signup": True}
    assert response.json()["enabled_clients"] == [world.app.client_id]  # untouched

    # the change takes effect: sign-up on the connection is refused
    signup = await api.post(
        "/dbconnections/signup",
        json={
            "client_id": world.app.client_id,
            "email": "new@example.com",
            "password": "correct horse battery staple",
            "connection": DEFAULT_DATABASE,
        },
    )
    assert signup.status_code in (400, 403), signup.text

    [event, *_] = await sapi_events(world)
    assert (event.description, event.details["fields"]) == ("Update a connection", ["options"])
    assert_error(await api.patch(path, json={"options": {"x": 1}}), 400, "invalid_body")
    assert_error(await api.patch(path, json={"name": "Renamed"}), 400, "invalid_body")
    assert_error(await api.patch(path, json={"strategy": "github"}), 400, "invalid_body")
    assert_error(
        await api.patch(f"{API}/connections/con_nope", json={"options": {}}),
        404,
        "inexistent_connection",
    )


async def test_patch_enabled_clients(api: httpx.AsyncClient, world: World) -> None:
    database = await _database(api)
    path = f"{API}/connections/{database['id']}"
    both = [world.app.client_id, world.machine.client_id]
    response = await api.patch(path, json={"enabled_clients": [*both, world.app.client_id]})
    assert response.json()["enabled_clients"] == both
    enabled = await world.container.connections.enabled_for(world.tenant, world.machine.client_id)
    assert [c.name for c in enabled] == [DEFAULT_DATABASE]
    cleared = await api.patch(path, json={"enabled_clients": []})
    assert cleared.json()["enabled_clients"] == []
    assert cleared.json()["options"] == DEFAULT_OPTIONS
    assert_error(await api.patch(path, json={"enabled_clients": ["nope"]}), 400, "invalid_body")


async def test_delete(api: httpx.AsyncClient, world: World) -> None:
    created = (
        await api.post(f"{API}/connections", json={"name": "Spare", "strategy": "auth0"})
    ).json()
    assert (await api.delete(f"{API}/connections/{created['id']}")).status_code == 204
    assert_error(await api.get(f"{API}/connections/{created['id']}"), 404, "inexistent_connection")
    [event, *_] = await sapi_events(world)
    assert (event.description, event.connection_id) == ("Delete a connection", created["id"])
    assert_error(
        await api.delete(f"{API}/connections/{created['id']}"), 404, "inexistent_connection"
    )


async def test_delete_refused_while_users_sign_in_with_it(
    api: httpx.AsyncClient, world: World
) -> None:
    await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email="ann@example.com", password="correct horse 1")
    )
    database = await _database(api)
    body = assert_error(
        await api.delete(f"{API}/connections/{database['id']}"), 409, "connection_in_use"
    )
    assert "1 user identity" in body["message"]
    assert (await api.get(f"{API}/connections/{database['id']}")).status_code == 200
