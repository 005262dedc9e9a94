"""Unit of work: one connection, one transaction, every repository on it.

SQLAlchemy errors never leave this package: an IntegrityError becomes a domain Conflict and a
locked or unreachable database becomes Unavailable (the web layer answers 503 with Retry-After).
"""

from __future__ import annotations

from contextlib import suppress
from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tether.domain.errors import Conflict, Unavailable
from tether.storage import repositories as repos


def translate(exc: BaseException) -> Exception | None:
    """The domain error an exception from the database stands for, if any."""
    if isinstance(exc, IntegrityError):
        return Conflict("The change conflicts with existing data.", code="conflict")
    if isinstance(exc, OperationalError | PoolTimeout | ConnectionError | OSError):
        return Unavailable("The database is busy or unreachable.")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return Unavailable("The database connection was lost.")
    return None


class SqlUnitOfWork:
    tenants: repos.Tenants
    keys: repos.Keys
    applications: repos.Applications
    apis: repos.Apis
    client_grants: repos.ClientGrants
    connections: repos.Connections
    users: repos.Users
    identities: repos.Identities
    credentials: repos.Credentials
    refresh_tokens: repos.RefreshTokens
    password_tickets: repos.PasswordTickets
    logs: repos.Logs
    outbox: repos.Outbox
    sessions: repos.Sessions
    transactions: repos.Transactions
    codes: repos.Codes
    consents: repos.Consents

    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        conn: AsyncConnection | None = None
        try:
            conn = await self._engine.connect()
            await conn.begin()
        except Exception as exc:
            if conn is not None:
                # BEGIN failed (SQLite busy): give the connection back rather than leak it.
                with suppress(Exception):
                    await conn.close()
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        self._conn = conn
        self.tenants = repos.Tenants(conn)
        self.keys = repos.Keys(conn)
        self.applications = repos.Applications(conn)
        self.apis = repos.Apis(conn)
        self.client_grants = repos.ClientGrants(conn)
        self.connections = repos.Connections(conn)
        self.users = repos.Users(conn)
        self.identities = repos.Identities(conn)
        self.credentials = repos.Credentials(conn)
        self.refresh_tokens = repos.RefreshTokens(conn)
        self.password_tickets = repos.PasswordTickets(conn)
        self.logs = repos.Logs(conn)
        self.outbox = repos.Outbox(conn)
        self.sessions = repos.Sessions(conn)
        self.transactions = repos.Transactions(conn)
        self.codes = repos.Codes(conn)
        self.consents = repos.Consents(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
        if exc is not None:
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc

    async def commit(self) -> None:
        assert self._conn is not None  # noqa: S101
        await self._conn.commit()
        await self._conn.begin()

    async def rollback(self) -> None:
        assert self._conn is not None  # noqa: S101
        await self._conn.rollback()
        await self._conn.begin()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
