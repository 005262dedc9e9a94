"""``tether admins add EMAIL | list | remove EMAIL``: who may use the dashboard."""

from __future__ import annotations

from typing import Any

import typer

from tether.bootstrap import Container
from tether.cli.common import JsonOption, TenantOption, console, emit, pick_tenant, run
from tether.domain.actor import Actor
from tether.domain.models import iso8601

admins = typer.Typer(
    no_args_is_help=True, help="Dashboard admins: the users who may sign in to /dashboard."
)
CLI = Actor(client_id="tether-cli")


def register(app: typer.Typer) -> None:
    app.add_typer(admins, name="admins")


@admins.command("add")
def admins_add(
    who: str = typer.Argument(
        ..., help="An email address exactly one user has verified, or the user's user_id."
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Let a user into the dashboard of the tenant.

    By email only a user who verified the address counts (anyone can sign up with any address);
    name an unverified account by its user_id if you are sure it is the right person's."""

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        user = await c.admins.add(t, who, CLI)
        return {
            "user_id": user.user_id,
            "email": user.email,
            "email_verified": user.email_verified,
            "tenant": t.name,
            "dashboard": f"{t.issuer}dashboard",
        }

    result = run(work)
    if as_json:
        emit(result, True)
    else:
        console.print(
            f"{result['email'] or result['user_id']} is now an admin: sign in at {result['dashboard']}"
        )
        if not result["email_verified"]:
            console.print("Note: this user's email is not verified.")


@admins.command("list")
def admins_list(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """The tenant's dashboard admins."""

    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        return [
            {
                "user_id": a.user.user_id,
                "email": a.user.email,
                "email_verified": a.user.email_verified,
                "since": iso8601(a.admin.created_at),
            }
            for a in await c.admins.list(t)
        ]

    emit(run(work), as_json, ["user_id", "email", "email_verified", "since"])


@admins.command("remove")
def admins_remove(
    who: str = typer.Argument(..., help="The user's email address, or its user_id."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Take a user's dashboard access away."""

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        user = await c.admins.remove(t, who, CLI)
        return {"user_id": user.user_id, "email": user.email, "removed": True}

    result = run(work)
    if as_json:
        emit(result, True)
    else:
        console.print(f"{result['email'] or result['user_id']} is no longer an admin.")
