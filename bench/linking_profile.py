"""CPU per link + unlink pair in one process, with no HTTP server and no client in the way.

Usage (from the repository root)::

    .venv/bin/python -m bench.linking_profile [--pairs 300] [--profile] [--top 30]

Builds a container on a fresh SQLite database in a temporary folder, provisions the default
tenant and two users A and B, signs A in for a Management API token and B for an ID token, then
``--pairs`` times: ``POST /api/v2/users/{A}/identities {"link_with": <B's ID token>}`` and
``DELETE .../identities/auth0/{B}`` through httpx's ASGI transport (the whole FastAPI stack), and
the same number of pairs through ``LinkingService.link`` and ``unlink`` alone (the domain and
storage without HTTP). As in bench/linking.py, B's ID token is signed afresh with the tenant's
key after each unlink (the unlink ends the restored user's older tokens), outside the timing.
It prints the process's CPU time per pair (aiosqlite's thread included) and the statements a
pair ran; ``--profile`` adds a cProfile listing of the domain-only loop sorted by own time.
CPU time of the one process does not depend on what else the machine does as much as a rate.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import pstats
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
PASSWORD = "a bench passphrase, long enough 123"
PUBLIC_URL = "http://tether.bench"


async def _run(args: argparse.Namespace, tmp: Path) -> None:
    import httpx
    from sqlalchemy import event

    from tether.bootstrap import build_container
    from tether.config import Settings
    from tether.domain.actor import Actor
    from tether.domain.linking import LinkWith
    from tether.domain.passwords import HashParameters
    from tether.domain.users import NewDatabaseUser
    from tether.storage.db import statement_engines
    from tether.web.app import create_app

    settings = Settings(
        data_dir=tmp,
        public_url=PUBLIC_URL,
        master_secret="bench-master-secret-" + "x" * 32,
        management_rate_limit="1000000/second",
        token_rate_limit="1000000/minute",
        login_rate_limit_ip="1000000/minute",
        login_rate_limit_account="1000000/minute",
    )
    settings.ensure_master_secret()
    container = build_container(
        settings, hash_parameters=HashParameters(time_cost=1, memory_kib=1024)
    )
    await container.upgrade_database()
    provisioned = await container.provision()
    assert provisioned.default_app is not None
    app_id = provisioned.default_app.application.client_id
    secret = provisioned.default_app.client_secret or ""
    tenant = provisioned.tenant
    a = await container.users.create(
        tenant, None, NewDatabaseUser(email="a@example.com", password=PASSWORD)
    )
    b = await container.users.create(
        tenant, None, NewDatabaseUser(email="b@example.com", password=PASSWORD)
    )
    app = create_app(container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    signer = (await container.keys.keyset(tenant)).signing
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:

        async def login(email: str, scope: str, audience: str | None) -> dict[str, Any]:
            body = {
                "grant_type": PASSWORD_REALM,
                "client_id": app_id,
                "client_secret": secret,
                "username": email,
                "password": PASSWORD,
                "realm": "Username-Password-Authentication",
                "scope": scope,
            }
            if audience:
                body["audience"] = audience
            r = await http.post("/oauth/token", json=body)
            assert r.status_code == 200, r.text
            return dict(r.json())

        token = (
            await login(
                "a@example.com", "openid update:current_user_identities", PUBLIC_URL + "/api/v2/"
            )
        )["access_token"]
        id_token = (await login("b@example.com", "openid", None))["id_token"]
        part = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

        def fresh() -> str:
            iat = int(time.time()) + 1  # after the unlink's instant, as the server stamps it
            return signer.sign({**claims, "iat": iat, "auth_time": iat, "exp": iat + 3600})

        link_path = f"/api/v2/users/{quote(a.user_id, safe='')}/identities"
        unlink_path = f"{link_path}/auth0/{quote(b.user_id.split('|', 1)[1], safe='')}"
        headers = {"Authorization": f"Bearer {token}"}

        async def http_pair(proof: str) -> None:
            r = await http.post(link_path, json={"link_with": proof}, headers=headers)
            assert r.status_code == 201, r.text
            r = await http.delete(unlink_path, headers=headers)
            assert r.status_code == 200, r.text

        actor = Actor(client_id=app_id, user_id=a.user_id)

        async def domain_pair(proof: str) -> None:
            await container.linking.link(tenant, a.user_id, LinkWith(proof, app_id), actor)
            await container.linking.unlink(tenant, a.user_id, "auth0", b.user_id, actor)

        for _ in range(20):  # warm: statement caches, the key set, the token checks
            await http_pair(fresh())
        for target in statement_engines(container.engine):  # on SQLite the loop pool too
            event.listen(target, "before_cursor_execute", count)
        profile = cProfile.Profile()
        for name, pair in (("with HTTP", http_pair), ("domain only", domain_pair)):
            statements, cpu = 0, 0.0
            for _ in range(args.pairs):
                proof = fresh()
                started = time.process_time()
                if args.profile and pair is domain_pair:
                    profile.enable()
                await pair(proof)
                profile.disable()
                cpu += time.process_time() - started
            print(
                f"{name:12} {args.pairs} pairs: {cpu / args.pairs * 1000:6.2f} ms CPU a pair,"
                f" {statements / args.pairs:4.1f} statements a pair (BEGINs and polls included)"
            )
    if args.profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    await container.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.linking_profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="cProfile the domain-only loop")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="tether-linking-profile-"))
    try:
        asyncio.run(_run(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
