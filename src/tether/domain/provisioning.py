"""What ``tether init`` makes on a new installation: the default tenant, an application that can
sign users in with a password, and a machine client for the Management API."""

from __future__ import annotations

from dataclasses import dataclass

from tether.domain.applications import ApplicationService, CreatedApplication, NewApplication
from tether.domain.connections import DEFAULT_DATABASE, ConnectionService
from tether.domain.management_scopes import MANAGEMENT_SCOPES
from tether.domain.models import AppType, Tenant
from tether.domain.tenants import TenantService
from tether.protocol.grants import GrantType


@dataclass(frozen=True)
class Provisioned:
    tenant: Tenant
    created: bool
    default_app: CreatedApplication | None = None
    management_client: CreatedApplication | None = None


async def provision_default_tenant(
    tenants: TenantService,
    applications: ApplicationService,
    connections: ConnectionService,
    public_url: str,
) -> Provisioned:
    """Create the default tenant and its two starter applications, once. Idempotent."""
    tenant, created = await tenants.ensure_default(public_url)
    if not created:
        return Provisioned(tenant, False)
    default_app = await applications.create(
        tenant,
        NewApplication(
            name="Default App",
            app_type=AppType.REGULAR_WEB,
            grant_types=(
                GrantType.AUTHORIZATION_CODE.value,
                GrantType.REFRESH_TOKEN.value,
                GrantType.CLIENT_CREDENTIALS.value,
                GrantType.PASSWORD.value,
                GrantType.PASSWORD_REALM.value,
            ),
        ),
    )
    await connections.enable(tenant, DEFAULT_DATABASE, default_app.application.client_id)
    management = await applications.create(
        tenant,
        NewApplication(name="Tether Management Client", app_type=AppType.NON_INTERACTIVE),
        api_identifier=tenant.management_audience,
        scopes=[s["value"] for s in MANAGEMENT_SCOPES],
    )
    return Provisioned(tenant, True, default_app, management)
