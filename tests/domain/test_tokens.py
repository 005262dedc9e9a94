"""domain/tokens.py: client_credentials, password and refresh_token grants, through the real store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.domain.conftest import API_ID, PASSWORD, Domain
from tether.domain.audit import RequestInfo
from tether.domain.clock import epoch
from tether.domain.errors import Unavailable
from tether.domain.models import AppType, Tenant
from tether.domain.tokens import TokenResponse
from tether.protocol import jose
from tether.protocol.errors import (
    AccessDenied,
    InvalidGrant,
    InvalidScope,
    InvalidToken,
    UnauthorizedClient,
)
from tether.protocol.grants import GrantType

PASSWORD_GRANTS = (GrantType.PASSWORD.value, GrantType.PASSWORD_REALM.value)


async def decode(domain: Domain, token: str, audience: Any) -> dict[str, Any]:
    keyset = await domain.container.keys.keyset(domain.tenant)
    return jose.verify(
        token,
        keyset.public_jwks,
        issuer=domain.tenant.issuer,
        audience=audience,
        now=epoch(domain.container.clock.now()),
    )


async def password_login(
    domain: Domain,
    scope: str | None = "openid profile email offline_access",
    audience: str | None = None,
    *,
    app: Any = None,
    username: str = "ann@example.com",
    password: str = PASSWORD,
) -> TokenResponse:
    return await domain.container.tokens.password(
        domain.tenant,
        app or domain.app,
        GrantType.PASSWORD,
        username,
        password,
        None,
        scope,
        audience,
    )


# -- client_credentials ---------------------------------------------------------------------


async def test_client_credentials_for_the_management_api(domain: Domain) -> None:
    tenant = domain.tenant
    response = await domain.container.tokens.client_credentials(
        tenant, domain.machine, tenant.management_audience, None
    )
    assert response.refresh_token is None and response.id_token is None
    assert response.body()["token_type"] == "Bearer"
    claims = await domain.container.tokens.verify_access_token(
        tenant, response.access_token, tenant.management_audience
    )
    assert claims["sub"] == f"{domain.machine.client_id}@clients"
    assert claims["azp"] == domain.machine.client_id
    assert claims["gty"] == "client-credentials"
    assert claims["aud"] == tenant.management_audience
    assert claims["exp"] - claims["iat"] == response.expires_in == 86400
    assert "read:users" in claims["scope"].split() and "create:signing_keys" in claims["scope"]
    assert jose.unverified_header(response.access_token)["typ"] == "at+jwt"
    assert "seccft" in await domain.log_types()


async def test_client_credentials_scopes_are_limited_to_the_client_grant(domain: Domain) -> None:
    api = await domain.api()
    await domain.container.applications.grant(
        domain.tenant, domain.app.client_id, api.identifier, ["read:things", "write:things"]
    )
    tokens = domain.container.tokens

    everything = await tokens.client_credentials(domain.tenant, domain.app, API_ID, None)
    assert everything.scope == "read:things write:things"

    asked = await tokens.client_credentials(
        domain.tenant, domain.app, API_ID, "admin:things read:things unknown:scope"
    )
    assert asked.scope == "read:things"
    claims = await tokens.verify_access_token(domain.tenant, asked.access_token, API_ID)
    assert claims["scope"] == "read:things"

    with pytest.raises(InvalidScope):
        await tokens.client_credentials(domain.tenant, domain.app, API_ID, "admin:things")


async def test_client_credentials_without_a_client_grant_is_denied(domain: Domain) -> None:
    await domain.api()
    with pytest.raises(AccessDenied) as info:
        await domain.container.tokens.client_credentials(
            domain.tenant, domain.machine, API_ID, None
        )
    assert API_ID in info.value.description
    assert "feccft" in await domain.log_types()


async def test_client_credentials_for_an_unknown_audience_is_denied(domain: Domain) -> None:
    with pytest.raises(AccessDenied) as info:
        await domain.container.tokens.client_credentials(
            domain.tenant, domain.machine, "https://nobody.test/", None
        )
    assert info.value.status_code == 403


async def test_client_credentials_without_an_audience_is_denied(domain: Domain) -> None:
    for audience in (None, domain.tenant.issuer + "userinfo"):
        with pytest.raises(AccessDenied):
            await domain.container.tokens.client_credentials(
                domain.tenant, domain.machine, audience, None
            )


async def test_client_credentials_uses_the_tenants_default_audience(domain: Domain) -> None:
    tenant = domain.tenant
    tenant.settings["default_audience"] = tenant.management_audience
    response = await domain.container.tokens.client_credentials(
        tenant, domain.machine, None, "read:users"
    )
    claims = await domain.container.tokens.verify_access_token(
        tenant, response.access_token, tenant.management_audience
    )
    assert claims["scope"] == "read:users"


async def test_client_credentials_needs_the_grant_type(domain: Domain) -> None:
    app = await domain.application("Password only", PASSWORD_GRANTS)
    await domain.container.applications.grant(
        domain.tenant, app.client_id, domain.tenant.management_audience, ["read:users"]
    )
    with pytest.raises(UnauthorizedClient):
        await domain.container.tokens.client_credentials(
            domain.tenant, app, domain.tenant.management_audience, None
        )


async def test_client_credentials_is_refused_to_a_public_client(domain: Domain) -> None:
    spa = await domain.application("SPA", ("authorization_code",), app_type=AppType.SPA)
    spa.grant_types.append("client_credentials")  # even if it were somehow granted
    with pytest.raises(UnauthorizedClient):
        await domain.container.tokens.client_credentials(
            domain.tenant, spa, domain.tenant.management_audience, None
        )


# -- password ---------------------------------------------------------------------------------


async def test_password_grant_issues_access_id_and_refresh_tokens(domain: Domain) -> None:
    user = await domain.user()
    response = await password_login(domain)
    assert response.refresh_token
    assert response.scope == "openid profile email offline_access"
    userinfo = domain.tenant.issuer + "userinfo"
    access = await decode(domain, response.access_token, userinfo)
    assert access["sub"] == user.user_id
    assert access["aud"] == userinfo
    assert access["gty"] == "password"
    assert access["azp"] == domain.app.client_id

    assert response.id_token
    id_claims = await decode(domain, response.id_token, domain.app.client_id)
    assert id_claims["sub"] == user.user_id
    assert id_claims["aud"] == domain.app.client_id
    assert id_claims["email"] == "ann@example.com"
    assert id_claims["at_hash"] == jose.at_hash(response.access_token)
    assert abs(id_claims["auth_time"] - id_claims["iat"]) <= 1
    assert "sepft" in await domain.log_types()


async def test_password_grant_with_an_api_audience(domain: Domain) -> None:
    await domain.user()
    await domain.api()
    response = await password_login(domain, "openid read:things admin:x", API_ID)
    assert response.scope == "openid read:things"
    claims = await decode(domain, response.access_token, API_ID)
    assert claims["aud"] == [API_ID, domain.tenant.issuer + "userinfo"]
    assert response.refresh_token is None

    without_openid = await password_login(domain, "read:things", API_ID)
    assert (await decode(domain, without_openid.access_token, API_ID))["aud"] == API_ID
    assert without_openid.id_token is None


async def test_offline_access_gives_a_refresh_token_only_when_allowed(domain: Domain) -> None:
    await domain.user()
    await domain.api(allow_offline_access=False)
    await domain.api("https://offline.example.test/", allow_offline_access=True)

    assert (await password_login(domain, "openid")).refresh_token is None
    assert (await password_login(domain, "openid offline_access")).refresh_token
    assert (await password_login(domain, "openid offline_access", API_ID)).refresh_token is None
    offline_api = await password_login(
        domain, "openid offline_access", "https://offline.example.test/"
    )
    assert offline_api.refresh_token

    no_refresh_grant = await domain.application("No refresh", PASSWORD_GRANTS)
    response = await password_login(domain, "openid offline_access", app=no_refresh_grant)
    assert response.refresh_token is None


async def test_a_user_never_gets_machine_scopes_of_the_management_api(domain: Domain) -> None:
    await domain.user()
    response = await password_login(
        domain,
        "openid read:users delete:users read:current_user",
        domain.tenant.management_audience,
    )
    assert response.scope == "openid read:current_user"


async def test_password_grant_with_a_wrong_password_is_invalid_grant(domain: Domain) -> None:
    await domain.user()
    for username, password in (("ann@example.com", "wrong password!"), ("bob@x.test", PASSWORD)):
        with pytest.raises(InvalidGrant) as info:
            await password_login(domain, username=username, password=password)
        assert info.value.description == "Wrong email or password."


async def test_password_grant_needs_the_grant_type(domain: Domain) -> None:
    await domain.user()
    app = await domain.application("Code only", ("authorization_code", "refresh_token"))
    with pytest.raises(UnauthorizedClient):
        await password_login(domain, app=app)


# -- refresh ----------------------------------------------------------------------------------


async def refresh(domain: Domain, token: str | None, scope: str | None = None) -> TokenResponse:
    assert token
    return await domain.container.tokens.refresh(domain.tenant, domain.app, token, scope)


async def test_refresh_rotates_the_token_every_time(domain: Domain) -> None:
    user = await domain.user()
    first = await password_login(domain)
    seen = {first.refresh_token}
    current = first
    for _ in range(3):
        current = await refresh(domain, current.refresh_token)
        assert current.refresh_token and current.refresh_token not in seen
        seen.add(current.refresh_token)
        assert current.scope == first.scope
        assert current.id_token
        claims = await decode(domain, current.access_token, domain.tenant.issuer + "userinfo")
        assert claims["sub"] == user.user_id and claims["gty"] == "refresh_token"
    assert (await domain.log_types()).count("sertft") == 3


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(domain: Domain) -> None:
    await domain.user()
    first = await password_login(domain)
    second = await refresh(domain, first.refresh_token)
    third = await refresh(domain, second.refresh_token)

    with pytest.raises(InvalidGrant):
        await refresh(domain, first.refresh_token)
    assert "ferrt" in await domain.log_types()
    with pytest.raises(InvalidGrant):
        await refresh(domain, third.refresh_token)  # the newest is dead too
    with pytest.raises(InvalidGrant):
        await refresh(domain, second.refresh_token)


async def test_reuse_does_not_touch_another_family(domain: Domain) -> None:
    await domain.user()
    one, other = await password_login(domain), await password_login(domain)
    await refresh(domain, one.refresh_token)
    with pytest.raises(InvalidGrant):
        await refresh(domain, one.refresh_token)
    assert (await refresh(domain, other.refresh_token)).refresh_token


async def test_refresh_scope_may_narrow_but_not_widen(domain: Domain) -> None:
    await domain.user()
    first = await password_login(domain, "openid profile offline_access")
    with pytest.raises(InvalidScope):
        await refresh(domain, first.refresh_token, "openid profile email offline_access")
    # The refused attempt spent nothing: the token still works.
    narrow = await refresh(domain, first.refresh_token, "openid offline_access")
    assert narrow.scope == "openid offline_access"
    claims = await decode(domain, narrow.access_token, domain.tenant.issuer + "userinfo")
    assert claims["scope"] == "openid offline_access"
    with pytest.raises(InvalidScope):
        await refresh(domain, narrow.refresh_token, "openid profile email")


async def test_a_narrowed_refresh_keeps_the_grant_of_the_refresh_token(domain: Domain) -> None:
    """RFC 6749 §6: a new refresh token has the same scope as the one it replaces; narrowing
    applies to the access token of that one response."""
    await domain.user()
    first = await password_login(domain, "openid profile email offline_access")
    narrow = await refresh(domain, first.refresh_token, "openid")
    assert narrow.scope == "openid"
    again = await refresh(domain, narrow.refresh_token)
    assert again.scope == "openid profile email offline_access"
    wide = await refresh(domain, again.refresh_token, "openid email")
    assert wide.scope == "openid email"


async def test_refresh_gives_an_id_token_only_when_openid_was_granted(domain: Domain) -> None:
    await domain.user()
    with_openid = await refresh(domain, (await password_login(domain)).refresh_token)
    assert with_openid.id_token
    id_claims = await decode(domain, with_openid.id_token, domain.app.client_id)
    assert id_claims["at_hash"] == jose.at_hash(with_openid.access_token)
    assert id_claims["email"] == "ann@example.com"

    without = await refresh(domain, (await password_login(domain, "offline_access")).refresh_token)
    assert without.id_token is None
    assert without.refresh_token


async def test_refresh_keeps_the_audience(domain: Domain) -> None:
    await domain.user()
    await domain.api(allow_offline_access=True)
    first = await password_login(domain, "openid read:things offline_access", API_ID)
    again = await refresh(domain, first.refresh_token)
    claims = await decode(domain, again.access_token, API_ID)
    assert claims["aud"] == [API_ID, domain.tenant.issuer + "userinfo"]
    assert claims["scope"] == "openid read:things offline_access"


async def test_refresh_token_is_bound_to_its_client(domain: Domain) -> None:
    await domain.user()
    token = (await password_login(domain)).refresh_token
    assert token
    other = await domain.application("Other", ("refresh_token", *PASSWORD_GRANTS))
    with pytest.raises(InvalidGrant):
        await domain.container.tokens.refresh(domain.tenant, other, token, None)
    assert (await refresh(domain, token)).refresh_token  # not spent by the failed attempt


async def test_unknown_and_revoked_refresh_tokens_are_invalid_grant(domain: Domain) -> None:
    await domain.user()
    with pytest.raises(InvalidGrant):
        await refresh(domain, "not-a-token")
    token = (await password_login(domain)).refresh_token
    assert token
    await domain.container.tokens.revoke(domain.tenant, domain.app, token)
    with pytest.raises(InvalidGrant):
        await refresh(domain, token)
    assert {"fertft", "srrt"} <= set(await domain.log_types())


async def test_a_client_cannot_revoke_another_clients_token(domain: Domain) -> None:
    await domain.user()
    token = (await password_login(domain)).refresh_token
    assert token
    other = await domain.application("Other", ("refresh_token", *PASSWORD_GRANTS))
    await domain.container.tokens.revoke(domain.tenant, other, token)  # RFC 7009: no error
    assert (await refresh(domain, token)).refresh_token
    assert "srrt" not in await domain.log_types()


async def test_revoking_a_token_revokes_its_family(domain: Domain) -> None:
    await domain.user()
    first = await password_login(domain)
    second = await refresh(domain, first.refresh_token)
    assert first.refresh_token
    await domain.container.tokens.revoke(domain.tenant, domain.app, first.refresh_token)
    with pytest.raises(InvalidGrant):
        await refresh(domain, second.refresh_token)
    await domain.container.tokens.revoke(domain.tenant, domain.app, "unknown-token")


async def test_refresh_for_a_blocked_user_is_invalid_grant(domain: Domain) -> None:
    user = await domain.user()
    token = (await password_login(domain)).refresh_token
    async with domain.container.uow() as uow:
        user.blocked = True
        await uow.users.update(user)
        await uow.commit()
    with pytest.raises(InvalidGrant):
        await refresh(domain, token)


async def test_refresh_needs_the_grant_type(domain: Domain) -> None:
    await domain.user()
    token = (await password_login(domain)).refresh_token
    assert token
    app = await domain.application("No refresh", PASSWORD_GRANTS)
    with pytest.raises(UnauthorizedClient):
        await domain.container.tokens.refresh(domain.tenant, app, token, None)


async def test_concurrent_refreshes_of_one_token_let_at_most_one_through(domain: Domain) -> None:
    await domain.user()
    token = (await password_login(domain)).refresh_token
    results = await asyncio.gather(
        refresh(domain, token), refresh(domain, token), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, TokenResponse)]
    losers = [r for r in results if not isinstance(r, TokenResponse)]
    assert len(winners) == 1, results
    # The loser is refused (or, on a locked SQLite, told to retry); it never gets tokens. If it
    # read the token after the winner spent it, that is a reuse and the family is revoked too.
    assert isinstance(losers[0], InvalidGrant | Unavailable), losers


# -- verification -------------------------------------------------------------------------------


async def test_verify_access_token_checks_issuer_and_audience(domain: Domain) -> None:
    tenant = domain.tenant
    token = (
        await domain.container.tokens.client_credentials(
            tenant, domain.machine, tenant.management_audience, "read:users"
        )
    ).access_token
    with pytest.raises(InvalidToken):
        await domain.container.tokens.verify_access_token(tenant, token, "https://other.test/")
    moved = Tenant(
        id=tenant.id,
        name=tenant.name,
        public_url="https://elsewhere.test",
        is_default=True,
        created_at=tenant.created_at,
    )
    with pytest.raises(InvalidToken):
        await domain.container.tokens.verify_access_token(moved, token, None)


async def test_userinfo_answers_with_the_claims_the_scopes_release(domain: Domain) -> None:
    user = await domain.user(profile={"given_name": "Ann"})
    response = await password_login(domain, "openid email")
    info = await domain.container.tokens.userinfo(domain.tenant, response.access_token)
    assert info == {"sub": user.user_id, "email": "ann@example.com", "email_verified": False}

    no_openid = await password_login(domain, "email")
    with pytest.raises(InvalidToken):
        await domain.container.tokens.userinfo(domain.tenant, no_openid.access_token)

    async with domain.container.uow() as uow:
        user.blocked = True
        await uow.users.update(user)
        await uow.commit()
    with pytest.raises(InvalidToken):
        await domain.container.tokens.userinfo(domain.tenant, response.access_token)


async def test_log_events_carry_the_request(domain: Domain) -> None:
    await domain.container.tokens.client_credentials(
        domain.tenant,
        domain.machine,
        domain.tenant.management_audience,
        None,
        RequestInfo(ip="203.0.113.9", user_agent="tests"),
    )
    event = next(e for e in await domain.logs() if e.type == "seccft")
    assert (event.ip, event.user_agent, event.client_id) == (
        "203.0.113.9",
        "tests",
        domain.machine.client_id,
    )
