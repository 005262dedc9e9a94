"""auth0-python 4.x's ``Jobs`` client against a live Tether: run by tests/jobs/test_live.py with
``.venv-sdk4/bin/python`` (4.x cannot share a virtualenv with the 6.x the main one has).

Reads a JSON configuration on stdin ({"domain", "app", "machine", "connection", "users",
"password", "tag"}), makes each call with the SDK's own classes (``protocol="http"``):
``Jobs.import_users``, ``Jobs.get`` until the job ends, ``Jobs.get_failed_job``,
``Jobs.export_users`` and the file at its ``location``, then a password-realm sign-in of an
imported user, and prints one JSON object: for each step ``{"ok": <what the SDK returned>}`` or
``{"error": {"type", "status", "code", "message"}}``. Only the standard library and auth0-python.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import auth0
from auth0.authentication import GetToken
from auth0.exceptions import Auth0Error
from auth0.management import Connections, Jobs
from auth0.rest import RestClientOptions

WAIT_SECONDS = 90.0


def main() -> None:
    config = json.load(sys.stdin)
    domain, connection = config["domain"], config["connection"]
    app, machine = config["app"], config["machine"]
    out: dict[str, Any] = {"sdk_version": auth0.__version__}

    def step(name: str, call: Callable[[], Any]) -> Any:
        try:
            value = call()
        except Auth0Error as exc:
            out[name] = {
                "error": {
                    "type": type(exc).__name__,
                    "status": exc.status_code,
                    "code": exc.error_code,
                    "message": exc.message,
                }
            }
            return None
        except Exception as exc:  # reported to the test, which fails on it
            out[name] = {"error": {"type": type(exc).__name__, "message": str(exc)}}
            return None
        out[name] = {"ok": value}
        return value

    def until_done(name: str, job_id: str) -> Any:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            job = step(name, lambda: jobs.get(job_id))
            if job is None or job["status"] in ("completed", "failed"):
                return job
            if time.monotonic() > deadline:
                out[name] = {"error": {"type": "Timeout", "message": json.dumps(job)}}
                return None
            time.sleep(0.2)

    no_retry = RestClientOptions(retries=0)
    token = GetToken(
        domain, machine["client_id"], machine["client_secret"], protocol="http"
    ).client_credentials(f"http://{domain}/api/v2/")["access_token"]
    jobs = Jobs(domain, token, protocol="http", rest_options=no_retry, timeout=30)
    listed = Connections(domain, token, protocol="http", rest_options=no_retry).all()
    connection_id = next(c["id"] for c in listed if c["name"] == connection)

    users_file = io.BytesIO(json.dumps(config["users"]).encode())
    created = step(
        "import_users",
        lambda: jobs.import_users(
            connection_id, users_file, upsert=False, external_id=f"sdk4-{config['tag']}"
        ),
    )
    if created:
        until_done("get_import", created["id"])
        step("get_failed_job", lambda: jobs.get_failed_job(created["id"]))
    step(
        "import_bad_connection",
        lambda: jobs.import_users("con_doesnotexist", io.BytesIO(b"[]")),
    )
    step("import_not_json", lambda: jobs.import_users(connection_id, io.BytesIO(b"{not json")))
    step("get_missing", lambda: jobs.get("job_doesnotexist"))

    export = step(
        "export_users",
        lambda: jobs.export_users(
            {
                "connection_id": connection_id,
                "format": "json",
                "fields": [
                    {"name": "user_id"},
                    {"name": "email"},
                    {"name": "identities[0].connection", "export_as": "connection"},
                    {"name": "user_metadata"},
                ],
            }
        ),
    )
    if export:
        done = until_done("get_export", export["id"])
        if done and done.get("location"):
            with urllib.request.urlopen(done["location"], timeout=30) as response:  # noqa: S310
                text = gzip.decompress(response.read()).decode()
            out["export_lines"] = [json.loads(line) for line in text.splitlines()]

    login = GetToken(domain, app["client_id"], app["client_secret"], protocol="http")
    for user in config["users"]:
        if "password_hash" in user or "custom_password_hash" in user:
            step(
                f"login_{user['email']}",
                lambda e=user["email"]: sorted(
                    login.login(e, config["password"], realm=connection, scope="openid")
                ),
            )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
