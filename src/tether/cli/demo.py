"""``tether serve --demo``: Tether and the seed's AngularJS sample, side by side, on loopback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tether.bootstrap import build_container
from tether.cli.common import console, settings
from tether.domain import demo
from tether.web.app import create_app
from tether.web.demo import create_sample_app


def sample_folder() -> Path:
    """examples/angularjs-linking of this checkout."""
    return Path(__file__).resolve().parents[3] / "examples" / "angularjs-linking"


def serve_demo(host: str, port: int, sample_port: int) -> None:
    os.environ["TETHER_DEMO"] = "true"
    os.environ["TETHER_FEDERATION_ALLOW_PRIVATE_NETWORKS"] = "true"
    s = settings()
    s.ensure_master_secret()
    folder = sample_folder()
    sample_origin = f"http://localhost:{sample_port}"

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
        )
        console.print(f"Tether (demo)          {provisioned.tenant.issuer}")
        console.print(
            f"  Sign-in page issuer  {provisioned.tenant.issuer}  (tenant {provisioned.tenant.name})"
        )
        console.print(
            f"  Outside IdP tenant   {d.upstream.issuer}  user {demo.OUTSIDE_EMAIL} / {demo.OUTSIDE_PASSWORD}"
        )
        console.print(
            f"  Demo mailbox         {provisioned.tenant.issuer}demo/mailbox  (email codes, reset links)"
        )
        console.print(f"Sample app             {sample_origin}/  (client_id {d.sample_client_id})")
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
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(main())
