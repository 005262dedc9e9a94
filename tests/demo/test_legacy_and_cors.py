"""Item 3 of the demo issue: the tutorial's original calls, with the primary user's ID token as
``Authorization: Bearer`` (auth0-wire.md §1.5, §6), work once the tenant turns
``legacy_id_token_bearer`` on, and only then. In process, on SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tether.domain.models import User
from tether.domain.users import NewDatabaseUser

PASSWORD = "correct horse battery staple"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
REALM = "Username-Password-Authentication"


async def _user(world: World, email: str) -> User:
    return await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email=email, password=PASSWORD)
    )


async def _id_token(http: httpx.AsyncClient, world: World, email: str) -> str:
    """What Lock 10 handed the sample after a sign-in: an ID token (scope openid)."""
    response = await http.post(
        "/oauth/token",
        json={
            "grant_type": PASSWORD_REALM,
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "username": email,
            "password": PASSWORD,
            "realm": REALM,
            "scope": "openid",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


async def _link(http: httpx.AsyncClient, user_id: str, token: str, link_with: str) -> Any:
    # As the sample: $http POST, profile.user_id not URL-encoded, a JSON body.
    return await http.post(
        f"/api/v2/users/{user_id}/identities",
        headers=_bearer(token),
        json={"link_with": link_with},
    )


async def test_the_tutorials_id_token_bearer_links_and_unlinks_only_with_the_setting(
    http: httpx.AsyncClient, world: World
) -> None:
    ann = await _user(world, "ann@example.com")
    bea = await _user(world, "bea@example.com")
    primary = await _id_token(http, world, "ann@example.com")
    secondary = await _id_token(http, world, "bea@example.com")

    # Off (the default): an ID token is not a Management API bearer.
    refused = await _link(http, ann.user_id, primary, secondary)
    assert refused.status_code == 401, refused.text
    assert refused.json()["message"] == "Invalid token"
    assert (
        await http.get(f"/api/v2/users/{ann.user_id}", headers=_bearer(primary))
    ).status_code == 401

    await world.container.tenants.update_settings(world.tenant, {"legacy_id_token_bearer": True})

    # The tutorial's profile read, link and unlink, with the primary's ID token.
    profile = await http.get(f"/api/v2/users/{ann.user_id}", headers=_bearer(primary))
    assert profile.status_code == 200, profile.text
    assert profile.json()["user_id"] == ann.user_id

    linked = await _link(http, ann.user_id, primary, secondary)
    assert linked.status_code == 201, linked.text
    assert [(i["provider"], i["user_id"]) for i in linked.json()] == [
        ("auth0", ann.user_id.split("|", 1)[1]),
        ("auth0", bea.user_id.split("|", 1)[1]),
    ]
    assert linked.json()[1]["profileData"]["email"] == "bea@example.com"

    identity = linked.json()[1]
    unlinked = await http.delete(
        f"/api/v2/users/{ann.user_id}/identities/{identity['provider']}/{identity['user_id']}",
        headers=_bearer(primary),
    )
    assert unlinked.status_code == 200, unlinked.text
    assert [i["user_id"] for i in unlinked.json()] == [ann.user_id.split("|", 1)[1]]
    # Bea is a user of her own again.
    again = await _id_token(http, world, "bea@example.com")
    assert again.count(".") == 2

    # Still only the user's own linking and profile: not someone else's, not other endpoints.
    other = await _link(http, bea.user_id, primary, again)
    assert other.status_code == 403, other.text
    assert other.json()["message"] == "User to be acted on does not match subject in bearer token."
    patch = await http.patch(
        f"/api/v2/users/{ann.user_id}", headers=_bearer(primary), json={"user_metadata": {}}
    )
    assert patch.status_code == 401, patch.text


async def test_the_management_api_answers_cors_for_the_sample_origin(
    http: httpx.AsyncClient, world: World
) -> None:
    """The sample (another origin) reads and links its user with a bearer token: preflights
    are answered for the tenant's web origins only, and never with credentials."""
    from tether.domain.applications import NewApplication
    from tether.domain.models import AppType

    origin = "http://localhost:3000"
    await world.container.applications.create(
        world.tenant,
        NewApplication(
            name="Sample", app_type=AppType.SPA, callbacks=(origin,), web_origins=(origin,)
        ),
    )
    path = "/api/v2/users/auth0%7Cabc/identities"
    for method in ("GET", "POST", "DELETE"):
        preflight = await http.options(
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 204, preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        assert method in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in preflight.headers
    stranger = await http.options(
        path,
        headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"},
    )
    assert stranger.status_code == 403
    assert "access-control-allow-origin" not in stranger.headers
    # The actual answer (here a 401) carries the origin, so the page can read the error.
    answer = await http.get("/api/v2/users/auth0%7Cabc", headers={"Origin": origin})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == origin
    assert "x-ratelimit-limit" in answer.headers["access-control-expose-headers"].lower()
