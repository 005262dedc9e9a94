"""Crash safety of the group-committed grant log events (issue 13, decision 2; DESIGN.md "Hot
paths"): a real ``tether serve`` is killed with SIGKILL in the middle of a client-credentials
storm; after a restart on the same database every token that was answered 200 has its
``seccft`` log event. Each request carries its own User-Agent, which the event records, so
each acknowledged token is matched to its own event, not only counted.

SQLite (a file in the data folder) or, with TETHER_TEST_DATABASE_URL, a fresh PostgreSQL
database, as tests/linking/test_crash.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import TetherEnv, _stop, tether_env
from tests.linking.test_crash import Killed, Live, start
from tether.storage import tables as t
from tether.storage.db import create_engine

pytestmark = pytest.mark.e2e

CONNECTIONS = 16
KILL_AFTER = 300  # acknowledged tokens


@pytest.fixture
def env(tmp_path: Path) -> Iterator[TetherEnv]:
    with tether_env(tmp_path) as env:
        env.env["TETHER_TOKEN_RATE_LIMIT"] = "1000000/minute"
        yield env


async def storm(live: Live, env: TetherEnv, init: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Tokens until KILL_AFTER are answered 200, then SIGKILL with others in flight. Returns
    the User-Agents answered 200 and those in flight at the kill."""
    acked: set[str] = set()
    in_flight: set[str] = set()
    sent = 0
    machine = init["management_client"]

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while True:
            sent += 1
            agent = f"storm-{sent}"
            in_flight.add(agent)
            try:
                response = await http.post(
                    "/oauth/token",
                    headers={"User-Agent": agent},
                    data={
                        "grant_type": "client_credentials",
                        "client_id": machine["client_id"],
                        "client_secret": machine["client_secret"],
                        "audience": env.management_audience,
                    },
                )
            except httpx.HTTPError as exc:
                raise Killed from exc
            assert response.status_code == 200, response.text
            in_flight.discard(agent)
            acked.add(agent)
            if len(acked) == KILL_AFTER:
                live.process.kill()  # SIGKILL: no shutdown, no flush of a pending batch
                live.process.wait(timeout=10)
                raise Killed

    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        results = await asyncio.gather(
            *(worker(http) for _ in range(CONNECTIONS)), return_exceptions=True
        )
    for result in results:
        if not isinstance(result, Killed):
            raise AssertionError(f"a worker failed: {result!r}")
    return acked, in_flight


async def logged_agents(env: TetherEnv) -> list[str]:
    url = env.database_url or f"sqlite+aiosqlite:///{env.data_dir / 'tether.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.log_events.c.user_agent).where(t.log_events.c.type == "seccft")
            )
            return [str(agent) for (agent,) in rows if agent]
    finally:
        await engine.dispose()


def test_every_answered_token_has_its_log_event_after_sigkill(env: TetherEnv) -> None:
    init = env.json("init")
    first = start(env, "first")
    try:
        acked, in_flight = asyncio.run(storm(first, env, init))
        assert first.process.returncode == -9
    finally:
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait()
    second = start(env, "second")
    try:
        agents = asyncio.run(logged_agents(env))
    finally:
        code = _stop(second.process)
    logged = [a for a in agents if a.startswith("storm-")]
    assert len(logged) == len(set(logged)), "an event was written twice"
    missing = acked - set(logged)
    assert not missing, f"{len(missing)} tokens answered 200 have no log event: {sorted(missing)}"
    # Nothing is logged that was never asked for; an in-flight request may have landed or not.
    assert set(logged) <= acked | in_flight
    output = second.log.read_text(errors="replace")
    assert "Traceback" not in output, output
    assert code in (0, -15), output
    print(f"acked {len(acked)}, in flight at the kill {len(in_flight)}, logged {len(logged)}")
