"""User search on a large tenant: how long ``Users.search`` takes per query shape, and which plan
the database picks. Not a test; a number for docs/benchmarks.md and for issue 4's target (an exact
email search among 100,000 users on SQLite answers in under 10 ms).

Usage (from the repository root)::

    .venv/bin/python -m bench.search_bench [--users 100000] [--runs 300] [--url URL] [--quick]

Without ``--url`` it builds a fresh SQLite file in a temporary directory. With a PostgreSQL URL
(``postgresql+asyncpg://...``) it creates and later drops a database of its own next to the one
named. The schema comes from the Alembic migrations (``tether db upgrade``), so the indexes timed
are the ones a real install has. Rows go in with executemany, 10,000 at a time.

Each shape runs ``--runs`` times with a different value each time (a real user's email in upper
case, so the case-insensitive path is the one timed), through ``SqlUnitOfWork`` exactly as the
Management API calls it: page 0, 50 per page, the total counted too. It prints the median and p95
in milliseconds and the query plan of the main statement.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tether.domain.user_search import Query, compile_query
from tether.storage import migrate
from tether.storage import tables as t
from tether.storage.db import create_engine
from tether.storage.search import user_query_clause
from tether.storage.uow import SqlUnitOfWorkFactory

FIRST = ["ann", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
LAST = ["archer", "baker", "cooper", "dyer", "fisher", "gardner", "hunter", "mason", "smith"]
PLANS = ["free", "pro", "team", "enterprise"]
T0 = datetime(2023, 1, 1)


def _rows(tenant_id: str, connection_ids: list[str], n: int, seed: int = 7):
    rnd = random.Random(seed)
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        pk = f"usr_{i:08d}"
        created = T0 + timedelta(seconds=rnd.randrange(0, 3 * 365 * 86400))
        user = {
            "pk": pk,
            "tenant_id": tenant_id,
            "user_id": f"auth0|{i:024x}",
            "email": f"{first}.{last}.{i}@example{i % 50}.com",
            "email_verified": i % 3 != 0,
            "username": None,
            "name": f"{first.title()} {last.title()} {i}",
            "given_name": first.title(),
            "family_name": last.title(),
            "nickname": f"{first}{i}",
            "picture": None,
            "user_metadata": {"plan": rnd.choice(PLANS), "age": rnd.randrange(18, 90)},
            "app_metadata": {"roles": ["admin"] if i % 100 == 0 else ["user"]},
            "blocked": i % 97 == 0,
            "created_at": created,
            "updated_at": created,
            "last_login": created + timedelta(days=rnd.randrange(0, 30)),
            "logins_count": rnd.randrange(0, 500),
            "last_ip": f"10.{i % 256}.{(i // 256) % 256}.1",
        }
        connection_id = connection_ids[i % len(connection_ids)]
        identity = {
            "id": f"idn_{i:08d}",
            "tenant_id": tenant_id,
            "user_pk": pk,
            "connection_id": connection_id,
            "provider": "auth0" if connection_id == connection_ids[0] else "github",
            "subject": f"{i:024x}",
            "is_primary": True,
            "is_social": connection_id != connection_ids[0],
            "profile_data": {},
            "linked_at": None,
            "link_reason": None,
        }
        yield user, identity


async def populate(engine: AsyncEngine, n: int) -> tuple[str, list[str]]:
    """A tenant with ``n`` users (one identity each); returns its id and the users' emails."""
    tenant_id = "ten_bench"
    connections = ["con_db", "con_github"]
    now = datetime(2026, 1, 1)
    async with engine.begin() as conn:
        await conn.execute(
            t.tenants.insert().values(
                id=tenant_id,
                name="bench",
                public_url="http://bench.test/",
                is_default=True,
                settings={},
                created_at=now,
            )
        )
        for cid, name, strategy in (
            ("con_db", "Username-Password-Authentication", "auth0"),
            ("con_github", "github", "github"),
        ):
            await conn.execute(
                t.connections.insert().values(
                    id=cid,
                    tenant_id=tenant_id,
                    name=name,
                    strategy=strategy,
                    options={},
                    enabled_clients=[],
                    created_at=now,
                )
            )
    emails: list[str] = []
    batch_users: list[dict[str, object]] = []
    batch_identities: list[dict[str, object]] = []

    async def flush() -> None:
        async with engine.begin() as conn:
            await conn.execute(t.users.insert(), batch_users)
            await conn.execute(t.identities.insert(), batch_identities)
        batch_users.clear()
        batch_identities.clear()

    for user, identity in _rows(tenant_id, connections, n):
        emails.append(str(user["email"]))
        batch_users.append(user)
        batch_identities.append(identity)
        if len(batch_users) == 10_000:
            await flush()
    if batch_users:
        await flush()
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("ANALYZE")
        else:
            await conn.exec_driver_sql("ANALYZE users")
            await conn.exec_driver_sql("ANALYZE identities")
        await conn.commit()
    return tenant_id, emails


async def plan(engine: AsyncEngine, tenant_id: str, query: Query) -> str:
    statement = (
        sa.select(t.users.c.pk)
        .where(t.users.c.tenant_id == tenant_id, user_query_clause(query))
        .order_by(t.users.c.created_at, t.users.c.pk)
        .limit(50)
    )
    async with engine.connect() as conn:
        sql = _inline(statement, conn)
        if conn.dialect.name == "sqlite":
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)).all()
            return "\n".join(f"    {row[-1]}" for row in rows)
        result = await conn.exec_driver_sql("EXPLAIN " + sql)
        return "\n".join(f"    {row[0]}" for row in result.all())


def _inline(statement: sa.Select, conn: object) -> str:
    return str(
        statement.compile(
            dialect=conn.dialect,  # type: ignore[attr-defined]
            compile_kwargs={"literal_binds": True},
        )
    )


async def time_shape(
    uows: SqlUnitOfWorkFactory,
    tenant_id: str,
    make_q: Callable[[int], str],
    runs: int,
) -> tuple[float, float, float, int]:
    """Median and p95 wall-clock ms, median CPU ms of this process (all threads: the driver's
    too), and how many runs found someone. CPU time is the steadier figure on a busy machine."""
    samples: list[float] = []
    cpu: list[float] = []
    found = 0
    for i in range(runs + 10):
        query = compile_query(make_q(i))
        started, started_cpu = time.perf_counter(), time.process_time()
        async with uows() as uow:
            users, total = await uow.users.search(tenant_id, query, sort=None, offset=0, limit=50)
        elapsed = (time.perf_counter() - started) * 1000
        elapsed_cpu = (time.process_time() - started_cpu) * 1000
        if i >= 10:  # warm-up
            samples.append(elapsed)
            cpu.append(elapsed_cpu)
            found += len(users) > 0 and total > 0
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    return statistics.median(samples), p95, statistics.median(cpu), found


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--url", default="")
    parser.add_argument(
        "--quick", action="store_true", help="only the index lookups (exact email, user_id)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        admin: AsyncEngine | None = None
        if args.url:
            base = make_url(args.url)
            name = "tether_search_bench_" + secrets.token_hex(4)
            admin = create_async_engine(args.url, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = base.set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        try:
            await asyncio.to_thread(migrate.upgrade_sync, url)
            engine = create_engine(url)
            started = time.perf_counter()
            tenant_id, emails = await populate(engine, args.users)
            print(
                f"{engine.dialect.name}: {args.users:,} users (+1 identity each) inserted in "
                f"{time.perf_counter() - started:.1f} s"
            )
            rnd = random.Random(11)
            picks = [rnd.choice(emails) for _ in range(args.runs + 10)]
            position = {email: i for i, email in enumerate(emails)}
            uows = SqlUnitOfWorkFactory(engine)
            shapes: list[tuple[str, Callable[[int], str]]] = [
                ("exact email (upper-cased)", lambda i: f'email:"{picks[i].upper()}"'),
                ("exact email, lower-case", lambda i: f'email:"{picks[i]}"'),
                ("user_id", lambda i: f'user_id:"auth0|{position[picks[i]]:024x}"'),
                ("email prefix", lambda i: f"email:{picks[i][:8]}*"),
                ("bare word (nickname)", lambda i: picks[i].split(".")[0] + str(i)),
                ("name prefix", lambda i: f"name:{picks[i][:4]}*"),
                ("email.domain", lambda i: f"email.domain:example{i % 50}.com"),
                ("identities.connection", lambda i: "identities.connection:github"),
                ("user_metadata.plan", lambda i: f"user_metadata.plan:{PLANS[i % 4]}"),
                ("logins_count range", lambda i: f"logins_count:[{i} TO {i + 5}]"),
                (
                    "combined",
                    lambda i: (
                        "email_verified:true AND NOT blocked:true AND "
                        "(user_metadata.plan:pro OR app_metadata.roles:admin) AND "
                        "created_at:[2024-01-01 TO 2024-06-30]"
                    ),
                ),
            ]
            print(f"\n{'shape':30} {'median ms':>10} {'p95 ms':>10} {'cpu ms':>8}  hits")
            if args.quick:
                shapes = shapes[:3]
            for label, make_q in shapes:
                runs = (
                    args.runs
                    if label.startswith(("exact", "user_id"))
                    else max(args.runs // 10, 20)
                )
                median, p95, cpu, hits = await time_shape(uows, tenant_id, make_q, runs)
                print(f"{label:30} {median:10.2f} {p95:10.2f} {cpu:8.2f}  {hits}/{runs}")
            print("\nplan, exact email:")
            print(await plan(engine, tenant_id, compile_query(f'email:"{picks[0].upper()}"')))
            print("plan, identities.connection:")
            print(await plan(engine, tenant_id, compile_query("identities.connection:github")))
            await engine.dispose()
        finally:
            if admin is not None:
                async with admin.connect() as conn:
                    await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
