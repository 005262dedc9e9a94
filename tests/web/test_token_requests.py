"""POST /oauth/token: body encodings, client authentication, and the errors every grant shares
(auth0-wire.md §3.1, §3.3; RFC 6749 §2.3.1, §3.2, §5.2)."""

from __future__ import annotations

import base64
import time

import httpx

from tests.conftest import World
from tests.web.conftest import (
    EMAIL,
    PASSWORD,
    PASSWORD_REALM,
    REALM,
    assert_oauth_error,
    basic,
    create_app,
    jwt_claims,
    oauth_error_problem,
    password_login,
)
from tether.domain.models import AppType, User


def _form(world: World, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "password",
        "client_id": world.app.client_id,
        "client_secret": world.app.client_secret,
        "username": EMAIL,
        "password": PASSWORD,
        **extra,
    }


async def test_form_body_is_accepted(http: httpx.AsyncClient, world: World, user: User) -> None:
    response = await http.post("/oauth/token", data=_form(world))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert body["scope"] == "openid profile email"
    assert set(body) == {"access_token", "id_token", "token_type", "expires_in", "scope"}


async def test_json_body_with_nulls_and_empty_strings_means_absent(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    """auth0-python sends every unset field as null; "" is absent too (RFC 6749 §3.2)."""
    response = await password_login(
        http, world.app, scope=None, audience="", organization=None, forwarded_for=None
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "openid profile email"
    assert "refresh_token" not in body
    assert jwt_claims(body["access_token"])["aud"] == "http://tether.test/userinfo"


async def test_json_content_type_with_charset_parameter(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    import json

    response = await http.post(
        "/oauth/token",
        content=json.dumps(_form(world)),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


async def test_null_grant_type_is_missing(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(
        "/oauth/token", json={"grant_type": None, "client_id": world.app.client_id}
    )
    body = assert_oauth_error(response, 400, "invalid_request")
    assert body["error_description"] == "Missing required parameter: grant_type"


async def test_missing_grant_type(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post("/oauth/token", data={"client_id": world.app.client_id})
    body = assert_oauth_error(response, 400, "invalid_request")
    assert body["error_description"] == "Missing required parameter: grant_type"


async def test_unknown_grant_type(http: httpx.AsyncClient, world: World) -> None:
    for grant_type in (
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "PASSWORD",
        "password ",
        "http://auth0.com/oauth/grant-type/mfa-otp",
    ):
        response = await http.post("/oauth/token", data=_form(world, grant_type=grant_type))
        assert oauth_error_problem(response, 400, "unsupported_grant_type") is None, grant_type


async def test_password_grant_missing_field(http: httpx.AsyncClient, world: World) -> None:
    for missing in ("username", "password"):
        form = _form(world)
        del form[missing]
        response = await http.post("/oauth/token", data=form)
        body = assert_oauth_error(response, 400, "invalid_request")
        assert body["error_description"] == f"Missing required parameter: {missing}"


async def test_password_realm_without_realm(http: httpx.AsyncClient, world: World) -> None:
    response = await password_login(http, world.app, realm=None)
    body = assert_oauth_error(response, 400, "invalid_request")
    assert body["error_description"] == "Missing required parameter: realm"


async def test_refresh_grant_without_token(http: httpx.AsyncClient, world: World) -> None:
    form = _form(world, grant_type="refresh_token")
    body = assert_oauth_error(await http.post("/oauth/token", data=form), 400, "invalid_request")
    assert body["error_description"] == "Missing required parameter: refresh_token"


async def test_missing_client_id(http: httpx.AsyncClient, world: World) -> None:
    form = _form(world)
    del form["client_id"]
    body = assert_oauth_error(await http.post("/oauth/token", data=form), 400, "invalid_request")
    assert body["error_description"] == "Missing required parameter: client_id"


# -- client authentication ----------------------------------------------------


async def test_client_secret_basic(http: httpx.AsyncClient, world: World, user: User) -> None:
    form = _form(world)
    del form["client_id"], form["client_secret"]
    response = await http.post(
        "/oauth/token",
        data=form,
        headers={"Authorization": basic(world.app.client_id, world.app.client_secret)},
    )
    assert response.status_code == 200, response.text
    assert jwt_claims(response.json()["id_token"])["aud"] == world.app.client_id


async def test_client_secret_basic_values_are_form_urlencoded(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    """RFC 6749 §2.3.1: the id and secret are url-encoded before base64; decode every escape."""
    cid = "".join(f"%{b:02X}" for b in world.app.client_id.encode())
    secret = "".join(f"%{b:02X}" for b in world.app.client_secret.encode())
    header = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
    form = _form(world)
    del form["client_secret"]  # client_id in the body too, matching the header: allowed
    response = await http.post("/oauth/token", data=form, headers={"Authorization": header})
    assert response.status_code == 200, response.text


async def test_client_secret_basic_with_wrong_secret(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    form = _form(world)
    del form["client_id"], form["client_secret"]
    response = await http.post(
        "/oauth/token", data=form, headers={"Authorization": basic(world.app.client_id, "nope")}
    )
    assert_oauth_error(response, 401, "invalid_client")


async def test_malformed_basic_header_is_invalid_client(
    http: httpx.AsyncClient, world: World
) -> None:
    form = _form(world)
    del form["client_id"], form["client_secret"]
    problems = {}
    for header in (
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b":secret-without-id").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + base64.b64encode(b"%00abc:secret").decode(),  # a NUL: PostgreSQL refuses it
        "Basic " + base64.b64encode(b"abc%0A:sec%00ret").decode(),
        "Basic " + base64.b64encode(b"x" * 9000 + b":y").decode(),
    ):
        response = await http.post("/oauth/token", data=form, headers={"Authorization": header})
        if problem := oauth_error_problem(response, 401, "invalid_client"):
            problems[header[:40]] = problem
    assert problems == {}


async def test_basic_and_post_together_is_invalid_request(
    http: httpx.AsyncClient, world: World
) -> None:
    response = await http.post(
        "/oauth/token",
        data=_form(world),
        headers={"Authorization": basic(world.app.client_id, world.app.client_secret)},
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_basic_header_and_other_body_client_id(http: httpx.AsyncClient, world: World) -> None:
    form = _form(world, client_id="someone-else")
    del form["client_secret"]
    response = await http.post(
        "/oauth/token",
        data=form,
        headers={"Authorization": basic(world.app.client_id, world.app.client_secret)},
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_unknown_client(http: httpx.AsyncClient, world: World, user: User) -> None:
    response = await http.post("/oauth/token", data=_form(world, client_id="not-a-client"))
    assert_oauth_error(response, 401, "invalid_client")


async def test_wrong_client_secret(http: httpx.AsyncClient, world: World, user: User) -> None:
    response = await http.post("/oauth/token", data=_form(world, client_secret="wrong"))
    assert_oauth_error(response, 401, "invalid_client")


async def test_confidential_client_without_secret(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    response = await password_login(http, world.app, client_secret=None)
    assert_oauth_error(response, 401, "invalid_client")
    response = await password_login(http, world.app, client_secret="")
    assert_oauth_error(response, 401, "invalid_client")


async def test_wrong_secret_and_unknown_client_look_the_same(
    http: httpx.AsyncClient, world: World
) -> None:
    a = await http.post("/oauth/token", data=_form(world, client_id="not-a-client"))
    b = await http.post("/oauth/token", data=_form(world, client_secret="wrong"))
    assert a.json() == b.json()


async def test_public_client_must_not_send_a_secret(http: httpx.AsyncClient, world: World) -> None:
    spa = await create_app(world, "SPA", app_type=AppType.SPA)
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": spa.client_id,
            "client_secret": "anything",
            "refresh_token": "x",
        },
    )
    assert_oauth_error(response, 401, "invalid_client")


# -- the application's grants -------------------------------------------------


async def test_app_without_the_grant_is_unauthorized_client(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    machine = await create_app(world, "Machine", app_type=AppType.NON_INTERACTIVE)
    for grant in ("password", PASSWORD_REALM, "refresh_token"):
        response = await http.post(
            "/oauth/token",
            data={
                "grant_type": grant,
                "client_id": machine.client_id,
                "client_secret": machine.client_secret,
                "username": EMAIL,
                "password": PASSWORD,
                "realm": REALM,
                "refresh_token": "whatever",
            },
        )
        assert oauth_error_problem(response, 403, "unauthorized_client") is None, grant


async def test_spa_cannot_use_client_credentials(http: httpx.AsyncClient, world: World) -> None:
    spa = await create_app(world, "SPA", app_type=AppType.SPA)
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": spa.client_id,
            "audience": world.tenant.management_audience,
        },
    )
    assert_oauth_error(response, 403, "unauthorized_client")


# -- headers ----------------------------------------------------------------


async def test_success_is_not_cached_and_carries_rate_limit_headers(
    http: httpx.AsyncClient, world: World, user: User
) -> None:
    before = int(time.time())
    response = await http.post("/oauth/token", data=_form(world))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"
    limit = int(response.headers["x-ratelimit-limit"])
    remaining = int(response.headers["x-ratelimit-remaining"])
    reset = int(response.headers["x-ratelimit-reset"])
    assert limit == 10000 and 0 <= remaining < limit
    assert before <= reset <= before + 61  # epoch seconds, within the one-minute window


async def test_remaining_counts_down(http: httpx.AsyncClient, world: World, user: User) -> None:
    first = await http.post("/oauth/token", data=_form(world))
    second = await http.post("/oauth/token", data=_form(world))
    assert int(second.headers["x-ratelimit-remaining"]) == (
        int(first.headers["x-ratelimit-remaining"]) - 1
    )


async def test_errors_are_not_cached(http: httpx.AsyncClient) -> None:
    for form in (
        {"grant_type": "nope"},
        {"grant_type": "password", "client_id": "unknown", "username": "a", "password": "b"},
    ):
        response = await http.post("/oauth/token", data=form)
        assert 400 <= response.status_code < 500
        assert response.headers["cache-control"] == "no-store"


async def test_get_is_method_not_allowed(http: httpx.AsyncClient) -> None:
    assert_oauth_error(await http.get("/oauth/token"), 405, "method_not_allowed")


async def test_unknown_path_is_a_json_404(http: httpx.AsyncClient) -> None:
    assert_oauth_error(await http.get("/oauth/nothing-here"), 404, "not_found")
