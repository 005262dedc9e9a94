"""Crash safety of password sign-ins through the token endpoint (issue 13, decision 4 and
"Durability stays"): a real ``tether serve`` is killed with SIGKILL in the middle of a
password-realm login storm; after a restart on the same database every login that was answered
200 has its login count, its ``s`` event and its ``sepft`` event. A login's writes (the count,
the last login, both events) commit in one group commit (domain/event_writer.py) before the
tokens are answered.

Each connection signs in its own user, so each user's login count is checked against the logins
answered for it; each request carries its own User-Agent, which both events record.

SQLite (a file in the data folder) or, with TETHER_TEST_DATABASE_URL, a fresh PostgreSQL
database, as tests/linking/test_crash_tokens.py.
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
from tests.linking.test_crash import Killed, Live, machine_token, start
from tether.storage import tables as t
from tether.storage.db import create_engine

pytestmark = pytest.mark.e2e

USERS = 6
KILL_AFTER = 40  # acknowledged logins
PASSWORD = "a crash-test passphrase 9 long enough"
REALM = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[TetherEnv]:
    with tether_env(tmp_path) as env:
        env.env["TETHER_TOKEN_RATE_LIMIT"] = "1000000/minute"
        env.env["TETHER_LOGIN_RATE_LIMIT_IP"] = "1000000/minute"
        env.env["TETHER_LOGIN_RATE_LIMIT_ACCOUNT"] = "1000000/minute"
        yield env


def email(n: int) -> str:
    return f"storm{n}@example.com"


async def make_users(live: Live, env: TetherEnv, init: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        token = await machine_token(http, env, init)
        for n in range(USERS):
            response = await http.post(
                "/api/v2/users",
                headers={"Authorization": f"Bearer {token}"},
                json={"email": email(n), "password": PASSWORD, "connection": REALM},
            )
            assert response.status_code == 201, response.text


async def storm(
    live: Live, init: dict[str, Any]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Logins until KILL_AFTER are answered 200, then SIGKILL with others in flight. Returns,
    per user, the User-Agents answered 200 and those in flight at the kill."""
    acked: dict[str, set[str]] = {email(n): set() for n in range(USERS)}
    in_flight: dict[str, set[str]] = {email(n): set() for n in range(USERS)}
    app = init["default_app"]
    sent = 0

    async def worker(http: httpx.AsyncClient, user: str) -> None:
        nonlocal sent
        while True:
            sent += 1
            agent = f"storm-{sent}"
            in_flight[user].add(agent)
            try:
                response = await http.post(
                    "/oauth/token",
                    headers={"User-Agent": agent},
                    data={
                        "grant_type": PASSWORD_REALM,
                        "client_id": app["client_id"],
                        "client_secret": app["client_secret"],
                        "username": user,
                        "password": PASSWORD,
                        "realm": REALM,
                        "scope": "openid",
                    },
                )
            except httpx.HTTPError as exc:
                raise Killed from exc
            assert response.status_code == 200, response.text
            in_flight[user].discard(agent)
            acked[user].add(agent)
            if sum(len(a) for a in acked.values()) == KILL_AFTER:
                live.process.kill()  # SIGKILL: no shutdown, no flush of a pending batch
                live.process.wait(timeout=10)
                raise Killed

    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        results = await asyncio.gather(
            *(worker(http, email(n)) for n in range(USERS)), return_exceptions=True
        )
    for result in results:
        if not isinstance(result, Killed):
            raise AssertionError(f"a worker failed: {result!r}")
    return acked, in_flight


async def stored(env: TetherEnv) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Each user's login count, and the User-Agents of the ``s`` and ``sepft`` events."""
    url = env.database_url or f"sqlite+aiosqlite:///{env.data_dir / 'tether.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {
                str(mail): int(count)
                for mail, count in await conn.execute(
                    sa.select(t.users.c.email, t.users.c.logins_count)
                )
            }
            events: dict[str, list[str]] = {"s": [], "sepft": []}
            for type_, agent in await conn.execute(
                sa.select(t.log_events.c.type, t.log_events.c.user_agent).where(
                    t.log_events.c.type.in_(list(events))
                )
            ):
                if agent and str(agent).startswith("storm-"):
                    events[str(type_)].append(str(agent))
            return counts, events
    finally:
        await engine.dispose()


def test_every_answered_login_has_its_count_and_events_after_sigkill(env: TetherEnv) -> None:
    init = env.json("init")
    first = start(env, "first")
    try:
        asyncio.run(make_users(first, env, init))
        acked, in_flight = asyncio.run(storm(first, init))
        assert first.process.returncode == -9
    finally:
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait()
    second = start(env, "second")
    try:
        counts, events = asyncio.run(stored(env))
    finally:
        code = _stop(second.process)
    all_acked = set().union(*acked.values())
    all_in_flight = set().union(*in_flight.values())
    for user, answered in acked.items():
        # Every answered login is counted; an in-flight one may have landed or not.
        assert len(answered) <= counts[user] <= len(answered) + len(in_flight[user]), user
    for type_, agents in events.items():
        assert len(agents) == len(set(agents)), f"a {type_} event was written twice"
        missing = all_acked - set(agents)
        assert not missing, f"{len(missing)} answered logins have no {type_} event"
        assert set(agents) <= all_acked | all_in_flight
    # The count and the events commit together: a landed in-flight login has both events.
    assert set(events["s"]) == set(events["sepft"])
    output = second.log.read_text(errors="replace")
    assert "Traceback" not in output, output
    assert code in (0, -15), output
    print(f"acked {len(all_acked)}, in flight at the kill {len(all_in_flight)}")
