"""Jobs against a live ``tether serve``: auth0-python's own Jobs clients, unchanged: 6.x
(``jobs.users_imports.create``, ``jobs.get``, ``jobs.errors.get``, ``jobs.users_exports.create``)
and 4.x (``Jobs.import_users``, ``get``, ``get_failed_job``, ``export_users``, from
.venv-sdk4 by sdk4_jobs_client.py), both against one server for the module; and a job
interrupted by SIGKILL that the restarted server finishes (Auth0 Management API v2, "Jobs")."""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from auth0.authentication import GetToken
from auth0.management import Auth0

from tests.e2e.conftest import DATABASE_CONNECTION, TETHER, TetherEnv, tether_env
from tests.management_sdk.conftest import SDK4, run_sdk

pytestmark = pytest.mark.e2e
#: Starting a server takes a second on an idle machine; the shared test machine can be far slower.
START_TIMEOUT = 180.0

PASSWORD = "imported passphrase 1"


def _token(domain: str, machine: dict[str, Any]) -> str:
    tokens = GetToken(
        domain, machine["client_id"], machine["client_secret"], protocol="http"
    ).client_credentials(f"http://{domain}/api/v2/")
    return str(tokens["access_token"])


def _connection_id(base: str, token: str) -> str:
    listed = httpx.get(f"{base}/api/v2/connections", headers={"Authorization": f"Bearer {token}"})
    return str(next(c["id"] for c in listed.json() if c["name"] == DATABASE_CONNECTION))


def _wait(get: Any, done: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"job did not finish: {value}"
        time.sleep(0.2)


@dataclass
class Served:
    """One ``tether serve`` for the module's SDK tests, and what ``tether init`` printed."""

    env: TetherEnv
    init: dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with tether_env(tmp_path_factory.mktemp("jobs-live")) as env:
        env.env["TETHER_MANAGEMENT_RATE_LIMIT"] = "100000/second"
        init = env.json("init")
        with _serving(env):
            yield Served(env, init)


def test_auth0_python_jobs_client(served: Served) -> None:
    env, init = served.env, served.init
    domain, issuer = f"localhost:{env.port}", env.issuer
    token = _token(domain, init["management_client"])
    mgmt = Auth0(base_url=f"http://{domain}/api/v2", token=token, max_retries=0, timeout=30)
    connection_id = _connection_id(f"http://127.0.0.1:{env.port}", token)
    users = [
        {
            "email": "sdk-sha256@example.com",
            "email_verified": True,
            "custom_password_hash": {
                "algorithm": "sha256",
                "hash": {"value": hashlib.sha256(PASSWORD.encode()).hexdigest(), "encoding": "hex"},
            },
            "user_metadata": {"plan": "=cmd|' /C calc'!A0"},
        },
        {"email": "not an email"},
    ]
    created = mgmt.jobs.users_imports.create(
        users=("users.json", json.dumps(users).encode(), "application/json"),
        connection_id=connection_id,
        upsert=False,
        external_id="sdk-import",
    )
    assert created.status == "pending" and created.type == "users_import"
    assert created.connection_id == connection_id and created.external_id == "sdk-import"
    job = _wait(lambda: mgmt.jobs.get(created.id), lambda j: j.status in ("completed", "failed"))
    assert job.status == "completed"
    assert job.summary is not None
    assert (job.summary.total, job.summary.inserted, job.summary.failed) == (2, 1, 1)
    failed = mgmt.jobs.errors.get(created.id)
    assert isinstance(failed, list) and len(failed) == 1
    assert failed[0].user == {"email": "not an email"}
    assert failed[0].errors is not None and failed[0].errors[0].code == "FORMAT"

    # the imported user signs in with the password it had elsewhere (password-realm grant)
    app = init["default_app"]
    signed_in = GetToken(domain, app["client_id"], app["client_secret"], protocol="http").login(
        username="sdk-sha256@example.com",
        password=PASSWORD,
        realm=DATABASE_CONNECTION,
        scope="openid",
    )
    assert signed_in["id_token"]

    export = mgmt.jobs.users_exports.create(
        connection_id=connection_id,
        format="csv",
        fields=[
            {"name": "email", "export_as": "Email"},
            {"name": "user_metadata.plan", "export_as": "Plan"},
        ],
    )
    assert export.type == "users_export" and export.format == "csv"
    done = _wait(lambda: mgmt.jobs.get(export.id), lambda j: j.status == "completed")
    assert done.location and done.location.startswith(issuer)
    rows = list(csv.reader(io.StringIO(gzip.decompress(httpx.get(done.location).content).decode())))
    assert rows[0] == ["Email", "Plan"]
    assert ["sdk-sha256@example.com", "'=cmd|' /C calc'!A0"] in rows[1:]


def test_auth0_python_4_jobs_client(served: Served) -> None:
    """The 4.x client's method names are the ones Auth0's docs long used: ``import_users``
    (multipart, ``send_completion_email`` true by default), ``get``, ``get_failed_job`` and
    ``export_users``."""
    python = SDK4.check()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    salted = hashlib.sha512(PASSWORD.encode() + b"\x01\x02").hexdigest()
    users = [
        {"email": "sdk4-bcrypt@example.com", "password_hash": hashed, "user_id": "auth0|sdk4-b"},
        {
            "email": "sdk4-sha512@example.com",
            "custom_password_hash": {
                "algorithm": "sha512",
                "hash": {"value": salted, "encoding": "hex"},
                "salt": {"value": "0102", "encoding": "hex", "position": "suffix"},
            },
            "user_metadata": {"from": "sdk4"},
        },
        {"email": "sdk4 is not an email"},
    ]
    config = {
        "domain": f"localhost:{served.env.port}",
        "connection": DATABASE_CONNECTION,
        "app": served.init["default_app"],
        "machine": served.init["management_client"],
        "users": users,
        "password": PASSWORD,
        "tag": "t1",
    }
    out = run_sdk(python, str(Path(__file__).with_name("sdk4_jobs_client.py")), config)
    assert out["sdk_version"].startswith("4."), out["sdk_version"]
    created = out["import_users"]["ok"]
    assert created["type"] == "users_import" and created["status"] == "pending"
    assert created["external_id"] == "sdk4-t1" and created["id"].startswith("job_")
    job = out["get_import"]["ok"]
    assert job["status"] == "completed", job
    assert job["summary"] == {"failed": 1, "updated": 0, "inserted": 2, "total": 3}
    [failed] = out["get_failed_job"]["ok"]
    assert failed["user"] == {"email": "sdk4 is not an email"}
    assert failed["errors"][0]["code"] == "FORMAT" and failed["errors"][0]["path"] == "email"
    for step, status in (
        ("import_bad_connection", 400),
        ("import_not_json", 400),
        ("get_missing", 404),
    ):
        error = out[step]["error"]
        assert (error["type"], error["status"]) == ("Auth0Error", status), (step, error)
        assert error["message"], (step, error)
    export = out["get_export"]["ok"]
    assert export["type"] == "users_export" and export["status"] == "completed", export
    assert export["location"].startswith(served.env.issuer)
    mine = {line["email"]: line for line in out["export_lines"] if "sdk4" in line["email"]}
    assert mine["sdk4-bcrypt@example.com"] == {
        "user_id": "auth0|sdk4-b",  # the prefix a row carried was taken off, then put back once
        "email": "sdk4-bcrypt@example.com",
        "connection": DATABASE_CONNECTION,
        "user_metadata": {},
    }
    assert mine["sdk4-sha512@example.com"]["user_metadata"] == {"from": "sdk4"}
    assert all("password" not in json.dumps(line) for line in out["export_lines"])
    for email in ("sdk4-bcrypt@example.com", "sdk4-sha512@example.com"):
        assert "id_token" in out[f"login_{email}"]["ok"], out[f"login_{email}"]


# -- SIGKILL in the middle of an import ----------------------------------------------------------


@contextlib.contextmanager
def _serving(env: TetherEnv) -> Iterator[subprocess.Popen[bytes]]:
    log = env.data_dir / "serve.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [TETHER, "serve", "--host", "127.0.0.1", "--port", str(env.port)],
            env=env.env,
            cwd=env.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{env.port}/healthz", timeout=1).is_success:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_job_killed_mid_import_is_finished_after_restart(tmp_path: Path) -> None:
    with tether_env(tmp_path) as env:
        env.env["TETHER_MANAGEMENT_RATE_LIMIT"] = "100000/second"
        init = env.json("init")
        base = f"http://127.0.0.1:{env.port}"
        users = [
            {"email": f"k{i:05d}@example.com", "email_verified": i % 2 == 0} for i in range(8000)
        ]
        data = json.dumps(users).encode()
        assert len(data) < 500 * 1024
        with _serving(env) as first:
            token = _token(f"localhost:{env.port}", init["management_client"])
            auth = {"Authorization": f"Bearer {token}"}
            created = httpx.post(
                f"{base}/api/v2/jobs/users-imports",
                data={"connection_id": _connection_id(base, token)},
                files={"users": ("users.json", data, "application/json")},
                headers=auth,
                timeout=30,
            )
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            _wait(
                lambda: httpx.get(f"{base}/api/v2/jobs/{job_id}", headers=auth).json(),
                lambda j: j["status"] != "pending",
                timeout=60,
            )
            first.send_signal(signal.SIGKILL)
            first.wait()
        before = None
        with _serving(env):
            token = _token(f"localhost:{env.port}", init["management_client"])
            auth = {"Authorization": f"Bearer {token}"}
            before = httpx.get(f"{base}/api/v2/jobs/{job_id}", headers=auth).json()
            job = _wait(
                lambda: httpx.get(f"{base}/api/v2/jobs/{job_id}", headers=auth).json(),
                lambda j: j["status"] in ("completed", "failed"),
                timeout=180,
            )
            assert job["status"] == "completed", (before, job)
            assert job["summary"] == {"failed": 0, "updated": 0, "inserted": 8000, "total": 8000}
            listed = httpx.get(
                f"{base}/api/v2/users",
                params={"include_totals": "true", "per_page": 1},
                headers=auth,
            ).json()
            assert listed["total"] == 8000  # every row once: none lost, none twice
            for email in ("k00000@example.com", "k07999@example.com"):
                found = httpx.get(
                    f"{base}/api/v2/users-by-email", params={"email": email}, headers=auth
                )
                assert len(found.json()) == 1
