"""Crash safety (DESIGN.md invariant 4): a real ``tether serve`` is killed with SIGKILL in the
middle of a stream of links and unlinks; after a restart on the same database every
acknowledged operation is there, each with its log event, an operation in flight at the kill
either happened whole or not at all, and the invariants hold.

Workers each own a primary and its secondaries, and send their operations one at a time, so
the state of a group is known after every acknowledged operation; the one operation a worker
had in flight when the server died may go either way. SQLite (a file in the data folder) or,
with TETHER_TEST_DATABASE_URL, a fresh PostgreSQL database migrated with ``tether db upgrade``.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import (
    DATABASE_CONNECTION,
    TETHER,
    TetherEnv,
    _stop,
    _wait_healthy,
    tether_env,
)
from tests.linking.support import check_invariants, owners, subject_of
from tether.storage import tables as t
from tether.storage.db import create_engine

pytestmark = pytest.mark.e2e

WORKERS = 8
SECONDARIES = 3
KILL_AFTER = 40  # acknowledged operations
PASSWORD = "a long enough password for the crash test"


@dataclass
class Group:
    """A primary and its secondaries; ``linked`` is what the acknowledged operations made."""

    primary: str
    secondaries: list[str]
    linked: set[str] = field(default_factory=set)
    acked: int = 0
    in_flight: tuple[str, str] | None = None  # ("link" | "unlink", secondary)

    def expected(self, linked: set[str]) -> dict[str, str]:
        return {s: self.primary if s in linked else s for s in self.secondaries} | {
            self.primary: self.primary
        }


class Killed(Exception):
    pass


@dataclass
class Live:
    env: TetherEnv
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env.port}"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[TetherEnv]:
    with tether_env(tmp_path) as env:
        # Eight workers at full speed pass Auth0's 50 calls a second: not what this is about.
        env.env["TETHER_MANAGEMENT_RATE_LIMIT"] = "100000/second"
        yield env


def start(env: TetherEnv, name: str) -> Live:
    log = env.data_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TETHER, "serve", "--host", "127.0.0.1", "--port", str(env.port)],
            env=env.env,
            cwd=env.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    live = Live(env, process, log)
    _wait_healthy(process, f"{live.base_url}/healthz", lambda: log.read_text(errors="replace"))
    return live


async def machine_token(http: httpx.AsyncClient, env: TetherEnv, init: dict[str, Any]) -> str:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": init["management_client"]["client_id"],
            "client_secret": init["management_client"]["client_secret"],
            "audience": env.management_audience,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def make_groups(live: Live, token: str) -> list[Group]:
    async with httpx.AsyncClient(
        base_url=live.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:

        async def user(email: str) -> str:
            response = await http.post(
                "/api/v2/users",
                json={"connection": DATABASE_CONNECTION, "email": email, "password": PASSWORD},
            )
            assert response.status_code == 201, response.text
            return str(response.json()["user_id"])

        ids = await asyncio.gather(
            *(user(f"g{g}-{k}@example.com") for g in range(WORKERS) for k in range(SECONDARIES + 1))
        )
    per = SECONDARIES + 1
    return [Group(ids[g * per], list(ids[g * per + 1 : (g + 1) * per])) for g in range(WORKERS)]


async def stream(live: Live, token: str, groups: list[Group]) -> int:
    """Links and unlinks until KILL_AFTER are acknowledged, then SIGKILL with others in flight.
    Returns how many operations were in flight when the server died."""
    acked = 0

    async def worker(group: Group, rng: random.Random, http: httpx.AsyncClient) -> None:
        nonlocal acked
        while True:
            secondary = rng.choice(group.secondaries)
            op = "unlink" if secondary in group.linked else "link"
            group.in_flight = (op, secondary)
            try:
                if op == "link":
                    response = await http.post(
                        f"/api/v2/users/{group.primary}/identities",
                        json={"provider": "auth0", "user_id": secondary},
                    )
                else:
                    response = await http.delete(
                        f"/api/v2/users/{group.primary}/identities/auth0/{subject_of(secondary)}"
                    )
            except httpx.HTTPError as exc:
                raise Killed from exc
            assert response.status_code == (201 if op == "link" else 200), response.text
            group.in_flight = None
            group.acked += 1
            if op == "link":
                group.linked.add(secondary)
            else:
                group.linked.discard(secondary)
            acked += 1
            if acked == KILL_AFTER:
                live.process.kill()  # SIGKILL: no shutdown, no rollback, no flush
                live.process.wait(timeout=10)
                raise Killed
            await asyncio.sleep(0)

    async with httpx.AsyncClient(
        base_url=live.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        results = await asyncio.gather(
            *(worker(g, random.Random(i), http) for i, g in enumerate(groups)),
            return_exceptions=True,
        )
    for result in results:
        if not isinstance(result, Killed):
            raise AssertionError(f"a worker failed: {result!r}")
    return sum(1 for g in groups if g.in_flight is not None)


async def verify(env: TetherEnv, live: Live, token: str, groups: list[Group]) -> int:
    """Check the restarted server's database; returns how many in-flight operations landed."""
    url = env.database_url or f"sqlite+aiosqlite:///{env.data_dir / 'tether.db'}"
    engine = create_engine(url)
    try:
        await check_invariants(engine)
        async with engine.connect() as conn:
            tenant_id = await conn.scalar(sa.select(t.tenants.c.id))
            rows = (
                await conn.execute(
                    sa.select(t.log_events.c.user_id, t.log_events.c.details).where(
                        t.log_events.c.type == "sapi"
                    )
                )
            ).all()
        held = await owners(engine, str(tenant_id))
    finally:
        await engine.dispose()
    events: dict[str, int] = {}
    for user_id, details in rows:
        if (details or {}).get("event") in ("identity_linked", "identity_unlinked"):
            events[user_id] = events.get(user_id, 0) + 1
    async with httpx.AsyncClient(
        base_url=live.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        landed_in_flight = 0
        for group in groups:
            mine = {k: v for k, v in held.items() if k in group.expected(set())}
            after_acked = group.expected(group.linked)
            applied = group.acked
            if mine != after_acked:
                # Only the operation in flight at the kill may have landed, and whole.
                assert group.in_flight is not None, (group, mine)
                op, secondary = group.in_flight
                landed = set(group.linked)
                landed.symmetric_difference_update({secondary})
                assert mine == group.expected(landed), (group, mine)
                applied += 1
                landed_in_flight += 1
            # Every applied link or unlink committed with its log event, and no other did.
            assert events.get(group.primary, 0) == applied, (group, events.get(group.primary))
            # The restarted server sees the same thing.
            response = await http.get(f"/api/v2/users/{group.primary}")
            assert response.status_code == 200, response.text
            shown = {f"{i['provider']}|{i['user_id']}" for i in response.json()["identities"]}
            assert shown == {k for k, v in mine.items() if v == group.primary}
        # And it goes on linking and unlinking.
        group = groups[0]
        secondary = group.secondaries[0]
        link_url = f"/api/v2/users/{group.primary}/identities"
        unlink_url = f"{link_url}/auth0/{subject_of(secondary)}"
        first = "unlink" if held[secondary] == group.primary else "link"
        for op in (first, "link" if first == "unlink" else "unlink"):
            if op == "link":
                response = await http.post(
                    link_url, json={"provider": "auth0", "user_id": secondary}
                )
            else:
                response = await http.delete(unlink_url)
            assert response.status_code == (201 if op == "link" else 200), response.text
    return landed_in_flight


def test_acknowledged_links_survive_sigkill(env: TetherEnv) -> None:
    init = env.json("init")
    first = start(env, "first")
    try:

        async def before() -> tuple[str, list[Group], int]:
            async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as http:
                token = await machine_token(http, env, init)
            groups = await make_groups(first, token)
            in_flight = await stream(first, token, groups)
            return token, groups, in_flight

        token, groups, in_flight = asyncio.run(before())
        assert first.process.returncode == -9
        # A response read just before the kill may be counted just after it: >=.
        assert sum(g.acked for g in groups) >= KILL_AFTER
    finally:
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait()
    second = start(env, "second")
    try:
        landed = asyncio.run(verify(env, second, token, groups))
    finally:
        code = _stop(second.process)
    output = second.log.read_text(errors="replace")
    assert "Traceback" not in output, output
    assert code in (0, -15), output
    # With eight workers, the kill lands with operations in flight (reported, not required:
    # the check above holds either way).
    print(f"in flight at the kill: {in_flight}, of which landed: {landed}")
