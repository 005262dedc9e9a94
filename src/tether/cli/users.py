"""``tether users ...`` and ``tether logs tail``: the same services the Management API uses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from tether.bootstrap import Container
from tether.cli.common import JsonOption, TenantOption, emit, pick_tenant, run
from tether.domain import user_search
from tether.domain.actor import Actor
from tether.domain.brute_force import BruteForceGuard
from tether.domain.linking import LinkIdentity
from tether.domain.log_filter import LogFilter
from tether.domain.models import iso8601
from tether.domain.user_admin import UserChanges
from tether.domain.users import NewDatabaseUser
from tether.presentation.users import identities_json, user_json
from tether.protocol import json_text

users = typer.Typer(
    no_args_is_help=True,
    help="Users: list, search, show, create, update, block, verify-email, delete.",
)
logs = typer.Typer(no_args_is_help=True, help="Log events.")
CLI = Actor(client_id="tether-cli")
COLUMNS = ["user_id", "email", "email_verified", "logins_count", "last_login"]


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
    app.add_typer(logs, name="logs")


@users.command("create")
def users_create(
    email: str = typer.Option(..., "--email"),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="Asked for when left out, so it stays out of shell history.",
    ),
    connection: str = typer.Option(None, "--connection"),
    verified: bool = typer.Option(False, "--verified", help="Mark the email verified."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a user on a database connection."""

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        user = await c.users.create(
            t, connection, NewDatabaseUser(email=email, password=password, email_verified=verified)
        )
        return user_json(user)

    emit(run(work), as_json)


@users.command("list")
def users_list(
    page: int = typer.Option(0, "--page"),
    per_page: int = typer.Option(50, "--per-page"),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    async def work(c: Container) -> list[dict[str, Any]]:
        found, _ = await c.users.list(await pick_tenant(c, tenant), page=page, per_page=per_page)
        return [user_json(u) for u in found]

    emit(run(work), as_json, COLUMNS)


@users.command("search")
def users_search(
    q: str = typer.Argument(
        ..., help="Lucene query, e.g. 'email.domain:\"example.com\" AND logins_count:[1 TO *]'"
    ),
    page: int = typer.Option(0, "--page"),
    per_page: int = typer.Option(50, "--per-page"),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Search users with the same query language as GET /api/v2/users?q=."""

    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        query = user_search.compile_query(q)
        found, _ = await c.user_admin.search(t.id, query, page=page, per_page=per_page, sort=None)
        return [user_json(u) for u in found]

    emit(run(work), as_json, COLUMNS)


@users.command("show")
def users_show(user_id: str, tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    async def work(c: Container) -> dict[str, Any]:
        return user_json(await c.users.get(await pick_tenant(c, tenant), user_id))

    emit(run(work), as_json)


def _update(user_id: str, tenant: str | None, values: dict[str, Any], as_json: bool) -> None:
    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        return user_json(await c.user_admin.update(t.id, user_id, UserChanges(values), CLI))

    emit(run(work), as_json)


@users.command("update")
def users_update(
    user_id: str,
    email: str = typer.Option(None, "--email"),
    verified: bool = typer.Option(None, "--verified/--unverified"),
    name: str = typer.Option(None, "--name"),
    user_metadata: str = typer.Option(
        None, "--user-metadata", help="JSON object merged at the first level."
    ),
    app_metadata: str = typer.Option(
        None, "--app-metadata", help="JSON object merged at the first level."
    ),
    password: bool = typer.Option(False, "--password", help="Ask for a new password."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a user as PATCH /api/v2/users/{id} does."""
    values: dict[str, Any] = {}
    if email is not None:
        values["email"] = email
    if verified is not None:
        values["email_verified"] = verified
    if name is not None:
        values["name"] = name
    for key, raw in (("user_metadata", user_metadata), ("app_metadata", app_metadata)):
        if raw is not None:
            try:
                values[key] = json_text.loads(raw)
            except ValueError as exc:
                raise typer.BadParameter(f"--{key.replace('_', '-')} must be JSON") from exc
    if password:
        values["password"] = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    if not values:
        raise typer.BadParameter("nothing to change")
    _update(user_id, tenant, values, as_json)


@users.command("block")
def users_block(user_id: str, tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Block a user: their sign-ins fail and their sessions end."""
    _update(user_id, tenant, {"blocked": True}, as_json)


@users.command("unblock")
def users_unblock(
    user_id: str = typer.Argument(None, help="The user to unblock."),
    identifier: str = typer.Option(
        None, "--identifier", help="Lift the sign-in blocks of an email or username instead."
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Unblock a user (the blocked flag) and lift the blocks brute-force protection set for them
    (DELETE /api/v2/user-blocks/{id}); with --identifier, only those blocks
    (DELETE /api/v2/user-blocks?identifier=)."""
    if (user_id is None) == (identifier is None):
        raise typer.BadParameter("name a USER_ID or an --identifier, not both")

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        if identifier is not None:
            lifted = await c.guard.unblock(t, [identifier], actor="tether-cli")
            return {"identifier": identifier.strip().lower(), "lifted": lifted}
        user = await c.user_admin.update(t.id, user_id, UserChanges({"blocked": False}), CLI)
        lifted = await c.guard.unblock(
            t, BruteForceGuard.identifiers_of(user), user=user, actor="tether-cli"
        )
        return {**user_json(user), "lifted": lifted}

    emit(run(work), as_json)


@users.command("blocks")
def users_blocks(
    user_id: str = typer.Argument(None, help="The user whose blocks to list."),
    identifier: str = typer.Option(None, "--identifier", help="An email or username instead."),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """The IPs brute-force protection blocked for a user (GET /api/v2/user-blocks)."""
    if (user_id is None) == (identifier is None):
        raise typer.BadParameter("name a USER_ID or an --identifier, not both")

    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        if identifier is not None:
            names = [identifier]
        else:
            names = BruteForceGuard.identifiers_of(await c.user_admin.get(t.id, user_id))
        return [
            {"identifier": b.identifier, "ip": b.ip, "connection": b.connection}
            for b in await c.guard.blocks(t, names)
        ]

    emit(run(work), as_json)


@users.command("verify-email")
def users_verify_email(
    user_id: str,
    send: bool = typer.Option(False, "--send", help="Mail the user a new verification link."),
    mark: bool = typer.Option(
        False,
        "--mark",
        help="Mark the address verified yourself; identities linked while it was unverified "
        "are detached, as when the owner uses the link.",
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Email verification: --send mails a link (POST /api/v2/jobs/verification-email),
    --mark vouches for the address; with neither, show whether it is verified."""
    if send and mark:
        raise typer.BadParameter("choose --send or --mark, not both")

    async def work(c: Container) -> dict[str, Any]:
        t = await pick_tenant(c, tenant)
        if send:
            job = await c.verification_jobs.send(t, user_id, CLI)
            return {"user_id": user_id, "sent": True, "job": job.id}
        user = await (
            c.verification.mark(t, user_id, CLI) if mark else c.user_admin.get(t.id, user_id)
        )
        return {"user_id": user.user_id, "email": user.email, "email_verified": user.email_verified}

    emit(run(work), as_json)


@users.command("delete")
def users_delete(
    user_id: str,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    tenant: str = TenantOption,
) -> None:
    """Delete a user and every identity linked to it."""
    if not yes:
        typer.confirm(f"Delete {user_id} and all its identities?", abort=True)

    async def work(c: Container) -> None:
        t = await pick_tenant(c, tenant)
        await c.user_admin.delete(t.id, user_id, CLI)

    run(work)
    typer.echo(f"Deleted {user_id}")


@users.command("link")
def users_link(
    primary: str,
    with_: str = typer.Option(
        ..., "--with", help="user_id of the secondary user, e.g. github|1234"
    ),
    connection_id: str = typer.Option(
        None, "--connection-id", help="When several connections share the provider."
    ),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Link SECONDARY into PRIMARY (server-side, as an administrator). Prints PRIMARY's identities."""
    provider, sep, subject = with_.partition("|")
    if not sep or not subject:
        raise typer.BadParameter("--with must be a full user_id like auth0|65f0... or github|1234")

    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        spec = LinkIdentity(provider, subject, connection_id)
        return identities_json(await c.linking.link(t, primary, spec, CLI))

    emit(run(work), as_json, ["provider", "user_id", "connection", "isSocial"])


@users.command("unlink")
def users_unlink(
    primary: str,
    provider: str,
    user_id: str,
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """Unlink PROVIDER/USER_ID from PRIMARY: it becomes a user again with its own data."""

    async def work(c: Container) -> list[dict[str, Any]]:
        t = await pick_tenant(c, tenant)
        return identities_json(await c.linking.unlink(t, primary, provider, user_id, CLI))

    emit(run(work), as_json, ["provider", "user_id", "connection", "isSocial"])


def _log_row(e: Any) -> dict[str, Any]:
    return {
        "date": iso8601(e.date),
        "type": e.type,
        "user": e.user_name or e.user_id,
        "client": e.client_name or e.client_id,
        "ip": e.ip,
        "description": e.description,
    }


@logs.command("tail")
def logs_tail(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new events."),
    user: str = typer.Option(None, "--user", help="Only this user_id."),
    type_: list[str] = typer.Option(
        None, "--type", help="Only these event types (s, f, sapi, ...)."
    ),
    lines: int = typer.Option(20, "--lines", "-n"),
    tenant: str = TenantOption,
    as_json: bool = JsonOption,
) -> None:
    """The newest log events (oldest first); with --follow, new ones as they come."""

    async def work(c: Container) -> None:
        t = await pick_tenant(c, tenant)
        flt = LogFilter(types=tuple(type_ or ()), user_id=user)
        events, _ = await c.logs.page(t.id, flt, offset=0, limit=lines)
        events.reverse()
        last = events[-1].log_id if events else None
        while True:
            for e in events:
                typer.echo(json.dumps(_log_row(e)) if as_json else _line(_log_row(e)))
            if not follow:
                return
            await asyncio.sleep(1.0)
            events = await c.logs.after(t.id, flt, from_id=last, take=100)
            if events:
                last = events[-1].log_id

    try:
        run(work)
    except KeyboardInterrupt:
        pass


def _line(row: dict[str, Any]) -> str:
    return "  ".join(
        str(row[k] or "-") for k in ("date", "type", "user", "client", "ip", "description")
    )
