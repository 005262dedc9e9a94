"""Applications (OAuth clients): Auth0's ``/clients``, client authentication (RFC 6749 §2.3.1)
and the web-origin read model. Their client grants (``/client-grants``) are ``grants``."""

from __future__ import annotations

import builtins
import copy
import hmac
from collections.abc import Sequence
from typing import Any

from tether.domain.actor import Actor, operation_details, record_change
from tether.domain.applications.grants import ClientGrants
from tether.domain.applications.specs import (
    ApplicationChanges,
    CreatedApplication,
    NewApplication,
    apply_application_changes,
    validate_new_application,
)
from tether.domain.audit import Audit
from tether.domain.clock import Clock
from tether.domain.configuration import Configuration
from tether.domain.errors import InvalidInput, NotFound
from tether.domain.ids import new_secret
from tether.domain.models import Application, Tenant
from tether.domain.paging import page_of
from tether.domain.ports import ApplicationRepo, UnitOfWork, UnitOfWorkFactory
from tether.domain.sealing import Sealer
from tether.protocol.errors import InvalidClient


class ApplicationService(ClientGrants):
    """Applications, with their client grants (``ClientGrants``)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sealer: Sealer,
        clock: Clock,
        configuration: Configuration,
        audit: Audit | None = None,
    ):
        super().__init__(uow, audit or Audit(clock))
        self._configuration = configuration
        self._sealer = sealer
        self._clock = clock
        # Per tenant, with the configuration version they were gathered at.
        self._origins: dict[str, tuple[int, frozenset[str]]] = {}

    def forget_origins(self, tenant: Tenant) -> None:
        """Drop the cached web origins after a change, so CORS follows it at once here."""
        self._origins.pop(tenant.id, None)

    async def add(
        self, applications: ApplicationRepo, tenant: Tenant, spec: NewApplication
    ) -> CreatedApplication:
        """Validate and store a new application through the caller's repository (the caller
        commits); the client secret is returned once, stored sealed."""
        app = validate_new_application(spec)
        app.tenant_id = tenant.id
        app.created_at = self._clock.now()
        secret = None
        if not app.is_public:
            secret = new_secret()
            app.encrypted_secret = self._sealer.seal(tenant.id, secret.encode())
        await applications.add(app)
        return CreatedApplication(app, secret)

    async def create(
        self,
        tenant: Tenant,
        spec: NewApplication,
        *,
        api_identifier: str | None = None,
        scopes: list[str] | None = None,
    ) -> CreatedApplication:
        """Create an application; with ``api_identifier``, also the client grant for it."""
        async with self._uow() as uow:
            created = await self.add(uow.applications, tenant, spec)
            if api_identifier is not None:
                await self._add_grant(
                    uow, tenant, created.application.client_id, api_identifier, scopes or []
                )
            await uow.commit()
        return created

    async def list(self, tenant: Tenant) -> builtins.list[Application]:
        async with self._uow(read_only=True) as uow:
            return await uow.applications.list(tenant.id)

    async def get(self, tenant: Tenant, client_id: str) -> Application:
        async with self._uow(read_only=True) as uow:
            app = await uow.applications.by_client_id(tenant.id, client_id)
        if app is None:
            raise NotFound("Client not found.", code="inexistent_client")
        return app

    async def web_origins(self, tenant: Tenant) -> frozenset[str]:
        """Every origin any application of the tenant allows (web origins and CORS origins),
        from the configuration read model (browsers ask on every token request): a change is
        followed at once here and within 1 second by every other process."""
        config = await self._configuration.of(tenant.id)
        cached = self._origins.get(tenant.id)
        if cached and cached[0] == config.version:
            return cached[1]
        origins = frozenset(
            o
            for app in config.applications.values()
            for o in (*app.web_origins, *app.allowed_origins)
        )
        self._origins[tenant.id] = (config.version, origins)
        return origins

    def secret_of(self, app: Application) -> str | None:
        if app.encrypted_secret is None:
            return None
        return self._sealer.open(app.tenant_id, app.encrypted_secret).decode()

    async def delete(self, tenant: Tenant, client_id: str) -> None:
        """Delete an application (the CLI's ``apps delete``): see ``remove``."""
        async with self._uow() as uow:
            await self._remove(uow, tenant, client_id)
            await uow.commit()
        self.forget_origins(tenant)

    @staticmethod
    async def _remove(uow: UnitOfWork, tenant: Tenant, client_id: str) -> Application:
        """The application, its client grants, and its place in every connection's
        ``enabled_clients``, in ``uow``."""
        app = await uow.applications.by_client_id(tenant.id, client_id)
        if app is None:
            raise NotFound("Client not found.", code="inexistent_client")
        for connection in await uow.connections.list(tenant.id):
            if client_id in connection.enabled_clients:
                await uow.connections.set_enabled_clients(
                    tenant.id,
                    connection.id,
                    [c for c in connection.enabled_clients if c != client_id],
                )
        await uow.applications.delete(tenant.id, client_id)
        return app

    # -- the Management API's /clients and /client-grants ----------------------------

    async def page(
        self,
        tenant: Tenant,
        *,
        page: int,
        per_page: int,
        app_types: Sequence[str] | None = None,
        is_first_party: bool | None = None,
    ) -> tuple[builtins.list[Application], int]:
        """One page of the tenant's applications, oldest first, and how many match."""
        found = [
            a
            for a in await self.list(tenant)
            if (not app_types or a.app_type.value in app_types)
            and (is_first_party is None or a.is_first_party == is_first_party)
        ]
        return page_of(found, page, per_page)

    async def register(
        self, tenant: Tenant, spec: NewApplication, actor: Actor
    ) -> CreatedApplication:
        """``POST /api/v2/clients``: create an application and log who did."""
        async with self._uow() as uow:
            created = await self.add(uow.applications, tenant, spec)
            await self._record(
                uow, tenant, actor, "Create a client", created.application, "created"
            )
            await uow.commit()
        self.forget_origins(tenant)
        return created

    async def update(
        self, tenant: Tenant, client_id: str, changes: ApplicationChanges, actor: Actor
    ) -> Application:
        """``PATCH /api/v2/clients/{id}``. Becoming confidential mints a secret; becoming public
        (``token_endpoint_auth_method: none``) drops it."""
        async with self._uow() as uow:
            app = await uow.applications.by_client_id(tenant.id, client_id)
            if app is None:
                raise NotFound("Client not found.", code="inexistent_client")
            updated = apply_application_changes(app, changes)
            if updated.is_public:
                updated.encrypted_secret = None
            elif updated.encrypted_secret is None:
                updated.encrypted_secret = self._sealer.seal(tenant.id, new_secret().encode())
            await uow.applications.update(updated)
            await self._record(
                uow, tenant, actor, "Update a client", updated, "updated", fields=changes.names
            )
            await uow.commit()
        self.forget_origins(tenant)
        return updated

    async def rotate_secret(
        self, tenant: Tenant, client_id: str, actor: Actor
    ) -> CreatedApplication:
        """``POST /api/v2/clients/{id}/rotate-secret`` (and the dashboard's and CLI's rotate): a
        new secret at once, the old one refused from the commit on, in every process (client
        authentication reads the secret from the database, it is not cached)."""
        async with self._uow() as uow:
            app = await uow.applications.by_client_id(tenant.id, client_id)
            if app is None:
                raise NotFound("Client not found.", code="inexistent_client")
            if app.is_public:
                raise InvalidInput("This client is public: it has no secret to rotate.")
            secret = new_secret()
            app.encrypted_secret = self._sealer.seal(tenant.id, secret.encode())
            await uow.applications.update(app)
            await self._record(
                uow,
                tenant,
                actor,
                "Rotate a client secret",
                app,
                "secret_rotated",
            )
            await uow.commit()
        return CreatedApplication(app, secret)

    async def remove(self, tenant: Tenant, client_id: str, actor: Actor) -> None:
        """``DELETE /api/v2/clients/{id}``: the application, its client grants, and its place in
        every connection's ``enabled_clients``."""
        async with self._uow() as uow:
            app = await self._remove(uow, tenant, client_id)
            await self._record(uow, tenant, actor, "Delete a client", app, "deleted")
            await uow.commit()
        self.forget_origins(tenant)

    async def _record(
        self,
        uow: UnitOfWork,
        tenant: Tenant,
        actor: Actor,
        description: str,
        app: Application,
        change: str,
        **extra: Any,
    ) -> None:
        await record_change(
            self._audit,
            uow,
            tenant.id,
            actor,
            description,
            operation_details(
                actor,
                f"client_{change}",
                client={"client_id": app.client_id, "name": app.name},
                **extra,
            ),
        )

    async def find(self, tenant: Tenant, client_id: str) -> Application | None:
        """The application with this ``client_id``, or None, from the configuration read model
        (no SQL). A copy: the read model's record is shared by every request."""
        app = (await self._configuration.of(tenant.id)).applications.get(client_id)
        return copy.copy(app) if app is not None else None

    async def authenticate(
        self, tenant: Tenant, client_id: str, secret: str | None, method: str
    ) -> Application:
        """RFC 6749 §2.3.1 / §3.2.1: a confidential client must prove its secret; a public one
        must send none. Every failure is the same ``invalid_client``. Only reads: a read-only
        unit of work, so on SQLite it takes no write lock."""
        app = await self.find(tenant, client_id)
        if app is None:
            raise InvalidClient("Unknown client or wrong client credentials.")
        if app.is_public:
            if secret is not None:
                raise InvalidClient("This client is public and must not send a secret.")
            return app
        expected = self.secret_of(app)
        if secret is None or expected is None:
            raise InvalidClient("Client authentication required.")
        if not hmac.compare_digest(expected.encode(), secret.encode()):
            raise InvalidClient("Unknown client or wrong client credentials.")
        return app
