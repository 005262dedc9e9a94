"""Rate limits at the token endpoint (auth0-wire.md §2.5, §3.1): 429 with X-RateLimit-* headers,
Reset in UTC epoch seconds."""

from __future__ import annotations

import time

import httpx

from tests.conftest import World
from tests.web.conftest import (
    PASSWORD,
    WRONG_PASSWORD,
    ServeWith,
    assert_oauth_error,
    client_credentials,
    password_login,
)
from tether.domain.models import User


async def test_token_endpoint_answers_429_past_the_limit(
    world: World, serve_with: ServeWith
) -> None:
    async with serve_with(token_rate_limit="3/minute") as http:
        before = int(time.time())
        remaining = []
        for _ in range(3):
            ok = await client_credentials(http, world.machine, world.tenant.management_audience)
            assert ok.status_code == 200, ok.text
            assert ok.headers["x-ratelimit-limit"] == "3"
            remaining.append(int(ok.headers["x-ratelimit-remaining"]))
        assert remaining == [2, 1, 0]

        response = await client_credentials(http, world.machine, world.tenant.management_audience)
        body = assert_oauth_error(response, 429, "too_many_requests")
        assert body["error_description"]
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-remaining"] == "0"
        reset = int(response.headers["x-ratelimit-reset"])
        assert before < reset <= int(time.time()) + 61
        assert int(response.headers["retry-after"]) > 0
        assert response.headers["cache-control"] == "no-store"

        # Bad requests count too, and are refused before they are read.
        garbage = await http.post("/oauth/token", content=b"{", headers={"content-type": "x/y"})
        assert_oauth_error(garbage, 429, "too_many_requests")


async def test_the_token_limit_is_per_client_ip(world: World, serve_with: ServeWith) -> None:
    async with serve_with(token_rate_limit="1/minute") as http:
        assert (
            await client_credentials(http, world.machine, world.tenant.management_audience)
        ).status_code == 200
        assert (
            await client_credentials(http, world.machine, world.tenant.management_audience)
        ).status_code == 429
        transport = http._transport
        assert isinstance(transport, httpx.ASGITransport)
        other_ip = httpx.ASGITransport(app=transport.app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(transport=other_ip, base_url=str(http.base_url)) as other:
            response = await client_credentials(
                other, world.machine, world.tenant.management_audience
            )
            assert response.status_code == 200, response.text


async def test_failed_logins_per_account_answer_too_many_attempts(
    world: World, user: User, serve_with: ServeWith
) -> None:
    async with serve_with(login_rate_limit_account="2/minute") as http:
        for _ in range(2):
            response = await password_login(http, world.app, password="wrong password!")
            assert response.status_code == 403
            assert response.json() == WRONG_PASSWORD
        before = int(time.time())
        # Even the right password is refused now: the account is locked for this window.
        response = await password_login(http, world.app, password=PASSWORD)
        body = assert_oauth_error(response, 429, "too_many_attempts")
        assert body["error_description"]
        assert response.headers["x-ratelimit-limit"] == "2"
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert before <= int(response.headers["x-ratelimit-reset"]) <= before + 61

        # Another account from the same address is not locked by this one's failures.
        other = await password_login(http, world.app, username="other@example.com")
        assert other.status_code == 403
        assert other.json() == WRONG_PASSWORD


async def test_the_account_limit_spares_the_ip_it_last_signed_in_from(
    world: World, user: User, serve_with: ServeWith
) -> None:
    async with serve_with(login_rate_limit_account="2/minute") as http:
        assert (await password_login(http, world.app, password="wrong password!")).status_code == (
            403
        )
        assert (await password_login(http, world.app)).status_code == 200
        assert (await password_login(http, world.app, password="wrong password!")).status_code == (
            403
        )
        assert (await password_login(http, world.app)).status_code == 200


async def test_failed_logins_per_ip(world: World, user: User, serve_with: ServeWith) -> None:
    async with serve_with(login_rate_limit_ip="3/minute") as http:
        for n in range(3):
            response = await password_login(http, world.app, username=f"u{n}@example.com")
            assert response.status_code == 403
        response = await password_login(http, world.app)
        assert_oauth_error(response, 429, "too_many_attempts")
