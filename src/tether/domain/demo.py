"""``tether serve --demo``: everything the seed's linking sample needs, with no internet.

On the default tenant: the AngularJS sample registered as a single-page app (its own origin),
a database connection, passwordless email, and an OpenID connection to a second tenant of the
same server that plays an outside provider (served on ``127.0.0.1`` while the main tenant is on
``localhost``). The outside provider gets a ready account. Running it again reuses everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tether.domain.actor import Actor
from tether.domain.applications import ApplicationChanges, ApplicationService, NewApplication
from tether.domain.connections import DEFAULT_DATABASE, ConnectionService
from tether.domain.errors import NotFound
from tether.domain.models import AppType, Tenant
from tether.domain.tenants import TenantService
from tether.domain.users import DatabaseUsers, NewDatabaseUser
from tether.protocol.grants import GrantType

SAMPLE_APP = "AngularJS linking sample"
UPSTREAM_TENANT = "outside-idp"
UPSTREAM_APP = "Tether demo (relying party)"
UPSTREAM_CONNECTION = "outside-idp"
EMAIL_CONNECTION = "email"
OUTSIDE_EMAIL = "outside@example.com"
OUTSIDE_PASSWORD = "outside demo password"


@dataclass(frozen=True)
class Demo:
    tenant: Tenant
    upstream: Tenant
    sample_client_id: str
    sample_origin: str
    #: What an earlier run set up for other ports and this one cannot use (the data is reused).
    warnings: tuple[str, ...] = ()


def _loopback_twin(public_url: str) -> str:
    """The same server under another host name, so the outside provider is another site."""
    parts = urlsplit(public_url)
    host = "127.0.0.1" if parts.hostname == "localhost" else "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


async def provision_demo(
    tenants: TenantService,
    applications: ApplicationService,
    connections: ConnectionService,
    users: DatabaseUsers,
    tenant: Tenant,
    sample_origin: str,
) -> Demo:
    """Idempotent: what exists is kept, what is missing is made."""
    sample_origin = sample_origin.rstrip("/")
    warnings: list[str] = []
    existing = {a.name: a for a in await applications.list(tenant)}
    sample = existing.get(SAMPLE_APP)
    if sample is not None and sample_origin not in sample.web_origins:
        # Another --sample-port than last time: the sample moves with it.
        sample = await applications.update(
            tenant,
            sample.client_id,
            ApplicationChanges(
                callbacks=(sample_origin, sample_origin + "/"),
                web_origins=(sample_origin,),
                allowed_logout_urls=(sample_origin, sample_origin + "/"),
            ),
            Actor(client_id=None),
        )
    if sample is None:
        created = await applications.create(
            tenant,
            NewApplication(
                name=SAMPLE_APP,
                app_type=AppType.SPA,
                callbacks=(sample_origin, sample_origin + "/"),
                web_origins=(sample_origin,),
                allowed_logout_urls=(sample_origin, sample_origin + "/"),
                grant_types=(GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value),
            ),
        )
        sample = created.application
        await connections.enable(tenant, DEFAULT_DATABASE, sample.client_id)

    names = {c.name for c in await connections.list(tenant)}
    if EMAIL_CONNECTION not in names:
        await connections.create(tenant, EMAIL_CONNECTION, "email", {}, [sample.client_id])

    try:
        upstream = await tenants.get(UPSTREAM_TENANT)
    except NotFound:
        upstream = await tenants.create(UPSTREAM_TENANT, _loopback_twin(tenant.public_url))
    if upstream.public_url != _loopback_twin(tenant.public_url):
        warnings.append(
            f"The outside IdP tenant was set up on {upstream.issuer}, not on this port: "
            '"Continue with Outside IdP" will fail. Use the port of the first run, or a fresh '
            "data folder."
        )
    if UPSTREAM_CONNECTION not in names:
        rp = await applications.create(
            upstream,
            NewApplication(
                name=UPSTREAM_APP,
                app_type=AppType.REGULAR_WEB,
                callbacks=(tenant.issuer + "login/callback",),
                grant_types=(GrantType.AUTHORIZATION_CODE.value,),
            ),
        )
        await connections.enable(upstream, DEFAULT_DATABASE, rp.application.client_id)
        await users.create(
            upstream,
            None,
            NewDatabaseUser(email=OUTSIDE_EMAIL, password=OUTSIDE_PASSWORD, email_verified=True),
        )
        await connections.create(
            tenant,
            UPSTREAM_CONNECTION,
            "oidc",
            {
                "display_name": "Outside IdP (demo)",
                "discovery_url": upstream.issuer + ".well-known/openid-configuration",
                "issuer": upstream.issuer,
                "client_id": rp.application.client_id,
                "client_secret": rp.client_secret,
                "scope": "openid profile email",
                # The outside IdP is our own second tenant: its email_verified can be trusted.
                "trust_email_verified": True,
            },
            [sample.client_id],
        )
    return Demo(tenant, upstream, sample.client_id, sample_origin, tuple(warnings))
