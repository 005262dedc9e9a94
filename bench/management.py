"""Issue 4 benchmark: Management API reads on a tenant of 100,000 users, against the same
server's plain discovery rate.

Usage (from the repository root)::

    .venv/bin/python -m bench.management [--users 100000] [--duration 10] [--rounds 2]
        [--workers 2] [--connections 16] [--postgres [URL]]

What one run does, on this machine and loopback only:

1. A fresh database: SQLite in a temporary directory, or with ``--postgres`` a new database
   (``tether_bench_<hex>``, dropped at the end) on the PostgreSQL server named (default
   ``postgresql://postgres@127.0.0.1:5432``); ``tether init --json`` (the master secret and
   the schema; on PostgreSQL ``tether db upgrade`` follows, a no-op). ``--users`` database users go in with bulk inserts (SQLAlchemy core,
   ``tether.storage.tables``, 10,000 rows a statement batch): each a ``users`` row, its primary
   ``auth0`` identity on Username-Password-Authentication and a ``password_credentials`` row
   with an argon2id hash of a known password (one hash, computed once, shared by every user),
   i.e. the rows ``UserService.add`` writes. Then ``ANALYZE``.
2. ``tether serve --workers N`` on it (bench/run.py's helpers: rate limits raised,
   ``TETHER_MANAGEMENT_RATE_LIMIT=1000000/second``, no access log), and a machine token from
   ``client_credentials`` for ``<issuer>api/v2/`` with the Management client of ``tether init``.
3. ``wrk`` (bench/paths.lua: each request a path picked at random from a list), each phase
   bounded by ``--duration``, ``--rounds`` times in this order:

   - plain: ``GET /.well-known/openid-configuration`` (no database access);
   - ``GET /api/v2/users/{id}``, ids drawn from 5,000 random users;
   - ``GET /api/v2/users?q=email:"..."&search_engine=v3``, an exact email search;
   - ``GET /api/v2/users-by-email?email=...``.

4. Prints each endpoint's rate as a ratio to the plain rate of the same round, and the
   load-independent CPU view: the server's CPU time per plain request over its CPU time per
   user read, the ratio the endpoint could reach if the server had the cores to itself.

Target: ``GET /api/v2/users/{id}`` >= 40% of the plain rate. Exit codes as bench/run.py's: 0 met,
1 missed, 2 invalid run (a non-2xx answer or socket error), 3 the machine was busy with other
work (no verdict: PASS?/FAIL?).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.run import (
    OTHER_LOAD_WARNING,
    BenchError,
    Server,
    Wrk,
    WrkResult,
    check_valid,
    free_port,
    phase,
    post_json,
    running_server,
    server_env,
    tether,
)

HERE = Path(__file__).resolve().parent
PATHS_SCRIPT = HERE / "paths.lua"
CONNECTION = "Username-Password-Authentication"
PASSWORD = "a bench passphrase, long enough 123"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
TARGET_USER_READ = 0.40  # of the plain discovery rate
SAMPLE = 5000  # distinct users the read phases draw from
BATCH = 10_000
T0 = datetime(2024, 1, 1)


# -- the database ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchUser:
    user_id: str  # auth0|<24 hex>
    email: str

    @property
    def subject(self) -> str:
        return self.user_id.removeprefix("auth0|")


@dataclass
class Deployment:
    """A data directory, an initialised database full of users, and how to serve it."""

    data_dir: Path
    env: dict[str, str]
    port: int
    backend: str  # "sqlite" or "postgresql"
    database_url: str  # async SQLAlchemy URL
    init: dict[str, Any]  # tether init --json
    users: list[BenchUser]
    populate_seconds: float
    database: str | None = None  # the PostgreSQL database's name

    @property
    def management(self) -> dict[str, Any]:
        return dict(self.init["management_client"])

    @property
    def default_app(self) -> dict[str, Any]:
        return dict(self.init["default_app"])

    @property
    def audience(self) -> str:
        return str(self.management["audience"])


def _user_rows(
    tenant_id: str, connection_id: str, n: int, password_hash: str, seed: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """The rows UserService.add writes for a verified database user, ``n`` times."""
    rnd = random.Random(seed)
    seen: set[str] = set()
    for i in range(n):
        subject = f"{rnd.getrandbits(96):024x}"
        while subject in seen:
            subject = f"{rnd.getrandbits(96):024x}"
        seen.add(subject)
        email = f"user{i:06d}@bench{i % 20}.example"
        created = T0 + timedelta(seconds=i * 17)
        pk = f"usr_{rnd.getrandbits(128):032x}"
        identity_id = f"idn_{rnd.getrandbits(128):032x}"
        user = {
            "pk": pk,
            "tenant_id": tenant_id,
            "user_id": f"auth0|{subject}",
            "email": email,
            "email_verified": True,
            "username": None,
            "name": email,
            "given_name": None,
            "family_name": None,
            "nickname": email.split("@")[0],
            "picture": None,
            "user_metadata": {},
            "app_metadata": {},
            "blocked": False,
            "created_at": created,
            "updated_at": created,
            "last_login": None,
            "logins_count": 0,
            "last_ip": None,
        }
        identity = {
            "id": identity_id,
            "tenant_id": tenant_id,
            "user_pk": pk,
            "connection_id": connection_id,
            "provider": "auth0",
            "subject": subject,
            "is_primary": True,
            "is_social": False,
            "profile_data": {"email": email, "email_verified": True},
            "linked_at": created,
            "link_reason": None,
            "detached": None,
        }
        credential = {
            "identity_id": identity_id,
            "tenant_id": tenant_id,
            "connection_id": connection_id,
            "email": email,
            "password_hash": password_hash,
            "updated_at": created,
        }
        yield user, identity, credential


async def populate(url: str, n: int, password_hash: str, seed: int = 4) -> list[BenchUser]:
    """Insert ``n`` users into the default tenant of an initialised database at ``url``."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from tether.storage import tables as t

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tenant_id = await conn.scalar(sa.select(t.tenants.c.id).where(t.tenants.c.is_default))
            connection_id = await conn.scalar(
                sa.select(t.connections.c.id).where(
                    t.connections.c.tenant_id == tenant_id, t.connections.c.name == CONNECTION
                )
            )
        if tenant_id is None or connection_id is None:
            raise BenchError("no default tenant or database connection after tether init")
        users: list[BenchUser] = []
        batches: tuple[list[dict[str, Any]], ...] = ([], [], [])

        async def flush() -> None:
            async with engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    await conn.exec_driver_sql("PRAGMA synchronous=OFF")
                for table, rows in zip(
                    (t.users, t.identities, t.password_credentials), batches, strict=True
                ):
                    await conn.execute(table.insert(), rows)
                    rows.clear()

        for rows in _user_rows(str(tenant_id), str(connection_id), n, password_hash, seed):
            users.append(BenchUser(rows[0]["user_id"], rows[0]["email"]))
            for batch, row in zip(batches, rows, strict=True):
                batch.append(row)
            if len(batches[0]) >= BATCH:
                await flush()
        if batches[0]:
            await flush()
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                await conn.exec_driver_sql("ANALYZE")
            else:
                await conn.exec_driver_sql("ANALYZE users, identities, password_credentials")
            await conn.commit()
        return users
    finally:
        await engine.dispose()


async def _admin(url: str, sql: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


def _async_pg_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql+asyncpg", database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.contextmanager
def deployment(
    users: int, *, postgres: str | None = None, keep: bool = False, extra_env: dict[str, str]
) -> Iterator[Deployment]:
    """A temporary data directory (and PostgreSQL database), initialised and full of users;
    removed (dropped) afterwards unless ``keep``."""
    from tether.domain.passwords import PasswordHasher

    tmp = Path(tempfile.mkdtemp(prefix="tether-bench-"))
    port = free_port()
    env = server_env(tmp, port)
    env.update(extra_env)
    env["TETHER_MANAGEMENT_RATE_LIMIT"] = "1000000/second"
    database: str | None = None
    admin_url = ""
    try:
        if postgres is not None:
            database = "tether_bench_" + secrets.token_hex(4)
            admin_url = _async_pg_url(postgres, "postgres")
            asyncio.run(_admin(admin_url, f'CREATE DATABASE "{database}"'))
            url = _async_pg_url(postgres, database)
            env["TETHER_DATABASE_URL"] = url
        else:
            url = f"sqlite+aiosqlite:///{tmp / 'tether.db'}"
        print(f"database: tether init in {tmp}", flush=True)
        init = json.loads(tether(["init", "--json"], tmp, env))
        if database is not None:
            # init made the master secret and upgraded the schema; serve wants it at head.
            print(f"database: PostgreSQL {database}, tether db upgrade", flush=True)
            tether(["db", "upgrade"], tmp, env)
        password_hash = PasswordHasher().hash_sync(PASSWORD)
        print(f"database: inserting {users:,} users ...", flush=True)
        started = time.perf_counter()
        made = asyncio.run(populate(url, users, password_hash))
        took = time.perf_counter() - started
        print(f"database: {users:,} users in {took:.1f} s", flush=True)
        yield Deployment(
            tmp, env, port, "postgresql" if postgres else "sqlite", url, init, made, took, database
        )
    finally:
        if keep:
            print(f"kept {tmp}" + (f" and database {database}" if database else ""))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            if database is not None:
                with contextlib.suppress(Exception):
                    asyncio.run(
                        _admin(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                    )


def postgres_backend_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving ``database`` (their process title is
    ``postgres: USER DATABASE HOST(PORT) STATE``), Linux /proc."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def count_database_cpu(server: Server, dep: Deployment) -> None:
    """On PostgreSQL, charge the database's backends to the server: the CPU per request is then
    the whole cost of a request, and the backends are not counted as the machine's other load."""
    if dep.database is None:
        return
    database, own = dep.database, server.cpu_seconds
    server.cpu_seconds = lambda: own() + postgres_backend_cpu(database)  # type: ignore[method-assign]


def machine_token(server: Server, dep: Deployment) -> str:
    mgmt = dep.management
    status, body = post_json(
        server.base + "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": mgmt["client_id"],
            "client_secret": mgmt["client_secret"],
            "audience": mgmt["audience"],
        },
    )
    if status != 200 or "access_token" not in body:
        raise BenchError(f"client_credentials answered {status}: {body}")
    return str(body["access_token"])


def get_json(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback URL we built)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def server_description(dep: Deployment) -> str:
    if dep.backend == "sqlite":
        return "SQLite"
    return "PostgreSQL (the server's CPU includes its database backends')"


# -- wrk with a list of paths ------------------------------------------------------------------


class PathsWrk(Wrk):
    """bench/run.py's Wrk, with bench/paths.lua: GETs to random paths from a list."""

    def __init__(
        self,
        name: str,
        base: str,
        paths_file: Path,
        *,
        token: str | None,
        connections: int,
        seconds: float,
        threads: int = 1,
    ):
        self.name = name
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
        env["BENCH_PATHS"] = str(paths_file)
        env["BENCH_TOKEN"] = token or ""
        args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"]
        args += ["--timeout", "10s", "-s", str(PATHS_SCRIPT), base]
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.timeout = seconds + 30


def write_paths(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    label: str
    paths: list[str]
    token: bool
    results: list[WrkResult]


def sanity_check(server: Server, token: str, user: BenchUser) -> None:
    """One request of each kind by hand, so wrk's 200s are known to be the right answers."""
    status, body = get_json(server.base + "/.well-known/openid-configuration")
    if status != 200 or "issuer" not in body:
        raise BenchError(f"discovery answered {status}: {body}")
    api = server.base + "/api/v2"
    status, body = get_json(f"{api}/users/{quote(user.user_id)}", token)
    if status != 200 or body.get("user_id") != user.user_id or body.get("email") != user.email:
        raise BenchError(f"GET /users/{{id}} answered {status}: {body}")
    if [i.get("connection") for i in body.get("identities", [])] != [CONNECTION]:
        raise BenchError(f"GET /users/{{id}}: unexpected identities {body.get('identities')}")
    q = quote(f'email:"{user.email}"')
    status, body = get_json(f"{api}/users?q={q}&search_engine=v3", token)
    if status != 200 or [u.get("user_id") for u in body] != [user.user_id]:
        raise BenchError(f"GET /users?q=email:... answered {status}: {body}")
    status, body = get_json(f"{api}/users-by-email?email={quote(user.email)}", token)
    if status != 200 or [u.get("user_id") for u in body] != [user.user_id]:
        raise BenchError(f"GET /users-by-email answered {status}: {body}")


def _ms(us: float) -> str:
    return f"{us / 1000:6.1f} ms"


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (Debian/Ubuntu: apt-get install wrk).", file=sys.stderr)
        return 2
    cpus = os.cpu_count() or 1
    postgres = args.postgres
    with deployment(args.users, postgres=postgres, keep=args.keep, extra_env={}) as dep:
        rnd = random.Random(9)
        sample = rnd.sample(dep.users, min(SAMPLE, len(dep.users)))
        endpoints = [
            Endpoint("plain", "GET /.well-known/openid-configuration", [], False, []),
            Endpoint(
                "read",
                "GET /api/v2/users/{id}",
                [f"/api/v2/users/{quote(u.user_id)}" for u in sample],
                True,
                [],
            ),
            Endpoint(
                "search",
                'GET /api/v2/users?q=email:"..."',
                [
                    f"/api/v2/users?q={quote(f'email:{json.dumps(u.email)}')}&search_engine=v3"
                    for u in sample
                ],
                True,
                [],
            ),
            Endpoint(
                "by-email",
                "GET /api/v2/users-by-email",
                [f"/api/v2/users-by-email?email={quote(u.email)}" for u in sample],
                True,
                [],
            ),
        ]
        endpoints[0].paths = ["/.well-known/openid-configuration"]
        files = {
            e.key: write_paths(dep.data_dir / f"paths-{e.key}.txt", e.paths) for e in endpoints
        }
        print(
            f"server: tether serve --workers {args.workers} on 127.0.0.1:{dep.port}"
            f" ({server_description(dep)})",
            flush=True,
        )
        with running_server(dep.data_dir, dep.env, dep.port, args.workers) as server:
            count_database_cpu(server, dep)
            token = machine_token(server, dep)
            sanity_check(server, token, sample[0])

            def wrk(e: Endpoint, seconds: float) -> PathsWrk:
                return PathsWrk(
                    e.label,
                    server.base,
                    files[e.key],
                    token=token if e.token else None,
                    connections=args.connections,
                    seconds=seconds,
                )

            if args.warmup > 0:
                print(f"warm-up: {args.warmup:g}s of each", flush=True)
                for e in endpoints:
                    phase(server, [wrk(e, args.warmup)])
            for n in range(args.rounds):
                for e in endpoints:
                    print(
                        f"round {n + 1}/{args.rounds}: {e.label}, {args.connections} connections ...",
                        flush=True,
                    )
                    e.results.extend(phase(server, [wrk(e, args.duration)]))
    return report(args, cpus, dep, endpoints)


def _total_rate(results: list[WrkResult]) -> float:
    seconds = sum(r.seconds for r in results)
    return sum(r.requests for r in results) / seconds if seconds else 0.0


def _cpu_per_request(results: list[WrkResult]) -> float:
    requests = sum(r.requests for r in results)
    return sum(r.server_cpu for r in results) / requests if requests else 0.0


def _cores(results: list[WrkResult]) -> float:
    seconds = sum(r.seconds for r in results)
    return sum(r.server_cpu for r in results) / seconds if seconds else 0.0


def report(args: argparse.Namespace, cpus: int, dep: Deployment, endpoints: list[Endpoint]) -> int:
    plain = endpoints[0]
    print()
    print(
        f"Management API reads: {len(dep.users):,} users on {server_description(dep)},"
        f" {args.workers} worker(s), {cpus} CPU(s), wrk {args.connections} connections,"
        f" {args.rounds} round(s) of {args.duration:g}s per endpoint"
    )
    print()
    print("Per round (each rate over the plain discovery rate of the same round):")
    for n in range(args.rounds):
        base = plain.results[n].rate
        cells = [f"plain {base:7,.0f}/s"]
        for e in endpoints[1:]:
            r = e.results[n].rate
            cells.append(f"{e.key} {r:6,.0f}/s ({r / base:4.0%})")
        print(f"  round {n + 1}: " + "  ".join(cells))
    others = [r.other_cores for e in endpoints for r in e.results]
    noisy = max(others) > OTHER_LOAD_WARNING
    print()
    plain_rate, plain_cpu = _total_rate(plain.results), _cpu_per_request(plain.results)
    header = (
        "endpoint",
        "rate",
        "vs plain",
        "target",
        "result",
        "p50",
        "p99",
        "server",
        "server CPU/req",
        "CPU view",
        "other load",
        "errors",
    )
    table = [header]
    verdict = True
    for e in endpoints:
        rate, cpu = _total_rate(e.results), _cpu_per_request(e.results)
        ratio = rate / plain_rate if plain_rate else 0.0
        target, result = "", ""
        if e.key == "read":
            ok = ratio >= TARGET_USER_READ
            verdict = ok
            target = f">= {TARGET_USER_READ:.0%}"
            result = ("PASS" if ok else "FAIL") + ("?" if noisy else "")
        p50 = statistics.median(r.latency_us["p50"] for r in e.results)
        p99 = max(r.latency_us["p99"] for r in e.results)
        table.append(
            (
                e.label,
                f"{rate:,.0f}/s",
                "-" if e is plain else f"{ratio:.0%}",
                target,
                result,
                _ms(p50),
                _ms(p99),
                f"{_cores(e.results):.2f} cores",
                f"{cpu * 1000:.2f} ms",
                "-" if e is plain or not cpu else f"{plain_cpu / cpu:.0%}",
                f"{max(r.other_cores for r in e.results):.2f} cores",
                str(sum(r.error_count for r in e.results)),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print(
        "rate: all rounds together; vs plain: over the plain rate of all rounds; p50: median of"
        " the rounds' p50s; p99: worst round's; server: cores the server used;\nCPU view: server CPU per plain request over"
        " server CPU per request of the endpoint, the ratio the endpoint reaches if the server"
        " is CPU-bound on cores of its own (independent of the machine's other load)."
    )
    if noisy:
        print()
        print(
            f"NOISY RUN: other processes used up to {max(others):.2f} cores of {cpus} during this"
            " run, so the rates are what the server got of a busy machine (hence PASS?/FAIL?)."
            " The ratios within a round and the CPU view are the steadier figures."
        )
    problems = check_valid([r for e in endpoints for r in e.results])
    if problems:
        print("\nINVALID RUN: requests failed; these figures measure errors:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    if noisy:
        return 3
    return 0 if verdict else 1


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=100_000, help="users in the database")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per endpoint")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        default=None,
        metavar="URL",
        help=f"run on a fresh PostgreSQL database on this server (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dir (and database)")


def main_with(run_fn: Any, parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = parser.parse_args(argv)
    if args.workers < 1 or args.duration < 1 or args.users < 2:
        parser.error("--workers >= 1, --duration >= 1 and --users >= 2, please")

    def stop_on(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds: the server and wrk get stopped

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_on)
    try:
        return int(run_fn(args))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.management",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_common_arguments(parser)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of all four phases")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    return main_with(run, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
