"""Every way a link or unlink can fail, with Auth0's exact message (auth0-wire.md §1.1-§1.3),
and after each failure the linking tables are exactly as they were and the invariants hold."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import World
from tests.linking.support import (
    API,
    ISSUER,
    bearer,
    check_invariants,
    claims_of,
    hs256_with_public_key,
    id_claims,
    id_token,
    link,
    new_user,
    path_id,
    sign,
    snapshot,
    subject_of,
    unlink,
    unsigned,
    user_token,
)
from tether.domain.models import User
from tether.domain.users import NewDatabaseUser
from tether.storage import tables as t

A, B, C = "ann@example.com", "bob@example.com", "cat@example.com"
INVALID = "Invalid token (link_with)."
ALG = "JWT (link_with) must have an alg of RS256."
NO_SUB = "JWT (link_with) must contains sub claim."
ISS = "JWT (link_with) must have the same issuer as the calling user."
BAD_AUD = "JWT (link_with) contains an invalid aud claim."
AZP = "JWT (link_with) must have an aud claim that matches that of the calling token's azp."
SAME = "Main identity and the new one are the same."
EXISTS = "Specified identity already exists."
NOT_FOUND = "Provided secondary account not found."
BLOCKED = "Unable to link with the secondary account."


@dataclass
class Pair:
    world: World
    http: httpx.AsyncClient
    engine: AsyncEngine
    admin: str
    a: User
    b: User
    token_a: str  # A's user token: update:current_user_identities

    async def attempt(
        self,
        call: Callable[[], Awaitable[httpx.Response]],
        status: int,
        message: str | None,
        error_code: str | None = None,
        *,
        label: str = "",
    ) -> dict[str, Any]:
        """Make a request that must fail; the linking tables must not move."""
        label = label or message or ""
        before = await snapshot(self.engine)
        response = await call()
        assert response.status_code == status, (label, response.status_code, response.text)
        body: dict[str, Any] = response.json()
        assert body["statusCode"] == status, body
        assert isinstance(body["error"], str) and body["error"], body
        if message is not None:
            assert body["message"] == message, body
        if error_code is not None:
            assert body["errorCode"] == error_code, body
        assert await snapshot(self.engine) == before, f"{label}: the database changed"
        await check_invariants(self.engine)
        return body

    async def link_with(self, token: str, primary: str | None = None) -> httpx.Response:
        return await link(self.http, self.token_a, primary or self.a.user_id, {"link_with": token})


@pytest.fixture
async def pair(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> Pair:
    a = await new_user(world, A)
    b = await new_user(world, B)
    token_a = await user_token(http, world.app, A)
    return Pair(world, http, engine, admin_token, a, b, token_a)


# -- the same identity, an identity already there, an unknown one ------------------


async def test_link_to_itself(pair: Pair) -> None:
    own = await id_token(pair.http, pair.world.app, A)
    await pair.attempt(lambda: pair.link_with(own), 400, SAME, "invalid_body")
    for user_id in (subject_of(pair.a.user_id), pair.a.user_id):
        await pair.attempt(
            lambda user_id=user_id: link(  # type: ignore[misc]
                pair.http, pair.admin, pair.a.user_id, {"provider": "auth0", "user_id": user_id}
            ),
            400,
            SAME,
        )


async def test_an_identity_already_linked_is_a_conflict(pair: Pair) -> None:
    secondary = await id_token(pair.http, pair.world.app, B)
    first = await pair.link_with(secondary)
    assert first.status_code == 201, first.text
    # Again, on the same primary: with the same ID token, and server-side.
    await pair.attempt(lambda: pair.link_with(secondary), 409, EXISTS)
    server_side = {"provider": "auth0", "user_id": subject_of(pair.b.user_id)}
    await pair.attempt(
        lambda: link(pair.http, pair.admin, pair.a.user_id, server_side), 409, EXISTS
    )
    # On another primary: B's identity belongs to A now.
    c = await new_user(pair.world, C)
    token_c = await user_token(pair.http, pair.world.app, C)
    await pair.attempt(
        lambda: link(pair.http, token_c, c.user_id, {"link_with": secondary}), 409, EXISTS
    )
    await pair.attempt(lambda: link(pair.http, pair.admin, c.user_id, server_side), 409, EXISTS)


async def test_unknown_secondary(pair: Pair) -> None:
    for user_id in ("0123456789abcdef01234567", "auth0|0123456789abcdef01234567", 12345):
        await pair.attempt(
            lambda user_id=user_id: link(  # type: ignore[misc]
                pair.http, pair.admin, pair.a.user_id, {"provider": "auth0", "user_id": user_id}
            ),
            400,
            NOT_FOUND,
        )
    # A provider no connection has.
    await pair.attempt(
        lambda: link(
            pair.http,
            pair.admin,
            pair.a.user_id,
            {"provider": "github", "user_id": subject_of(pair.b.user_id)},
        ),
        400,
        NOT_FOUND,
    )
    # A well-signed ID token for a user that never existed.
    ghost = await sign(
        pair.world, id_claims("auth0|0123456789abcdef01234567", pair.world.app.client_id)
    )
    await pair.attempt(lambda: pair.link_with(ghost), 400, NOT_FOUND)


async def test_unknown_primary(pair: Pair) -> None:
    await pair.attempt(
        lambda: link(
            pair.http,
            pair.admin,
            "auth0|0123456789abcdef01234567",
            {"provider": "auth0", "user_id": subject_of(pair.b.user_id)},
        ),
        404,
        "The user does not exist.",
        "inexistent_user",
    )


# -- link_with: the secondary's ID token ---------------------------------------------


async def test_bad_link_with_tokens(pair: Pair) -> None:
    world = pair.world
    app = world.app.client_id
    sub_b = pair.b.user_id
    other = await world.container.tenants.create("other", "http://other.test")
    now = int(time.time())
    good = id_claims(sub_b, app, azp=app)
    no_sub = {k: v for k, v in good.items() if k != "sub"}
    cases: list[tuple[str, str, str]] = [
        ("not a JWT", "not-a-jwt", INVALID),
        ("garbage segments", "a.b.c", INVALID),
        ("alg none", unsigned(good), ALG),
        ("HS256 keyed with the public key", await hs256_with_public_key(world, good), ALG),
        ("another tenant's key", await sign(world, good, tenant=other), INVALID),
        (
            "another tenant's own token",
            await sign(world, {**good, "iss": other.issuer}, tenant=other),
            INVALID,
        ),
        ("expired", await sign(world, {**good, "iat": now - 7200, "exp": now - 3600}), INVALID),
        ("no exp", await sign(world, {k: v for k, v in good.items() if k != "exp"}), INVALID),
        ("not yet valid", await sign(world, {**good, "nbf": now + 3600}), INVALID),
        ("missing sub", await sign(world, no_sub), NO_SUB),
        ("wrong issuer", await sign(world, {**good, "iss": "https://evil.example/"}), ISS),
        ("issuer without the slash", await sign(world, {**good, "iss": ISSUER[:-1]}), ISS),
        (
            "sub without a provider",
            await sign(world, {**good, "sub": subject_of(sub_b)}),
            "JWT (link_with) contains an invalid sub claim.",
        ),
        (
            "aud list, azp another client",
            await sign(world, {**good, "aud": [app, "another-client"], "azp": "another-client"}),
            BAD_AUD,
        ),
        (
            "aud list, no azp",
            await sign(world, {k: v for k, v in good.items() if k != "azp"} | {"aud": [app, "x"]}),
            BAD_AUD,
        ),
        ("aud missing", await sign(world, {k: v for k, v in good.items() if k != "aud"}), BAD_AUD),
        ("aud a number", await sign(world, {**good, "aud": 7}), BAD_AUD),
        (
            "aud another client",
            await sign(world, {**good, "aud": "another-client", "azp": "another-client"}),
            AZP,
        ),
        (
            "aud list without the caller",
            await sign(world, {**good, "aud": ["x", "y"], "azp": "x"}),
            AZP,
        ),
        (
            "an access token for the Management API",
            await user_token(pair.http, world.app, B),
            BAD_AUD,
        ),
    ]
    for name, token, message in cases:
        await pair.attempt(
            lambda token=token: pair.link_with(token),  # type: ignore[misc]
            400,
            message,
            "invalid_body",
            label=name,
        )


async def test_link_with_of_a_blocked_secondary(pair: Pair) -> None:
    secondary = await id_token(pair.http, pair.world.app, B)
    async with pair.world.container.uow() as uow:
        user = await uow.users.get(pair.world.tenant.id, pair.b.user_id)
        assert user is not None
        user.blocked = True
        await uow.users.update(user)
        await uow.commit()
    await pair.attempt(lambda: pair.link_with(secondary), 400, BLOCKED)
    server_side = {"provider": "auth0", "user_id": subject_of(pair.b.user_id)}
    await pair.attempt(
        lambda: link(pair.http, pair.admin, pair.a.user_id, server_side), 400, BLOCKED
    )


async def test_link_with_for_a_machine_token_still_checks_the_token(pair: Pair) -> None:
    """A machine token with update:users may send link_with (auth0-wire.md §1.1) for any
    application's ID token, but the token itself is checked as strictly."""
    world = pair.world
    good = id_claims(pair.b.user_id, world.app.client_id)
    for token, message in (
        (unsigned(good), ALG),
        (await sign(world, {**good, "iss": "https://evil.example/"}), ISS),
        (await sign(world, {**good, "aud": [world.app.client_id, "x"], "azp": "y"}), BAD_AUD),
    ):
        await pair.attempt(
            lambda token=token: link(  # type: ignore[misc]
                pair.http, pair.admin, pair.a.user_id, {"link_with": token}
            ),
            400,
            message,
        )


# -- bodies -----------------------------------------------------------------------------


async def test_bad_bodies(pair: Pair) -> None:
    secondary = await id_token(pair.http, pair.world.app, B)
    sub_b = subject_of(pair.b.user_id)
    url = f"{API}/users/{path_id(pair.a.user_id)}/identities"
    for token in (pair.token_a, pair.admin):
        for body in (
            {"link_with": secondary, "provider": "auth0"},
            {"link_with": secondary, "user_id": sub_b},
            {"link_with": secondary, "connection_id": "con_0123456789abcdef"},
            {"link_with": secondary, "extra": 1},
            {"provider": "auth0", "user_id": sub_b, "extra": "x"},
            {"link_with": ""},
            {"link_with": 7},
            {"link_with": None, "provider": None},
            {"provider": "auth0"},
            {"provider": "auth0", "user_id": ""},
            {"provider": "auth0", "user_id": None},
            {"provider": "auth0", "user_id": [sub_b]},
            {"provider": "auth0", "user_id": {"id": sub_b}},
            {"provider": "", "user_id": sub_b},
            {},
        ):
            await pair.attempt(
                lambda body=body, token=token: pair.http.post(  # type: ignore[misc]
                    url, json=body, headers=bearer(token)
                ),
                400,
                None,
            )
        form = urlencode({"link_with": secondary, "provider": "auth0"}).encode()
        for name, content, content_type in (
            ("empty JSON", b"", "application/json"),
            ("not JSON", b"{", "application/json"),
            ("JSON null", b"null", "application/json"),
            ("a JSON list", json.dumps([{"link_with": secondary}]).encode(), "application/json"),
            ("empty form", b"", "application/x-www-form-urlencoded"),
            ("form with both", form, "application/x-www-form-urlencoded"),
        ):
            headers = {**bearer(token), "Content-Type": content_type}
            await pair.attempt(
                lambda content=content, headers=headers: pair.http.post(  # type: ignore[misc]
                    url, content=content, headers=headers
                ),
                400,
                None,
                label=name,
            )


async def test_server_side_form_needs_a_machine_token(pair: Pair) -> None:
    """A user proves ownership of a second account with its ID token, never by naming it."""
    body = {"provider": "auth0", "user_id": subject_of(pair.b.user_id)}
    await pair.attempt(lambda: link(pair.http, pair.token_a, pair.a.user_id, body), 403, None)


async def test_a_user_token_acts_only_on_its_own_user(pair: Pair) -> None:
    secondary = await id_token(pair.http, pair.world.app, B)
    c = await new_user(pair.world, C)
    await pair.attempt(
        lambda: pair.link_with(secondary, primary=c.user_id),
        403,
        "User to be acted on does not match subject in bearer token.",
        "unowned_resource",
    )
    # Without the scope.
    narrow = await user_token(pair.http, pair.world.app, A, scope="openid read:current_user")
    await pair.attempt(
        lambda: link(pair.http, narrow, pair.a.user_id, {"link_with": secondary}), 403, None
    )


# -- user_id forms (server-side) ------------------------------------------------------------


async def add_numeric_user(world: World, subject: str) -> User:
    """A database user whose subject is a number (as GitHub's and WordPress's ids are)."""
    user = await new_user(world, f"n{subject}@example.com")
    numeric = replace(user, user_id=f"auth0|{subject}", identities=[])
    async with world.container.uow() as uow:
        await uow.identities.update(replace(user.identities[0], subject=subject))
        await uow.users.update(numeric)
        await uow.commit()
    return numeric


async def test_user_id_as_integer_and_with_the_provider_prefix(pair: Pair) -> None:
    numeric = await add_numeric_user(pair.world, "4815162342")
    await check_invariants(pair.engine)
    response = await link(
        pair.http, pair.admin, pair.a.user_id, {"provider": "auth0", "user_id": 4815162342}
    )
    assert response.status_code == 201, response.text
    assert [i["user_id"] for i in response.json()][1] == "4815162342"
    prefixed = await link(
        pair.http, pair.admin, pair.a.user_id, {"provider": "auth0", "user_id": pair.b.user_id}
    )
    assert prefixed.status_code == 201, prefixed.text
    assert [i["user_id"] for i in prefixed.json()] == [
        subject_of(pair.a.user_id),
        "4815162342",
        subject_of(pair.b.user_id),
    ]
    assert numeric.user_id == "auth0|4815162342"
    await check_invariants(pair.engine)
    # Unlink the numeric one by its full id, and by the bare number.
    response = await unlink(pair.http, pair.admin, pair.a.user_id, "auth0", "auth0|4815162342")
    assert response.status_code == 200, response.text
    await check_invariants(pair.engine)


async def test_connection_id(pair: Pair, engine: AsyncEngine) -> None:
    sub_b = subject_of(pair.b.user_id)
    await pair.attempt(
        lambda: link(
            pair.http,
            pair.admin,
            pair.a.user_id,
            {"provider": "auth0", "user_id": sub_b, "connection_id": "con_0123456789abcdef"},
        ),
        400,
        "The provider/connection is not configured.",
        "inexistent_connection",
    )
    async with engine.connect() as conn:
        connection_id = await conn.scalar(
            sa.select(t.identities.c.connection_id).where(t.identities.c.subject == sub_b)
        )
    response = await link(
        pair.http,
        pair.admin,
        pair.a.user_id,
        {"provider": "auth0", "user_id": sub_b, "connection_id": connection_id},
    )
    assert response.status_code == 201, response.text


# -- tenants ----------------------------------------------------------------------------


async def test_another_tenants_users_are_out_of_reach(pair: Pair) -> None:
    world = pair.world
    other = await world.container.tenants.create("other", "http://other.test")
    stranger = await world.container.users.create(
        other, None, NewDatabaseUser(email="eve@example.com", password="another long password")
    )
    # As the primary in the path.
    await pair.attempt(
        lambda: link(
            pair.http,
            pair.admin,
            stranger.user_id,
            {"provider": "auth0", "user_id": subject_of(pair.b.user_id)},
        ),
        404,
        "The user does not exist.",
    )
    # As the secondary, server-side and as an ID token the other tenant signed.
    await pair.attempt(
        lambda: link(
            pair.http,
            pair.admin,
            pair.a.user_id,
            {"provider": "auth0", "user_id": subject_of(stranger.user_id)},
        ),
        400,
        NOT_FOUND,
    )
    theirs = await sign(
        world, id_claims(stranger.user_id, world.app.client_id, iss=other.issuer), tenant=other
    )
    await pair.attempt(lambda: pair.link_with(theirs), 400, INVALID)
    # Unlink on the other tenant's user.
    await pair.attempt(
        lambda: unlink(
            pair.http, pair.admin, stranger.user_id, "auth0", subject_of(pair.b.user_id)
        ),
        404,
        "The user does not exist.",
    )
    # The other tenant's Management token does not reach this tenant.
    other_token = await sign(
        world,
        {
            "iss": other.issuer,
            "sub": "x@clients",
            "aud": other.management_audience,
            "scope": "update:users",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
        },
        tenant=other,
    )
    body = {"provider": "auth0", "user_id": subject_of(pair.b.user_id)}
    await pair.attempt(lambda: link(pair.http, other_token, pair.a.user_id, body), 401, None)


# -- unlink -------------------------------------------------------------------------------


async def test_unlink_errors(pair: Pair) -> None:
    sub_a, sub_b = subject_of(pair.a.user_id), subject_of(pair.b.user_id)
    for token in (pair.token_a, pair.admin):
        await pair.attempt(
            lambda token=token: unlink(pair.http, token, pair.a.user_id, "auth0", sub_a),  # type: ignore[misc]
            400,
            "Main identity cannot be removed.",
        )
        # B is a user of its own, not linked to A.
        await pair.attempt(
            lambda token=token: unlink(pair.http, token, pair.a.user_id, "auth0", sub_b),  # type: ignore[misc]
            404,
            None,
        )
    linked = await pair.link_with(await id_token(pair.http, pair.world.app, B))
    assert linked.status_code == 201
    for provider, user_id, status in (
        ("github", sub_b, 404),  # the right id under another provider
        ("auth0", "0123456789abcdef01234567", 404),
        ("auth0", pair.a.user_id, 400),  # the primary, in the full form
    ):
        await pair.attempt(
            lambda provider=provider, user_id=user_id: unlink(  # type: ignore[misc]
                pair.http, pair.token_a, pair.a.user_id, provider, user_id
            ),
            status,
            None,
        )
    # Another user's token may not unlink from A.
    c = await new_user(pair.world, C)
    token_c = await user_token(pair.http, pair.world.app, C)
    await pair.attempt(
        lambda: unlink(pair.http, token_c, pair.a.user_id, "auth0", sub_b),
        403,
        "User to be acted on does not match subject in bearer token.",
    )
    assert claims_of(token_c)["sub"] == c.user_id
    # The unlinked secondary's path: B is no user now.
    await pair.attempt(
        lambda: unlink(pair.http, pair.admin, pair.b.user_id, "auth0", sub_b), 404, None
    )


async def test_a_user_token_without_azp_cannot_vouch_for_link_with(pair: Pair) -> None:
    """The aud of link_with is matched against the calling token's azp; a user token that has
    none (Tether issues none such, but the key signs what it is given) matches nothing."""
    world = pair.world
    now = int(time.time())
    caller = await sign(
        world,
        {
            "iss": ISSUER,
            "sub": pair.a.user_id,
            "aud": pair.world.tenant.management_audience,
            "scope": "update:current_user_identities",
            "iat": now,
            "exp": now + 600,
        },
    )
    secondary = await id_token(pair.http, world.app, B)
    await pair.attempt(
        lambda: link(pair.http, caller, pair.a.user_id, {"link_with": secondary}), 400, AZP
    )
