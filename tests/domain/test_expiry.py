"""Lifetimes, with a clock the test moves: access tokens, refresh tokens, reset tickets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH
from tests.domain.conftest import PASSWORD, Domain, FakeClock, provisioned
from tether.bootstrap import build_container
from tether.config import Settings
from tether.domain.clock import epoch
from tether.domain.errors import InvalidInput
from tether.domain.tokens import ID_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME, TokenResponse
from tether.domain.users import TICKET_LIFETIME
from tether.protocol import jose
from tether.protocol.errors import InvalidGrant, InvalidToken
from tether.protocol.grants import GrantType

SECOND = timedelta(seconds=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed(engine: AsyncEngine, clock: FakeClock, settings: Settings) -> Domain:
    domain = await provisioned(
        build_container(settings, engine=engine, clock=clock, hash_parameters=FAST_HASH)
    )
    await domain.user()
    return domain


async def login(domain: Domain, scope: str = "openid offline_access") -> TokenResponse:
    return await domain.container.tokens.password(
        domain.tenant,
        domain.app,
        GrantType.PASSWORD,
        "ann@example.com",
        PASSWORD,
        None,
        scope,
        None,
    )


async def test_access_token_expires_after_its_lifetime(timed: Domain, clock: FakeClock) -> None:
    tenant, tokens = timed.tenant, timed.container.tokens
    response = await tokens.client_credentials(
        tenant, timed.machine, tenant.management_audience, "read:users"
    )
    clock.advance(timedelta(seconds=response.expires_in))
    assert await tokens.verify_access_token(tenant, response.access_token, None)
    clock.advance(SECOND)
    with pytest.raises(InvalidToken):
        await tokens.verify_access_token(tenant, response.access_token, None)


async def test_id_token_lifetime_and_auth_time(timed: Domain, clock: FakeClock) -> None:
    response = await login(timed)
    assert response.id_token
    keyset = await timed.container.keys.keyset(timed.tenant)
    claims = jose.verify(
        response.id_token,
        keyset.public_jwks,
        issuer=timed.tenant.issuer,
        audience=timed.app.client_id,
        now=epoch(clock.now()),
    )
    assert claims["iat"] == claims["auth_time"] == epoch(clock.now())
    assert claims["exp"] == claims["iat"] + ID_TOKEN_LIFETIME

    clock.advance(timedelta(hours=2))
    refreshed = await timed.container.tokens.refresh(
        timed.tenant, timed.app, response.refresh_token or "", None
    )
    assert refreshed.id_token
    again = jose.verify(
        refreshed.id_token,
        keyset.public_jwks,
        issuer=timed.tenant.issuer,
        audience=timed.app.client_id,
        now=epoch(clock.now()),
    )
    assert again["auth_time"] == claims["auth_time"]  # still the original sign-in
    assert again["iat"] == claims["iat"] + 7200


async def test_refresh_token_expires(timed: Domain, clock: FakeClock) -> None:
    token = (await login(timed)).refresh_token
    assert token
    clock.advance(REFRESH_TOKEN_LIFETIME + SECOND)
    with pytest.raises(InvalidGrant):
        await timed.container.tokens.refresh(timed.tenant, timed.app, token, None)


async def test_refresh_token_works_until_it_expires(timed: Domain, clock: FakeClock) -> None:
    token = (await login(timed)).refresh_token
    assert token
    clock.advance(REFRESH_TOKEN_LIFETIME - SECOND)
    assert (await timed.container.tokens.refresh(timed.tenant, timed.app, token, None)).access_token


async def reset_ticket(domain: Domain) -> str:
    await domain.container.users.request_password_change(
        domain.tenant, domain.app, None, "ann@example.com"
    )
    [mail] = await domain.container.mail.list(domain.tenant)
    match = re.search(r"ticket=(\S+)", mail.body)
    assert match
    return match.group(1)


async def test_reset_ticket_expires_after_an_hour(timed: Domain, clock: FakeClock) -> None:
    ticket = await reset_ticket(timed)
    clock.advance(TICKET_LIFETIME + SECOND)
    with pytest.raises(InvalidInput) as info:
        await timed.container.users.reset_password(timed.tenant, ticket, "a brand new passphrase")
    assert info.value.code == "invalid_ticket"


async def test_reset_ticket_works_within_the_hour(timed: Domain, clock: FakeClock) -> None:
    ticket = await reset_ticket(timed)
    clock.advance(TICKET_LIFETIME - SECOND)
    await timed.container.users.reset_password(timed.tenant, ticket, "a brand new passphrase")


async def test_log_events_are_dated_by_the_clock(timed: Domain, clock: FakeClock) -> None:
    clock.advance(timedelta(days=3))
    await login(timed)
    event = next(e for e in await timed.logs() if e.type == "s")
    assert event.date.replace(microsecond=0) == clock.now()
