"""The ``tether`` console script as an operator runs it: subprocesses, no server.

Each invocation spends about a second starting up, so every test batches related checks and
runs independent read-only invocations side by side.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DATABASE_CONNECTION, TetherEnv, acme_url, parallel, tether_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TetherEnv, dict[str, Any]]]:
    """An initialised environment shared by this module's tests (each adds its own records)."""
    with tether_env(tmp_path_factory.mktemp("cli")) as env:
        yield env, env.json("init")


def test_init_is_idempotent_and_commands_before_it_fail_cleanly(tmp_path: Path) -> None:
    with tether_env(tmp_path, upgrade=False) as env:
        # Nothing set up yet. SQLite: no master secret. PostgreSQL (TETHER_MASTER_SECRET set):
        # the database has no schema, which only `tether db upgrade` or `tether init` create.
        message = env.fails("apps", "list")
        if env.database_url:
            assert "run `tether db upgrade` first" in message
        else:
            assert "No master secret" in message and "tether init" in message

        first = env.json("init")
        assert first["created"] is True
        assert first["issuer"] == env.issuer
        assert first["management_client"]["audience"] == env.management_audience
        assert first["default_app"]["connection"] == DATABASE_CONNECTION
        ids = {first["default_app"]["client_id"], first["management_client"]["client_id"]}
        secret_file = tmp_path / "tether.secret"
        if not env.database_url:
            assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
            master = secret_file.read_text()

        second = env.run("init", "--json")
        assert second.json() == {"tenant": "default", "issuer": env.issuer, "created": False}
        assert "Wrote a new master secret" not in second.stderr
        if not env.database_url:
            assert secret_file.read_text() == master

        apps, keys = parallel(lambda: env.json("apps", "list"), lambda: env.json("keys", "list"))
        assert {a["client_id"] for a in apps} == ids
        assert all("client_secret" not in a for a in apps)
        assert sorted(k["state"] for k in keys) == ["current", "next"]


def test_apps_create_machine_app_and_show_its_grant(cli: tuple[TetherEnv, dict[str, Any]]) -> None:
    env, _ = cli
    created = env.json(
        "apps",
        "create",
        "m2m",
        "--type",
        "non_interactive",
        "--api",
        env.management_audience,
        "--scopes",
        "read:users",
    )
    client_id, secret = created["client_id"], created["client_secret"]
    assert client_id and len(secret) >= 32
    assert created["name"] == "m2m"
    assert created["app_type"] == "non_interactive"
    assert "client_credentials" in created["grant_types"]

    shown, with_secret, missing = parallel(
        lambda: env.json("apps", "show", client_id),
        lambda: env.json("apps", "show", client_id, "--secret"),
        lambda: env.fails("apps", "show", "nonexistent"),
    )
    assert "client_secret" not in shown
    assert shown["client_grants"] == [
        {"audience": env.management_audience, "scope": ["read:users"]}
    ]
    assert with_secret["client_secret"] == secret
    assert missing == "error: Client not found."

    # Rotation: a new secret, shown once; `apps show --secret` has it from then on.
    rotated = env.json("apps", "rotate-secret", client_id)
    assert rotated["client_id"] == client_id
    assert len(rotated["client_secret"]) >= 32 and rotated["client_secret"] != secret
    assert (
        env.json("apps", "show", client_id, "--secret")["client_secret"]
        == (rotated["client_secret"])
    )


def test_apis_create_and_list(cli: tuple[TetherEnv, dict[str, Any]]) -> None:
    env, _ = cli
    api = env.json(
        "apis",
        "create",
        "Orders",
        "--identifier",
        "https://orders.example/",
        "--scopes",
        "read:orders write:orders",
        "--allow-offline-access",
    )
    assert api == {
        "name": "Orders",
        "identifier": "https://orders.example/",
        "scopes": ["read:orders", "write:orders"],
        "token_lifetime": 86400,
        "allow_offline_access": True,
        "system": False,
    }
    apis, duplicate = parallel(
        lambda: env.json("apis", "list"),
        lambda: env.fails("apis", "create", "Again", "--identifier", "https://orders.example/"),
    )
    listed = {a["identifier"]: a for a in apis}
    assert listed["https://orders.example/"] == api
    assert listed[env.management_audience]["system"] is True
    assert duplicate.startswith("error: ")


def test_connections_enable(cli: tuple[TetherEnv, dict[str, Any]]) -> None:
    env, init = cli
    spa = env.json(
        "apps",
        "create",
        "My SPA",
        "--type",
        "spa",
        "--callbacks",
        "http://localhost:3000/callback",
        "--web-origins",
        "http://localhost:3000",
    )
    assert spa["callbacks"] == ["http://localhost:3000/callback"]
    assert spa["web_origins"] == ["http://localhost:3000"]

    enabled = env.json("connections", "enable", DATABASE_CONNECTION, "--app", spa["client_id"])
    assert enabled["name"] == DATABASE_CONNECTION
    assert spa["client_id"] in enabled["enabled_clients"]
    assert init["default_app"]["client_id"] in enabled["enabled_clients"]

    connections, unknown = parallel(
        lambda: env.json("connections", "list"),
        lambda: env.fails("connections", "enable", "No-Such-Connection", "--app", spa["client_id"]),
    )
    listed = {c["name"]: c for c in connections}
    assert spa["client_id"] in listed[DATABASE_CONNECTION]["enabled_clients"]
    assert unknown.startswith("error: ")


def test_users_create_list_show(cli: tuple[TetherEnv, dict[str, Any]]) -> None:
    env, _ = cli
    password = "a perfectly long cli password"
    created = env.run(
        "users", "create", "--email", "Ann@Example.com", "--password", password, "--json"
    )
    assert password not in created.stdout + created.stderr
    user = created.json()
    assert user["user_id"].startswith("auth0|")
    assert user["email"] == "ann@example.com"
    assert user["email_verified"] is False
    assert user["identities"][0]["connection"] == DATABASE_CONNECTION

    listed, shown, duplicate, weak = parallel(
        lambda: env.json("users", "list"),
        lambda: env.json("users", "show", user["user_id"]),
        lambda: env.fails("users", "create", "--email", "ann@example.com", "--password", password),
        lambda: env.fails("users", "create", "--email", "bob@example.com", "--password", "123"),
    )
    assert [u["user_id"] for u in listed if u["email"] == "ann@example.com"] == [user["user_id"]]
    assert shown["user_id"] == user["user_id"] and shown["email"] == "ann@example.com"
    assert duplicate.startswith("error: ") and password not in duplicate
    assert weak.startswith("error: ") and "password" in weak.lower()


def test_keys_list_and_rotate(cli: tuple[TetherEnv, dict[str, Any]]) -> None:
    env, _ = cli
    before = {k["state"]: k for k in env.json("keys", "list")}
    assert set(before) == {"current", "next"}
    assert all(k["alg"] == "RS256" for k in before.values())

    rotated = {k["state"]: k for k in env.json("keys", "rotate")}
    assert set(rotated) == {"previous", "current", "next"}
    assert rotated["previous"]["kid"] == before["current"]["kid"]
    assert rotated["current"]["kid"] == before["next"]["kid"]
    assert rotated["next"]["kid"] not in {k["kid"] for k in before.values()}
    assert rotated["current"]["rotated_at"]

    table = env.run("keys", "list").stdout
    for state in ("previous", "current", "next"):
        assert rotated[state]["kid"] in table


def test_tenants_create_and_list(cli: tuple[TetherEnv, dict[str, Any]]) -> None:
    env, init = cli
    created = env.json("tenants", "create", "acme", "--public-url", acme_url(env.port))
    assert created["name"] == "acme"
    assert created["issuer"] == acme_url(env.port) + "/"
    assert created["default"] is False

    tenants, acme_apps, duplicate, bad_url, unknown = parallel(
        lambda: env.json("tenants", "list"),
        lambda: env.json("apps", "list", "--tenant", "acme"),
        lambda: env.fails("tenants", "create", "acme", "--public-url", "http://o.localhost"),
        lambda: env.fails("tenants", "create", "beta", "--public-url", "ftp://b.localhost"),
        lambda: env.fails("apps", "list", "--tenant", "no-such-tenant"),
    )
    by_name = {t["name"]: t for t in tenants}
    assert set(by_name) == {"default", "acme"}
    assert by_name["default"]["issuer"] == init["issuer"] and by_name["default"]["default"]
    assert acme_apps == []  # (its own keys and issuer: test_auth0_python.py, by Host)
    assert "acme" in duplicate
    assert "public_url" in bad_url
    assert unknown.startswith("error: ")
