"""Issue 13, decision 3: what a SQLite statement and a unit of work cost on the old path (every
statement through SQLAlchemy's aiosqlite adapter, about four thread round trips) and on the new
one (statements on the event loop through stdlib sqlite3, storage/loop_sqlite.py).

Usage (from the repository root)::

    .venv/bin/python -m bench.sqlite_path [--users 100000] [--n 3000] [--commits 3000]
        [--pairs 200] [--repeat 3] [--only-pairs]

It builds bench/management.py's database (``tether init``, ``--users`` bulk-inserted users),
then, in this one process, for each path (``create_engine(statements_on_loop=False/True)``):

- per statement: ``--n`` point reads by key (``identities.find``) in one read-only unit of work;
- per unit of work, ``--n`` times each: a read-only unit of work with one point read; one
  reading a user with its identities (``users.get``); a writer's unit of work with one insert
  (a log event) and its commit;
- the long statements: an export page (``bulk_users.page``, 1,000 users), a user search that
  scans the tenant (``name:user0*``, total and first page), ``users.count``: their wall time
  and the longest the event loop went without running a 1 ms sleep meanwhile (these run on a
  worker thread, ``threaded`` in storage/repositories/base.py);
- ``--commits`` writer units of work in a row: commit times and the longest loop stall, where
  the WAL checkpoints (every ~4 MB of WAL) land.

- ``--pairs`` link + unlink pairs through the app in process (httpx's ASGI transport), CPU per
  pair, on a fresh small database per path.

CPU is ``time.process_time`` (every thread of the process: aiosqlite's too); each figure is the
least of ``--repeat`` runs alternating the two paths, since other processes on a busy machine
only ever add to it. Wall times (long work, commits) are as noisy as the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from bench.management import CONNECTION, deployment
from tether.domain.models import LogEvent
from tether.domain.user_search import Term
from tether.storage import tables as t
from tether.storage.db import create_engine
from tether.storage.uow import SqlUnitOfWorkFactory


def _event(tenant_id: str, i: int) -> LogEvent:
    from datetime import UTC, datetime

    return LogEvent(
        log_id=f"9002{i:020d}{time.monotonic_ns() % 10**9:09d}",
        tenant_id=tenant_id,
        date=datetime.now(UTC),
        type="seccft",
        description="Client Credentials for Access Token",
        client_id="bench",
        client_name="bench",
        ip="127.0.0.1",
        user_agent="bench",
        user_id=None,
        user_name=None,
    )


async def _cpu_per(n: int, step: Callable[[int], Awaitable[Any]]) -> float:
    """CPU microseconds per call of ``step`` over ``n`` calls, after a warm-up."""
    for i in range(min(50, n)):
        await step(i)
    started = time.process_time()
    for i in range(n):
        await step(i)
    return (time.process_time() - started) / n * 1e6


async def measure(url: str, on_loop: bool, args: argparse.Namespace) -> dict[str, float]:
    engine = create_engine(url, statements_on_loop=on_loop)
    uows = SqlUnitOfWorkFactory(engine)
    try:
        async with engine.connect() as conn:
            tenant_id = str(
                await conn.scalar(sa.select(t.tenants.c.id).where(t.tenants.c.is_default))
            )
            connection_id = str(
                await conn.scalar(
                    sa.select(t.connections.c.id).where(
                        t.connections.c.tenant_id == tenant_id, t.connections.c.name == CONNECTION
                    )
                )
            )
            keys = (
                await conn.execute(
                    sa.select(t.identities.c.subject, t.users.c.user_id)
                    .join(t.users, t.users.c.pk == t.identities.c.user_pk)
                    .limit(args.n)
                )
            ).all()
        out: dict[str, float] = {}

        async with uows(read_only=True) as uow:

            async def point(i: int) -> None:
                found = await uow.identities.find(tenant_id, connection_id, keys[i % len(keys)][0])
                assert found is not None

            out["statement: point read by key"] = await _cpu_per(args.n, point)

        async def uow_point(i: int) -> None:
            async with uows(read_only=True) as uow:
                await uow.identities.find(tenant_id, connection_id, keys[i % len(keys)][0])

        async def uow_user(i: int) -> None:
            async with uows(read_only=True) as uow:
                user = await uow.users.get(tenant_id, keys[i % len(keys)][1])
                assert user is not None and user.identities

        async def uow_insert(i: int) -> None:
            async with uows() as uow:
                await uow.logs.add(_event(tenant_id, i))
                await uow.commit()

        out["unit of work: one point read"] = await _cpu_per(args.n, uow_point)
        out["unit of work: user + identities"] = await _cpu_per(args.n, uow_user)
        out["unit of work: one insert + commit"] = await _cpu_per(args.n, uow_insert)
        return out
    finally:
        await engine.dispose()


class _Stalls:
    """The longest the event loop went without running a 1 ms sleep: how long something held
    it."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            self.gaps.append(time.perf_counter() - before - 0.001)

    async def stop(self, quantile: float = 1.0) -> float:
        """The longest gap (``quantile`` 1.0), or that quantile of the gaps, in ms."""
        self._task.cancel()
        await asyncio.sleep(0)
        gaps = sorted(self.gaps) or [0.0]
        return gaps[min(len(gaps) - 1, int(len(gaps) * quantile))] * 1000


async def long_statements(
    url: str, on_loop: bool, args: argparse.Namespace
) -> list[tuple[str, float, float]]:
    """(name, wall ms, longest loop stall ms) of the long statements, and of ``--commits``
    writer units of work in a row (the WAL checkpoints land among them)."""
    # Both paths start from an empty WAL: a read looks every page up in the WAL first.
    with contextlib.closing(sqlite3.connect(str(sa.make_url(url).database))) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    engine = create_engine(url, statements_on_loop=on_loop)
    uows = SqlUnitOfWorkFactory(engine)
    out: list[tuple[str, float, float]] = []
    try:
        async with engine.connect() as conn:
            tenant_id = str(
                await conn.scalar(sa.select(t.tenants.c.id).where(t.tenants.c.is_default))
            )

        async def timed(name: str, work: Callable[[Any], Awaitable[Any]]) -> None:
            best, stall = float("inf"), float("inf")
            for _ in range(3):
                async with uows(read_only=True) as uow:
                    await uow.users.get(tenant_id, "warm-up")
                    stalls = _Stalls()
                    await asyncio.sleep(0.002)
                    started = time.perf_counter()
                    await work(uow)
                    best = min(best, time.perf_counter() - started)
                    stall = min(stall, await stalls.stop())
            out.append((name, best * 1000, stall))

        await timed(
            "export page (bulk_users.page, 1,000 users)",
            lambda u: u.bulk_users.page(tenant_id, None, None, 1000),
        )
        await timed(
            "search name:user0* (count + first 50)",
            lambda u: u.users.search(
                tenant_id, Term("name", "user0", prefix=True), sort=None, offset=0, limit=50
            ),
        )
        await timed("users.count (whole tenant)", lambda u: u.users.count(tenant_id))

        commits: list[float] = []
        stalls = _Stalls()
        for i in range(args.commits):
            async with uows() as uow:
                await uow.logs.add(_event(tenant_id, 10**6 * (2 + on_loop) + i))
                started = time.perf_counter()
                await uow.commit()
                commits.append(time.perf_counter() - started)
            await asyncio.sleep(0)
        p99 = await stalls.stop(0.99)
        worst = await stalls.stop()
        commits.sort()
        n = len(commits)
        out.append((f"{n} commits: p50 (loop gaps p99)", statistics.median(commits) * 1000, p99))
        out.append((f"{n} commits: p99 (loop gaps p99)", commits[int(n * 0.99)] * 1000, p99))
        out.append((f"{n} commits: max (loop gaps max)", commits[-1] * 1000, worst))
        return out
    finally:
        await engine.dispose()


async def link_pairs(on_loop: bool, pairs: int) -> float:
    """CPU microseconds of one link + unlink pair, in process through the ASGI app (httpx's
    transport, as the tests do), on a fresh database; B signs in again before each link (an
    unlink ends B's older tokens), outside the measured time."""
    import tempfile
    from pathlib import Path

    import httpx
    from tests.conftest import FAST_HASH, PUBLIC_URL, Client, World, make_settings
    from tests.linking.support import link, new_user, password_realm, subject_of, user_token

    from tether.bootstrap import build_container
    from tether.storage.tables import metadata
    from tether.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(
            f"sqlite+aiosqlite:///{Path(tmp) / 't.db'}", statements_on_loop=on_loop
        )
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        settings = make_settings(Path(tmp), management_rate_limit="1000000/second")
        container = build_container(settings, engine=engine, hash_parameters=FAST_HASH)
        made = await container.provision()
        assert made.default_app is not None and made.management_client is not None
        app_client = Client(
            made.default_app.application.client_id, made.default_app.client_secret or ""
        )
        machine = made.management_client
        world = World(
            container,
            made.tenant,
            app_client,
            Client(machine.application.client_id, machine.client_secret or ""),
        )
        a = await new_user(world, "ann@example.com")
        b = await new_user(world, "bob@example.com")
        transport = httpx.ASGITransport(
            app=create_app(container, deliver_mail=False), client=("127.0.0.1", 50000)
        )
        spent = 0.0
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            token = await user_token(http, app_client, "ann@example.com")
            for lap in range(pairs + 10):
                proof = (
                    await password_realm(
                        http,
                        app_client,
                        "bob@example.com",
                        scope="openid",
                        audience=None,  # type: ignore[arg-type]
                    )
                ).json()["id_token"]
                started = time.process_time()
                linked = await link(http, token, a.user_id, {"link_with": proof})
                unlinked = await http.delete(
                    f"/api/v2/users/{a.user_id}/identities/auth0/{subject_of(b.user_id)}",
                    headers={"Authorization": f"Bearer {token}"},
                )
                if lap >= 10:  # the first ten warm up
                    spent += time.process_time() - started
                if linked.status_code != 201 or unlinked.status_code != 200:
                    raise RuntimeError(f"link {linked.status_code}, unlink {unlinked.status_code}")
        await engine.dispose()
    return spent / pairs * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--pairs", type=int, default=200, help="link + unlink pairs, in process")
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs; the least kept")
    parser.add_argument("--only-pairs", action="store_true", help="skip the database benchmarks")
    args = parser.parse_args(argv)
    if args.pairs:
        # Alternated and the least of --repeat kept: other processes only ever add CPU.
        old_pair, new_pair = float("inf"), float("inf")
        for _ in range(args.repeat):
            old_pair = min(old_pair, asyncio.run(link_pairs(False, args.pairs)))
            new_pair = min(new_pair, asyncio.run(link_pairs(True, args.pairs)))
        print(f"\nCPU of one link + unlink pair, in process, {args.pairs} pairs")
        print(
            f"  aiosqlite {old_pair / 1000:7.2f} ms   on loop {new_pair / 1000:7.2f} ms   saved {1 - new_pair / old_pair:.0%}"
        )
    if args.only_pairs:
        return 0
    with deployment(args.users, extra_env={}) as dep:
        old: dict[str, float] = {}
        new: dict[str, float] = {}
        for _ in range(args.repeat):  # alternated; the least of each kept
            for path, on_loop in ((old, False), (new, True)):
                for name, value in asyncio.run(measure(dep.database_url, on_loop, args)).items():
                    path[name] = min(path.get(name, float("inf")), value)
        print(
            f"\nCPU per operation, us (process_time, all threads), {args.n} of each,"
            f" least of {args.repeat} alternated runs"
        )
        print(f"  {'':36s} {'aiosqlite':>10s} {'on loop':>10s} {'saved':>7s}")
        for name, before in old.items():
            after = new[name]
            print(f"  {name:36s} {before:10.1f} {after:10.1f} {1 - after / before:7.0%}")
        print("\nLong work: wall ms, and the longest the event loop was held meanwhile (best of 3)")
        for on_loop, label in ((False, "aiosqlite"), (True, "on loop")):
            for name, ms, stall in asyncio.run(long_statements(dep.database_url, on_loop, args)):
                print(f"  {label:9s} {name:44s} {ms:8.2f} ms   loop held {stall:7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
