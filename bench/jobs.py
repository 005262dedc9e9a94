"""Issue 17 benchmark: bulk import and export of users, in constant memory.

Usage (from the repository root)::

    .venv/bin/python -m bench.jobs [--users 100000] [--postgres URL]

What one run does, in this process, through the code ``tether users import`` and the jobs runner
use (domain/jobs: rows checked, batches of 500 written with executemany, each batch committed with
the job's cursor):

1. Writes a users file (Auth0's bulk-import JSON array) of ``--users`` users, every one with a
   ``password_hash`` given (one bcrypt hash made once: importing never hashes).
2. Imports it, streamed (cli/users_io.iter_users reads 1 MiB at a time), into a fresh database
   (SQLite in a temporary folder, or ``--postgres``).
3. Exports every user as gzipped newline-delimited JSON (domain/jobs/exports.Writer, pages of
   1,000), as the export job does, and counts the bytes.

Prints users per second for both (wall clock, and per CPU second of this process, which does not
depend on what else the machine runs), and the peak resident memory after a tenth of the rows and
at the end: equal figures mean memory does not grow with the file. Targets: import >= 2,000
users/s, export >= 10,000 users/s on SQLite. Exit code 0 when both are met (wall clock or CPU), 1
otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bcrypt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tether.bootstrap import build_container
from tether.cli.users_io import iter_users
from tether.config import Settings
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.jobs import exports
from tether.storage.db import create_engine
from tether.storage.tables import metadata

IMPORT_TARGET = 2_000
EXPORT_TARGET = 10_000
ROWS_PER_CALL = 2_000


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_users(path: Path, count: int) -> None:
    hashed = bcrypt.hashpw(b"benchmark password", bcrypt.gensalt(rounds=10)).decode()
    with path.open("w") as out:
        out.write("[")
        for i in range(count):
            row = {
                "email": f"bench{i:07d}@example.com",
                "email_verified": i % 3 == 0,
                "name": f"Bench User {i}",
                "password_hash": hashed,
                "user_metadata": {"plan": "gold" if i % 2 else "free"},
                "app_metadata": {"tier": i % 5},
            }
            out.write(("," if i else "") + json.dumps(row))
        out.write("]")


async def run(users: int, postgres: str | None, folder: Path) -> dict[str, Any]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=folder, public_url="http://bench.test", master_secret="bench-" + "x" * 40
    )
    schema = None
    if postgres:
        schema = "bench_" + secrets.token_hex(4)
        admin = create_async_engine(postgres)
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        engine = create_engine(postgres, schema=schema)
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{folder / 'bench.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    c = build_container(settings, engine=engine)
    try:
        provisioned = await c.provision()
        tenant = provisioned.tenant
        connection = await c.connections.by_name(tenant, DEFAULT_DATABASE)
        source = folder / "users.json"
        write_users(source, users)
        job = await c.jobs.start_own(tenant, connection, upsert=False)
        tenth = None
        started, cpu0 = time.perf_counter(), cpu_seconds()
        with source.open(encoding="utf-8") as stream:
            pending: list[Any] = []
            for row in iter_users(stream):
                pending.append(row)
                if len(pending) >= ROWS_PER_CALL:
                    await c.jobs.import_rows(job, connection, pending)
                    pending = []
                    if tenth is None and job.cursor >= users // 10:
                        tenth = peak_rss_mib()
            if pending:
                await c.jobs.import_rows(job, connection, pending)
        await c.jobs.finish_own(job)
        import_wall, import_cpu = time.perf_counter() - started, cpu_seconds() - cpu0
        assert job.inserted == users and job.failed == 0, job
        after_import = peak_rss_mib()

        writer = exports.Writer("json", None)
        size = exported = 0
        started, cpu0 = time.perf_counter(), cpu_seconds()
        async for page in c.jobs.users_pages(tenant.id, None, None):
            size += len(writer.compress(page))
            exported += len(page)
        size += len(writer.finish())
        export_wall, export_cpu = time.perf_counter() - started, cpu_seconds() - cpu0
        assert exported == users, exported
        return {
            "backend": "postgresql" if postgres else "sqlite",
            "users": users,
            "file_mib": round(source.stat().st_size / 2**20, 1),
            "import": {
                "seconds": round(import_wall, 2),
                "users_per_s": round(users / import_wall),
                "users_per_cpu_s": round(users / import_cpu),
            },
            "export": {
                "seconds": round(export_wall, 2),
                "users_per_s": round(users / export_wall),
                "users_per_cpu_s": round(users / export_cpu),
                "gzip_mib": round(size / 2**20, 1),
            },
            "peak_rss_mib": {
                "after_a_tenth_of_the_import": round(tenth or 0, 1),
                "after_the_import": round(after_import, 1),
                "after_the_export": round(peak_rss_mib(), 1),
            },
        }
    finally:
        await c.close()
        if postgres and schema:
            admin = create_async_engine(postgres)
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-bench-jobs-") as folder:
        result = asyncio.run(run(args.users, args.postgres, Path(folder)))
    print(json.dumps(result, indent=2))
    imp, exp = result["import"], result["export"]
    met = (
        max(imp["users_per_s"], imp["users_per_cpu_s"]) >= IMPORT_TARGET
        and max(exp["users_per_s"], exp["users_per_cpu_s"]) >= EXPORT_TARGET
    )
    print(
        f"import {imp['users_per_s']:,}/s ({imp['users_per_cpu_s']:,} per CPU s), target "
        f"{IMPORT_TARGET:,}; export {exp['users_per_s']:,}/s ({exp['users_per_cpu_s']:,} per CPU s), "
        f"target {EXPORT_TARGET:,}: {'met' if met else 'MISSED'}",
        file=sys.stderr,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
