"""``tether users blocks`` / ``tether users unblock`` (issue 11, finding 6): an operator lists and
lifts the blocks brute-force protection set, as ``/api/v2/user-blocks`` does.

OWASP ASVS 5.0 §6.3.1 (a lockout an administrator can lift); Auth0 brute-force protection. The
CLI runs on its own SQLite data directory (``tether init``), as an operator's would."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tether.bootstrap import build_container
from tether.cli.main import app
from tether.config import load_settings
from tether.domain.audit import RequestInfo
from tether.domain.errors import InvalidCredentials

EMAIL = "ann@example.com"
PASSWORD = "correct horse battery staple"


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


async def _ten_failures() -> None:
    c = build_container(load_settings())
    try:
        tenant = await c.tenants.get(None)
        async with c.uow(read_only=True) as uow:
            connection = await uow.connections.by_name(
                tenant.id, "Username-Password-Authentication"
            )
            assert connection is not None
            apps = await uow.applications.list(tenant.id)
        application = next(a for a in apps if a.client_id in connection.enabled_clients)
        for _ in range(10):
            with pytest.raises(InvalidCredentials):
                await c.users.authenticate(
                    tenant,
                    application,
                    None,
                    EMAIL,
                    "not the password!",
                    RequestInfo(ip="203.0.113.5"),
                )
    finally:
        await c.engine.dispose()


def test_cli_lists_and_lifts_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tether users blocks USER_ID`` shows the blocked IP; ``tether users unblock USER_ID``
    lifts it (and the blocked flag); ``--identifier`` does the same by email. Fails before this
    fix: there was no block to list and no ``blocks`` command."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TETHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TETHER_PUBLIC_URL", "http://tether.test")
    _cli("init", "--json")
    user = json.loads(_cli("users", "create", "--email", EMAIL, "--password", PASSWORD, "--json"))
    asyncio.run(_ten_failures())

    blocked = [
        {"identifier": EMAIL, "ip": "203.0.113.5", "connection": "Username-Password-Authentication"}
    ]
    assert json.loads(_cli("users", "blocks", user["user_id"], "--json")) == blocked
    assert json.loads(_cli("users", "blocks", "--identifier", EMAIL, "--json")) == blocked
    lifted = json.loads(_cli("users", "unblock", user["user_id"], "--json"))
    assert lifted["lifted"] == 1 and lifted.get("blocked", False) is False
    assert json.loads(_cli("users", "blocks", user["user_id"], "--json")) == []

    asyncio.run(_ten_failures())
    assert json.loads(_cli("users", "unblock", "--identifier", EMAIL, "--json")) == {
        "identifier": EMAIL,
        "lifted": 1,
    }
    assert json.loads(_cli("users", "blocks", "--identifier", EMAIL, "--json")) == []
    refused = CliRunner().invoke(app, ["users", "blocks"])
    assert refused.exit_code != 0
