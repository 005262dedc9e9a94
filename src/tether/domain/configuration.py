"""Configuration as a read model in each process (DESIGN.md, "Hot paths"; issue 13, decision 1).

Tenants, applications (with their sealed secrets), APIs, client grants, connections and signing
keys are served from memory, so no hot path (token endpoint, /authorize, jwks, discovery, the
Management API's bearer check) reads configuration from the database.

How it stays right:

- every write to a tenant's configuration bumps ``tenants.config_version`` in the same
  transaction (storage/uow.py does it at commit for every repository write, so no service can
  forget it, and the version moves if and only if the change lands);
- the process that wrote hears it after the commit (``changed``) and its next read polls at
  once: it applies its own change immediately;
- every other process polls ``SELECT tenants`` (one statement, every tenant's row and version)
  when its view is older than ``REFRESH_SECONDS``, and reloads the configuration of a tenant
  whose version moved, in one read-only unit of work. While one poll runs, concurrent readers
  use the view they have; the first read after an idle spell waits for its poll.

So another process serves a change at most ``REFRESH_SECONDS`` plus one poll's time after its
commit: a deleted application or a rotated secret stops working everywhere within 1 second
(README, "Configuration changes"). A version poll was chosen over PostgreSQL LISTEN/NOTIFY and
Redis pub/sub: it works the same on SQLite, needs no held connection, and costs one small
statement per interval per process (docs/architecture.md, "Configuration read model").
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tether.domain.models import Api, Application, ClientGrant, Connection, SigningKey, Tenant
from tether.domain.ports import UnitOfWorkFactory

#: Longest interval between two version polls of one process, in seconds. With the poll's own
#: time, the bound within which every process serves a change is 1 second.
REFRESH_SECONDS = 0.5


@dataclass(frozen=True)
class TenantConfig:
    """One tenant's configuration as of ``version``. Shared by every request: read only."""

    version: int
    applications: Mapping[str, Application]  # by client_id
    apis: Mapping[str, Api]  # by identifier
    grants: Mapping[tuple[str, str], ClientGrant]  # by (client_id, audience)
    connections: Mapping[str, Connection]  # by name
    keys: tuple[SigningKey, ...]  # not retired, oldest first


class Configuration:
    """This process's read model of every tenant's configuration."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._uow = uow
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._tenants: list[Tenant] = []
        self._versions: dict[str, int] = {}
        self._configs: dict[str, TenantConfig] = {}
        self._polled_at = float("-inf")
        self._polling = False
        self._loaded = False
        # ``changed`` moves ``_wanted``; a poll that began at generation g makes the view
        # fresh up to g only, so a change committed while a poll was under way is not missed.
        self._wanted = 0
        self._have = 0
        # Per event loop, as asyncio locks are bound to one (tests run several).
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def _lock(self, name: str) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(name, asyncio.Lock())

    def changed(self, tenant_ids: frozenset[str]) -> None:
        """A commit of this process changed these tenants' configuration: the next read polls."""
        del tenant_ids  # the poll finds out which versions moved; one statement either way
        self._wanted += 1

    async def tenants(self) -> list[Tenant]:
        """Every tenant, oldest first."""
        await self._fresh()
        return self._tenants

    async def of(self, tenant_id: str) -> TenantConfig:
        """``tenant_id``'s configuration; an unknown tenant has an empty one."""
        await self._fresh()
        version = self._versions.get(tenant_id, -1)
        config = self._configs.get(tenant_id)
        if config is not None and config.version == version:
            return config
        async with self._lock("load:" + tenant_id):
            version = self._versions.get(tenant_id, -1)
            config = self._configs.get(tenant_id)
            if config is not None and config.version == version:
                return config  # another request loaded it while this one waited
            config = await self._load(tenant_id, version)
            if self._versions.get(tenant_id, -1) == version:
                self._configs[tenant_id] = config
            return config

    async def _fresh(self) -> None:
        if self._is_fresh():
            return
        if self._polling and self._loaded and self._have == self._wanted:
            return  # the poll under way lands within the bound; a change of ours is awaited
        async with self._lock("poll"):
            if self._is_fresh():
                return
            self._polling = True
            try:
                await self._poll()
            finally:
                self._polling = False

    def _is_fresh(self) -> bool:
        return (
            self._have == self._wanted
            and self._monotonic() - self._polled_at < self._refresh_seconds
        )

    async def _poll(self) -> None:
        started, generation = self._monotonic(), self._wanted
        async with self._uow(read_only=True) as uow:
            rows = await uow.tenants.with_versions()
        self._tenants = [tenant for tenant, _ in rows]
        self._versions = {tenant.id: version for tenant, version in rows}
        for gone in set(self._configs) - set(self._versions):
            del self._configs[gone]
        self._polled_at, self._have, self._loaded = started, generation, True

    async def _load(self, tenant_id: str, version: int) -> TenantConfig:
        """The tenant's configuration, read in one read-only unit of work (one snapshot on
        SQLite). Rows committed after the poll may show up already: the next poll sees their
        version and loads again, so the view never stays behind."""
        async with self._uow(read_only=True) as uow:
            applications = await uow.applications.list(tenant_id)
            apis = await uow.apis.list(tenant_id)
            grants = await uow.client_grants.list(tenant_id)
            connections = await uow.connections.list(tenant_id)
            keys = await uow.keys.list(tenant_id)
        return TenantConfig(
            version=version,
            applications={a.client_id: a for a in applications},
            apis={a.identifier: a for a in apis},
            grants={(g.client_id, g.audience): g for g in grants},
            connections={c.name: c for c in connections},
            keys=tuple(keys),
        )
