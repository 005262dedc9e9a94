"""auth0-python's Fern-generated management client (5.x and 6.x) against a live Tether: run by
tests/management_sdk/test_live_sdks.py with ``.venv-sdk5/bin/python`` (5.x) and with the main
virtualenv's python (6.x). The two versions differ on the wire: 5.x puts path ids in the URL as
they are (``/users/auth0|abc``), 6.x percent-encodes them (``/users/auth0%7Cabc``).

``auth0.management.Auth0(base_url="http://localhost:P/api/v2", token=...)``: ``base_url``
replaces the ``https://{tenant_domain}/api/v2`` the client would build. Reads the same JSON
configuration as sdk4_client.py on stdin and prints one JSON object, a step per call: either
``{"ok": <the parsed response, as JSON>, "types": {...}}`` or ``{"error": {...}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx
from auth0.authentication import Database, GetToken
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.version import __version__

USER_SCOPE = "openid read:current_user update:current_user_identities update:current_user_metadata"


def plain(value: Any) -> Any:
    """What the SDK returned, as JSON (models by their wire names)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "json"):
        return json.loads(value.json())
    return repr(value)


def user_types(user: Any) -> dict[str, str]:
    """The Python types the SDK parsed the date fields to (5.8+ parses them as datetime)."""
    return {
        name: type(getattr(user, name, None)).__name__
        for name in ("created_at", "updated_at", "last_login")
    }


def main() -> None:
    config = json.load(sys.stdin)
    domain, connection, tag = config["domain"], config["connection"], config["tag"]
    app, machine = config["app"], config["machine"]
    audience = f"http://{domain}/api/v2/"
    base_url = f"http://{domain}/api/v2"
    label = f"sdk{__version__.split('.')[0]}"
    out: dict[str, Any] = {"sdk_version": __version__}
    sent: list[str] = []

    def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.raw_path.decode()}")

    def client(token: str) -> Auth0:
        # max_retries=0: a 429 or 409 must be reported, not retried (the client retries both).
        return Auth0(
            base_url=base_url,
            token=token,
            max_retries=0,
            timeout=30,
            httpx_client=httpx.Client(timeout=30, event_hooks={"request": [record]}),
        )

    def step(name: str, call: Callable[[], Any], types: Callable[[Any], Any] | None = None) -> Any:
        try:
            value = call()
        except ApiError as exc:
            out[name] = {
                "error": {"type": type(exc).__name__, "status": exc.status_code, "body": exc.body}
            }
            return None
        except Exception as exc:  # reported to the test, which fails on it
            out[name] = {"error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}
            return None
        out[name] = {"ok": plain(value)}
        if types is not None:
            out[name]["types"] = types(value)
        return value

    tokens = GetToken(
        domain, machine["client_id"], machine["client_secret"], protocol="http"
    ).client_credentials(audience)
    mgmt = client(tokens["access_token"])

    # -- users: create, get, list (envelope, pages), update, users-by-email, logs, delete -----
    email = f"{label}-{tag}@example.com"
    created = step(
        "create",
        lambda: mgmt.users.create(
            connection=connection,
            email=email,
            password=f"{label} password {tag} long enough",
            email_verified=True,
            given_name="Grace",
            user_metadata={"plan": "free", "theme": "dark"},
            app_metadata={"tier": 1},
        ),
        user_types,
    )
    uid = created.user_id if created else "auth0|missing"
    step("get", lambda: mgmt.users.get(uid), user_types)
    step("get_fields", lambda: mgmt.users.get(uid, fields="user_id,email", include_fields=True))

    def first_page() -> dict[str, Any]:
        pager = mgmt.users.list(q=f'email:"{email}"', search_engine="v3")
        return {
            "items": plain(pager.items),
            "total": pager.response.total,
            "types": [user_types(u) for u in pager.items or []],
        }

    step("list", first_page)

    def every_page() -> dict[str, Any]:
        # per_page=1 over the tenant's users: the pager walks page after page until one is empty.
        pager = mgmt.users.list(per_page=1, sort="created_at:1")
        ids = [u.user_id for u in pager]
        return {"ids": ids, "total": pager.response.total}

    step("list_all_pages", every_page)
    step(
        "update",
        lambda: mgmt.users.update(
            uid, user_metadata={"plan": "pro", "theme": None}, name="Grace Hopper"
        ),
        user_types,
    )
    step("by_email", lambda: mgmt.users.list_users_by_email(email=email.upper()))

    def logs() -> dict[str, Any]:
        pager = mgmt.users.logs.list(uid, per_page=2)
        return {"items": plain(pager.items), "total": pager.response.total}

    step("logs", logs)
    step("delete", lambda: mgmt.users.delete(uid))
    step("get_deleted", lambda: mgmt.users.get(uid))
    step("list_bad_per_page", lambda: mgmt.users.list(per_page=101).items)

    # -- linking: user-initiated (link_with), then server-side (provider + user_id) ----------
    db = Database(domain, app["client_id"], protocol="http")
    login = GetToken(domain, app["client_id"], app["client_secret"], protocol="http")
    people: dict[str, dict[str, str]] = {}
    for role, metadata in (("primary", {"role": "primary"}), ("secondary", {"color": "green"})):
        who_email = f"{label}-{role}-{tag}@example.com"
        password = f"{label} {role} password {tag}"
        signed = step(
            f"signup_{role}",
            lambda e=who_email, p=password, m=metadata: db.signup(
                email=e, password=p, connection=connection, user_metadata=m
            ),
        )
        tokens_ = step(
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
            "id_token": tokens_["id_token"] if tokens_ else "",
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
    as_primary = client(user_tokens["access_token"] if user_tokens else "none")

    step("secondary_before_link", lambda: mgmt.users.get(secondary["user_id"]))
    step("user_get_self", lambda: as_primary.users.get(primary["user_id"]), user_types)
    step("user_get_other", lambda: as_primary.users.get(secondary["user_id"]))
    step(
        "link_with",
        lambda: as_primary.users.identities.link(
            primary["user_id"], link_with=secondary["id_token"]
        ),
    )
    step("linked_get", lambda: as_primary.users.get(primary["user_id"]))
    step("linked_secondary_gone", lambda: mgmt.users.get(secondary["user_id"]))
    step(
        "unlink",
        lambda: as_primary.users.identities.delete(
            primary["user_id"], "auth0", secondary["raw_id"]
        ),
    )
    step("unlinked_secondary", lambda: mgmt.users.get(secondary["user_id"]))
    step(
        "server_link",
        lambda: mgmt.users.identities.link(
            primary["user_id"], provider="auth0", user_id=secondary["raw_id"]
        ),
    )
    step("server_linked_get", lambda: mgmt.users.get(primary["user_id"]))
    step(
        "server_unlink",
        lambda: mgmt.users.identities.delete(primary["user_id"], "auth0", secondary["raw_id"]),
    )
    step("server_unlinked_secondary", lambda: mgmt.users.get(secondary["user_id"]))
    step("delete_primary", lambda: mgmt.users.delete(primary["user_id"]))
    out["sent"] = sent
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
