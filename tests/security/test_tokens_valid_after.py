"""Tokens valid after: a block, a password change, an unlink or a delete stops the user's tokens
(issue 11, finding 8).

Every user token Tether itself receives (Management API user tokens, /userinfo) is refused when
its ``iat`` is not after the user's "tokens valid after" instant. ``iat`` has whole seconds and
the instant has microseconds, so a token is accepted only when issued in a later second than the
instant (``accepts_iat``); the tests move a ``MovableClock`` to stand on each side of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.conftest import World
from tests.oidc.conftest import EMAIL, PASSWORD, MovableClock, Oidc, jwt_claims
from tests.security.support_s1_credentials import (
    NEW_PASSWORD,
    bearer,
    clock,  # noqa: F401  (fixtures)
    container,  # noqa: F401
    machine_token,
    oidc,  # noqa: F401
    path_id,
    user_token,
)
from tether.domain.access import TokenCutoffs, accepts_iat, issued_at_after
from tether.domain.actor import Actor
from tether.domain.linking import LinkIdentity
from tether.domain.user_admin import UserChanges
from tether.domain.users import NewDatabaseUser

OTHER_EMAIL = "bob@example.com"
DATABASE = "Username-Password-Authentication"


async def _patch_metadata(http: httpx.AsyncClient, user_id: str, token: str) -> httpx.Response:
    return await http.patch(
        f"/api/v2/users/{path_id(user_id)}",
        json={"user_metadata": {"theme": "dark"}},
        headers=bearer(token),
    )


async def _id_token(http: httpx.AsyncClient, world: World, email: str) -> str:
    return await _id_token_with(http, world, email, PASSWORD)


async def _id_token_with(http: httpx.AsyncClient, world: World, email: str, password: str) -> str:
    response = await http.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "username": email,
            "password": password,
            "realm": DATABASE,
            "scope": "openid",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id_token"])


async def _link(
    http: httpx.AsyncClient, user_id: str, token: str, link_with: str
) -> httpx.Response:
    return await http.post(
        f"/api/v2/users/{path_id(user_id)}/identities",
        json={"link_with": link_with},
        headers=bearer(token),
    )


async def _userinfo(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/userinfo", headers=bearer(token))


def _assert_ended(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == 401
    assert "sign in again" in body["message"]


async def _admin_patch(
    http: httpx.AsyncClient, world: World, user_id: str, body: dict[str, Any]
) -> None:
    token = await machine_token(http, world)
    response = await http.patch(
        f"/api/v2/users/{path_id(user_id)}", json=body, headers=bearer(token)
    )
    assert response.status_code == 200, response.text


async def test_a_block_stops_the_users_management_token_even_after_unblock(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.2: disabling an account ends its sessions and tokens. After
    PATCH {"blocked": true} the user's 24 h Management API token no longer writes metadata or
    links identities, nor reads /userinfo; unblocking does not bring the old token back."""
    await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email=OTHER_EMAIL, password=PASSWORD)
    )
    token = await user_token(http, world, EMAIL, PASSWORD)
    assert (await _patch_metadata(http, oidc.user_id, token)).status_code == 200
    assert (await _userinfo(http, token)).status_code == 200
    link_with = await _id_token(http, world, OTHER_EMAIL)
    clock.advance(2)

    await _admin_patch(http, world, oidc.user_id, {"blocked": True})
    _assert_ended(await _patch_metadata(http, oidc.user_id, token))
    _assert_ended(await _link(http, oidc.user_id, token, link_with))
    assert (await _userinfo(http, token)).status_code == 401

    await _admin_patch(http, world, oidc.user_id, {"blocked": False})
    _assert_ended(await _patch_metadata(http, oidc.user_id, token))
    refused = await _userinfo(http, token)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"

    clock.advance(1)
    fresh = await user_token(http, world, EMAIL, PASSWORD)
    assert (await _patch_metadata(http, oidc.user_id, fresh)).status_code == 200
    assert (await _userinfo(http, fresh)).status_code == 200
    assert (await _link(http, oidc.user_id, fresh, link_with)).status_code == 201


async def test_a_password_change_stops_older_tokens_and_newer_ones_work(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.3: after a credential change, a user token issued before it is
    refused by the Management API and /userinfo; one issued after it works."""
    token = await user_token(http, world, EMAIL, PASSWORD)
    clock.advance(2)
    await _admin_patch(
        http, world, oidc.user_id, {"password": NEW_PASSWORD, "connection": DATABASE}
    )
    _assert_ended(await _patch_metadata(http, oidc.user_id, token))
    assert (await _userinfo(http, token)).status_code == 401

    clock.advance(1)
    fresh = await user_token(http, world, EMAIL, NEW_PASSWORD)
    assert (await _patch_metadata(http, oidc.user_id, fresh)).status_code == 200
    assert (await _userinfo(http, fresh)).status_code == 200


async def test_a_link_with_proof_minted_before_the_secondarys_change_is_refused(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.3: a credential change ends every token of the account, the ID token
    offered as a linking proof included. An ID token of the secondary obtained before its
    password changed (a stolen one, say) no longer links it; a fresh one does. Fails before
    this fix: only the calling token was checked."""
    other = await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email=OTHER_EMAIL, password=PASSWORD)
    )
    token = await user_token(http, world, EMAIL, PASSWORD)
    stale = await _id_token(http, world, OTHER_EMAIL)
    clock.advance(2)
    await _admin_patch(
        http, world, other.user_id, {"password": NEW_PASSWORD, "connection": DATABASE}
    )

    refused = await _link(http, oidc.user_id, token, stale)
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"] == "Invalid token (link_with)."
    assert await world.container.users.get(world.tenant, other.user_id) is not None

    clock.advance(1)
    fresh = await _id_token_with(http, world, OTHER_EMAIL, NEW_PASSWORD)
    assert (await _link(http, oidc.user_id, token, fresh)).status_code == 201


async def test_the_boundary_second(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.2, the second-granular ``iat``: a token issued in the second of the
    change but before it has the same ``iat`` as one issued just after, so every token with that
    ``iat`` is refused, and a token Tether issues after the change within that second is stamped
    with the next second, so it works. The change here falls half-way through a second."""
    clock.advance(0.5)  # the clock now stands at T.5
    before = await user_token(http, world, EMAIL, PASSWORD)  # iat T
    assert jwt_claims(before)["iat"] == clock.epoch()
    await world.container.user_admin.update(
        world.tenant.id, oidc.user_id, UserChanges({"blocked": True}), Actor(None)
    )
    await world.container.user_admin.update(
        world.tenant.id, oidc.user_id, UserChanges({"blocked": False}), Actor(None)
    )
    _assert_ended(await _patch_metadata(http, oidc.user_id, before))
    assert (await _userinfo(http, before)).status_code == 401
    clock.advance(0.4)  # T.9: still the second of the change
    after = await user_token(http, world, EMAIL, PASSWORD)
    assert jwt_claims(after)["iat"] == clock.epoch() + 1  # stamped with the next second
    assert (await _patch_metadata(http, oidc.user_id, after)).status_code == 200
    assert (await _userinfo(http, after)).status_code == 200
    clock.advance(0.1)  # T+1: an ordinary token again
    later = await user_token(http, world, EMAIL, PASSWORD)
    assert jwt_claims(later)["iat"] == clock.epoch()
    assert (await _patch_metadata(http, oidc.user_id, later)).status_code == 200
    _assert_ended(await _patch_metadata(http, oidc.user_id, before))


def test_accepts_iat_compares_whole_seconds() -> None:
    """OWASP ASVS 5.0 7.4.2, the comparison itself: accepted only when ``iat`` is a later
    second than the instant; a token issued after the instant is stamped so that it is."""
    at = datetime(2026, 1, 1, 12, 0, 0, 500_000)
    second = int((at.replace(microsecond=0) - datetime(1970, 1, 1)).total_seconds())
    assert accepts_iat(second - 1, None)
    assert not accepts_iat(second - 1, at)
    assert not accepts_iat(second, at)
    assert accepts_iat(second + 1, at)
    exact = at.replace(microsecond=0)
    assert not accepts_iat(second, exact)
    assert accepts_iat(second + 1, exact)
    # What Tether stamps on a token it issues: never the instant's second or earlier.
    assert issued_at_after(second, None) == second
    assert issued_at_after(second, at) == second + 1
    assert issued_at_after(second + 5, at) == second + 5
    assert accepts_iat(issued_at_after(second, at), at)


async def test_unlink_ends_the_restored_users_old_tokens_and_keeps_the_callers(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.3 (unlinking a login method is an authentication-factor change): the
    restored user's tokens from before its link (same ``sub``) do not come back to life. The
    primary's access token stays valid, as Auth0's does, because apps re-read the user with the
    token that unlinked (the seed tutorial does); its sessions and refresh tokens end (tested
    in tests/linking). A deliberate difference, in docs/security.md."""
    c = world.container
    other = await c.users.create(
        world.tenant, None, NewDatabaseUser(email=OTHER_EMAIL, password=PASSWORD)
    )
    old_other = await user_token(http, world, OTHER_EMAIL, PASSWORD)
    clock.advance(1)
    await c.linking.link(
        world.tenant,
        oidc.user_id,
        LinkIdentity("auth0", other.user_id.split("|", 1)[1]),
        Actor(None),
    )
    token = await user_token(http, world, EMAIL, PASSWORD)
    clock.advance(2)
    await c.linking.unlink(
        world.tenant, oidc.user_id, "auth0", other.user_id.split("|", 1)[1], Actor(None)
    )
    assert (await _patch_metadata(http, oidc.user_id, token)).status_code == 200
    _assert_ended(await _patch_metadata(http, other.user_id, old_other))
    clock.advance(1)
    fresh = await user_token(http, world, EMAIL, PASSWORD)
    assert (await _patch_metadata(http, oidc.user_id, fresh)).status_code == 200


async def test_delete_stops_the_users_tokens(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.2: a deleted user's token is refused before any route runs."""
    token = await user_token(http, world, EMAIL, PASSWORD)
    clock.advance(1)
    await world.container.user_admin.delete(world.tenant.id, oidc.user_id, Actor(None))
    _assert_ended(await _patch_metadata(http, oidc.user_id, token))
    assert (await _userinfo(http, token)).status_code == 401


class _CountingUow:
    """The container's unit-of-work factory, counting how many units of work are opened."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.opened = 0

    def __call__(self, *, read_only: bool = False) -> Any:
        self.opened += 1
        return self.inner(read_only=read_only)


async def test_the_check_costs_no_sql_and_other_processes_see_a_change_within_the_bound(
    world: World,
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.2 across processes: another process (its own read model on the same
    database) refuses the token after at most its refresh interval, and between refreshes a
    check opens no unit of work (no SQL on the hot path)."""
    ticks = [0.0]
    counting = _CountingUow(world.container.uow)
    elsewhere = TokenCutoffs(counting, clock, refresh_seconds=2.0, monotonic=lambda: ticks[0])
    token_iat = int((clock.now() - datetime(1970, 1, 1)).total_seconds())
    key = (world.tenant.id, oidc.user_id)
    assert await elsewhere.accepts(*key, token_iat)
    assert counting.opened == 1  # the first load
    for _ in range(50):
        assert await elsewhere.accepts(*key, token_iat)
    assert counting.opened == 1  # no SQL between refreshes

    clock.advance(1)
    await world.container.user_admin.update(
        world.tenant.id, oidc.user_id, UserChanges({"blocked": True}), Actor(None)
    )
    ticks[0] = 1.9
    assert await elsewhere.accepts(*key, token_iat)  # within the bound: not seen yet
    ticks[0] = 2.0
    assert not await elsewhere.accepts(*key, token_iat)  # seen at the next refresh
    assert counting.opened == 2
    assert await elsewhere.accepts(*key, token_iat + 2)
    # The writing process itself refused it at once (it noted the instant at commit).
    assert not await world.container.access.token_accepted(*key, token_iat)
