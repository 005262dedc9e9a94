"""``tether serve --demo``: everything the seed's linking samples need, with no internet.

On the default tenant: the AngularJS sample (``@auth0/auth0-spa-js``) registered as a
single-page app on its own origin; the tutorial's Lock 14 version of it on another origin, with
what an embedded Lock needs (the implicit grant, cross-origin authentication, its
``cross_origin_loc`` page); a database connection, passwordless email, and an OpenID connection
to a second tenant of the same server that plays an outside provider (served on ``127.0.0.1``
while the main tenant is on ``localhost``). The outside provider gets a ready account. Running it
again reuses everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tether.domain.actor import Actor
from tether.domain.applications import ApplicationChanges, ApplicationService, NewApplication
from tether.domain.authorization import IMPLICIT
from tether.domain.connections import DEFAULT_DATABASE, ConnectionService
from tether.domain.errors import Conflict, NotFound
from tether.domain.models import AppType, Tenant
from tether.domain.tenants import TenantService
from tether.domain.users import DatabaseUsers, NewDatabaseUser
from tether.protocol.grants import GrantType

SAMPLE_APP = "AngularJS linking sample"
LOCK_SAMPLE_APP = "AngularJS Lock linking sample"
#: The Lock sample's page that answers the /co/verify fallback (auth0-js crossOriginVerification).
LOCK_VERIFY_PAGE = "/co-verify.html"
UPSTREAM_TENANT = "outside-idp"
UPSTREAM_APP = "Tether demo (relying party)"
UPSTREAM_CONNECTION = "outside-idp"
EMAIL_CONNECTION = "email"
OUTSIDE_EMAIL = "outside@example.com"
OUTSIDE_PASSWORD = "outside demo password"
#: The link prompt at sign-in (issue 16): sam has a verified password account here and a
#: verified account at the outside IdP, so "Continue with Outside IdP" as sam asks to link.
LINK_EMAIL = "sam@example.com"
LINK_PASSWORD = "sam demo password"
LINK_OUTSIDE_PASSWORD = "sam outside password"


@dataclass(frozen=True)
class Demo:
    tenant: Tenant
    upstream: Tenant
    sample_client_id: str
    sample_origin: str
    lock_client_id: str | None = None
    lock_origin: str | None = None
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
    lock_origin: str | None = None,
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
    for where, password in ((upstream, LINK_OUTSIDE_PASSWORD), (tenant, LINK_PASSWORD)):
        try:
            await users.create(
                where,
                None,
                NewDatabaseUser(email=LINK_EMAIL, password=password, email_verified=True),
            )
        except Conflict:
            pass  # an earlier run made it
    lock_client_id = None
    if lock_origin is not None:
        lock_origin = lock_origin.rstrip("/")
        lock_client_id = await _lock_sample(applications, connections, tenant, lock_origin)
    return Demo(
        tenant,
        upstream,
        sample.client_id,
        sample_origin,
        lock_client_id,
        lock_origin,
        tuple(warnings),
    )


def _lock_sample_settings(origin: str) -> ApplicationChanges:
    """What an embedded Lock 14 needs (lock-protocol.md §2, §5): its page as callback and web
    origin (the hidden iframe of popup mode is framed by it), the origin allowed to call
    /co/authenticate, the implicit grant (Lock asks for ``token id_token``), and the page that
    answers the /co/verify fallback."""
    return ApplicationChanges(
        callbacks=(origin, origin + "/"),
        web_origins=(origin,),
        allowed_origins=(origin,),
        allowed_logout_urls=(origin, origin + "/"),
        cross_origin_authentication=True,
        cross_origin_loc=origin + LOCK_VERIFY_PAGE,
    )


async def _lock_sample(
    applications: ApplicationService,
    connections: ConnectionService,
    tenant: Tenant,
    origin: str,
) -> str:
    existing = {a.name: a for a in await applications.list(tenant)}
    app = existing.get(LOCK_SAMPLE_APP)
    wanted = _lock_sample_settings(origin)
    if app is not None:
        if origin not in app.web_origins:  # another --lock-sample-port than last time
            await applications.update(tenant, app.client_id, wanted, Actor(client_id=None))
        return app.client_id
    created = await applications.create(
        tenant,
        NewApplication(
            name=LOCK_SAMPLE_APP,
            app_type=AppType.SPA,
            callbacks=wanted.callbacks or (),
            web_origins=wanted.web_origins or (),
            allowed_origins=wanted.allowed_origins or (),
            allowed_logout_urls=wanted.allowed_logout_urls or (),
            grant_types=(IMPLICIT,),
            cross_origin_authentication=True,
            cross_origin_loc=wanted.cross_origin_loc,
        ),
    )
    client_id = created.application.client_id
    # Lock's buttons are the app's connections (/client/{id}.js): the password database and
    # the outside provider. Lock (not Lock Passwordless) would not show the email connection.
    for name in (DEFAULT_DATABASE, UPSTREAM_CONNECTION):
        await connections.enable(tenant, name, client_id)
    return client_id
