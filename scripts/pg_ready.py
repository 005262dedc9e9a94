"""Exit 0 when the PostgreSQL server in argv[1] (a SQLAlchemy asyncpg URL) answers."""

from __future__ import annotations

import asyncio
import sys

import asyncpg


async def main(url: str) -> int:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return 1
    await conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
