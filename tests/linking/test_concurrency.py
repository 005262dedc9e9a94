"""Racing links (DESIGN.md invariant 5): of concurrent attempts to link the same identity,
exactly one succeeds and the others get 409; two users linking each other at once end with
one link, no deadlock, no 500; the invariants hold on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import World
from tests.linking.support import (
    API,
    ID_SCOPE,
    bearer,
    check_invariants,
    id_token,
    link,
    new_user,
    owners,
    password_realm,
    path_id,
    subject_of,
    unlink,
    user_token,
)

N = 50


async def test_fifty_primaries_race_for_one_secondary(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    secondary = await new_user(world, "wanted@example.com")
    primaries = [await new_user(world, f"p{i}@example.com") for i in range(N)]
    body = {"provider": "auth0", "user_id": subject_of(secondary.user_id)}

    responses = await asyncio.wait_for(
        asyncio.gather(*(link(http, admin_token, p.user_id, body) for p in primaries)), 60
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code != 409]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["message"] == "Specified identity already exists.", r.text
    winner = primaries[next(i for i, r in enumerate(responses) if r.status_code == 201)]
    held = await owners(engine, world.tenant.id)
    assert held[secondary.user_id] == winner.user_id
    assert len(held) == N + 1
    await check_invariants(engine)


async def test_fifty_link_with_requests_race_for_one_secondary(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine
) -> None:
    """The same race, user-initiated: each primary holds the secondary's ID token."""
    secondary = await new_user(world, "wanted@example.com")
    token = await id_token(http, world.app, "wanted@example.com")
    primaries = [await new_user(world, f"p{i}@example.com") for i in range(N)]
    callers = [await user_token(http, world.app, p.email or "") for p in primaries]

    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                link(http, t, p.user_id, {"link_with": token})
                for t, p in zip(callers, primaries, strict=True)
            )
        ),
        60,
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code != 409]
    assert len(set((await owners(engine, world.tenant.id)).values())) == N
    assert secondary.user_id in await owners(engine, world.tenant.id)
    await check_invariants(engine)


async def test_two_users_linking_each_other_at_once(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    """A <- B and B <- A together, ten pairs at once, user-initiated and server-side: one link
    per pair wins; the other finds its primary gone (404) or its secondary taken (409)."""
    pairs = [
        (await new_user(world, f"a{i}@example.com"), await new_user(world, f"b{i}@example.com"))
        for i in range(10)
    ]
    calls = []
    for i, (a, b) in enumerate(pairs):
        if i % 2:
            calls.append(
                link(http, admin_token, a.user_id, {"provider": "auth0", "user_id": b.user_id})
            )
            calls.append(
                link(http, admin_token, b.user_id, {"provider": "auth0", "user_id": a.user_id})
            )
        else:
            ta, tb = [await user_token(http, world.app, u.email or "") for u in (a, b)]
            ia, ib = [await id_token(http, world.app, u.email or "") for u in (a, b)]
            calls.append(link(http, ta, a.user_id, {"link_with": ib}))
            calls.append(link(http, tb, b.user_id, {"link_with": ia}))

    responses = await asyncio.wait_for(asyncio.gather(*calls), 60)

    held = await owners(engine, world.tenant.id)
    for i, (a, b) in enumerate(pairs):
        first, second = responses[2 * i], responses[2 * i + 1]
        statuses = sorted([first.status_code, second.status_code])
        assert statuses[0] == 201 and statuses[1] in (404, 409), (first.text, second.text)
        winner = a if first.status_code == 201 else b
        assert held[a.user_id] == held[b.user_id] == winner.user_id
    await check_invariants(engine)


async def test_a_storm_of_links_unlinks_deletes_and_sign_ins(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    """Concurrent links, unlinks, user deletions and sign-ins (which write sessions, refresh
    tokens and the user's login count) over a small set of users: whatever wins, nothing
    answers 500 and the invariants hold."""
    rng = random.Random(5)
    users = [await new_user(world, f"u{i}@example.com") for i in range(12)]
    ids = [u.user_id for u in users]
    emails = [u.email or "" for u in users]
    for _ in range(3):
        calls = []
        for _ in range(30):
            kind = rng.random()
            x, y = rng.sample(ids, 2)
            if kind < 0.5:
                calls.append(link(http, admin_token, x, {"provider": "auth0", "user_id": y}))
            elif kind < 0.75:
                calls.append(unlink(http, admin_token, x, "auth0", y))
            elif kind < 0.85:
                calls.append(http.delete(f"{API}/users/{path_id(x)}", headers=bearer(admin_token)))
            else:
                calls.append(
                    password_realm(
                        http,
                        world.app,
                        rng.choice(emails),
                        scope=ID_SCOPE + " offline_access",
                        audience=None,
                    )
                )
        responses = await asyncio.wait_for(asyncio.gather(*calls), 60)
        assert all(r.status_code < 500 for r in responses), [
            r.text for r in responses if r.status_code >= 500
        ]
        await check_invariants(engine)


async def test_ten_unlinks_of_one_identity_at_once(
    http: httpx.AsyncClient, world: World, engine: AsyncEngine, admin_token: str
) -> None:
    a = await new_user(world, "ann@example.com")
    b = await new_user(world, "bob@example.com")
    linked = await link(http, admin_token, a.user_id, {"provider": "auth0", "user_id": b.user_id})
    assert linked.status_code == 201, linked.text

    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                unlink(http, admin_token, a.user_id, "auth0", subject_of(b.user_id))
                for _ in range(10)
            )
        ),
        60,
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 404: 9}, [r.text for r in responses]
    assert await owners(engine, world.tenant.id) == {a.user_id: a.user_id, b.user_id: b.user_id}
    await check_invariants(engine)
