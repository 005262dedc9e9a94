"""Every new Management API endpoint asks for its scope (403 insufficient_scope naming it) and
a bearer token (401)."""

from __future__ import annotations

import httpx

from tests.conftest import World
from tests.management.conftest import API, assert_error, machine_token, sapi_events

ENDPOINTS: list[tuple[str, str, object, str]] = [
    ("GET", "/clients", None, "read:clients,read:client_keys"),
    ("POST", "/clients", {"name": "x"}, "create:clients"),
    ("GET", "/clients/{client}", None, "read:clients,read:client_keys"),
    ("PATCH", "/clients/{client}", {"name": "x"}, "update:clients"),
    ("DELETE", "/clients/{client}", None, "delete:clients"),
    ("GET", "/connections", None, "read:connections"),
    ("POST", "/connections", {"name": "x", "strategy": "auth0"}, "create:connections"),
    ("GET", "/connections/{connection}", None, "read:connections"),
    ("PATCH", "/connections/{connection}", {"options": {}}, "update:connections"),
    ("DELETE", "/connections/{connection}", None, "delete:connections"),
    ("GET", "/resource-servers", None, "read:resource_servers"),
    ("POST", "/resource-servers", {"identifier": "https://x/"}, "create:resource_servers"),
    ("GET", "/resource-servers/{api}", None, "read:resource_servers"),
    ("PATCH", "/resource-servers/{api}", {"name": "x"}, "update:resource_servers"),
    ("DELETE", "/resource-servers/{api}", None, "delete:resource_servers"),
    ("GET", "/client-grants", None, "read:client_grants"),
    (
        "POST",
        "/client-grants",
        {"client_id": "x", "audience": "y", "scope": []},
        "create:client_grants",
    ),
    ("PATCH", "/client-grants/{grant}", {"scope": []}, "update:client_grants"),
    ("DELETE", "/client-grants/{grant}", None, "delete:client_grants"),
]


async def _ids(api: httpx.AsyncClient, world: World) -> dict[str, str]:
    connections = (await api.get(f"{API}/connections")).json()
    servers = (await api.get(f"{API}/resource-servers")).json()
    grants = (await api.get(f"{API}/client-grants")).json()
    return {
        "client": world.app.client_id,
        "connection": connections[0]["id"],
        "api": servers[0]["id"],
        "grant": grants[0]["id"],
    }


async def test_each_endpoint_names_the_scope_it_needs(
    api: httpx.AsyncClient, http: httpx.AsyncClient, world: World
) -> None:
    ids = await _ids(api, world)
    narrow = await machine_token(http, world, "read:users")
    before = len(await sapi_events(world))
    problems = []
    for method, template, body, expected in ENDPOINTS:
        path = API + template.format(**ids)
        response = await http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {narrow}"}
        )
        wanted = {
            "statusCode": 403,
            "error": "Forbidden",
            "message": f"Insufficient scope, expected any of: {expected}",
            "errorCode": "insufficient_scope",
        }
        if response.status_code != 403 or response.json() != wanted:
            problems.append(f"{method} {template}: {response.status_code} {response.text[:200]}")
    assert not problems, problems
    assert len(await sapi_events(world)) == before  # nothing changed


async def test_each_endpoint_needs_a_bearer(api: httpx.AsyncClient, world: World) -> None:
    ids = await _ids(api, world)
    del api.headers["Authorization"]
    problems = []
    for method, template, body, _ in ENDPOINTS:
        response = await api.request(method, API + template.format(**ids), json=body)
        if response.status_code != 401 or response.json() != {
            "statusCode": 401,
            "error": "Unauthorized",
            "message": "Missing authentication",
        }:
            problems.append(f"{method} {template}: {response.status_code} {response.text[:200]}")
        bad = await api.request(
            method,
            API + template.format(**ids),
            json=body,
            headers={"Authorization": "Bearer not.a.token"},
        )
        if bad.status_code != 401:
            problems.append(f"{method} {template} (bad token): {bad.status_code}")
    assert not problems, problems


async def test_a_user_token_cannot_manage_applications(
    api: httpx.AsyncClient, http: httpx.AsyncClient, world: World
) -> None:
    """Current-user scopes reach only /users/{own id}; nothing here."""
    from tether.domain.users import NewDatabaseUser

    await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email="ann@example.com", password="correct horse 1")
    )
    login = await http.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "username": "ann@example.com",
            "password": "correct horse 1",
            "realm": "Username-Password-Authentication",
            "audience": "http://tether.test/api/v2/",
            "scope": "openid read:current_user",
        },
    )
    assert login.status_code == 200, login.text
    user = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert_error(await http.get(f"{API}/clients", headers=user), 403, "insufficient_scope")
    assert_error(
        await http.post(f"{API}/client-grants", headers=user, json={}), 403, "insufficient_scope"
    )
