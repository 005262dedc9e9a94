"""auth0-python 4.x against a live Tether: run by tests/management_sdk/test_live_sdks.py with
``.venv-sdk4/bin/python`` (4.x cannot share a virtualenv with the 6.x the main one has).

Reads a JSON configuration on stdin ({"domain", "app": {client_id, client_secret}, "machine":
{...}, "connection", "tag"}), makes every call with the SDK's own classes (``protocol="http"``),
and prints one JSON object: for each step either ``{"ok": <what the SDK returned>}`` or
``{"error": {"type", "status", "code", "message"}}``. It never stops at a failed step, so the
pytest side can say exactly which call broke. Only the standard library and auth0-python here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import auth0
from auth0.authentication import Database, GetToken
from auth0.exceptions import Auth0Error
from auth0.management import Jobs, Tickets, Users, UsersByEmail
from auth0.rest import RestClientOptions

USER_SCOPE = "openid read:current_user update:current_user_identities update:current_user_metadata"


def main() -> None:
    config = json.load(sys.stdin)
    domain, connection, tag = config["domain"], config["connection"], config["tag"]
    app, machine = config["app"], config["machine"]
    audience = f"http://{domain}/api/v2/"
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

    # No retries on 429: a rate limit must show up as a failure, not as a slow test.
    no_retry = RestClientOptions(retries=0)
    tokens = GetToken(
        domain, machine["client_id"], machine["client_secret"], protocol="http"
    ).client_credentials(audience)
    machine_token = tokens["access_token"]
    users = Users(domain, machine_token, protocol="http", rest_options=no_retry)
    by_email = UsersByEmail(domain, machine_token, protocol="http", rest_options=no_retry)

    # -- Users: create, get, list, update, users-by-email, log events, delete --------------
    email = f"sdk4-{tag}@example.com"
    created = step(
        "create",
        lambda: users.create(
            {
                "connection": connection,
                "email": email,
                "password": f"sdk4 password {tag} long enough",
                "email_verified": True,
                "given_name": "Ada",
                "user_metadata": {"plan": "free", "theme": "dark"},
                "app_metadata": {"tier": 1},
            }
        ),
    )
    uid = created["user_id"] if created else "auth0|missing"
    step("get", lambda: users.get(uid))
    step("get_fields", lambda: users.get(uid, fields=["user_id", "email"]))
    step("list_default", lambda: users.list())
    step("list_q", lambda: users.list(q=f'email:"{email}"', search_engine="v3"))
    step("list_bare", lambda: users.list(include_totals=False, per_page=100))
    step(
        "list_fields",
        lambda: users.list(q=f'email:"{email}"', search_engine="v3", fields=["user_id", "email"]),
    )
    step("list_sorted", lambda: users.list(sort="created_at:-1", per_page=2, page=0))
    step(
        "update",
        lambda: users.update(
            uid, {"user_metadata": {"plan": "pro", "theme": None}, "name": "Ada Lovelace"}
        ),
    )
    step("by_email", lambda: by_email.search_users_by_email(email.upper()))
    step("by_email_fields", lambda: by_email.search_users_by_email(email, fields=["user_id"]))
    step("logs", lambda: users.get_log_events(uid))
    step("logs_totals", lambda: users.get_log_events(uid, include_totals=True, per_page=2))
    step("delete", lambda: users.delete(uid))
    step("get_deleted", lambda: users.get(uid))
    step("delete_again", lambda: users.delete(uid))
    step("list_bad_per_page", lambda: users.list(per_page=101))

    # -- The seed's linking flow -------------------------------------------------------------
    db = Database(domain, app["client_id"], protocol="http")
    login = GetToken(domain, app["client_id"], app["client_secret"], protocol="http")
    people: dict[str, dict[str, str]] = {}
    for role, metadata in (("primary", {"role": "primary"}), ("secondary", {"color": "blue"})):
        who_email = f"sdk4-{role}-{tag}@example.com"
        password = f"sdk4 {role} password {tag}"
        signed = step(
            f"signup_{role}",
            lambda e=who_email, p=password, m=metadata, n=f"The {role}": db.signup(
                email=e, password=p, connection=connection, user_metadata=m, name=n
            ),
        )
        id_token = step(
            f"login_{role}",
            lambda e=who_email, p=password: login.login(
                e, p, realm=connection, scope="openid profile email"
            ),
        )
        people[role] = {
            "email": who_email,
            "password": password,
            "raw_id": signed["_id"] if signed else "missing",
            "user_id": f"auth0|{signed['_id']}" if signed else "auth0|missing",
            "id_token": id_token["id_token"] if id_token else "",
        }
    primary, secondary = people["primary"], people["secondary"]
    out["people"] = {r: {"user_id": p["user_id"], "email": p["email"]} for r, p in people.items()}
    user_tokens = step(
        "login_primary_api",
        lambda: login.login(
            primary["email"],
            primary["password"],
            realm=connection,
            audience=audience,
            scope=USER_SCOPE,
        ),
    )
    as_primary = Users(
        domain,
        user_tokens["access_token"] if user_tokens else "",
        protocol="http",
        rest_options=no_retry,
    )
    out["user_token_scope"] = user_tokens.get("scope") if user_tokens else None

    step("secondary_before_link", lambda: users.get(secondary["user_id"]))
    step("user_get_self", lambda: as_primary.get(primary["user_id"]))
    step("user_get_other", lambda: as_primary.get(secondary["user_id"]))
    step(
        "user_update_self",
        lambda: as_primary.update(primary["user_id"], {"user_metadata": {"lang": "fr"}}),
    )
    step("user_list", lambda: as_primary.list())
    step(
        "link_with",
        lambda: as_primary.link_user_account(
            primary["user_id"], {"link_with": secondary["id_token"]}
        ),
    )
    step("linked_get", lambda: as_primary.get(primary["user_id"]))
    step("linked_secondary_gone", lambda: users.get(secondary["user_id"]))
    step("linked_search", lambda: users.list(q=f'email:"{secondary["email"]}"'))
    step(
        "link_with_again",
        lambda: as_primary.link_user_account(
            primary["user_id"], {"link_with": secondary["id_token"]}
        ),
    )
    step(
        "unlink_primary_identity",
        lambda: as_primary.unlink_user_account(primary["user_id"], "auth0", primary["raw_id"]),
    )
    step(
        "unlink",
        lambda: as_primary.unlink_user_account(primary["user_id"], "auth0", secondary["raw_id"]),
    )
    step("unlinked_secondary", lambda: users.get(secondary["user_id"]))
    step("unlinked_primary", lambda: users.get(primary["user_id"]))
    step(
        "unlink_again",
        lambda: as_primary.unlink_user_account(primary["user_id"], "auth0", secondary["raw_id"]),
    )

    # Server-side: a machine token names the secondary by provider and user_id.
    step(
        "server_link",
        lambda: users.link_user_account(
            primary["user_id"], {"provider": "auth0", "user_id": secondary["raw_id"]}
        ),
    )
    step("server_linked_get", lambda: users.get(primary["user_id"]))
    step("server_linked_secondary_gone", lambda: users.get(secondary["user_id"]))
    step(
        "server_unlink",
        lambda: users.unlink_user_account(primary["user_id"], "auth0", secondary["raw_id"]),
    )
    step("server_unlinked_secondary", lambda: users.get(secondary["user_id"]))
    step("primary_logs", lambda: users.get_log_events(primary["user_id"], per_page=100))
    step(
        "user_link_by_name",
        lambda: as_primary.link_user_account(
            primary["user_id"], {"provider": "auth0", "user_id": secondary["raw_id"]}
        ),
    )

    # -- Email verification (issue 16): Jobs.send_verification_email, Tickets ---------------
    jobs = Jobs(domain, machine_token, protocol="http", rest_options=no_retry)
    tickets = Tickets(domain, machine_token, protocol="http", rest_options=no_retry)
    job = step(
        "verification_job", lambda: jobs.send_verification_email({"user_id": primary["user_id"]})
    )
    step("verification_job_get", lambda: jobs.get(job["id"] if job else "job_missing"))
    step(
        "verification_job_unknown",
        lambda: jobs.send_verification_email({"user_id": "auth0|nobody-at-all"}),
    )
    step(
        "verification_ticket",
        lambda: tickets.create_email_verification(
            {
                "user_id": primary["user_id"],
                "result_url": "https://app.example.com/verified",
                "ttl_sec": 3600,
            }
        ),
    )

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
