"""Object-level authorization on the Management API (auth0-wire.md §1.6), in process.

A user token (``*:current_user*`` scopes, from the password-realm grant for the Management API
audience) acts only on ``{id} == sub``: on another user's id every route answers 403, with
``unowned_resource`` where a current-user scope would cover the route and ``insufficient_scope``
where only a machine scope would, and nothing changes. On its own id it does what its scopes
allow and no more. It never holds a machine scope, whatever it asks for.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.management_sdk.support import (
    API,
    UNOWNED,
    bearer,
    machine_token,
    management_error,
    path_id,
    person,
    problem,
    token_scopes,
)
from tests.web.conftest import password_login

MACHINE_ONLY = {
    "read:users",
    "update:users",
    "delete:users",
    "create:users",
    "read:logs",
    "read:logs_users",
    "update:users_app_metadata",
    "read:clients",
}


async def _snapshot(http: httpx.AsyncClient, machine: str, user_id: str) -> dict[str, Any]:
    response = await http.get(f"{API}/users/{path_id(user_id)}", headers=bearer(machine))
    assert response.status_code == 200, response.text
    value: dict[str, Any] = response.json()
    return value


async def test_a_user_token_gets_403_on_every_path_of_another_user(
    world: World, http: httpx.AsyncClient
) -> None:
    machine = await machine_token(http, world)
    ann = await person(http, world, "ann")
    bob = await person(http, world, "bob", user_metadata={"plan": "gold"})
    # Bob has a second identity (Cy's), so there is something of his to unlink.
    cy = await person(http, world, "cy")
    linked = await http.post(
        f"{API}/users/{path_id(bob.user_id)}/identities",
        json={"provider": "auth0", "user_id": cy.raw_id},
        headers=bearer(machine),
    )
    assert linked.status_code == 201, linked.text
    dee = await person(http, world, "dee")
    before = await _snapshot(http, machine, bob.user_id)

    problems: list[str] = []
    # Both spellings of the id reach the same user: python-requests' auth0%7C... and a raw |.
    for bob_id in (path_id(bob.user_id), bob.user_id):
        base = f"{API}/users/{bob_id}"
        calls: list[tuple[str, str, dict[str, Any] | None, str]] = [
            ("GET", base, None, "unowned_resource"),
            ("PATCH", base, {"user_metadata": {"plan": "free"}}, "unowned_resource"),
            ("PATCH", base, {"app_metadata": {"role": "admin"}}, "insufficient_scope"),
            ("PATCH", base, {"email_verified": True}, "insufficient_scope"),
            ("GET", f"{base}/logs", None, "insufficient_scope"),
            ("DELETE", base, None, "insufficient_scope"),
            ("POST", f"{base}/identities", {"link_with": dee.id_token}, "unowned_resource"),
            ("POST", f"{base}/identities", {"link_with": ann.id_token}, "unowned_resource"),
            (
                "POST",
                f"{base}/identities",
                {"provider": "auth0", "user_id": dee.raw_id},
                "unowned_resource",
            ),
            ("DELETE", f"{base}/identities/auth0/{cy.raw_id}", None, "unowned_resource"),
            ("DELETE", f"{base}/identities/auth0/{bob.raw_id}", None, "unowned_resource"),
        ]
        for method, url, body, code in calls:
            response = await http.request(method, url, json=body, headers=ann.headers)
            found = problem(response, 403, code)
            if found is None and code == "unowned_resource":
                found = None if response.json()["message"] == UNOWNED else response.text
            if found:
                problems.append(f"{method} {url} {body}: {found}")
    assert not problems, "\n".join(problems)

    # Nothing of Bob's changed, and Dee was linked to no one.
    after = await _snapshot(http, machine, bob.user_id)
    assert after == before
    assert [i["user_id"] for i in after["identities"]] == [bob.raw_id, cy.raw_id]
    assert (await _snapshot(http, machine, dee.user_id))["user_id"] == dee.user_id


async def test_a_user_token_on_its_own_id_does_what_its_scopes_allow(
    world: World, http: httpx.AsyncClient
) -> None:
    machine = await machine_token(http, world)
    ann = await person(http, world, "ann", user_metadata={"lang": "en"})
    dee = await person(http, world, "dee")
    me = f"{API}/users/{path_id(ann.user_id)}"

    got = await http.get(me, headers=ann.headers)
    assert got.status_code == 200, got.text
    assert got.json()["user_id"] == ann.user_id
    patched = await http.patch(me, json={"user_metadata": {"theme": "dark"}}, headers=ann.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["user_metadata"] == {"lang": "en", "theme": "dark"}

    # Machine-only even on one's own id: app_metadata, root fields, logs, deleting.
    denied: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("PATCH", me, {"app_metadata": {"role": "admin"}}, "update:users"),
        ("PATCH", me, {"name": "Queen Ann"}, "update:users"),
        ("PATCH", me, {"blocked": False}, "update:users"),
        ("PATCH", me, {"user_metadata": {"a": 1}, "email_verified": True}, "update:users"),
        ("GET", f"{me}/logs", None, "read:logs"),
        ("DELETE", me, None, "delete:users"),
        ("GET", f"{API}/users", None, "read:users"),
        ("GET", f"{API}/users-by-email?email={ann.email}", None, "read:users"),
        ("POST", f"{API}/users", {"connection": "x", "email": "x@y.z"}, "create:users"),
        ("GET", f"{API}/logs", None, "read:logs"),
        # A user links a second account by proving it owns it, never by naming it.
        ("POST", f"{me}/identities", {"provider": "auth0", "user_id": dee.raw_id}, "update:users"),
    ]
    problems = []
    for method, url, body, scope in denied:
        response = await http.request(method, url, json=body, headers=ann.headers)
        found = problem(response, 403, "insufficient_scope")
        if found is None and scope not in response.json()["message"]:
            found = f"the message does not name {scope}: {response.text}"
        if found:
            problems.append(f"{method} {url} {body}: {found}")
    assert not problems, "\n".join(problems)
    still = await _snapshot(http, machine, ann.user_id)
    assert still["app_metadata"] == {} and still["name"] != "Queen Ann"

    # update:current_user_identities: link with the other account's ID token, then unlink.
    linked = await http.post(
        f"{me}/identities", json={"link_with": dee.id_token}, headers=ann.headers
    )
    assert linked.status_code == 201, linked.text
    assert [i["user_id"] for i in linked.json()] == [ann.raw_id, dee.raw_id]
    unlinked = await http.delete(f"{me}/identities/auth0/{dee.raw_id}", headers=ann.headers)
    assert unlinked.status_code == 200, unlinked.text
    assert [i["user_id"] for i in unlinked.json()] == [ann.raw_id]


async def test_each_current_user_scope_covers_only_its_routes(
    world: World, http: httpx.AsyncClient
) -> None:
    dee = await person(http, world, "dee")
    reader = await person(http, world, "ann", scope="openid read:current_user")
    me = f"{API}/users/{path_id(reader.user_id)}"
    assert token_scopes(reader.access_token) == {"openid", "read:current_user"}
    assert (await http.get(me, headers=reader.headers)).status_code == 200

    patch = await http.patch(me, json={"user_metadata": {"a": 1}}, headers=reader.headers)
    body = management_error(patch, 403, "insufficient_scope")
    assert body["message"] == (
        "Insufficient scope, expected any of: update:users,"
        "update:current_user_metadata,create:current_user_metadata"
    )
    link = await http.post(
        f"{me}/identities", json={"link_with": dee.id_token}, headers=reader.headers
    )
    body = management_error(link, 403, "insufficient_scope")
    assert body["message"] == (
        "Insufficient scope, expected any of: update:users,update:current_user_identities"
    )
    unlink = await http.delete(f"{me}/identities/auth0/{dee.raw_id}", headers=reader.headers)
    management_error(unlink, 403, "insufficient_scope")

    writer = await person(http, world, "bob", scope="openid update:current_user_metadata")
    mine = f"{API}/users/{path_id(writer.user_id)}"
    management_error(await http.get(mine, headers=writer.headers), 403, "insufficient_scope")
    ok = await http.patch(mine, json={"user_metadata": {"a": 1}}, headers=writer.headers)
    assert ok.status_code == 200, ok.text


async def test_a_user_token_never_holds_a_machine_scope(
    world: World, http: httpx.AsyncClient
) -> None:
    ann = await person(http, world, "ann")
    greedy = " ".join(["openid", *sorted(MACHINE_ONLY), "read:current_user"])
    response = await password_login(
        http,
        world.app,
        username=ann.email,
        password=ann.password,
        scope=greedy,
        audience=world.tenant.management_audience,
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    for granted in (set(response.json()["scope"].split()), token_scopes(token)):
        assert not granted & MACHINE_ONLY, granted
        assert "read:current_user" in granted
    listed = await http.get(f"{API}/users", headers=bearer(token))
    management_error(listed, 403, "insufficient_scope")
    other = await person(http, world, "bob")
    read = await http.get(f"{API}/users/{path_id(other.user_id)}", headers=bearer(token))
    management_error(read, 403, "unowned_resource")

    # Asking only for machine scopes gives a token with none of them, or no token at all.
    only = await password_login(
        http,
        world.app,
        username=ann.email,
        password=ann.password,
        scope="read:users delete:users",
        audience=world.tenant.management_audience,
    )
    if only.status_code == 200:
        assert not token_scopes(only.json()["access_token"]) & MACHINE_ONLY
        assert not set(only.json().get("scope", "").split()) & MACHINE_ONLY
    else:
        assert only.status_code in (400, 401, 403), only.text
    # Nor is its ID token a bearer for anything (the legacy setting is off by default).
    response = await http.get(f"{API}/users/{path_id(ann.user_id)}", headers=bearer(ann.id_token))
    management_error(response, 401, None)


async def test_a_machine_token_acts_on_anyone_within_its_scopes(
    world: World, http: httpx.AsyncClient
) -> None:
    ann = await person(http, world, "ann")
    reader = await machine_token(http, world, scope="read:users")
    assert token_scopes(reader) == {"read:users"}
    me = f"{API}/users/{path_id(ann.user_id)}"
    assert (await http.get(me, headers=bearer(reader))).status_code == 200
    # A machine token is no current user: read:users does not stand in for any other scope.
    patch = await http.patch(me, json={"user_metadata": {"a": 1}}, headers=bearer(reader))
    assert management_error(patch, 403, "insufficient_scope")["message"].startswith(
        "Insufficient scope, expected any of: update:users,update:current_user_metadata"
    )
    delete = await http.delete(me, headers=bearer(reader))
    assert management_error(delete, 403, "insufficient_scope")["message"] == (
        "Insufficient scope, expected any of: delete:users"
    )
    assert (await http.get(me, headers=bearer(reader))).status_code == 200
