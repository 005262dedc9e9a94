"""Linking and unlinking over HTTP: what a success looks like (auth0-wire.md §1.1, §1.3, §1.4)
and what Tether does beyond Auth0 (metadata kept and merged, the log events)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import World
from tests.linking.support import (
    API,
    ID_SCOPE,
    bearer,
    check_invariants,
    claims_of,
    id_token,
    link,
    new_user,
    owners,
    password_realm,
    path_id,
    subject_of,
    unlink,
    user_token,
)

A, B, C = "ann@example.com", "bob@example.com", "cat@example.com"


async def get_user(http: httpx.AsyncClient, token: str, user_id: str) -> httpx.Response:
    return await http.get(f"{API}/users/{path_id(user_id)}", headers=bearer(token))


async def refresh(http: httpx.AsyncClient, world: World, token: str) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "refresh_token": token,
        },
    )


async def offline_sign_in(http: httpx.AsyncClient, world: World, email: str) -> dict[str, Any]:
    response = await password_realm(
        http, world.app, email, scope=ID_SCOPE + " offline_access", audience=None
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.get("refresh_token"), body
    return body


async def test_link_with_returns_the_identities_and_the_secondary_stops_existing(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A)
    b = await new_user(world, B, profile={"name": "Bob Builder", "nickname": "bob"})
    b_refresh = (await offline_sign_in(http, world, B))["refresh_token"]
    token = await user_token(http, world.app, A)
    secondary = await id_token(http, world.app, B)

    response = await link(http, token, a.user_id, {"link_with": secondary})

    assert response.status_code == 201, response.text
    identities = response.json()
    assert [(i["provider"], i["user_id"]) for i in identities] == [
        ("auth0", subject_of(a.user_id)),
        ("auth0", subject_of(b.user_id)),
    ]
    assert "profileData" not in identities[0]
    assert identities[1]["profileData"]["email"] == B
    assert identities[1]["profileData"]["name"] == "Bob Builder"
    for item in identities:
        assert item["connection"] == "Username-Password-Authentication"
        assert item["isSocial"] is False
    # GET on the primary shows the same identities; the secondary is gone (and from search).
    got = await get_user(http, admin_token, a.user_id)
    assert got.json()["identities"] == identities
    missing = await get_user(http, admin_token, b.user_id)
    assert missing.status_code == 404, missing.text
    assert missing.json()["message"] == "The user does not exist."
    listed = await http.get(f"{API}/users", headers=bearer(admin_token))
    assert [u["user_id"] for u in listed.json()] == [a.user_id]
    # Signing in through the secondary's password is signing in as the primary.
    signed_in = await password_realm(http, world.app, B, scope=ID_SCOPE, audience=None)
    assert signed_in.status_code == 200, signed_in.text
    assert claims_of(signed_in.json()["id_token"])["sub"] == a.user_id
    assert claims_of(signed_in.json()["access_token"])["sub"] == a.user_id
    # The secondary's refresh tokens went with it.
    assert (await refresh(http, world, b_refresh)).status_code in (400, 403)
    await check_invariants(engine)


async def test_server_side_link_with_a_machine_token(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A)
    b = await new_user(world, B)
    response = await link(
        http, admin_token, a.user_id, {"provider": "auth0", "user_id": subject_of(b.user_id)}
    )
    assert response.status_code == 201, response.text
    assert [i["user_id"] for i in response.json()] == [
        subject_of(a.user_id),
        subject_of(b.user_id),
    ]
    assert await owners(engine, world.tenant.id) == {a.user_id: a.user_id, b.user_id: a.user_id}
    await check_invariants(engine)


async def test_link_with_a_form_body(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """Auth0's jQuery examples send ``data: {link_with: ...}``: form-encoded."""
    a = await new_user(world, A)
    b = await new_user(world, B)
    token = await user_token(http, world.app, A)
    response = await http.post(
        f"{API}/users/{path_id(a.user_id)}/identities",
        data={"link_with": await id_token(http, world.app, B)},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    assert len(response.json()) == 2
    assert (await owners(engine, world.tenant.id))[b.user_id] == a.user_id


async def test_percent_encoded_and_raw_path_ids_name_the_same_user(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A)
    b = await new_user(world, B)
    c = await new_user(world, C)
    sub_b, sub_c = subject_of(b.user_id), subject_of(c.user_id)
    raw = await http.post(
        f"{API}/users/{a.user_id}/identities",
        json={"provider": "auth0", "user_id": sub_b},
        headers=bearer(admin_token),
    )
    assert raw.status_code == 201, raw.text
    lower = await http.post(
        f"{API}/users/{a.user_id.replace('|', '%7c')}/identities",
        json={"provider": "auth0", "user_id": sub_c},
        headers=bearer(admin_token),
    )
    assert lower.status_code == 201, lower.text
    # Unlink with the full provider|id form of user_id, percent-encoded in the path.
    response = await http.delete(
        f"{API}/users/auth0%7C{subject_of(a.user_id)}/identities/auth0/auth0%7C{sub_c}",
        headers=bearer(admin_token),
    )
    assert response.status_code == 200, response.text
    assert [i["user_id"] for i in response.json()] == [subject_of(a.user_id), sub_b]
    assert await owners(engine, world.tenant.id) == {
        a.user_id: a.user_id,
        b.user_id: a.user_id,
        c.user_id: c.user_id,
    }
    await check_invariants(engine)


async def test_unlink_restores_the_secondary_and_ends_the_primarys_refresh_tokens(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A, user_metadata={"lang": "en"})
    b = await new_user(
        world,
        B,
        profile={"name": "Bob Builder", "given_name": "Bob", "nickname": "bobby"},
        user_metadata={"colour": "green"},
        app_metadata={"plan": "pro"},
    )
    before = (await get_user(http, admin_token, b.user_id)).json()
    token = await user_token(http, world.app, A)
    linked = await link(http, token, a.user_id, {"link_with": await id_token(http, world.app, B)})
    assert linked.status_code == 201, linked.text
    # A refresh token obtained through the secondary's password, for the primary.
    through_b = await offline_sign_in(http, world, B)
    assert claims_of(through_b["id_token"])["sub"] == a.user_id
    through_a = await offline_sign_in(http, world, A)

    response = await unlink(http, token, a.user_id, "auth0", subject_of(b.user_id))

    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "connection": "Username-Password-Authentication",
            "provider": "auth0",
            "user_id": subject_of(a.user_id),
            "isSocial": False,
        }
    ]
    after = (await get_user(http, admin_token, b.user_id)).json()
    for field in (
        "user_id",
        "email",
        "email_verified",
        "name",
        "given_name",
        "nickname",
        "user_metadata",
        "app_metadata",
        "created_at",
    ):
        assert after[field] == before[field], field
    assert after["identities"] == before["identities"]
    primary = (await get_user(http, admin_token, a.user_id)).json()
    assert primary["user_metadata"] == {"lang": "en"}
    assert [i["user_id"] for i in primary["identities"]] == [subject_of(a.user_id)]
    # Unlink ended what was obtained for the primary: through B's password and through A's.
    assert (await refresh(http, world, through_b["refresh_token"])).status_code in (400, 403)
    assert (await refresh(http, world, through_a["refresh_token"])).status_code in (400, 403)
    # B signs in as itself again.
    again = await password_realm(http, world.app, B, scope=ID_SCOPE, audience=None)
    assert claims_of(again.json()["id_token"])["sub"] == b.user_id
    await check_invariants(engine)


async def test_metadata_is_discarded_by_default(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A, user_metadata={"lang": "en"})
    b = await new_user(world, B, user_metadata={"colour": "green"}, app_metadata={"plan": "pro"})
    response = await link(
        http, admin_token, a.user_id, {"provider": "auth0", "user_id": subject_of(b.user_id)}
    )
    assert response.status_code == 201, response.text
    primary = (await get_user(http, admin_token, a.user_id)).json()
    assert primary["user_metadata"] == {"lang": "en"}
    assert primary["app_metadata"] == {}


async def set_metadata(
    world: World, user_id: str, user_metadata: dict[str, Any], app_metadata: dict[str, Any]
) -> None:
    async with world.container.uow() as uow:
        user = await uow.users.get(world.tenant.id, user_id)
        assert user is not None
        user.user_metadata, user.app_metadata = user_metadata, app_metadata
        await uow.users.update(user)
        await uow.commit()


async def test_metadata_merge_setting(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    await world.container.tenants.update_settings(world.tenant, {"linking.metadata_merge": "merge"})
    a = await new_user(world, A)
    b = await new_user(world, B)
    await set_metadata(
        world,
        a.user_id,
        {
            "lang": "en",
            "prefs": {"theme": "dark", "font": {"size": 12}},
            "tags": ["x", "y"],
            "empty": None,
        },
        {"plan": "free", "roles": ["reader"]},
    )
    await set_metadata(
        world,
        b.user_id,
        {
            "lang": "fr",
            "colour": "green",
            "prefs": {"theme": "light", "font": {"family": "serif"}, "sound": False},
            "tags": ["y", "z"],
            "empty": "filled",
        },
        {"plan": "pro", "roles": ["reader", "writer"], "since": 2020},
    )
    response = await link(
        http, admin_token, a.user_id, {"provider": "auth0", "user_id": subject_of(b.user_id)}
    )
    assert response.status_code == 201, response.text
    primary = (await get_user(http, admin_token, a.user_id)).json()
    assert primary["user_metadata"] == {
        "lang": "en",
        "colour": "green",
        "prefs": {"theme": "dark", "font": {"size": 12, "family": "serif"}, "sound": False},
        "tags": ["x", "y", "z"],
        "empty": "filled",
    }
    assert primary["app_metadata"] == {
        "plan": "free",
        "roles": ["reader", "writer"],
        "since": 2020,
    }
    # Unlinking gives the secondary its own metadata back, not the merged one.
    response = await unlink(http, admin_token, a.user_id, "auth0", subject_of(b.user_id))
    assert response.status_code == 200, response.text
    restored = (await get_user(http, admin_token, b.user_id)).json()
    assert restored["user_metadata"]["lang"] == "fr"
    assert restored["app_metadata"]["plan"] == "pro"
    await check_invariants(engine)


async def test_a_link_chain_leaves_every_identity_on_the_last_primary(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A)
    b = await new_user(world, B)
    c = await new_user(world, C)
    token_b = await user_token(http, world.app, B)
    first = await link(http, token_b, b.user_id, {"link_with": await id_token(http, world.app, C)})
    assert first.status_code == 201, first.text
    second = await link(
        http, admin_token, a.user_id, {"provider": "auth0", "user_id": subject_of(b.user_id)}
    )
    assert second.status_code == 201, second.text
    # A first; B and C moved in the same link, in no particular order between them.
    moved = [i["user_id"] for i in second.json()]
    assert moved[0] == subject_of(a.user_id)
    assert sorted(moved[1:]) == sorted(subject_of(u.user_id) for u in (b, c))
    assert all("profileData" in i for i in second.json()[1:])
    assert await owners(engine, world.tenant.id) == {
        a.user_id: a.user_id,
        b.user_id: a.user_id,
        c.user_id: a.user_id,
    }
    for email in (A, B, C):
        signed_in = await password_realm(http, world.app, email, scope=ID_SCOPE, audience=None)
        assert claims_of(signed_in.json()["id_token"])["sub"] == a.user_id
    await check_invariants(engine)
    # Each identity unlinks on its own, back to its own user.
    for user in (b, c):
        response = await unlink(http, admin_token, a.user_id, "auth0", subject_of(user.user_id))
        assert response.status_code == 200, response.text
    assert await owners(engine, world.tenant.id) == {u.user_id: u.user_id for u in (a, b, c)}
    await check_invariants(engine)


async def test_link_and_unlink_log_events(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, A)
    b = await new_user(world, B)
    c = await new_user(world, C)
    token = await user_token(http, world.app, A)
    user_link = await link(
        http, token, a.user_id, {"link_with": await id_token(http, world.app, B)}
    )
    assert user_link.status_code == 201
    machine_link = await link(
        http, admin_token, a.user_id, {"provider": "auth0", "user_id": subject_of(c.user_id)}
    )
    assert machine_link.status_code == 201
    unlinked = await unlink(http, token, a.user_id, "auth0", subject_of(b.user_id))
    assert unlinked.status_code == 200

    response = await http.get(
        f"{API}/logs", params={"q": "type:sapi", "per_page": 100}, headers=bearer(admin_token)
    )
    assert response.status_code == 200, response.text
    events = [e for e in response.json() if (e.get("details") or {}).get("event")]
    # Told apart by what they say, not by date (two may share a millisecond).
    assert sorted(e["details"]["event"] for e in events) == [
        "identity_linked",
        "identity_linked",
        "identity_unlinked",
    ]
    by_event = sorted(
        events,
        key=lambda e: (e["details"]["event"], e["details"].get("method") != "link_with"),
    )
    first, second, third = (e["details"] for e in by_event)
    assert first["method"] == "link_with"
    assert first["actor"]["user_id"] == a.user_id
    assert first["actor"]["client_id"] == world.app.client_id
    assert first["before"] == [a.user_id]
    assert first["after"] == [a.user_id, b.user_id]
    assert first["secondary_user_id"] == b.user_id
    assert second["method"] == "server_side"
    assert second["actor"]["user_id"] is None
    assert second["actor"]["client_id"] == world.machine.client_id
    assert second["before"] == [a.user_id, b.user_id]
    assert second["after"] == [a.user_id, b.user_id, c.user_id]
    assert third["method"] == "unlink"
    assert third["actor"]["user_id"] == a.user_id
    assert third["actor"]["client_id"] == world.app.client_id
    assert third["identity"] == b.user_id
    assert third["before"] == [a.user_id, b.user_id, c.user_id]
    assert third["after"] == [a.user_id, c.user_id]
    for event in by_event:
        assert event["user_id"] == a.user_id
    await check_invariants(engine)
