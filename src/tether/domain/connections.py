"""Connections: where identities come from. This issue brings the database kind (``auth0``)."""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from tether.domain.actor import Actor, operation_details, record_change
from tether.domain.audit import Audit
from tether.domain.clock import Clock
from tether.domain.errors import Conflict, InvalidInput, NotFound
from tether.domain.ids import new_id
from tether.domain.models import Connection, Tenant
from tether.domain.paging import page_of
from tether.domain.ports import ConnectionRepo, UnitOfWork, UnitOfWorkFactory
from tether.domain.sealing import Sealer, seal_upstream_secret
from tether.domain.text import check_text
from tether.protocol import json_text

DEFAULT_DATABASE = "Username-Password-Authentication"
OPERATOR_ONLY_OPTION = "allow_private_network"
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
#: Only the database kind's options are checked here; the other strategies' are stored as
#: given until their sign-in flows define them.
PASSWORD_POLICIES = ("none", "low", "fair", "good", "excellent")
MIN_PASSWORD_LENGTH = (8, 128)  # ASVS 5.0 §6.2.1: at least 8; Auth0 stops at 128
MAX_OPTIONS_BYTES = 64 * 1024
MAX_ENABLED_CLIENTS = 1000


def _bool(name: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, bool):
            raise InvalidInput(f"options.{name}: must be true or false.")
        return value

    return check


def _password_policy(value: object) -> object:
    if value not in PASSWORD_POLICIES:
        raise InvalidInput(
            f"options.passwordPolicy: must be one of {', '.join(PASSWORD_POLICIES)}."
        )
    return value


def _complexity(value: object) -> object:
    if not isinstance(value, dict) or set(value) - {"min_length"}:
        raise InvalidInput("options.password_complexity_options: an object with min_length only.")
    low, high = MIN_PASSWORD_LENGTH
    length = value.get("min_length", 8)
    if isinstance(length, bool) or not isinstance(length, int) or not low <= length <= high:
        raise InvalidInput(
            f"options.password_complexity_options.min_length: an integer from {low} to {high}."
        )
    return {"min_length": length}


DATABASE_OPTIONS: dict[str, Callable[[object], object]] = {
    "passwordPolicy": _password_policy,
    "password_complexity_options": _complexity,
    "requires_username": _bool("requires_username"),
    "disable_signup": _bool("disable_signup"),
    "brute_force_protection": _bool("brute_force_protection"),
}


def check_options(strategy: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """A connection's options as stored: a database connection's known keys checked, with
    Auth0's defaults for those left out; any other kind's kept as given (size-limited)."""
    given = dict(options or {})
    _check_json_text(given, "options")
    if OPERATOR_ONLY_OPTION in given:
        # OWASP ASVS 1.3.6: which private networks Tether may reach is the operator's choice
        # (TETHER_FEDERATION_PRIVATE_NETWORKS), never a tenant's through the API or dashboard.
        raise InvalidInput(
            f"options.{OPERATOR_ONLY_OPTION} is not accepted: private destinations are allowed "
            "only by the operator's TETHER_FEDERATION_PRIVATE_NETWORKS setting."
        )
    if json_text.has_non_finite(given):
        raise InvalidInput(f"options: {json_text.MESSAGE}")
    size = len(json.dumps(given, separators=(",", ":"), default=str).encode())
    if size > MAX_OPTIONS_BYTES:
        raise InvalidInput(f"options: {size} bytes; at most {MAX_OPTIONS_BYTES}.")
    if strategy != "auth0":
        return given
    unknown = sorted(set(given) - set(DATABASE_OPTIONS))
    if unknown:
        shown = ", ".join(repr(u[:64]) for u in unknown[:5])
        raise InvalidInput(
            f"options: {shown} not supported for a database connection; "
            f"supported: {', '.join(DATABASE_OPTIONS)}."
        )
    checked: dict[str, Any] = dict(DATABASE_DEFAULT_OPTIONS)
    for key, value in given.items():
        checked[key] = DATABASE_OPTIONS[key](value)
    return checked


def _check_json_text(value: object, where: str) -> None:
    """No NUL or lone surrogate anywhere in keys or strings: no database stores them
    (PostgreSQL refuses both in JSON), and no provider sends them."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json_text(str(key), where)
            _check_json_text(item, f"{where}.{str(key)[:64]}")
    elif isinstance(value, list):
        for item in value:
            _check_json_text(item, where)
    elif isinstance(value, str) and any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise InvalidInput(f"{where}: must not contain NUL or lone surrogate characters.")


@dataclass(frozen=True)
class ConnectionChanges:
    """A ``PATCH /api/v2/connections/{id}`` body: ``None`` leaves a setting as it is. Like
    Auth0, ``options`` replaces the whole options object."""

    options: dict[str, Any] | None = None
    enabled_clients: tuple[str, ...] | None = None

    @property
    def names(self) -> builtins.list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


class ConnectionService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        audit: Audit | None = None,
        *,
        sealer: Sealer | None = None,
    ):
        self._uow = uow
        self._clock = clock
        self._audit = audit or Audit(clock)
        self._sealer = sealer

    def _stored_options(
        self, tenant: Tenant, strategy: str, options: dict[str, Any] | None
    ) -> dict[str, Any]:
        checked = check_options(strategy, options)
        if self._sealer is not None and "client_secret" in checked:
            # An upstream client secret is stored sealed, never in the clear.
            checked = seal_upstream_secret(self._sealer, tenant.id, checked)
        return checked

    async def add(
        self,
        connections: ConnectionRepo,
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
        checked = self._stored_options(tenant, strategy, options)
        if await connections.by_name(tenant.id, name):
            raise Conflict(
                "A connection with the same name already exists", code="connection_conflict"
            )
        connection = Connection(
            id=new_id("con_"),
            tenant_id=tenant.id,
            name=name,
            strategy=strategy,
            options=checked,
            enabled_clients=list(enabled_clients or []),
            created_at=self._clock.now(),
        )
        await connections.add(connection)
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
            connection = await self.add(
                uow.connections, tenant, name, strategy, options, enabled_clients
            )
            await uow.commit()
        return connection

    async def list(self, tenant: Tenant) -> builtins.list[Connection]:
        async with self._uow(read_only=True) as uow:
            return await uow.connections.list(tenant.id)

    async def enabled_for(self, tenant: Tenant, client_id: str) -> builtins.list[Connection]:
        """The connections an application may sign people in with, database first."""
        found = [c for c in await self.list(tenant) if client_id in c.enabled_clients]
        return sorted(found, key=lambda c: not c.is_database)

    async def by_name(self, tenant: Tenant, name: str) -> Connection:
        async with self._uow(read_only=True) as uow:
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

    # -- the Management API's /connections -------------------------------------------

    async def page(
        self,
        tenant: Tenant,
        *,
        page: int,
        per_page: int,
        strategies: Sequence[str] | None = None,
        name: str | None = None,
    ) -> tuple[builtins.list[Connection], int]:
        found = [
            c
            for c in await self.list(tenant)
            if (not strategies or c.strategy in strategies) and (name is None or c.name == name)
        ]
        return page_of(found, page, per_page)

    async def get(self, tenant: Tenant, connection_id: str) -> Connection:
        async with self._uow(read_only=True) as uow:
            connection = await uow.connections.get(tenant.id, connection_id)
        if connection is None:
            raise NotFound("The connection does not exist", code="inexistent_connection")
        return connection

    @staticmethod
    async def _check_clients(
        uow: UnitOfWork, tenant: Tenant, client_ids: Sequence[str]
    ) -> builtins.list[str]:
        if len(client_ids) > MAX_ENABLED_CLIENTS:
            raise InvalidInput(f"enabled_clients: at most {MAX_ENABLED_CLIENTS}.")
        known = {a.client_id for a in await uow.applications.list(tenant.id)}
        for client_id in client_ids:
            if client_id not in known:
                raise InvalidInput(
                    f"enabled_clients: no application has client_id {client_id[:64]!r}."
                )
        return list(dict.fromkeys(client_ids))

    async def register(
        self,
        tenant: Tenant,
        name: str,
        strategy: str,
        actor: Actor,
        *,
        options: dict[str, Any] | None = None,
        enabled_clients: Sequence[str] = (),
    ) -> Connection:
        """``POST /api/v2/connections``."""
        if strategy not in STRATEGIES:
            raise InvalidInput(
                f"strategy: {strategy[:64]!r} is not one of {', '.join(sorted(STRATEGIES))}."
            )
        check_text("name", name, min_length=1, max_length=128)
        async with self._uow() as uow:
            clients = await self._check_clients(uow, tenant, enabled_clients)
            connection = await self.add(uow.connections, tenant, name, strategy, options, clients)
            await self._record(uow, tenant, actor, "Create a connection", connection, "created")
            await uow.commit()
        return connection

    async def update(
        self, tenant: Tenant, connection_id: str, changes: ConnectionChanges, actor: Actor
    ) -> Connection:
        """``PATCH /api/v2/connections/{id}``."""
        async with self._uow() as uow:
            connection = await uow.connections.get(tenant.id, connection_id)
            if connection is None:
                raise NotFound("The connection does not exist", code="inexistent_connection")
            if changes.options is not None:
                connection.options = self._stored_options(
                    tenant, connection.strategy, changes.options
                )
            if changes.enabled_clients is not None:
                connection.enabled_clients = await self._check_clients(
                    uow, tenant, changes.enabled_clients
                )
            await uow.connections.update(connection)
            await self._record(
                uow,
                tenant,
                actor,
                "Update a connection",
                connection,
                "updated",
                fields=changes.names,
            )
            await uow.commit()
        return connection

    async def remove(self, tenant: Tenant, connection_id: str, actor: Actor) -> None:
        """``DELETE /api/v2/connections/{id}``. Auth0 deletes the connection's users with it;
        Tether refuses while any identity still comes from it, so no user is lost by accident
        (delete or unlink them first)."""
        async with self._uow() as uow:
            connection = await uow.connections.get(tenant.id, connection_id)
            if connection is None:
                raise NotFound("The connection does not exist", code="inexistent_connection")
            count = await uow.connections.identity_count(tenant.id, connection.id)
            if count:
                raise Conflict(
                    f"The connection still has {count} user identit"
                    f"{'y' if count == 1 else 'ies'}; delete or unlink them first.",
                    code="connection_in_use",
                )
            await uow.connections.delete(tenant.id, connection.id)
            await self._record(uow, tenant, actor, "Delete a connection", connection, "deleted")
            await uow.commit()

    async def _record(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        connection: Connection,
        change: str,
        **extra: Any,
    ) -> None:
        details = operation_details(actor, f"connection_{change}", **extra)
        await record_change(
            self._audit, uow, tenant.id, actor, description, details, connection=connection
        )
