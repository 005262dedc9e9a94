"""The Management API's error bodies (auth0-wire.md §1.2, §2.5), in process: missing, expired,
misaddressed and forged tokens (401 with ``attributes.error`` and no errorCode), scopes (403
naming what was expected), paging limits, ids no user can have (4xx, never a 500, on SQLite and
PostgreSQL), and the rate limit (429 with X-RateLimit-* headers, which every answer carries)."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import FAST_HASH, World, make_settings
from tests.management_sdk.support import (
    API,
    BROKEN_IDS,
    bearer,
    machine_token,
    management_error,
    path_id,
    person,
    problem,
)
from tests.web.conftest import (
    ServeWith,
    b64url_json,
    create_api,
    jwt_claims,
    password_login,
    serve,
)
from tether.bootstrap import build_container
from tether.domain.clock import SystemClock, epoch
from tether.protocol import jose

MISSING = {"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"}


def unauthorized(message: str) -> dict[str, Any]:
    return {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": message,
        "attributes": {"error": message},
    }


INVALID = unauthorized("Invalid token")
EXPIRED = unauthorized("Expired token received for JSON Web Token validation")
BAD_SIGNATURE = unauthorized("Invalid signature received for JSON Web Token validation")


async def _signed(world: World, **overrides: Any) -> str:
    """A machine token signed with the tenant's own current key, with ``overrides``."""
    now = epoch(SystemClock().now())
    claims = {
        "iss": world.tenant.issuer,
        "sub": f"{world.machine.client_id}@clients",
        "aud": world.tenant.management_audience,
        "azp": world.machine.client_id,
        "iat": now,
        "exp": now + 600,
        "scope": "read:users",
        "gty": "client-credentials",
    }
    claims.update(overrides)
    keyset = await world.container.keys.keyset(world.tenant)
    return keyset.signing.sign({k: v for k, v in claims.items() if v is not None}, typ="at+jwt")


async def test_missing_or_malformed_authorization_is_401_missing_authentication(
    world: World, http: httpx.AsyncClient
) -> None:
    routes = [
        ("GET", f"{API}/users"),
        ("POST", f"{API}/users"),
        ("GET", f"{API}/users/auth0%7Cabc"),
        ("PATCH", f"{API}/users/auth0%7Cabc"),
        ("DELETE", f"{API}/users/auth0%7Cabc"),
        ("GET", f"{API}/users/auth0%7Cabc/logs"),
        ("POST", f"{API}/users/auth0%7Cabc/identities"),
        ("DELETE", f"{API}/users/auth0%7Cabc/identities/auth0/def"),
        ("GET", f"{API}/users-by-email?email=a@b.c"),
        ("GET", f"{API}/logs"),
        ("GET", f"{API}/logs/90020000"),
    ]
    problems = []
    for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Basic YTpi"}):
        for method, url in routes:
            response = await http.request(method, url, headers=headers, json={})
            if response.status_code != 401 or response.json() != MISSING:
                problems.append(f"{method} {url} {headers}: {response.status_code} {response.text}")
            elif response.headers.get("www-authenticate", "").split()[0] != "Bearer":
                problems.append(f"{method} {url}: no WWW-Authenticate: Bearer")
    assert not problems, "\n".join(problems)


async def test_bad_tokens_are_401_with_auth0s_body(world: World, http: httpx.AsyncClient) -> None:
    now = epoch(SystemClock().now())
    ann = await person(http, world, "ann")
    await create_api(world, "https://api.example.com/")
    other_api = await password_login(
        http,
        world.app,
        username=ann.email,
        password=ann.password,
        scope="openid",
        audience="https://api.example.com/",
    )
    assert other_api.status_code == 200, other_api.text
    userinfo_only = await password_login(
        http, world.app, username=ann.email, password=ann.password, scope="openid"
    )
    real = await machine_token(http, world)
    header, payload, signature = real.split(".")
    stranger_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("garbage", "not-a-jwt", INVALID),
        ("expired", await _signed(world, iat=now - 7200, exp=now - 3600), EXPIRED),
        ("wrong issuer", await _signed(world, iss="http://evil.test/"), INVALID),
        (
            "issuer without slash",
            await _signed(world, iss=world.tenant.issuer.rstrip("/")),
            INVALID,
        ),
        ("another API's audience", other_api.json()["access_token"], INVALID),
        ("userinfo audience only", userinfo_only.json()["access_token"], INVALID),
        ("an ID token", ann.id_token, INVALID),
        ("no subject", await _signed(world, sub=None), INVALID),
        (
            "aud as a list without the API",
            await _signed(world, aud=["https://api.example.com/"]),
            INVALID,
        ),
        (
            "a stranger's key under our kid",
            jose.PrivateKey.from_pem(kid, stranger_pem).sign(jwt_claims(real), typ="at+jwt"),
            BAD_SIGNATURE,
        ),
        (
            "a tampered payload",
            f"{header}.{b64url_json({**jwt_claims(real), 'scope': 'x'})}.{signature}",
            BAD_SIGNATURE,
        ),
        (
            "alg none",
            f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
            None,  # any 401 body of Auth0's shape
        ),
        (
            "HS256",
            f"{b64url_json({'alg': 'HS256', 'kid': kid})}.{payload}.{signature}",
            None,
        ),
    ]
    problems = []
    for name, token, expected in cases:
        response = await http.get(f"{API}/users", headers=bearer(token))
        if expected is None:
            found = problem(response, 401, None)
            if found is None and "attributes" not in response.json():
                found = response.text
        elif response.status_code != 401 or response.json() != expected:
            found = f"{response.status_code} {response.text}"
        else:
            found = None
        if found:
            problems.append(f"{name}: {found}")
    assert not problems, "\n".join(problems)

    # A token the server issued itself, once its lifetime is over.
    assert (await http.get(f"{API}/users", headers=bearer(real))).status_code == 200

    class Later:
        def now(self) -> datetime:
            return SystemClock().now() + timedelta(days=2)

    later = build_container(
        make_settings(world.container.settings.data_dir),
        engine=world.container.engine,
        clock=Later(),
        hash_parameters=FAST_HASH,
    )
    async with serve(later) as http_later:
        response = await http_later.get(f"{API}/users", headers=bearer(real))
        assert response.status_code == 401 and response.json() == EXPIRED, response.text


async def test_insufficient_scope_names_the_scopes_expected(
    world: World, http: httpx.AsyncClient
) -> None:
    token = await machine_token(http, world, scope="read:logs")
    ann = await person(http, world, "ann")
    me = f"{API}/users/{path_id(ann.user_id)}"
    cases = [
        ("GET", f"{API}/users", None, "read:users"),
        ("GET", f"{API}/users-by-email?email=ann@example.com", None, "read:users"),
        ("GET", me, None, "read:users,read:current_user"),
        ("POST", f"{API}/users", {"connection": "c", "email": "e@x.y"}, "create:users"),
        ("PATCH", me, {"name": "x"}, "update:users"),
        (
            "PATCH",
            me,
            {"app_metadata": {"a": 1}},
            "update:users,update:users_app_metadata",
        ),
        (
            "PATCH",
            me,
            {"user_metadata": {"a": 1}},
            "update:users,update:current_user_metadata,create:current_user_metadata",
        ),
        ("DELETE", me, None, "delete:users"),
        (
            "POST",
            f"{me}/identities",
            {"link_with": ann.id_token},
            "update:users,update:current_user_identities",
        ),
        (
            "DELETE",
            f"{me}/identities/auth0/abc",
            None,
            "update:users,update:current_user_identities",
        ),
    ]
    problems = []
    for method, url, body, scopes in cases:
        response = await http.request(method, url, json=body, headers=bearer(token))
        found = problem(response, 403, "insufficient_scope")
        expected = f"Insufficient scope, expected any of: {scopes}"
        if found is None and response.json()["message"] != expected:
            found = f"message {response.json()['message']!r}, expected {expected!r}"
        if found:
            problems.append(f"{method} {url}: {found}")
    assert not problems, "\n".join(problems)
    # read:logs is enough for the user's log events.
    assert (await http.get(f"{me}/logs", headers=bearer(token))).status_code == 200


async def test_paging_out_of_range_is_400(world: World, http: httpx.AsyncClient) -> None:
    token = bearer(await machine_token(http, world))
    ann = await person(http, world, "ann")
    me = f"{API}/users/{path_id(ann.user_id)}"
    problems = []
    for url in (
        f"{API}/users?per_page=101",
        f"{API}/users?per_page=-1",
        f"{API}/users?page=-1",
        f"{API}/users?per_page=ten",
        f"{API}/users?include_totals=maybe",
        f"{API}/users?page=10&per_page=100",  # past the first 1000
        f"{API}/users?sort=email",
        f"{me}/logs?per_page=101",
        f"{me}/logs?per_page=0",
        f"{API}/logs?per_page=101",
        f"{API}/logs?take=101",
    ):
        response = await http.get(url, headers=token)
        found = problem(response, 400, None) if response.status_code != 400 else None
        if response.status_code == 400:
            body = response.json()
            if set(body) != {"statusCode", "error", "message", "errorCode"} or body[
                "errorCode"
            ] not in ("invalid_query_string", "invalid_paging"):
                found = response.text
        if found:
            problems.append(f"{url}: {found}")
    assert not problems, "\n".join(problems)
    response = await http.get(f"{API}/users?per_page=101", headers=token)
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Query validation error: Input should be less than or equal to 100 (per_page)",
        "errorCode": "invalid_query_string",
    }
    # The edges are fine.
    for url in (f"{API}/users?per_page=100", f"{API}/users?per_page=0", f"{me}/logs?per_page=100"):
        assert (await http.get(url, headers=token)).status_code == 200, url


async def test_ids_no_user_can_have_are_never_a_500(world: World, http: httpx.AsyncClient) -> None:
    token = bearer(await machine_token(http, world))
    ann = await person(http, world, "ann")
    me = path_id(ann.user_id)
    problems = []
    for broken in BROKEN_IDS:
        for method, url, body in (
            ("GET", f"{API}/users/{broken}", None),
            ("PATCH", f"{API}/users/{broken}", {"user_metadata": {"a": 1}}),
            ("DELETE", f"{API}/users/{broken}", None),
            ("GET", f"{API}/users/{broken}/logs", None),
            ("POST", f"{API}/users/{broken}/identities", {"provider": "auth0", "user_id": "x"}),
            ("DELETE", f"{API}/users/{broken}/identities/auth0/x", None),
            ("DELETE", f"{API}/users/{me}/identities/auth0/{broken}", None),
            ("DELETE", f"{API}/users/{me}/identities/{broken}/x", None),
            ("GET", f"{API}/logs/{broken}", None),
            ("GET", f"{API}/users-by-email?email={broken}", None),
            ("GET", f"{API}/logs?from={broken}&take=2", None),
        ):
            response = await http.request(method, url, json=body, headers=token)
            # No id or address like these exists: nothing found (an empty list for the lookups
            # and the user's log events) or a 4xx, never a server error.
            if response.status_code >= 500 or (
                response.status_code < 400 and response.json() not in ([],) and "from=" not in url
            ):
                problems.append(
                    f"{method} {url[:80]}: {response.status_code} {response.text[:200]}"
                )
            elif response.status_code >= 400 and not response.json().get("statusCode"):
                problems.append(f"{method} {url[:80]}: not Auth0's body: {response.text[:200]}")
    assert not problems, "\n".join(problems)
    # Ann is untouched by all of that.
    assert (await http.get(f"{API}/users/{me}", headers=token)).json()["user_id"] == ann.user_id
    nul = await http.get(f"{API}/users/a%00b", headers=token)
    management_error(nul, 400, "invalid_uri")


async def test_strings_no_column_can_hold_are_400(world: World, http: httpx.AsyncClient) -> None:
    token = bearer(await machine_token(http, world))
    ann = await person(http, world, "ann")
    me = f"{API}/users/{path_id(ann.user_id)}"
    db = "Username-Password-Authentication"
    problems = []
    for method, url, body in (
        ("PATCH", me, {"name": "a\u0000b"}),
        ("PATCH", me, {"nickname": "a\ud800b"}),
        ("PATCH", me, {"email": "a\u0000@example.com"}),
        (
            "POST",
            f"{API}/users",
            {"connection": db + "\u0000", "email": "n@x.io", "password": "a long password 1"},
        ),
        (
            "POST",
            f"{API}/users",
            {"connection": db, "email": "n\u0000@x.io", "password": "a long password 1"},
        ),
        (
            "POST",
            f"{API}/users",
            {
                "connection": db,
                "email": "n@x.io",
                "password": "a long password 1",
                "user_id": "\u0000",
            },
        ),
        ("POST", f"{me}/identities", {"provider": "auth0", "user_id": "a\u0000"}),
        ("POST", f"{me}/identities", {"provider": "auth0\u0000", "user_id": "a"}),
        ("POST", f"{me}/identities", {"link_with": "a\u0000.b.c"}),
    ):
        response = await http.request(
            method,
            url,
            content=json.dumps(body),
            headers={**token, "content-type": "application/json"},
        )
        found = problem(response, 400, "invalid_body")
        if found:
            problems.append(f"{method} {url} {json.dumps(body)}: {found}")
    assert not problems, "\n".join(problems)


async def test_rate_limit_429_and_headers(world: World, serve_with: ServeWith) -> None:
    async with serve_with(management_rate_limit="2/minute") as http:
        token = await machine_token(http, world)
        before = int(time.time())
        remaining = []
        for _ in range(2):
            ok = await http.get(f"{API}/users", headers=bearer(token))
            assert ok.status_code == 200, ok.text
            assert ok.headers["x-ratelimit-limit"] == "2"
            assert before <= int(ok.headers["x-ratelimit-reset"]) <= int(time.time()) + 61
            remaining.append(int(ok.headers["x-ratelimit-remaining"]))
        assert remaining == [1, 0]

        limited = await http.get(f"{API}/users", headers=bearer(token))
        assert limited.status_code == 429, limited.text
        assert limited.json() == {
            "statusCode": 429,
            "error": "Too Many Requests",
            "message": "Global limit has been reached",
            "errorCode": "too_many_requests",
        }
        assert limited.headers["x-ratelimit-limit"] == "2"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        reset = int(limited.headers["x-ratelimit-reset"])
        assert before < reset <= int(time.time()) + 61
        # Every route counts against the same budget, errors included.
        other = await http.get(f"{API}/users/auth0%7Cnobody", headers=bearer(token))
        assert other.status_code == 429, other.text

        # The limit is per client: a user token (the Default App's) still has its own budget.
        ann = await person(http, world, "ann")
        mine = await http.get(f"{API}/users/{path_id(ann.user_id)}", headers=ann.headers)
        assert mine.status_code == 200, mine.text
        assert mine.headers["x-ratelimit-remaining"] == "1"


async def test_normal_answers_carry_the_rate_limit_headers(
    world: World, serve_with: ServeWith
) -> None:
    async with serve_with(management_rate_limit="1000/minute") as http:
        token = bearer(await machine_token(http, world))
        ann = await person(http, world, "ann")
        me = f"{API}/users/{path_id(ann.user_id)}"
        seen = []
        for method, url, body, status in (
            ("GET", f"{API}/users", None, 200),
            ("GET", me, None, 200),
            ("PATCH", me, {"user_metadata": {"a": 1}}, 200),
            ("GET", f"{me}/logs", None, 200),
            ("GET", f"{API}/users-by-email?email={ann.email}", None, 200),
            ("GET", f"{API}/logs", None, 200),
            ("GET", f"{API}/users/auth0%7Cnobody", None, 404),
            ("GET", f"{API}/users?per_page=101", None, 400),
        ):
            response = await http.request(method, url, json=body, headers=token)
            assert response.status_code == status, f"{method} {url}: {response.text}"
            values = {
                h: response.headers.get(f"x-ratelimit-{h}") for h in ("limit", "remaining", "reset")
            }
            assert all(v is not None and v.isdigit() for v in values.values()), (url, values)
            assert values["limit"] == "1000"
            assert time.time() - 1 <= int(values["reset"]) <= time.time() + 61
            seen.append(int(values["remaining"]))
        assert seen == list(range(999, 999 - len(seen), -1)), seen
