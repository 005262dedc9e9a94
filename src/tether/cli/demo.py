"""``tether serve --demo``: Tether and the seed's AngularJS samples (spa-js, and the tutorial's
Lock 14 version), side by side, on loopback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tether.bootstrap import build_container
from tether.cli.common import console, settings
from tether.config import Settings
from tether.domain import demo
from tether.web import access_log
from tether.web.app import create_app
from tether.web.demo import create_sample_app


def sample_folder(name: str = "angularjs-linking") -> Path:
    """examples/NAME of this checkout."""
    return Path(__file__).resolve().parents[3] / "examples" / name


#: The outside IdP is this server's second tenant, on loopback.
LOOPBACK = ("127.0.0.0/8", "::1/128", "localhost")


def demo_settings(base: Settings) -> Settings:
    """The operator's settings with demo mode on and loopback added to the private networks
    upstream requests may reach: added to what the operator allowed, never replacing it."""
    allowed = list(base.federation_private_networks)
    allowed += [n for n in LOOPBACK if n not in allowed]
    return base.model_copy(update={"demo": True, "federation_private_networks": allowed})


#: The Lock sample's browser bundle of Lock (esbuild, at install time: npm run build).
LOCK_BUNDLE = Path("build") / "lock.js"


def serve_demo(host: str, port: int, sample_port: int, lock_sample_port: int = 3001) -> None:
    os.environ["TETHER_DEMO"] = "true"
    s = demo_settings(settings())
    s.ensure_master_secret()
    folder = sample_folder()
    sample_origin = f"http://localhost:{sample_port}"
    lock_folder = sample_folder("angularjs-lock-linking")
    lock_origin = f"http://localhost:{lock_sample_port}"

    async def main() -> None:
        import uvicorn

        container = build_container(s)
        await container.upgrade_database()
        provisioned = await container.provision()
        d = await demo.provision_demo(
            container.tenants,
            container.applications,
            container.connections,
            container.users,
            provisioned.tenant,
            sample_origin,
            lock_origin if lock_folder.is_dir() else None,
        )

        def say(text: str) -> None:
            # One line each, however narrow the terminal (URLs and passwords stay whole).
            console.print(text, soft_wrap=True, highlight=False)

        tenant = provisioned.tenant
        say(f"Tether (demo)          {tenant.issuer}  (tenant {tenant.name})")
        if provisioned.created and provisioned.default_app and provisioned.management_client:
            say("  Created, shown once (see `tether apps show CLIENT_ID --secret` later):")
            say(
                f"  Default App            client_id={provisioned.default_app.application.client_id}"
                f" client_secret={provisioned.default_app.client_secret}"
            )
            say(
                "  Management API client  "
                f"client_id={provisioned.management_client.application.client_id}"
                f" client_secret={provisioned.management_client.client_secret}"
            )
        say(
            f"  Outside IdP tenant   {d.upstream.issuer}  user {demo.OUTSIDE_EMAIL} / {demo.OUTSIDE_PASSWORD}"
        )
        say(
            f"  Link prompt          {demo.LINK_EMAIL}: password {demo.LINK_PASSWORD} here, "
            f"{demo.LINK_OUTSIDE_PASSWORD} at the Outside IdP"
        )
        say(f"  Demo mailbox         {tenant.issuer}demo/mailbox  (email codes, reset links)")
        say(f"Sample app             {sample_origin}/  (client_id {d.sample_client_id})")
        if folder.is_dir():
            say(
                f'Open {sample_origin}/ -> Sign Up -> Link Account -> "Continue with an email code" '
                '(the code is in the mailbox) or "Continue with Outside IdP (demo)".'
            )
        if folder.is_dir() and not (folder / "node_modules" / "angular").is_dir():
            console.print(
                "[yellow]warning:[/yellow] the sample's npm packages are missing: "
                f"npm ci --prefix {folder}  (./scripts/serve does it when npm is installed)",
                soft_wrap=True,
                highlight=False,
            )
        if lock_folder.is_dir():
            say(
                f"Lock sample            {lock_origin}/  (client_id {d.lock_client_id}; Lock 14, as the tutorial)"
            )
            if not (lock_folder / LOCK_BUNDLE).is_file():
                console.print(
                    "[yellow]warning:[/yellow] the Lock sample's bundle is missing: "
                    f"npm ci --prefix {lock_folder} && npm run --prefix {lock_folder} build"
                    "  (./scripts/serve does it when npm is installed)",
                    soft_wrap=True,
                    highlight=False,
                )
        for warning in d.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True, highlight=False)
        servers = [
            uvicorn.Server(
                uvicorn.Config(
                    create_app(container),
                    host=host,
                    port=port,
                    log_level=s.log_level.lower(),
                    server_header=False,
                )
            ),
        ]
        if folder.is_dir():
            config = {
                "domain": provisioned.tenant.public_url,
                "clientId": d.sample_client_id,
                "audience": provisioned.tenant.management_audience,
            }
            servers.append(
                uvicorn.Server(
                    uvicorn.Config(
                        create_sample_app(folder, config),
                        host=host,
                        port=sample_port,
                        log_level="warning",
                        server_header=False,
                    )
                )
            )
        else:
            console.print(f"[yellow]No sample at {folder}; serving Tether only.[/yellow]")
        if lock_folder.is_dir():
            lock_config = {
                "domain": provisioned.tenant.public_url,
                "issuer": provisioned.tenant.issuer,
                "clientId": d.lock_client_id,
                "audience": provisioned.tenant.management_audience,
            }
            servers.append(
                uvicorn.Server(
                    uvicorn.Config(
                        create_sample_app(lock_folder, lock_config),
                        host=host,
                        port=lock_sample_port,
                        log_level="warning",
                        server_header=False,
                    )
                )
            )
        access_log.install()  # after uvicorn.Config set its loggers up
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(main())
