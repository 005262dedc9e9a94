"""What every command shares: building the container, choosing the tenant, printing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from tether.bootstrap import Container, build_container
from tether.config import Settings, load_settings
from tether.domain.errors import DomainError
from tether.domain.models import Tenant
from tether.protocol.errors import OAuth2Error

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

TenantOption = typer.Option(None, "--tenant", help="Tenant name (default: the default tenant).")
JsonOption = typer.Option(False, "--json", help="Print JSON for scripts.")


def settings() -> Settings:
    return load_settings()


class SchemaNotCurrent(Exception):
    """The database (PostgreSQL: never upgraded automatically) lacks migrations."""


def run(
    work: Callable[[Container], Awaitable[T]], *, upgrade: bool = False, check_schema: bool = True
) -> T:
    """Build the container, run ``work`` with it, close it; domain errors become exit code 1."""

    async def main() -> T:
        s = settings()
        container = build_container(s)
        try:
            if upgrade or s.is_sqlite:
                await container.upgrade_database()
            elif check_schema:
                current = await container.database_revision()
                if current != container.schema_head():
                    raise SchemaNotCurrent(
                        f"The database is at revision {current}, not {container.schema_head()}: "
                        "run `tether db upgrade` first."
                    )
            return await work(container)
        finally:
            await container.close()

    try:
        return asyncio.run(main())
    except (DomainError, OAuth2Error) as exc:
        message = exc.message if isinstance(exc, DomainError) else exc.description
        err_console.print(f"[red]error:[/red] {message}")
        raise typer.Exit(1) from exc
    except SchemaNotCurrent as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except RuntimeError as exc:
        if "master secret" in str(exc):
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        raise


async def pick_tenant(container: Container, name: str | None) -> Tenant:
    return await container.tenants.get(name)


def emit(
    data: Any, as_json: bool, columns: Sequence[str] | None = None, title: str | None = None
) -> None:
    """Print ``data`` as JSON, or as a table (lists of dicts) / key-value table (a dict)."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, list):
        cols = list(columns or (data[0].keys() if data else []))
        table = Table(*cols, title=title)
        for row in data:
            table.add_row(*(_cell(row.get(c)) for c in cols))
        console.print(table)
        return
    table = Table("field", "value", title=title, show_header=False)
    for key, value in data.items():
        table.add_row(key, _cell(value))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def split(values: Iterable[str] | None) -> tuple[str, ...]:
    """Options may repeat or hold comma/space separated lists."""
    out: list[str] = []
    for value in values or ():
        out.extend(v for v in value.replace(",", " ").split() if v)
    return tuple(out)
