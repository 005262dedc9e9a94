"""auth0-python's management clients, unchanged, against a live ``tether serve``.

- 4.x (the last hand-written SDK): ``Users`` and ``UsersByEmail`` with ``protocol="http"``, and
  the seed's linking flow (Database.signup, GetToken.login, link_user_account with
  ``link_with``, unlink_user_account, then the server-side form with a machine token). Run from
  .venv-sdk4 by sdk4_client.py.
- 5.x and 6.x (Fern-generated): ``auth0.management.Auth0(base_url=..., token=...)``, whose
  ``users.list`` always parses the ``include_totals`` envelope. 5.x (from .venv-sdk5) sends path
  ids raw (``/users/auth0|abc``), 6.x (this virtualenv) percent-encodes them; both run
  sdk5_client.py.

Each script makes every call and prints what the SDK returned; the assertions are here. On
PostgreSQL the server runs on a fresh database (tests/e2e/conftest.py's ``tether_env``).
"""

from __future__ import annotations

import json
import re
import secrets
import socket
from typing import Any

import httpx
import pytest

from tests.management_sdk.conftest import MAIN_PYTHON, SDK4, SDK5, Live, run_sdk
from tests.management_sdk.support import BROKEN_IDS

pytestmark = pytest.mark.e2e

ISO_MS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def ok(out: dict[str, Any], step: str) -> Any:
    """What the SDK returned for ``step``; fails with the SDK's error when the call failed."""
    assert step in out, f"{step}: the client script never got there ({sorted(out)})"
    result = out[step]
    assert "ok" in result, f"{step} failed in the SDK: {result['error']}"
    return result["ok"]


def error(out: dict[str, Any], step: str) -> dict[str, Any]:
    assert step in out, f"{step}: the client script never got there"
    result = out[step]
    assert "error" in result, f"{step} should have failed, the SDK returned {result['ok']!r}"
    value: dict[str, Any] = result["error"]
    return value


def identity_ids(identities: list[dict[str, Any]]) -> list[str]:
    return [f"{i['provider']}|{i['user_id']}" for i in identities]


def check_linked(identities: list[dict[str, Any]], primary: str, secondary: str, email: str):
    """Index 0 is the primary, without profileData; the secondary carries its profile."""
    assert identity_ids(identities) == [primary, secondary], identities
    assert "profileData" not in identities[0], identities[0]
    assert identities[1]["profileData"]["email"] == email, identities[1]
    assert identities[1]["connection"] == "Username-Password-Authentication"
    assert identities[1]["isSocial"] is False


# -- auth0-python 4.x ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk4_out(live: Live) -> dict[str, Any]:
    if not SDK4.ready():
        return {}
    out = run_sdk(SDK4.python, "sdk4_client.py", live.config(secrets.token_hex(4)))
    assert out["sdk_version"].startswith("4."), out["sdk_version"]
    return out


def test_sdk4_users_crud_search_and_logs(sdk4_out: dict[str, Any]) -> None:
    SDK4.check()
    out = sdk4_out
    created = ok(out, "create")
    uid, email = created["user_id"], created["email"]
    assert uid.startswith("auth0|") and email.startswith("sdk4-")
    assert created["email_verified"] is True
    assert created["given_name"] == "Ada"
    assert created["user_metadata"] == {"plan": "free", "theme": "dark"}
    assert created["app_metadata"] == {"tier": 1}
    assert created["identities"] == [
        {
            "connection": "Username-Password-Authentication",
            "provider": "auth0",
            "user_id": uid.split("|", 1)[1],
            "isSocial": False,
        }
    ]
    for field in ("created_at", "updated_at"):
        assert re.match(ISO_MS, created[field]), created[field]
    assert "password" not in created

    assert ok(out, "get") == created
    assert ok(out, "get_fields") == {"user_id": uid, "email": email}

    # list() sends per_page=25, page=0, include_totals=true, include_fields=true: the envelope.
    page = ok(out, "list_default")
    assert set(page) == {"start", "limit", "length", "total", "users"}, page
    assert (page["start"], page["limit"]) == (0, 25)
    assert page["length"] == len(page["users"]) <= page["total"]
    assert uid in [u["user_id"] for u in page["users"]]

    found = ok(out, "list_q")
    assert found["total"] == 1 and [u["user_id"] for u in found["users"]] == [uid]
    bare = ok(out, "list_bare")
    assert isinstance(bare, list) and uid in [u["user_id"] for u in bare]
    assert ok(out, "list_fields")["users"] == [{"user_id": uid, "email": email}]
    sorted_page = ok(out, "list_sorted")
    assert sorted_page["limit"] == 2 and sorted_page["length"] <= 2
    dates = [u["created_at"] for u in sorted_page["users"]]
    assert dates == sorted(dates, reverse=True)

    # PATCH merges metadata at the first level; null deletes a key.
    updated = ok(out, "update")
    assert updated["user_metadata"] == {"plan": "pro"}
    assert updated["name"] == "Ada Lovelace"
    assert updated["updated_at"] >= created["updated_at"]

    # users-by-email: a bare array, exact and case-insensitive.
    assert [u["user_id"] for u in ok(out, "by_email")] == [uid]
    assert ok(out, "by_email_fields") == [{"user_id": uid}]

    # get_log_events sends include_totals=false: a bare array; with totals the envelope.
    logs = ok(out, "logs")
    assert isinstance(logs, list) and logs
    assert {e["type"] for e in logs} <= {"sapi", "fapi"}
    assert all(e["user_id"] == uid for e in logs)
    assert "Update a user" in [e.get("description") for e in logs]
    paged = ok(out, "logs_totals")
    assert set(paged) == {"start", "limit", "length", "total", "logs"}
    assert paged["limit"] == 2 and paged["length"] == len(paged["logs"]) <= 2
    assert paged["total"] >= len(logs) >= 2

    # delete() expects 204 and returns "" for the empty body.
    assert ok(out, "delete") == ""
    for step in ("get_deleted", "delete_again"):
        assert error(out, step) == {
            "type": "Auth0Error",
            "status": 404,
            "code": "inexistent_user",
            "message": "The user does not exist.",
        }
    bad = error(out, "list_bad_per_page")
    assert (bad["status"], bad["code"]) == (400, "invalid_query_string"), bad
    assert "per_page" in bad["message"]


def test_sdk4_email_verification_job_and_ticket(sdk4_out: dict[str, Any]) -> None:
    """auth0-python 4.x's ``Jobs.send_verification_email`` and
    ``Tickets.create_email_verification`` (issue 16) read Tether's answers as Auth0's."""
    SDK4.check()
    out = sdk4_out
    job = ok(out, "verification_job")
    assert job["type"] == "verification_email" and job["status"] == "completed"
    assert ok(out, "verification_job_get") == job
    unknown = error(out, "verification_job_unknown")
    assert (unknown["status"], unknown["code"]) == (404, "inexistent_user"), unknown
    ticket = ok(out, "verification_ticket")
    assert set(ticket) == {"ticket"} and "/lo/verify_email?ticket=" in ticket["ticket"]


def test_sdk4_seed_linking_flow(sdk4_out: dict[str, Any]) -> None:
    SDK4.check()
    out = sdk4_out
    primary, secondary = out["people"]["primary"], out["people"]["secondary"]
    pid, sid = primary["user_id"], secondary["user_id"]
    for role in ("primary", "secondary"):
        assert ok(out, f"signup_{role}")["email"] == out["people"][role]["email"]
        assert ok(out, f"login_{role}")["id_token"]
    # The user token got what it asked for from the Management API's user scopes.
    assert set(out["user_token_scope"].split()) == {
        "openid",
        "read:current_user",
        "update:current_user_identities",
        "update:current_user_metadata",
    }
    before = ok(out, "secondary_before_link")
    assert before["user_metadata"] == {"color": "blue"}

    # A user token reads and updates its own user, no one else, and lists nobody.
    assert ok(out, "user_get_self")["user_id"] == pid
    assert error(out, "user_get_other") == {
        "type": "Auth0Error",
        "status": 403,
        "code": "unowned_resource",
        "message": "User to be acted on does not match subject in bearer token.",
    }
    assert ok(out, "user_update_self")["user_metadata"] == {"role": "primary", "lang": "fr"}
    denied = error(out, "user_list")
    assert (denied["status"], denied["code"]) == (403, "insufficient_scope")
    assert "read:users" in denied["message"]

    # link_user_account(primary, {"link_with": <secondary's ID token>}): 201, the identities.
    linked = ok(out, "link_with")
    check_linked(linked, pid, sid, secondary["email"])
    assert linked[1]["profileData"]["name"] == "The secondary"
    got = ok(out, "linked_get")
    check_linked(got["identities"], pid, sid, secondary["email"])
    assert got["user_metadata"] == {"role": "primary", "lang": "fr"}  # discard: unchanged
    assert error(out, "linked_secondary_gone")["code"] == "inexistent_user"
    assert ok(out, "linked_search")["users"] == []
    again = error(out, "link_with_again")
    assert again["status"] in (400, 409), again
    removed = error(out, "unlink_primary_identity")
    assert (removed["status"], removed["message"]) == (400, "Main identity cannot be removed.")

    # unlink_user_account: 200 with what is left; the secondary is a user again, and (unlike
    # Auth0) with its own user_metadata and profile.
    assert identity_ids(ok(out, "unlink")) == [pid]
    restored = ok(out, "unlinked_secondary")
    assert restored["user_id"] == sid
    assert restored["email"] == secondary["email"]
    assert restored["name"] == "The secondary"
    assert restored["user_metadata"] == {"color": "blue"}
    assert restored["created_at"] == before["created_at"]
    for field in ("logins_count", "last_login", "last_ip"):
        assert restored.get(field) == before.get(field), (field, restored, before)
    assert identity_ids(restored["identities"]) == [sid]
    assert identity_ids(ok(out, "unlinked_primary")["identities"]) == [pid]
    assert error(out, "unlink_again")["status"] == 404

    # Server-side with a machine token: {"provider": "auth0", "user_id": "<id>"}.
    check_linked(ok(out, "server_link"), pid, sid, secondary["email"])
    check_linked(ok(out, "server_linked_get")["identities"], pid, sid, secondary["email"])
    assert error(out, "server_linked_secondary_gone")["status"] == 404
    assert identity_ids(ok(out, "server_unlink")) == [pid]
    assert ok(out, "server_unlinked_secondary")["user_metadata"] == {"color": "blue"}

    # Every link and unlink is in the primary's log, with who did it.
    events = ok(out, "primary_logs")
    described = [e.get("description") for e in events]
    assert described.count("Link an identity") == 2, described
    assert described.count("Unlink an identity") == 2, described
    # A user names no second account: it proves it owns one with its ID token.
    by_name = error(out, "user_link_by_name")
    assert (by_name["status"], by_name["code"]) == (403, "insufficient_scope"), by_name


# -- auth0-python 5.x and 6.x (Fern) ------------------------------------------------------


@pytest.fixture(scope="module", params=["5", "6"])
def fern_out(request: pytest.FixtureRequest, live: Live) -> Any:
    major = request.param
    if major == "5":
        if not SDK5.ready():
            return major, {}
        python = SDK5.python
    else:
        python = MAIN_PYTHON
    out = run_sdk(python, "sdk5_client.py", live.config(secrets.token_hex(4)))
    assert out["sdk_version"].split(".")[0] == major, out["sdk_version"]
    return major, out


def _fern(fern_out: Any) -> dict[str, Any]:
    major, out = fern_out
    if major == "5":
        SDK5.check()
    assert isinstance(out, dict)
    return out


DATES = {"created_at": "datetime", "updated_at": "datetime", "last_login": "NoneType"}


def test_fern_client_users(fern_out: Any) -> None:
    out = _fern(fern_out)
    major = fern_out[0]
    created = ok(out, "create")
    uid = created["user_id"]
    assert created["email"].startswith(f"sdk{major}-")
    assert created["user_metadata"] == {"plan": "free", "theme": "dark"}
    assert out["create"]["types"] == DATES  # ISO-8601 with milliseconds parses as datetime
    assert ok(out, "get")["user_id"] == uid
    assert out["get"]["types"] == DATES
    assert ok(out, "get_fields") == {"user_id": uid, "email": created["email"]}

    # users.list() parses the {start, limit, length, total, users} envelope.
    listed = ok(out, "list")
    assert [u["user_id"] for u in listed["items"]] == [uid] and listed["total"] == 1
    assert listed["types"] == [DATES]
    # The pager walks per_page=1 pages until an empty one: every user once, in order.
    walked = ok(out, "list_all_pages")
    assert uid in walked["ids"]
    assert len(walked["ids"]) == len(set(walked["ids"])) == walked["total"]

    updated = ok(out, "update")
    assert updated["user_metadata"] == {"plan": "pro"}
    assert updated["name"] == "Grace Hopper"
    assert [u["user_id"] for u in ok(out, "by_email")] == [uid]
    logs = ok(out, "logs")
    assert logs["items"] and all(e["user_id"] == uid for e in logs["items"])
    assert logs["total"] >= len(logs["items"])

    assert ok(out, "delete") is None
    gone = error(out, "get_deleted")
    assert gone["type"] == "NotFoundError"
    assert gone["body"] == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    bad = error(out, "list_bad_per_page")
    assert bad["type"] == "BadRequestError" and bad["body"]["statusCode"] == 400


def test_fern_client_linking(fern_out: Any) -> None:
    out = _fern(fern_out)
    major = fern_out[0]
    pid = out["people"]["primary"]["user_id"]
    sid = out["people"]["secondary"]["user_id"]
    semail = out["people"]["secondary"]["email"]
    assert ok(out, "user_get_self")["user_id"] == pid
    other = error(out, "user_get_other")
    assert other["type"] == "ForbiddenError"
    assert other["body"]["errorCode"] == "unowned_resource"

    check_linked(ok(out, "link_with"), pid, sid, semail)
    check_linked(ok(out, "linked_get")["identities"], pid, sid, semail)
    assert error(out, "linked_secondary_gone")["type"] == "NotFoundError"
    assert identity_ids(ok(out, "unlink")) == [pid]
    assert ok(out, "unlinked_secondary")["user_metadata"] == {"color": "green"}
    check_linked(ok(out, "server_link"), pid, sid, semail)
    check_linked(ok(out, "server_linked_get")["identities"], pid, sid, semail)
    assert identity_ids(ok(out, "server_unlink")) == [pid]
    assert ok(out, "server_unlinked_secondary")["user_metadata"] == {"color": "green"}
    assert ok(out, "delete_primary") is None

    # What went over the wire: 5.x puts the id in the path as it is, 6.x percent-encodes it.
    quoted = pid.replace("|", "%7C")
    paths = [line.split(" ", 1)[1].split("?")[0] for line in out["sent"]]
    expected = pid if major == "5" else quoted
    assert f"/api/v2/users/{expected}/identities" in paths, paths
    raw_id = sid.split("|", 1)[1]
    assert f"/api/v2/users/{expected}/identities/auth0/{raw_id}" in paths, paths


# -- the real HTTP server: broken percent-encoding as it arrives on the wire ---------------


def raw(live: Live, method: str, target: str, token: str) -> tuple[int, bytes]:
    """Send ``target`` byte for byte (an HTTP client would re-encode it) and read the answer."""
    request = (
        f"{method} {target} HTTP/1.1\r\nHost: {live.domain}\r\n"
        f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_live_server_answers_broken_ids_without_a_500(live: Live) -> None:
    machine = live.init["management_client"]
    response = httpx.post(
        f"http://127.0.0.1:{live.port}/oauth/token",
        headers={"host": live.domain},
        json={
            "grant_type": "client_credentials",
            "client_id": machine["client_id"],
            "client_secret": machine["client_secret"],
            "audience": live.audience,
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    problems = []
    for broken in (*BROKEN_IDS, "auth0%7Zabc", "auth0|abc", "%%7C", "a%0Ab", "%u0041"):
        for method, target in (
            ("GET", f"/api/v2/users/{broken}"),
            ("DELETE", f"/api/v2/users/{broken}"),
            ("GET", f"/api/v2/users/{broken}/logs"),
            ("DELETE", f"/api/v2/users/auth0%7Cabc/identities/auth0/{broken}"),
            ("GET", f"/api/v2/logs/{broken}"),
            ("GET", f"/api/v2/users-by-email?email={broken}"),
        ):
            status, body = raw(live, method, target, token)
            # Nothing found (an empty list for lookups and log events) or a 4xx; never a 5xx.
            if status >= 500 or (status < 400 and json.loads(body) != []):
                problems.append(f"{method} {target[:80]}: {status} {body[:200]!r}")
            elif status >= 400 and body.startswith(b"{") and "statusCode" not in json.loads(body):
                problems.append(f"{method} {target[:80]}: not Auth0's body {body[:200]!r}")
    assert not problems, "\n".join(problems)
