"""Connections: where identities come from. This issue brings the database kind (``auth0``)."""

from __future__ import annotations

import builtins
import re

from tether.domain.clock import Clock
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.ids import new_id
from tether.domain.models import Connection, Tenant
from tether.domain.ports import UnitOfWork, UnitOfWorkFactory

DEFAULT_DATABASE = "Username-Password-Authentication"
#: Auth0's strategy names Tether knows.
STRATEGIES = frozenset({"auth0", "email", "oidc", "google-oauth2", "github", "oauth2"})
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$")
DATABASE_DEFAULT_OPTIONS = {
    "passwordPolicy": "fair",
    "password_complexity_options": {"min_length": 8},
    "brute_force_protection": True,
    "disable_signup": False,
    "requires_username": False,
}


class ConnectionService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock):
        self._uow = uow
        self._clock = clock

    async def add(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        name: str,
        strategy: str,
        options: dict[str, object] | None = None,
        enabled_clients: list[str] | None = None,
    ) -> Connection:
        if not _NAME.match(name):
            raise InvalidInput(
                "name: letters, digits and dashes, starting and ending with a letter or digit."
            )
        if await uow.connections.by_name(tenant.id, name):
            raise Conflict(
                "A connection with the same name already exists", code="connection_conflict"
            )
        base = dict(DATABASE_DEFAULT_OPTIONS) if strategy == "auth0" else {}
        base.update(options or {})
        connection = Connection(
            id=new_id("con_"),
            tenant_id=tenant.id,
            name=name,
            strategy=strategy,
            options=base,
            enabled_clients=list(enabled_clients or []),
            created_at=self._clock.now(),
        )
        await uow.connections.add(connection)
        return connection

    async def create(
        self,
        tenant: Tenant,
        name: str,
        strategy: str,
        options: dict[str, object] | None = None,
        enabled_clients: builtins.list[str] | None = None,
    ) -> Connection:
        """Create a connection with Auth0's strategy names, enabled for the given clients."""
        if strategy not in STRATEGIES:
            raise InvalidInput(
                f"strategy: {strategy!r} is not one of {', '.join(sorted(STRATEGIES))}."
            )
        async with self._uow() as uow:
            for client_id in enabled_clients or []:
                if await uow.applications.by_client_id(tenant.id, client_id) is None:
                    raise NotFound(f"Client {client_id} not found.", code="inexistent_client")
            connection = await self.add(uow, tenant, name, strategy, options, enabled_clients)
            await uow.commit()
        return connection

    async def list(self, tenant: Tenant) -> builtins.list[Connection]:
        async with self._uow() as uow:
            return await uow.connections.list(tenant.id)

    async def enabled_for(self, tenant: Tenant, client_id: str) -> builtins.list[Connection]:
        """The connections an application may sign people in with, database first."""
        found = [c for c in await self.list(tenant) if client_id in c.enabled_clients]
        return sorted(found, key=lambda c: not c.is_database)

    async def by_name(self, tenant: Tenant, name: str) -> Connection:
        async with self._uow() as uow:
            connection = await uow.connections.by_name(tenant.id, name)
        if connection is None:
            raise NotFound("The connection does not exist", code="inexistent_connection")
        return connection

    async def enable(
        self, tenant: Tenant, name: str, client_id: str, enabled: bool = True
    ) -> Connection:
        """Enable (or disable) a connection for an application."""
        async with self._uow() as uow:
            connection = await uow.connections.by_name(tenant.id, name)
            if connection is None:
                raise NotFound("The connection does not exist", code="inexistent_connection")
            if await uow.applications.by_client_id(tenant.id, client_id) is None:
                raise NotFound("Client not found.", code="inexistent_client")
            clients = [c for c in connection.enabled_clients if c != client_id]
            if enabled:
                clients.append(client_id)
            await uow.connections.set_enabled_clients(tenant.id, connection.id, clients)
            connection.enabled_clients = clients
            await uow.commit()
        return connection
