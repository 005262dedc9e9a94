"""POST /dbconnections/signup and /dbconnections/change_password (auth0-wire.md §3.1, §3.5, §3.6)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.web.conftest import (
    EMAIL,
    PASSWORD,
    REALM,
    assert_oauth_error,
    count_users,
    create_app,
    create_user,
    password_login,
)
from tether.domain.models import User

RESET_SENT = "We've just sent you an email to reset your password."


def _signup(world: World, **extra: Any) -> dict[str, Any]:
    """What auth0-python's Database.signup() sends: only the fields that are set."""
    return {
        "client_id": world.app.client_id,
        "email": "New.Person@Example.COM",
        "password": PASSWORD,
        "connection": REALM,
        **extra,
    }


def assert_signup_error(
    response: httpx.Response, status: int, code: str, description: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"name", "code", "description", "statusCode"}, body
    assert body["statusCode"] == status
    assert body["code"] == code
    assert isinstance(body["name"], str) and body["name"].endswith("Error")
    if description is not None:
        assert body["description"] == description
    return body


async def test_signup_success_shape(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/dbconnections/signup",
        json=_signup(
            world,
            given_name="New",
            family_name="Person",
            nickname="newbie",
            user_metadata={"plan": "free", "color": "blue"},
        ),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["email_verified"] is False
    assert body["given_name"] == "New"
    assert body["family_name"] == "Person"
    assert body["nickname"] == "newbie"
    assert body["user_metadata"] == {"plan": "free", "color": "blue"}
    assert not body["_id"].startswith("auth0|")
    assert len(body["_id"]) == 24 and int(body["_id"], 16) >= 0
    assert "password" not in response.text and PASSWORD not in response.text

    stored = await world.container.users.get(world.tenant, "auth0|" + body["_id"])
    assert stored.email == "new.person@example.com"
    assert stored.user_metadata == {"plan": "free", "color": "blue"}
    # The new account signs in.
    login = await password_login(http, world.app, username="new.person@example.com")
    assert login.status_code == 200, login.text


async def test_signup_with_a_form_body(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post("/dbconnections/signup", data=_signup(world))
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"_id", "email", "email_verified"}


async def test_signup_is_logged(http: httpx.AsyncClient, world: World) -> None:
    await http.post("/dbconnections/signup", json=_signup(world))
    async with world.container.uow() as uow:
        events = await uow.logs.list(world.tenant.id, limit=5)
    assert "ss" in [e.type for e in events]


async def test_user_exists(http: httpx.AsyncClient, world: World) -> None:
    assert (await http.post("/dbconnections/signup", json=_signup(world))).status_code == 200
    again = await http.post(
        "/dbconnections/signup", json=_signup(world, email="new.person@example.com")
    )
    body = assert_signup_error(again, 400, "user_exists", "The user already exists.")
    assert body["name"] == "BadRequestError"
    assert await count_users(world) == 1


async def test_weak_or_common_password(http: httpx.AsyncClient, world: World) -> None:
    for password in ["short", "password", "12345678", "qwertyuiop", "new.person@example.com"]:
        response = await http.post("/dbconnections/signup", json=_signup(world, password=password))
        body = assert_signup_error(response, 400, "invalid_password")
        assert body["name"].startswith("Password"), body
    assert await count_users(world) == 0


async def test_bad_email(http: httpx.AsyncClient, world: World) -> None:
    for email in ["not-an-email", "a@b", "two@@example.com", "spaces in@example.com", "x" * 400]:
        response = await http.post("/dbconnections/signup", json=_signup(world, email=email))
        assert_signup_error(response, 400, "invalid_email")
    assert await count_users(world) == 0


async def test_missing_field(http: httpx.AsyncClient, world: World) -> None:
    for missing in ["email", "password", "client_id", "connection"]:
        for absent in (None, ""):  # null and "" are both absent
            body = _signup(world)
            body[missing] = absent
            response = await http.post("/dbconnections/signup", json=body)
            assert_signup_error(
                response, 400, "invalid_request", f"Missing required parameter: {missing}"
            )
    assert await count_users(world) == 0


async def test_unknown_connection(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post("/dbconnections/signup", json=_signup(world, connection="Nope"))
    assert_signup_error(response, 400, "invalid_connection")
    assert await count_users(world) == 0


async def test_connection_not_enabled_for_the_app(http: httpx.AsyncClient, world: World) -> None:
    other = await create_app(world, enable_database=False)
    response = await http.post(
        "/dbconnections/signup", json=_signup(world, client_id=other.client_id)
    )
    assert_signup_error(response, 403, "unauthorized_client")
    assert await count_users(world) == 0


async def test_unknown_client(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post("/dbconnections/signup", json=_signup(world, client_id="nobody"))
    assert_signup_error(response, 401, "invalid_client")
    assert await count_users(world) == 0


async def test_user_metadata_at_most_ten_string_properties(
    http: httpx.AsyncClient, world: World
) -> None:
    ten = {f"k{i}": "v" for i in range(10)}
    ok = await http.post("/dbconnections/signup", json=_signup(world, user_metadata=ten))
    assert ok.status_code == 200, ok.text
    eleven = {f"k{i}": "v" for i in range(11)}
    response = await http.post(
        "/dbconnections/signup",
        json=_signup(world, email="second@example.com", user_metadata=eleven),
    )
    assert_signup_error(response, 400, "invalid_body")
    assert await count_users(world) == 1


async def test_user_metadata_rules(http: httpx.AsyncClient, world: World) -> None:
    for metadata in [
        {"long": "x" * 501},
        {"k" * 101: "v"},
        {"number": 1},
        {"flag": True},
        {"none": None},
        {"list": ["a"]},
        {"object": {"a": "b"}},
    ]:
        response = await http.post(
            "/dbconnections/signup", json=_signup(world, user_metadata=metadata)
        )
        assert_signup_error(response, 400, "invalid_body")
    assert await count_users(world) == 0


async def test_user_metadata_limits_are_inclusive(http: httpx.AsyncClient, world: World) -> None:
    metadata = {"k" * 100: "x" * 500}
    response = await http.post("/dbconnections/signup", json=_signup(world, user_metadata=metadata))
    assert response.status_code == 200, response.text
    assert response.json()["user_metadata"] == metadata


async def test_signup_disabled_on_the_connection(http: httpx.AsyncClient, world: World) -> None:
    async with world.container.uow() as uow:
        connection = await uow.connections.by_name(world.tenant.id, REALM)
    assert connection is not None
    # Flip the option the way the Management API would, then sign up.
    from sqlalchemy import update

    from tether.storage.tables import connections

    async with world.container.engine.begin() as conn:
        await conn.execute(
            update(connections)
            .where(connections.c.id == connection.id)
            .values(options={**connection.options, "disable_signup": True})
        )
    response = await http.post("/dbconnections/signup", json=_signup(world))
    assert_signup_error(response, 403, "operation_not_allowed")
    assert await count_users(world) == 0


# -- change_password -------------------------------------------------------------


async def _outbox(world: World) -> list[Any]:
    return await world.container.mail.list(world.tenant)


async def test_change_password_for_an_existing_user(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await http.post(
        "/dbconnections/change_password",
        json={"client_id": world.app.client_id, "email": EMAIL.upper(), "connection": REALM},
    )
    assert response.status_code == 200, response.text
    assert response.json() == RESET_SENT
    mails = await _outbox(world)
    assert [m.to for m in mails] == [EMAIL]
    assert "/lo/reset?ticket=" in mails[0].body


async def test_change_password_does_not_tell_who_has_an_account(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    unknown = await http.post(
        "/dbconnections/change_password",
        json={
            "client_id": world.app.client_id,
            "email": "nobody@example.com",
            "connection": REALM,
            "organization": None,
        },
    )
    known = await http.post(
        "/dbconnections/change_password",
        data={"client_id": world.app.client_id, "email": EMAIL, "connection": REALM},
    )
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    assert unknown.json() == RESET_SENT
    assert unknown.headers["content-type"] == known.headers["content-type"]
    assert [m.to for m in await _outbox(world)] == [EMAIL]


async def test_change_password_without_connection_uses_the_default(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await http.post(
        "/dbconnections/change_password", json={"client_id": world.app.client_id, "email": EMAIL}
    )
    assert response.json() == RESET_SENT
    assert len(await _outbox(world)) == 1


async def test_change_password_errors(http: httpx.AsyncClient, world: World, user: User) -> None:
    unknown_client = await http.post(
        "/dbconnections/change_password", json={"client_id": "nobody", "email": EMAIL}
    )
    assert_oauth_error(unknown_client, 401, "invalid_client")
    unknown_connection = await http.post(
        "/dbconnections/change_password",
        json={"client_id": world.app.client_id, "email": EMAIL, "connection": "Nope"},
    )
    assert_oauth_error(unknown_connection, 400, "invalid_request")
    assert await _outbox(world) == []


async def test_a_user_on_another_connection_gets_no_mail(
    http: httpx.AsyncClient, world: World
) -> None:
    await create_user(world, "ann@example.com")
    other = await create_app(world, enable_database=False)
    response = await http.post(
        "/dbconnections/change_password",
        json={"client_id": other.client_id, "email": "ann@example.com", "connection": REALM},
    )
    assert_oauth_error(response, 403, "unauthorized_client")
    assert await _outbox(world) == []
