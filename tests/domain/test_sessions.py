"""SSO sessions (domain/sessions.py): a fresh id at every sign-in, idle and absolute lifetimes,
the idle timer refreshed at most once a minute, sign-out logged (OIDC RP-Initiated Logout §2;
OWASP ASVS 5.0 V7.2.4, V7.3.1, V7.3.2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, make_settings
from tests.dashboard.support import MovableClock
from tether.bootstrap import Container, build_container
from tether.domain.audit import RequestInfo
from tether.domain.log_filter import LogFilter
from tether.domain.models import Tenant, User
from tether.domain.sessions import DEFAULT_ABSOLUTE, DEFAULT_IDLE
from tether.domain.users import NewDatabaseUser


async def _setup(
    tmp_path: Path, engine: AsyncEngine
) -> tuple[Container, Tenant, User, MovableClock]:
    clock = MovableClock()
    c = build_container(
        make_settings(tmp_path), engine=engine, clock=clock, hash_parameters=FAST_HASH
    )
    tenant = (await c.provision()).tenant
    user = await c.users.create(
        tenant, None, NewDatabaseUser(email="ada@example.com", password="a long password here")
    )
    return c, tenant, user, clock


async def test_sign_in_replaces_the_browsers_old_session(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    """ASVS 5.0 V7.2.4: a new session id at every sign-in; the old cookie stops working."""
    c, tenant, user, _ = await _setup(tmp_path, engine)
    first = await c.sessions.sign_in(tenant, user, ["pwd"])
    second = await c.sessions.sign_in(tenant, user, ["pwd"], replaces=first.cookie_value)

    assert second.session.id != first.session.id
    assert await c.sessions.current(tenant, first.cookie_value) is None
    current = await c.sessions.current(tenant, second.cookie_value)
    assert current is not None and current.amr == ["pwd"]
    assert await c.sessions.current(tenant, None) is None
    assert await c.sessions.current(tenant, "not-a-cookie") is None


async def test_idle_and_absolute_lifetimes(tmp_path: Path, engine: AsyncEngine) -> None:
    """ASVS 5.0 V7.3.1 and V7.3.2: a session ends after its idle time without use, and after its
    absolute time whatever the use; use refreshes the idle timer (at most once a minute)."""
    c, tenant, user, clock = await _setup(tmp_path, engine)
    started = await c.sessions.sign_in(tenant, user, ["pwd"])

    clock.advance(30)
    seen = await c.sessions.current(tenant, started.cookie_value)
    assert seen is not None and seen.last_seen_at == started.session.last_seen_at  # < 1 min
    clock.advance(DEFAULT_IDLE.total_seconds() - 60)
    kept = await c.sessions.current(tenant, started.cookie_value)
    assert kept is not None and kept.last_seen_at == clock.now()  # refreshed by use

    idle_gap = DEFAULT_IDLE - timedelta(seconds=1)
    steps = int(DEFAULT_ABSOLUTE / idle_gap) + 1
    alive = True
    for _ in range(steps):  # used just often enough never to go idle
        clock.advance(idle_gap.total_seconds())
        alive = await c.sessions.current(tenant, started.cookie_value) is not None
        if not alive:
            break
    assert not alive, "the absolute lifetime ends even a session in constant use"
    assert clock.now() >= started.session.expires_at

    again = await c.sessions.sign_in(tenant, user, ["pwd"])
    clock.advance(DEFAULT_IDLE.total_seconds() + 1)
    assert await c.sessions.current(tenant, again.cookie_value) is None


async def test_sign_out_ends_the_session_and_logs_it(tmp_path: Path, engine: AsyncEngine) -> None:
    """OIDC RP-Initiated Logout 1.0 §2: the session ends and an ``slo`` event is written in the
    same transaction; an unknown or missing cookie changes nothing."""
    c, tenant, user, _ = await _setup(tmp_path, engine)
    started = await c.sessions.sign_in(tenant, user, ["pwd"])

    assert await c.sessions.sign_out(tenant, None, RequestInfo()) is None
    assert await c.sessions.sign_out(tenant, "unknown", RequestInfo()) is None
    ended = await c.sessions.sign_out(tenant, started.cookie_value, RequestInfo(ip="127.0.0.1"))

    assert ended is not None and ended.id == started.session.id
    assert await c.sessions.current(tenant, started.cookie_value) is None
    events, _ = await c.logs.page(tenant.id, LogFilter(types=("slo",)), offset=0, limit=10)
    assert [e.user_id for e in events] == [user.user_id]

    other = await c.sessions.sign_in(tenant, user, ["otp"])
    assert await c.sessions.end(tenant, None) is None
    assert (await c.sessions.end(tenant, other.cookie_value)) is not None
    assert await c.sessions.current(tenant, other.cookie_value) is None
