"""A client's mistake is never a 500 (DESIGN.md, Errors): every malformed body gets a 4xx in the
surface's own shape, and nothing is written.

Inputs that share a world are tried in one test and every failing input is reported at once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.conftest import World
from tests.web.conftest import (
    EMAIL,
    PASSWORD,
    REALM,
    assert_oauth_error,
    count_users,
    oauth_error_problem,
    signup_error_problem,
)
from tether.domain.models import User

MAX_BODY = 64 * 1024  # Settings.max_body_bytes default


def _login_body(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "grant_type": "password",
        "client_id": world.app.client_id,
        "client_secret": world.app.client_secret,
        "username": EMAIL,
        "password": PASSWORD,
        **extra,
    }


def _signup_body(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": world.app.client_id,
        "email": "new@example.com",
        "password": PASSWORD,
        "connection": REALM,
        **extra,
    }


def assert_signup_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert signup_error_problem(response, status, None) is None, response.text
    body: dict[str, Any] = response.json()
    return body


async def _nothing_written(world: World) -> None:
    assert await count_users(world) == 0
    async with world.container.uow() as uow:
        assert await uow.outbox.list(world.tenant.id) == []


RAW_BODIES = {
    "malformed json": (b'{"grant_type": "password",', "application/json"),
    "json array": (b'["grant_type", "password"]', "application/json"),
    "json string": (b'"grant_type=password"', "application/json"),
    "json null": (b"null", "application/json"),
    "non-utf8 json": (b'{"grant_type": "pass\xffword"}', "application/json"),
    "non-utf8 form": (b"grant_type=pass\xff\xfeword", "application/x-www-form-urlencoded"),
    "utf-16 json": ('{"grant_type": "password"}'.encode("utf-16"), "application/json"),
    "deeply nested json array": (b"[" * 30000 + b"]" * 30000, "application/json"),
    "deeply nested json object": (b'{"a":' * 10000 + b"1" + b"}" * 10000, "application/json"),
    "lone surrogate in json": (
        b'{"grant_type":"password","client_id":"x","username":"a@b.co","password":"\\ud800abcdefgh"}',
        "application/json",
    ),
    "huge json number": (b'{"grant_type": ' + b"9" * 5000 + b"}", "application/json"),
    "too many form fields": (
        "&".join(f"f{i}=v" for i in range(200)).encode(),
        "application/x-www-form-urlencoded",
    ),
    "empty body": (b"", "application/json"),
}


async def test_unreadable_token_bodies_are_400(http: httpx.AsyncClient, world: World) -> None:
    problems = {}
    for name, (content, content_type) in RAW_BODIES.items():
        response = await http.post(
            "/oauth/token", content=content, headers={"Content-Type": content_type}
        )
        if problem := oauth_error_problem(response, 400, "invalid_request"):
            problems[name] = problem
    assert problems == {}


async def test_lone_surrogate_in_a_client_secret(http: httpx.AsyncClient, world: World) -> None:
    """A JSON escape can carry a code point UTF-8 cannot encode; it must not reach hashing."""
    content = json.dumps(_login_body(world, client_secret="\ud800")).encode()
    response = await http.post(
        "/oauth/token", content=content, headers={"Content-Type": "application/json"}
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_other_content_types_are_415(http: httpx.AsyncClient, world: World) -> None:
    for content_type in ("text/plain", "application/xml", "multipart/form-data", "json"):
        response = await http.post(
            "/oauth/token",
            content=json.dumps(_login_body(world)).encode(),
            headers={"Content-Type": content_type},
        )
        assert oauth_error_problem(response, 415, "invalid_request") is None, content_type


async def test_no_content_type_is_415(http: httpx.AsyncClient, world: World) -> None:
    request = http.build_request("POST", "/oauth/token", content=b"grant_type=password")
    assert "content-type" not in request.headers
    assert_oauth_error(await http.send(request), 415, "invalid_request")


async def test_body_over_the_cap_with_content_length(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post("/oauth/token", data=_login_body(world, padding="x" * MAX_BODY))
    assert response.status_code == 413
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The request body is too large.",
    }


async def test_body_over_the_cap_streamed_without_length(
    http: httpx.AsyncClient, world: World
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"grant_type=password&padding="
        for _ in range(20):
            yield b"x" * 8192

    request = http.build_request(
        "POST",
        "/oauth/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await http.send(request)
    assert response.status_code == 413
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The request body is too large.",
    }


async def test_streamed_body_under_the_cap_is_read(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    data = json.dumps(_login_body(world)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 7):
            yield data[i : i + 7]

    response = await http.post(
        "/oauth/token", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text


async def test_control_characters_in_a_parameter(http: httpx.AsyncClient, world: World) -> None:
    problems = {}
    for field, value in [
        ("username", "ann\x00@example.com"),
        ("password", "pass\x01word-long"),
        ("client_id", "abc\x7f"),
        ("grant_type", "pass\x1bword"),
        ("scope", "openid\x00"),
    ]:
        for encoding in ("json", "data"):
            response = await http.post(
                "/oauth/token", **{encoding: _login_body(world, **{field: value})}
            )
            if problem := oauth_error_problem(response, 400, "invalid_request"):
                problems[f"{field} as {encoding}"] = problem
    assert problems == {}


async def test_percent_encoded_nul_in_a_form(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/oauth/token",
        content=b"grant_type=password&username=a%00b&password=x&client_id=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_duplicate_form_parameters(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/oauth/token",
        content=(
            f"grant_type=password&client_id={world.app.client_id}&grant_type=client_credentials"
        ).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    body = assert_oauth_error(response, 400, "invalid_request")
    assert "grant_type" in body["error_description"]


async def test_huge_field_values(http: httpx.AsyncClient, world: World) -> None:
    for field in ("username", "password", "client_secret", "scope", "grant_type", "x-extra"):
        response = await http.post("/oauth/token", json=_login_body(world, **{field: "a" * 50_000}))
        assert oauth_error_problem(response, 400, "invalid_request") is None, field


async def test_structured_values_are_refused(http: httpx.AsyncClient, world: World) -> None:
    problems = {}
    for value in [{"nested": "object"}, ["a", "list"], [], {}, [{"deep": [1, 2]}]]:
        for field in ("grant_type", "username", "client_id", "audience"):
            response = await http.post("/oauth/token", json=_login_body(world, **{field: value}))
            if problem := oauth_error_problem(response, 400, "invalid_request"):
                problems[f"{field}={value!r}"] = problem
    assert problems == {}


async def test_scalar_json_values_are_read_as_strings(
    http: httpx.AsyncClient, world: World
) -> None:
    """JSON clients are loose: a number is its text, not a 500."""
    response = await http.post("/oauth/token", json=_login_body(world, client_id=12345))
    assert_oauth_error(response, 401, "invalid_client")
    response = await http.post("/oauth/token", json=_login_body(world, grant_type=True))
    assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_bad_scope_characters(http: httpx.AsyncClient, world: World, user: User) -> None:
    response = await http.post("/oauth/token", json=_login_body(world, scope='openid "email"'))
    assert_oauth_error(response, 400, "invalid_scope")


async def test_weird_bearer_tokens_at_userinfo(http: httpx.AsyncClient) -> None:
    for token in ["a.b.c", "....", "x" * 10000, "e30.e30.", "W10.W10.W10", "eyJhbGciOiJSUzI1NiJ9"]:
        response = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert oauth_error_problem(response, 401, "invalid_token") is None, token


# -- /dbconnections: the signup shape, and nothing written --------------------


async def test_unreadable_signup_bodies(http: httpx.AsyncClient, world: World) -> None:
    bodies = dict(RAW_BODIES)
    bodies["nested user_metadata"] = (
        b'{"user_metadata":' + b"[" * 30000 + b"]" * 30000 + b"}",
        "application/json",
    )
    problems = {}
    for name, (content, content_type) in bodies.items():
        response = await http.post(
            "/dbconnections/signup", content=content, headers={"Content-Type": content_type}
        )
        if problem := signup_error_problem(response, 400, "invalid_request"):
            problems[name] = problem
    assert problems == {}
    await _nothing_written(world)


async def test_signup_with_wrong_content_type(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/dbconnections/signup",
        content=json.dumps(_signup_body(world)).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert assert_signup_error(response, 415)["code"] == "invalid_request"
    await _nothing_written(world)


async def test_signup_body_over_the_cap(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/dbconnections/signup", json=_signup_body(world, name="x" * MAX_BODY)
    )
    assert assert_signup_error(response, 413)["code"] == "invalid_request"
    await _nothing_written(world)


BAD_SIGNUP_FIELDS: list[dict[str, Any]] = [
    {"email": {"nested": "x"}},
    {"password": ["a", "list"]},
    {"given_name": {"first": "Ann"}},
    {"email": "new\x00@example.com"},
    {"name": "Ann\x07"},
    {"password": "a" * 20_000},
    {"picture": "p" * 5000},
    {"user_metadata": "not an object"},
    {"user_metadata": ["a"]},
    {"user_metadata": {"nested": {"deep": "value"}}},
    {"user_metadata": {"n": 5}},
    {"user_metadata": {"nul": "a\x00b"}},
    {"user_metadata": {"a\x00b": "key with a nul"}},
    {"user_metadata": {"bad": "\ud800"}},
    {"email": "new@example.com\ud800"},
]


async def test_bad_signup_fields_write_nothing(http: httpx.AsyncClient, world: World) -> None:
    problems = {}
    for extra in BAD_SIGNUP_FIELDS:
        content = json.dumps(_signup_body(world, **extra)).encode()
        response = await http.post(
            "/dbconnections/signup", content=content, headers={"Content-Type": "application/json"}
        )
        if problem := signup_error_problem(response, 400, None):
            problems[repr(extra)[:60]] = problem
    assert problems == {}
    await _nothing_written(world)


async def test_duplicate_signup_form_fields(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/dbconnections/signup",
        content=(
            f"client_id={world.app.client_id}&email=a@example.com&email=b@example.com"
            f"&password=long+enough+pw&connection={REALM}"
        ).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_signup_error(response, 400)
    await _nothing_written(world)


async def test_change_password_with_bad_input(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    for body in (
        {"client_id": world.app.client_id, "email": {"x": 1}},
        {"client_id": world.app.client_id, "email": "not an email"},
        {"client_id": world.app.client_id, "email": "a\x00@example.com"},
        {"client_id": world.app.client_id, "email": EMAIL, "connection": ["x"]},
        {"client_id": world.app.client_id},
    ):
        response = await http.post("/dbconnections/change_password", json=body)
        assert oauth_error_problem(response, 400, "invalid_request") is None, body
    async with world.container.uow() as uow:
        assert await uow.outbox.list(world.tenant.id) == []


async def test_long_values_that_end_up_in_the_log(http: httpx.AsyncClient, world: World) -> None:
    """Failures are logged with what the caller sent; a long value is cut, not a 500
    (PostgreSQL enforces the columns' lengths, SQLite does not)."""
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.machine.client_id,
            "client_secret": world.machine.client_secret,
            "audience": "https://api.example.com/" + "x" * 5000,
        },
        headers={"User-Agent": "agent/" + "u" * 5000},
    )
    assert_oauth_error(response, 403, "access_denied")
    login = await http.post(
        "/oauth/token",
        json=_login_body(world, username="u" * 5000 + "@example.com"),
        headers={"User-Agent": "agent/" + "u" * 5000},
    )
    assert_oauth_error(login, 403, "invalid_grant")
    async with world.container.uow() as uow:
        events = await uow.logs.list(world.tenant.id)
    assert {e.type for e in events} >= {"feccft", "fu"}


async def test_signup_profile_fields_up_to_their_limits(
    http: httpx.AsyncClient, world: World
) -> None:
    limits = {
        "username": 128,
        "given_name": 256,
        "family_name": 256,
        "name": 512,
        "nickname": 256,
        "picture": 2048,
    }
    for field, limit in limits.items():
        response = await http.post(
            "/dbconnections/signup", json=_signup_body(world, **{field: "é" * (limit + 1)})
        )
        assert signup_error_problem(response, 400, "invalid_body") is None, field
    await _nothing_written(world)
    longest = {field: "é" * limit for field, limit in limits.items()}
    response = await http.post("/dbconnections/signup", json=_signup_body(world, **longest))
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in limits} == longest
