"""``/api/v2/clients``: Auth0's client object, secrets only with read:client_keys, changes
logged as ``sapi`` in the same transaction."""

from __future__ import annotations

import httpx

from tests.conftest import World
from tests.management.conftest import API, assert_error, machine_token, sapi_events
from tether.domain.connections import DEFAULT_DATABASE

CLIENT_FIELDS = {
    "tenant",
    "client_id",
    "name",
    "description",
    "app_type",
    "is_first_party",
    "oidc_conformant",
    "callbacks",
    "allowed_logout_urls",
    "web_origins",
    "allowed_origins",
    "grant_types",
    "token_endpoint_auth_method",
    "jwt_configuration",
    "cross_origin_authentication",
}


async def test_list_pages_and_envelope(api: httpx.AsyncClient, world: World) -> None:
    bare = await api.get(f"{API}/clients")
    assert bare.status_code == 200
    assert [c["name"] for c in bare.json()] == ["Default App", "Tether Management Client"]
    assert set(bare.json()[0]) == CLIENT_FIELDS | {"client_secret"}

    page = await api.get(
        f"{API}/clients", params={"per_page": 1, "page": 1, "include_totals": "true"}
    )
    body = page.json()
    assert {k: body[k] for k in ("start", "limit", "length", "total")} == {
        "start": 1,
        "limit": 1,
        "length": 1,
        "total": 2,
    }
    assert [c["client_id"] for c in body["clients"]] == [world.machine.client_id]

    picked = await api.get(f"{API}/clients", params={"fields": "client_id,name"})
    assert all(set(c) == {"client_id", "name"} for c in picked.json())
    left_out = await api.get(
        f"{API}/clients", params={"fields": "client_secret,callbacks", "include_fields": "false"}
    )
    assert all(set(c) == CLIENT_FIELDS - {"callbacks"} for c in left_out.json())

    machines = await api.get(f"{API}/clients", params={"app_type": "non_interactive"})
    assert [c["client_id"] for c in machines.json()] == [world.machine.client_id]
    assert_error(
        await api.get(f"{API}/clients", params={"app_type": "spa,robot"}),
        400,
        "invalid_query_string",
    )
    assert_error(await api.get(f"{API}/clients", params={"per_page": 101}), 400, None)


async def test_secret_only_with_read_client_keys(
    http: httpx.AsyncClient, world: World, token: str
) -> None:
    reader = await machine_token(http, world, "read:clients update:clients")
    as_reader = {"Authorization": f"Bearer {reader}"}
    as_admin = {"Authorization": f"Bearer {token}"}
    path = f"{API}/clients/{world.app.client_id}"

    hidden = await http.get(path, headers=as_reader)
    assert hidden.status_code == 200 and "client_secret" not in hidden.json()
    assert all(
        "client_secret" not in c
        for c in (await http.get(f"{API}/clients", headers=as_reader)).json()
    )
    patched = await http.patch(path, json={"description": "d"}, headers=as_reader)
    assert patched.status_code == 200 and "client_secret" not in patched.json()

    shown = await http.get(path, headers=as_admin)
    assert shown.json()["client_secret"] == world.app.client_secret
    keys_only = await machine_token(http, world, "read:client_keys")
    alone = await http.get(path, headers={"Authorization": f"Bearer {keys_only}"})
    assert alone.json()["client_secret"] == world.app.client_secret


async def test_create_answers_the_secret_once_and_logs(
    api: httpx.AsyncClient, world: World
) -> None:
    response = await api.post(
        f"{API}/clients",
        json={
            "name": "Billing",
            "description": "Billing back office",
            "app_type": "regular_web",
            "callbacks": ["https://billing.example.com/cb"],
            "allowed_logout_urls": ["https://billing.example.com/"],
            "web_origins": ["https://billing.example.com"],
            "is_first_party": False,
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["client_secret"] and len(created["client_id"]) == 32
    assert created["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert created["token_endpoint_auth_method"] == "client_secret_post"
    assert created["is_first_party"] is False
    assert created["tenant"] == "default"

    # the secret works at the token endpoint (no grant yet: access_denied, not invalid_client)
    token = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            "audience": "http://tether.test/api/v2/",
        },
    )
    assert token.status_code == 403 and token.json()["error"] == "access_denied"

    [event, *_] = await sapi_events(world)
    assert event.description == "Create a client"
    assert event.client_id == world.machine.client_id
    assert event.details["client"] == {"client_id": created["client_id"], "name": "Billing"}
    assert event.details["request"] == {"method": "POST", "path": "/api/v2/clients"}
    assert "client_secret" not in str(event.details)


async def test_public_clients_have_no_secret(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/clients", json={"name": "SPA", "app_type": "spa"})
    assert response.status_code == 201
    spa = response.json()
    assert "client_secret" not in spa
    assert spa["token_endpoint_auth_method"] == "none"
    assert spa["grant_types"] == ["authorization_code", "refresh_token"]
    assert "client_secret" not in (await api.get(f"{API}/clients/{spa['client_id']}")).json()


async def test_create_refuses_bad_bodies(api: httpx.AsyncClient, world: World) -> None:
    before = len(await sapi_events(world))
    cases: list[tuple[object, str]] = [
        ({}, "invalid_body"),
        ({"name": ""}, "invalid_body"),
        ({"name": "x", "colour": "red"}, "invalid_body"),  # unknown field
        ({"name": 42}, "invalid_body"),  # wrong type, no coercion
        ({"name": "x", "callbacks": "https://a.example/cb"}, "invalid_body"),
        ({"name": "x", "app_type": "robot"}, "invalid_body"),
        ({"name": "x", "callbacks": ["not a url"]}, "invalid_body"),
        ({"name": "x", "callbacks": ["https://a.example/#frag"]}, "invalid_body"),
        ({"name": "x", "callbacks": ["http://[::1"]}, "invalid_body"),
        ({"name": "x", "web_origins": ["https://a.example/path"]}, "invalid_body"),
        ({"name": "x", "grant_types": ["magic"]}, "invalid_body"),
        ({"name": "x", "app_type": "spa", "grant_types": ["client_credentials"]}, "invalid_body"),
        ({"name": "a\u0000b"}, "invalid_body"),
        ({"name": "x" * 129}, "invalid_body"),
        ([], "invalid_body"),
    ]
    problems = []
    for body, code in cases:
        response = await api.post(f"{API}/clients", json=body)
        if response.status_code != 400 or response.json().get("errorCode") != code:
            problems.append(f"{body!r}: {response.status_code} {response.text[:200]}")
    assert not problems, problems
    message = (await api.post(f"{API}/clients", json={"name": "x", "colour": "red"})).json()
    assert message["message"].startswith("Payload validation error")
    assert len(await sapi_events(world)) == before
    assert len((await api.get(f"{API}/clients")).json()) == 2


async def test_get_unknown_is_404(api: httpx.AsyncClient) -> None:
    body = assert_error(await api.get(f"{API}/clients/nope"), 404, "inexistent_client")
    assert body["message"] == "Client not found."
    assert_error(
        await api.patch(f"{API}/clients/nope", json={"name": "x"}), 404, "inexistent_client"
    )
    assert_error(await api.delete(f"{API}/clients/nope"), 404, "inexistent_client")


async def test_patch_changes_what_is_sent(api: httpx.AsyncClient, world: World) -> None:
    path = f"{API}/clients/{world.app.client_id}"
    response = await api.patch(
        path,
        json={
            "name": "Renamed",
            "callbacks": ["https://app.example.com/cb"],
            "allowed_origins": ["https://app.example.com/"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["callbacks"] == ["https://app.example.com/cb"]
    assert body["allowed_origins"] == ["https://app.example.com"]
    assert body["grant_types"][0] == "authorization_code"  # untouched
    assert body["client_secret"] == world.app.client_secret  # unchanged by a PATCH
    assert (await api.get(path)).json() == body

    [event, *_] = await sapi_events(world)
    assert event.description == "Update a client"
    assert event.details["fields"] == ["name", "callbacks", "allowed_origins"]
    assert event.details["request"] == {"method": "PATCH", "path": path}

    assert_error(await api.patch(path, json={"client_id": "x"}), 400, "invalid_body")
    assert_error(await api.patch(path, json={"name": ""}), 400, "invalid_body")
    assert_error(await api.patch(path, json={"web_origins": ["ftp://x"]}), 400, "invalid_body")


async def test_patch_public_and_back(api: httpx.AsyncClient, world: World) -> None:
    created = (await api.post(f"{API}/clients", json={"name": "N", "app_type": "native"})).json()
    path = f"{API}/clients/{created['client_id']}"
    confidential = await api.patch(path, json={"token_endpoint_auth_method": "client_secret_basic"})
    secret = confidential.json()["client_secret"]
    assert secret
    public = await api.patch(path, json={"token_endpoint_auth_method": "none"})
    assert "client_secret" not in public.json()
    # a public application keeps no secret to show or to accept
    assert "client_secret" not in (await api.get(path)).json()
    refused = await api.patch(
        f"{API}/clients/{world.machine.client_id}", json={"token_endpoint_auth_method": "none"}
    )
    assert_error(refused, 400, "invalid_body")  # client_credentials needs a secret


async def test_web_origins_take_effect_at_once(api: httpx.AsyncClient, world: World) -> None:
    applications = world.container.applications
    assert "https://new.example.com" not in await applications.web_origins(world.tenant)
    response = await api.patch(
        f"{API}/clients/{world.app.client_id}", json={"web_origins": ["https://new.example.com"]}
    )
    assert response.status_code == 200
    assert "https://new.example.com" in await applications.web_origins(world.tenant)
    await api.delete(f"{API}/clients/{world.app.client_id}")
    assert "https://new.example.com" not in await applications.web_origins(world.tenant)


async def test_delete_removes_grants_and_connection_membership(
    api: httpx.AsyncClient, world: World
) -> None:
    path = f"{API}/clients/{world.app.client_id}"
    assert (await api.delete(path)).status_code == 204
    assert_error(await api.get(path), 404, "inexistent_client")
    database = await world.container.connections.by_name(world.tenant, DEFAULT_DATABASE)
    assert world.app.client_id not in database.enabled_clients
    token = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "audience": "http://tether.test/api/v2/",
        },
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    [event, *_] = await sapi_events(world)
    assert event.description == "Delete a client"
    assert event.details["client"]["client_id"] == world.app.client_id
    assert_error(await api.delete(path), 404, "inexistent_client")


async def test_the_cli_delete_also_leaves_connections(world: World) -> None:
    """``tether apps delete`` goes through the same clean-up as DELETE /clients/{id}."""
    await world.container.applications.delete(world.tenant, world.app.client_id)
    database = await world.container.connections.by_name(world.tenant, DEFAULT_DATABASE)
    assert database.enabled_clients == []
    grants = await world.container.applications.client_grants(world.tenant, world.app.client_id)
    assert grants == []
