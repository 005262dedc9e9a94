"""Tenant setting ``linking.require_verified_email``: a person may link into an account only once
its email is verified (pre-account takeover, trojan identifier, Sudhodanan & Paverd 2022,
§6.2.2: "don't allow linking while the account's primary identifier is unverified")."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import World
from tests.linking.support import (
    id_token,
    link,
    machine_token,
    management_error,
    new_user,
    owners,
    snapshot,
    subject_of,
    user_token,
)
from tests.security.support_s2_linking import LINKED, mails
from tether.domain.errors import InvalidInput

A, B = "ann@example.com", "bob@example.com"
REFUSED = (
    "The account's email address is not verified: verify it before linking another account "
    "to it (tenant setting linking.require_verified_email)."
)


async def _require(world: World, value: object) -> None:
    world.tenant = await world.container.tenants.update_settings(
        world.tenant, {"linking.require_verified_email": value}
    )


async def test_a_user_token_cannot_link_into_an_unverified_account_when_the_tenant_says_so(
    http: httpx.AsyncClient, world: World, engine
) -> None:  # type: ignore[no-untyped-def]
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): with
    ``linking.require_verified_email`` a user-token link into an unverified primary is a 400 in
    the Management API's error shape, and nothing changes."""
    await _require(world, True)
    a = await new_user(world, A)
    await new_user(world, B)
    token = await user_token(http, world.app, A)
    proof = await id_token(http, world.app, B)
    before = await snapshot(engine)

    response = await link(http, token, a.user_id, {"link_with": proof})

    body = management_error(response, 400, REFUSED)
    assert body["error"] == "Bad Request"
    assert body["errorCode"] == "unverified_email"
    assert await snapshot(engine) == before
    assert await mails(world, LINKED) == []


async def test_verified_accounts_and_administrators_still_link(
    http: httpx.AsyncClient, world: World, engine
) -> None:  # type: ignore[no-untyped-def]
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): the setting
    refuses only a person's link into an unverified account; a verified primary links, and an
    administrator's explicit server-side link is not refused."""
    await _require(world, True)
    a = await new_user(world, A, email_verified=True)
    b = await new_user(world, B)
    token = await user_token(http, world.app, A)
    response = await link(http, token, a.user_id, {"link_with": await id_token(http, world.app, B)})
    assert response.status_code == 201, response.text

    c = await new_user(world, "cat@example.com")
    d = await new_user(world, "dan@example.com")
    admin = await machine_token(http, world.machine)
    body = {"provider": "auth0", "user_id": subject_of(d.user_id)}
    assert (await link(http, admin, c.user_id, body)).status_code == 201
    held = await owners(engine, world.tenant.id)
    assert held[b.user_id] == a.user_id and held[d.user_id] == c.user_id


async def test_by_default_a_link_into_an_unverified_account_works_as_auth0s(
    http: httpx.AsyncClient, world: World
) -> None:
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): the default
    is Auth0's behaviour (the link works), and the setting takes only a boolean."""
    a = await new_user(world, A)
    await new_user(world, B)
    token = await user_token(http, world.app, A)
    response = await link(http, token, a.user_id, {"link_with": await id_token(http, world.app, B)})
    assert response.status_code == 201, response.text
    for wrong in ("true", 1):
        with pytest.raises(InvalidInput, match="linking.require_verified_email"):
            await _require(world, wrong)
    await _require(world, True)
    await _require(world, None)
    assert "require_verified_email" not in world.tenant.settings.get("linking", {})
