"""Commands over a tenant's resources: tenants, apps, apis, connections, keys, mail."""

from __future__ import annotations

import json
from typing import Any

import typer

from tether.bootstrap import Container
from tether.cli.common import JsonOption, TenantOption, emit, pick_tenant, run, split
from tether.cli.views import api_view, app_view, connection_view, key_view, tenant_view
from tether.domain.actor import Actor
from tether.domain.applications import NewApi, NewApplication
from tether.domain.models import AppType, iso8601
from tether.protocol import json_text

tenants = typer.Typer(no_args_is_help=True, help="Tenants served by this process.")
apps = typer.Typer(no_args_is_help=True, help="Applications (OAuth clients).")
apis = typer.Typer(no_args_is_help=True, help="APIs (resource servers).")
connections = typer.Typer(no_args_is_help=True, help="Connections.")
keys = typer.Typer(no_args_is_help=True, help="Signing keys.")
mail = typer.Typer(no_args_is_help=True, help="The mail outbox.")


def register(app: typer.Typer) -> None:
    for name, sub in (
        ("tenants", tenants),
        ("apps", apps),
        ("apis", apis),
        ("connections", connections),
        ("keys", keys),
        ("mail", mail),
    ):
        app.add_typer(sub, name=name)


# -- tenants -------------------------------------------------------------------


@tenants.command("create")
def tenants_create(
    name: str,
    public_url: str = typer.Option(..., "--public-url", help="e.g. https://id.example.com"),
    as_json: bool = JsonOption,
) -> None:
    """Create a tenant, served for requests whose Host is its public URL's host."""

    async def work(c: Container) -> dict[str, Any]:
        return tenant_view(await c.tenants.create(name, public_url))

    emit(run(work), as_json)


@tenants.command("list")
def tenants_list(as_json: bool = JsonOption) -> None:
    async def work(c: Container) -> list[dict[str, Any]]:
        return [tenant_view(t) for t in await c.tenants.list()]

    emit(run(work), as_json)


@tenants.command("settings")
def tenants_settings(
    set_: list[str] = typer.Option(
        None,
        "--set",
        help="KEY=VALUE (VALUE is JSON when it parses as JSON, else a string); KEY= removes it.",
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Show a tenant's settings, or change them with --set."""
    changes: dict[str, object] = {}
    for item in set_ or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set {item!r}: use KEY=VALUE")
        if raw == "":
            changes[key] = None
            continue
        try:
            changes[key] = json.loads(raw)
        except ValueError:
            changes[key] = raw

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        if changes:
            t = await c.tenants.update_settings(t, changes)
        return dict(t.settings)

    emit(run(work), as_json)


# -- apps ----------------------------------------------------------------------


@apps.command("create")
def apps_create(
    name: str,
    app_type: AppType = typer.Option(AppType.REGULAR_WEB, "--type"),
    callbacks: list[str] = typer.Option(None, "--callbacks"),
    web_origins: list[str] = typer.Option(None, "--web-origins"),
    logout_urls: list[str] = typer.Option(None, "--logout-urls"),
    allowed_origins: list[str] = typer.Option(None, "--allowed-origins"),
    grant_types: list[str] = typer.Option(None, "--grant-types"),
    api: str = typer.Option(None, "--api", help="API identifier to grant (machine apps)."),
    scopes: str = typer.Option("", "--scopes", help="Space-separated scopes of --api."),
    connection: list[str] = typer.Option(None, "--connection", help="Enable these connections."),
    cross_origin_authentication: bool = typer.Option(
        False,
        "--cross-origin-authentication",
        help="Allow embedded login (Lock, auth0-js) from --allowed-origins and --web-origins.",
    ),
    cross_origin_loc: str = typer.Option(
        None, "--cross-origin-loc", help="The app page answering the /co/verify fallback."
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Create an application. Prints its client_id and client_secret."""

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        created = await c.applications.create(
            t,
            NewApplication(
                name=name,
                app_type=app_type,
                callbacks=split(callbacks),
                web_origins=split(web_origins),
                allowed_logout_urls=split(logout_urls),
                allowed_origins=split(allowed_origins),
                grant_types=split(grant_types) or None,
                cross_origin_authentication=cross_origin_authentication,
                cross_origin_loc=cross_origin_loc or None,
            ),
            api_identifier=api,
            scopes=list(split([scopes])) if api else None,
        )
        for name_ in split(connection):
            await c.connections.enable(t, name_, created.application.client_id)
        return app_view(created.application, created.client_secret)

    emit(run(work), as_json)


@apps.command("list")
def apps_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        return [app_view(a) for a in await c.applications.list(t)]

    emit(run(work), as_json, ["client_id", "name", "app_type", "grant_types"])


@apps.command("show")
def apps_show(
    client_id: str,
    secret: bool = typer.Option(False, "--secret", help="Include the client secret."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        a = await c.applications.get(t, client_id)
        view = app_view(a, c.applications.secret_of(a) if secret else None)
        view["client_grants"] = [
            {"audience": g.audience, "scope": g.scope}
            for g in await c.applications.client_grants(t, client_id)
        ]
        return view

    emit(run(work), as_json)


@apps.command("rotate-secret")
def apps_rotate_secret(
    client_id: str, tenant: str = TenantOption, as_json: bool = JsonOption
) -> None:
    """A new client secret, shown once; the old one stops working at once on every process."""

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        rotated = await c.applications.rotate_secret(t, client_id, Actor(client_id="tether-cli"))
        return app_view(rotated.application, rotated.client_secret)

    emit(run(work), as_json)


@apps.command("delete")
def apps_delete(client_id: str, tenant: str = TenantOption) -> None:
    async def work(c: Container) -> None:
        await c.applications.delete(await pick_tenant(c, tenant), client_id)

    run(work)
    typer.echo(f"Deleted {client_id}")


# -- apis ----------------------------------------------------------------------


@apis.command("create")
def apis_create(
    name: str,
    identifier: str = typer.Option(
        ..., "--identifier", help="The audience, e.g. https://api.example.com/"
    ),
    scopes: str = typer.Option("", "--scopes", help="Space-separated scopes."),
    token_lifetime: int = typer.Option(86400, "--token-lifetime"),
    offline: bool = typer.Option(False, "--allow-offline-access"),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        api = await c.apis.create(
            t, NewApi(name, identifier, split([scopes]), token_lifetime, offline)
        )
        return api_view(api)

    emit(run(work), as_json)


@apis.command("list")
def apis_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    async def work(c: Container) -> list[dict[str, Any]]:
        return [api_view(a) for a in await c.apis.list(await pick_tenant(c, tenant))]

    emit(run(work), as_json, ["name", "identifier", "token_lifetime", "allow_offline_access"])


# -- connections -----------------------------------------------------------------


@connections.command("list")
def connections_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    async def work(c: Container) -> list[dict[str, Any]]:
        return [connection_view(x) for x in await c.connections.list(await pick_tenant(c, tenant))]

    emit(run(work), as_json)


@connections.command("create")
def connections_create(
    name: str,
    strategy: str = typer.Option(
        ..., "--strategy", help="auth0, email, oidc, google-oauth2, github, oauth2"
    ),
    options: str = typer.Option("{}", "--options", help="JSON object of the strategy's options."),
    app: list[str] = typer.Option(None, "--app", help="Enable for these client_ids."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a connection (a way to sign in) and enable it for applications."""
    try:
        parsed = json_text.loads(options)
    except ValueError as exc:
        raise typer.BadParameter("--options must be a JSON object") from exc
    if not isinstance(parsed, dict):
        raise typer.BadParameter("--options must be a JSON object")

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        connection = await c.connections.create(t, name, strategy, parsed, list(app or []))
        return connection_view(connection)

    emit(run(work), as_json)


@connections.command("enable")
def connections_enable(
    name: str,
    app: str = typer.Option(..., "--app", help="client_id of the application."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    async def work(c: Container) -> dict[str, Any]:
        return connection_view(await c.connections.enable(await pick_tenant(c, tenant), name, app))

    emit(run(work), as_json)


@connections.command("disable")
def connections_disable(
    name: str,
    app: str = typer.Option(..., "--app", help="client_id of the application."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        return connection_view(await c.connections.enable(t, name, app, enabled=False))

    emit(run(work), as_json)


# -- keys ----------------------------------------------------------------------


@keys.command("list")
def keys_list(
    retired: bool = typer.Option(False, "--retired", help="Include retired keys."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        return [key_view(k) for k in await c.keys.list(t, include_retired=retired)]

    emit(run(work), as_json)


@keys.command("rotate")
def keys_rotate(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """next -> current -> previous; the old previous key is retired."""

    async def work(c: Container) -> list[dict[str, Any]]:
        return [key_view(k) for k in await c.keys.rotate(await pick_tenant(c, tenant))]

    emit(run(work), as_json)


# -- mail ----------------------------------------------------------------------


@mail.command("list")
def mail_list(
    limit: int = typer.Option(20, "--limit"),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Mails in the outbox, newest first, with their bodies."""

    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        return [
            {
                "to": m.to,
                "subject": m.subject,
                "created_at": iso8601(m.created_at),
                "sent_at": iso8601(m.sent_at),
                "body": m.body,
            }
            for m in await c.mail.list(t, limit=limit)
        ]

    emit(run(work), as_json, ["created_at", "to", "subject", "sent_at", "body"])
