"""``tether``: init, serve, db, and the resource commands."""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

import typer

from tether.bootstrap import Container, start_metrics
from tether.cli import admins, resources, users, users_io
from tether.cli.common import JsonOption, console, emit, err_console, run, settings
from tether.domain.provisioning import Provisioned

app = typer.Typer(
    no_args_is_help=True, help="Tether: a self-hosted, Auth0-compatible identity server."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
secret_app = typer.Typer(no_args_is_help=True, help="The master secret.")
app.add_typer(secret_app, name="secret")
resources.register(app)
users.register(app)
users_io.register(users.users)
admins.register(app)


def _print_provisioned(result: Provisioned, as_json: bool) -> None:
    tenant = result.tenant
    data: dict[str, object] = {
        "tenant": tenant.name,
        "issuer": tenant.issuer,
        "created": result.created,
    }
    if result.default_app and result.management_client:
        data["default_app"] = {
            "client_id": result.default_app.application.client_id,
            "client_secret": result.default_app.client_secret,
            "connection": "Username-Password-Authentication",
        }
        data["management_client"] = {
            "client_id": result.management_client.application.client_id,
            "client_secret": result.management_client.client_secret,
            "audience": tenant.management_audience,
        }
    if as_json:
        emit(data, True)
        return
    console.print(f"Tenant [bold]{tenant.name}[/bold], issuer [bold]{tenant.issuer}[/bold]")
    if result.created and result.default_app and result.management_client:
        console.print("Created, shown once (see `tether apps show CLIENT_ID --secret` later):")
        console.print(
            f"  Default App            client_id={result.default_app.application.client_id}"
            f" client_secret={result.default_app.client_secret}"
        )
        console.print(
            f"  Management API client  client_id={result.management_client.application.client_id}"
            f" client_secret={result.management_client.client_secret}"
        )


@app.command()
def init(as_json: bool = JsonOption) -> None:
    """Create the master secret, the database schema and the default tenant (idempotent)."""
    s = settings()
    if s.ensure_master_secret():
        err_console.print(
            f"Wrote a new master secret to {s.data_dir / 'tether.secret'} (keep it safe)."
        )

    async def work(c: Container) -> Provisioned:
        return await c.provision()

    _print_provisioned(run(work, upgrade=True), as_json)


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to bind (default TETHER_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default TETHER_PORT or 8000)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Also set up and serve the linking sample, a second tenant as an outside IdP, and a mailbox page.",
    ),
    sample_port: int = typer.Option(
        3000, "--sample-port", help="Where --demo serves the sample app."
    ),
    lock_sample_port: int = typer.Option(
        3001,
        "--lock-sample-port",
        help="Where --demo serves the tutorial's Lock 14 version of the sample.",
    ),
) -> None:
    """Run the server. On SQLite it creates and upgrades the database by itself."""
    # Worker processes read their settings from the environment: hand them ours.
    if host:
        os.environ["TETHER_HOST"] = host
    if port:
        os.environ["TETHER_PORT"] = str(port)
    # Each worker sizes its password-hashing share of the cores by it (TETHER_HASH_CONCURRENCY).
    os.environ["TETHER_WORKERS"] = str(workers)
    if demo:
        from tether.cli.demo import serve_demo

        s = settings()
        serve_demo(s.host, s.port, sample_port, lock_sample_port)
        return
    s = settings()
    if s.ensure_master_secret():
        err_console.print(
            f"Wrote a new master secret to {s.data_dir / 'tether.secret'} (keep it safe)."
        )
    # Before the first container: the workers' metrics go to a folder this process serves.
    try:
        forget_metrics = start_metrics(s)
    except OSError as exc:
        raise SystemExit(f"Cannot serve metrics on {s.metrics_address}: {exc.strerror}") from exc
    if forget_metrics is not None:
        atexit.register(forget_metrics)

    async def prepare(c: Container) -> Provisioned:
        if not s.is_sqlite:
            current = await c.database_revision()
            if current != c.schema_head():
                raise SystemExit(
                    f"The database is at revision {current}, not {c.schema_head()}: "
                    "run `tether db upgrade` first."
                )
        return await c.provision()

    result = run(prepare)
    _print_provisioned(result, False)
    console.print(
        f"Serving on http://{s.host}:{s.port}/  (discovery: {result.tenant.issuer}.well-known/openid-configuration)"
    )
    if s.metrics_address:
        console.print(f"Metrics on http://{s.metrics_address}/metrics")

    import uvicorn

    from tether.cli.workers import Workers, reuse_port_supported

    options: dict[str, Any] = {
        "factory": True,
        "host": s.host,
        "port": s.port,
        "workers": workers,
        "log_level": s.log_level.lower(),
        # web/proxy.py reads forwarding headers, from TETHER_TRUSTED_PROXIES only.
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": s.shutdown_timeout,  # bounds the drain after SIGTERM
        **_log_config(s.log_format),
    }
    if workers > 1 and reuse_port_supported():
        # A listening socket per worker, so the kernel spreads connections (cli/workers.py).
        config = uvicorn.Config("tether.asgi:create", **options)
        config.configure_logging()
        try:
            supervisor = Workers(config, workers)
        except OSError as exc:
            raise SystemExit(f"Cannot listen on {s.host}:{s.port}: {exc.strerror}") from exc
        supervisor.run()
        if supervisor.failed:
            raise SystemExit(3)
        return
    uvicorn.run("tether.asgi:create", **options)


def _log_config(fmt: str) -> dict[str, Any]:
    """TETHER_LOG_FORMAT=json: uvicorn's own lines in JSON too, from its first one."""
    from tether.web.access_log import uvicorn_log_config

    config = uvicorn_log_config(fmt)
    return {} if config is None else {"log_config": config}


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database lacks."""

    async def work(c: Container) -> str | None:
        await c.upgrade_database()
        return await c.database_revision()

    console.print(f"Database at revision {run(work, check_schema=False)}")


@secret_app.command("rotate")
def secret_rotate(as_json: bool = JsonOption) -> None:
    """Re-seal every signing key and secret sealed under an old master secret (one of
    TETHER_EXTRA_MASTER_SECRETS) under TETHER_MASTER_SECRET. See docs/deploy.md."""

    async def work(c: Container) -> dict[str, int]:
        done = await c.secret_rotation.reseal_all()
        return {
            "signing_keys": done.signing_keys,
            "client_secrets": done.client_secrets,
            "upstream_secrets": done.upstream_secrets,
        }

    emit(run(work), as_json)


@db_app.command("backup")
def db_backup(path: Path = typer.Argument(..., help="A new file for the copy.")) -> None:
    """Copy a SQLite database while Tether serves it (PostgreSQL: use pg_dump)."""

    target = path.resolve()

    async def work(c: Container) -> int:
        return await c.backup_database(target)

    size = run(work, check_schema=False)
    console.print(f"Backed up to {path} ({size} bytes). Keep the master secret apart from it.")


def main() -> None:
    app()
