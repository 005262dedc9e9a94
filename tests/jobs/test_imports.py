"""POST /api/v2/jobs/users-imports, GET /api/v2/jobs/{id} and /errors (Auth0 Management API v2,
"Jobs"; "Bulk User Import Database Schema and Examples"): imported users sign in with their
original passwords and are rehashed, bad rows are reported and good rows kept, upsert, limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import bcrypt
import httpx
import pytest

from tests.conftest import World
from tests.jobs.conftest import import_and_run, post_import, run_jobs
from tests.management.conftest import assert_error, machine_token
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.errors import InvalidCredentials
from tether.domain.md4 import MD4
from tether.domain.models import Connection

PASSWORD = "the original passphrase"
SALT = "pepper-and-salt"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def custom_hashes() -> dict[str, dict[str, Any]]:
    """One custom_password_hash per algorithm, each made by the reference library."""
    pw = PASSWORD.encode()
    pbkdf2 = hashlib.pbkdf2_hmac("sha256", pw, b"NaClNaCl", 1000, 32)
    scrypt = hashlib.scrypt(pw, salt=SALT.encode(), n=1024, r=8, p=1, dklen=32)
    ssha = hashlib.sha1(pw + b"ldapsalt").digest() + b"ldapsalt"  # noqa: S324 (a legacy hash)
    from argon2 import PasswordHasher as Argon2
    from argon2 import Type

    return {
        "argon2": {
            "algorithm": "argon2",
            "hash": {"value": Argon2(time_cost=1, memory_cost=1024, type=Type.I).hash(PASSWORD)},
        },
        "bcrypt": {
            "algorithm": "bcrypt",
            "hash": {"value": bcrypt.hashpw(pw, bcrypt.gensalt(rounds=4)).decode()},
        },
        "pbkdf2": {
            "algorithm": "pbkdf2",
            "hash": {
                "value": f"$pbkdf2-sha256$i=1000,l=32${_b64(b'NaClNaCl').rstrip('=')}"
                f"${_b64(pbkdf2).rstrip('=')}",
                "encoding": "utf8",
            },
        },
        "md5": {
            "algorithm": "md5",
            "hash": {"value": hashlib.md5(pw + SALT.encode()).hexdigest(), "encoding": "hex"},  # noqa: S324
            "salt": {"value": SALT, "position": "suffix"},
        },
        "md4": {  # an NT hash: MD4 of the UTF-16LE password (md4.py, RFC 1320's vectors pass)
            "algorithm": "md4",
            "hash": {"value": MD4(PASSWORD.encode("utf-16-le")).hexdigest()},
            "password": {"encoding": "utf16le"},
        },
        "sha1": {
            "algorithm": "sha1",
            "hash": {
                "value": _b64(hashlib.sha1(SALT.encode() + pw).digest()),  # noqa: S324
                "encoding": "base64",
            },
            "salt": {"value": SALT, "position": "prefix"},
        },
        "sha256": {
            "algorithm": "sha256",
            "hash": {"value": hashlib.sha256(pw).hexdigest(), "encoding": "hex"},
        },
        "sha512": {
            "algorithm": "sha512",
            "hash": {"value": hashlib.sha512(pw + b"\x01\x02").hexdigest(), "encoding": "hex"},
            "salt": {"value": "0102", "encoding": "hex", "position": "suffix"},
        },
        "hmac": {
            "algorithm": "hmac",
            "hash": {
                "value": hmac.new(b"secret-key", pw, "sha256").hexdigest(),
                "encoding": "hex",
                "digest": "sha256",
                "key": {"value": "secret-key", "encoding": "utf8"},
            },
        },
        "ldap": {"algorithm": "ldap", "hash": {"value": "{SSHA}" + _b64(ssha)}},
        "scrypt": {
            "algorithm": "scrypt",
            "hash": {"value": scrypt.hex(), "encoding": "hex"},
            "salt": {"value": SALT},
            "keylen": 32,
            "cost": 1024,
        },
    }


async def stored_hash(world: World, connection: Connection, email: str) -> str:
    async with world.container.uow() as uow:
        credential = await uow.credentials.by_email(world.tenant.id, connection.id, email)
    assert credential is not None
    return credential.password_hash


async def sign_in(world: World, email: str, password: str = PASSWORD) -> None:
    c = world.container
    app = await c.applications.get(world.tenant, world.app.client_id)
    await c.users.authenticate(world.tenant, app, None, email, password)


async def test_every_algorithm_signs_in_with_the_original_password_and_is_rehashed(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    hashes = custom_hashes()
    users: list[dict[str, Any]] = [
        {"email": f"{name}@example.com", "custom_password_hash": spec}
        for name, spec in hashes.items()
    ]
    users.append(
        {
            "email": "plain-bcrypt@example.com",
            "password_hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode(),
            "email_verified": True,
            "given_name": "Ada",
            "user_metadata": {"theme": "dark"},
            "app_metadata": {"plan": "pro"},
        }
    )
    job = await import_and_run(api, world, database.id, users)
    assert job["status"] == "completed", job
    assert job["summary"] == {
        "failed": 0,
        "updated": 0,
        "inserted": len(users),
        "total": len(users),
    }
    assert job["type"] == "users_import" and job["connection_id"] == database.id
    for user in users:
        email = user["email"]
        with pytest.raises(InvalidCredentials):
            await sign_in(world, email, PASSWORD + "!")
        await sign_in(world, email)
        assert (await stored_hash(world, database, email)).startswith("$argon2id$"), email
        await sign_in(world, email)  # and the argon2id hash verifies next time
    # the real password grant too, for one of them
    token = await api.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": DEFAULT_DATABASE,
            "username": "plain-bcrypt@example.com",
            "password": PASSWORD,
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "scope": "openid",
        },
    )
    assert token.status_code == 200, token.text
    listed = await api.get("/api/v2/users-by-email", params={"email": "plain-bcrypt@example.com"})
    [ada] = listed.json()
    assert ada["given_name"] == "Ada" and ada["email_verified"] is True
    assert ada["user_metadata"] == {"theme": "dark"} and ada["app_metadata"] == {"plan": "pro"}
    assert "password" not in json.dumps(ada) and "$2b$" not in json.dumps(ada)


async def test_bad_rows_are_reported_redacted_and_good_rows_kept(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    secret_hash = bcrypt.hashpw(b"whatever", bcrypt.gensalt(rounds=4)).decode()
    users = [
        {"email": "good1@example.com"},
        {"email": "not-an-email", "password_hash": secret_hash},
        {"email": "good2@example.com", "user_id": "legacy-42"},
        {
            "email": "bad-hash@example.com",
            "custom_password_hash": {"algorithm": "rot13", "hash": {"value": "s3cr3t-hash"}},
        },
        {"email": "types@example.com", "email_verified": "yes", "app_metadata": {"email": "x"}},
        "not an object",
        {"username": "no-email"},
        {"email": "dupe@example.com", "user_id": "legacy-42"},
    ]
    job = await import_and_run(api, world, database.id, users)
    assert job["status"] == "completed"
    assert job["summary"] == {"failed": 6, "updated": 0, "inserted": 2, "total": 8}
    errors = await api.get(f"/api/v2/jobs/{job['id']}/errors")
    assert errors.status_code == 200
    body = errors.json()
    text = json.dumps(body)
    assert secret_hash not in text and "s3cr3t-hash" not in text
    codes = {
        json.dumps(item["user"], sort_keys=True): [e["code"] for e in item["errors"]]
        for item in body
    }
    assert len(body) == 6
    by_email = {
        item["user"].get("email") if isinstance(item["user"], dict) else item["user"]: item
        for item in body
    }
    assert by_email["not-an-email"]["errors"][0] == {
        "code": "FORMAT",
        "message": "Error in email property - Object didn't pass validation for format email",
        "path": "email",
    }
    assert by_email["not-an-email"]["user"]["password_hash"] == "[REDACTED]"
    assert by_email["bad-hash@example.com"]["errors"][0]["path"] == "custom_password_hash.algorithm"
    assert sorted(e["code"] for e in by_email["types@example.com"]["errors"]) == [
        "INVALID_TYPE",
        "NOT_PASSED",
    ]
    assert by_email["not an object"]["errors"][0]["code"] == "INVALID_TYPE"
    assert by_email[None]["errors"][0] == {
        "code": "OBJECT_REQUIRED",
        "message": "Missing required property: email",
        "path": "email",
    }
    assert by_email["dupe@example.com"]["errors"][0]["code"] == "CONFLICT"
    assert codes  # every failed row carries at least one code
    kept = await api.get("/api/v2/users/auth0|legacy-42")
    assert kept.status_code == 200 and kept.json()["email"] == "good2@example.com"
    assert (await api.get("/api/v2/users-by-email", params={"email": "good1@example.com"})).json()


async def test_upsert_off_is_a_conflict_and_on_replaces_the_metadata(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    first = [
        {
            "email": "sam@example.com",
            "name": "Sam",
            "user_metadata": {"a": 1, "b": 2},
            "app_metadata": {"roles": ["x"]},
            "custom_password_hash": custom_hashes()["sha256"],
        }
    ]
    assert (await import_and_run(api, world, database.id, first))["summary"]["inserted"] == 1
    again = [{**first[0], "name": "Samuel", "user_metadata": {"c": 3}}]
    off = await import_and_run(api, world, database.id, again, upsert=False)
    assert off["summary"] == {"failed": 1, "updated": 0, "inserted": 0, "total": 1}
    [failure] = (await api.get(f"/api/v2/jobs/{off['id']}/errors")).json()
    assert failure["errors"][0]["code"] == "DUPLICATED_USER"
    on = await import_and_run(api, world, database.id, again, upsert=True)
    assert on["summary"] == {"failed": 0, "updated": 1, "inserted": 0, "total": 1}
    assert on["upsert"] is True
    [sam] = (await api.get("/api/v2/users-by-email", params={"email": "sam@example.com"})).json()
    assert sam["name"] == "Samuel"
    assert sam["user_metadata"] == {"c": 3}  # replaced, not merged (Auth0's upsert)
    assert sam["app_metadata"] == {"roles": ["x"]}
    await sign_in(world, "sam@example.com")
    # once the user has signed in, an upsert no longer replaces the password
    other = {"algorithm": "sha256", "hash": {"value": hashlib.sha256(b"another one").hexdigest()}}
    await import_and_run(
        api,
        world,
        database.id,
        [{"email": "sam@example.com", "custom_password_hash": other}],
        upsert=True,
    )
    await sign_in(world, "sam@example.com")


async def test_job_without_errors_answers_204_and_pending_job_has_no_summary(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    created = await post_import(
        api, database.id, [{"email": "p@example.com"}], external_id="batch-7"
    )
    assert created.status_code == 202
    body = created.json()
    assert body["status"] == "pending" and body["type"] == "users_import"
    assert body["external_id"] == "batch-7" and body["id"].startswith("job_")
    assert body["connection_id"] == database.id and body["connection"] == DEFAULT_DATABASE
    pending = (await api.get(f"/api/v2/jobs/{body['id']}")).json()
    assert "summary" not in pending and pending["connection"] == DEFAULT_DATABASE
    # Auth0's send_completion_email defaults to true; "false" turns it off
    assert (await world.container.jobs.get(world.tenant, body["id"])).send_completion_email
    quiet = await post_import(api, database.id, [], send_completion_email=False)
    stored = await world.container.jobs.get(world.tenant, quiet.json()["id"])
    assert stored.send_completion_email is False
    await run_jobs(world)
    assert (await api.get(f"/api/v2/jobs/{body['id']}/errors")).status_code == 204
    events = (await api.get("/api/v2/logs", params={"q": "type:sapi"})).json()
    assert any("Users import job" in e.get("description", "") for e in events)


async def test_bad_input_answers_in_auth0s_error_shape(
    api: httpx.AsyncClient, world: World, database: Connection, http: httpx.AsyncClient
) -> None:
    assert_error(await post_import(api, database.id, None, raw=b"{not json"), 400, "invalid_body")
    assert_error(
        await post_import(api, database.id, {"email": "x@example.com"}), 400, "invalid_body"
    )
    nan = b'[{"email": "n@example.com", "user_metadata": {"x": NaN}}]'
    assert_error(await post_import(api, database.id, None, raw=nan), 400, "invalid_body")
    assert_error(await post_import(api, "", []), 400, "invalid_body")
    assert_error(await post_import(api, "con_doesnotexist", []), 400, "invalid_body")
    no_file = await api.post(
        "/api/v2/jobs/users-imports",
        data={"connection_id": database.id},
        files={"other": ("x", b"1")},
    )
    assert_error(no_file, 400, "invalid_body")
    assert_error(
        await api.post("/api/v2/jobs/users-imports", json={"users": []}), 400, "invalid_body"
    )
    # 500 KB is taken through this endpoint while the rest of the API keeps its 64 KB cap
    filler = "x" * 900
    big = [{"email": f"u{i}@example.com", "user_metadata": {"f": filler}} for i in range(540)]
    raw = json.dumps(big).encode()
    assert 500 * 1024 < len(raw) < 500 * 1024 + 16 * 1024  # past the file cap, within the body cap
    assert_error(await post_import(api, database.id, None, raw=raw), 413, "payload_too_large")
    huge = json.dumps(big * 2).encode()  # past the body cap: the middleware answers
    assert_error(await post_import(api, database.id, None, raw=huge), 413, "payload_too_large")
    fits = json.dumps(big[:480]).encode()
    assert 64 * 1024 < len(fits) <= 500 * 1024
    assert (await post_import(api, database.id, None, raw=fits)).status_code == 202
    too_big_elsewhere = await api.post(
        "/api/v2/users",
        content=b"{" + b" " * (70 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_error(too_big_elsewhere, 413, None)
    # scopes: create:users to import, read:users to export or read a job
    reader = await machine_token(http, world, "read:users")
    forbidden = await api.post(
        "/api/v2/jobs/users-imports",
        data={"connection_id": database.id},
        files={"users": ("u.json", b"[]")},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert_error(forbidden, 403, "insufficient_scope")
    creator = await machine_token(http, world, "create:users")
    forbidden = await api.post(
        "/api/v2/jobs/users-exports", json={}, headers={"Authorization": f"Bearer {creator}"}
    )
    assert_error(forbidden, 403, "insufficient_scope")
    assert_error(await api.get("/api/v2/jobs/job_nope"), 404, None)
    anonymous = await api.get("/api/v2/jobs/job_nope", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_a_third_active_import_is_refused_with_429(
    api: httpx.AsyncClient, database: Connection
) -> None:
    for _ in range(2):
        assert (await post_import(api, database.id, [])).status_code == 202
    third = await post_import(api, database.id, [])
    body = assert_error(third, 429, "too_many_requests")
    assert "2 active import users jobs" in body["message"]


async def test_an_upsert_that_blocks_ends_the_users_access(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    """DESIGN.md, "Trust": a block ends the user's sessions and refresh tokens and moves its
    tokens-valid-after instant, whichever surface blocks; a bulk upsert is one of them."""
    row = {"email": "bo@example.com", "custom_password_hash": custom_hashes()["sha256"]}
    await import_and_run(api, world, database.id, [row])
    [bo] = (await api.get("/api/v2/users-by-email", params={"email": "bo@example.com"})).json()
    async with world.container.uow() as uow:
        before = await uow.users.get(world.tenant.id, bo["user_id"])
    assert before is not None and before.tokens_valid_after is None
    job = await import_and_run(api, world, database.id, [{**row, "blocked": True}], upsert=True)
    assert job["summary"]["updated"] == 1
    async with world.container.uow() as uow:
        after = await uow.users.get(world.tenant.id, bo["user_id"])
    assert after is not None and after.blocked and after.tokens_valid_after is not None
    with pytest.raises(InvalidCredentials):
        await sign_in(world, "bo@example.com")


async def test_user_ids_as_auth0s_export_writes_them_are_taken(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    """Auth0's export writes ``user_id`` as ``auth0|<id>``. Auth0's own import would make that
    ``auth0|auth0|<id>`` (its docs say to strip the prefix first); Tether takes the database
    strategy's prefix off, so ids survive the move. Another provider's prefix is refused."""
    exported_by_auth0 = {  # a line of an Auth0 export, its default fields
        "user_id": "auth0|5f1e9c0d2a7b4c0068f1d2e3",
        "email": "moved@example.com",
        "email_verified": True,
        "name": "Moved Person",
        "created_at": "2020-07-27T09:31:25.123Z",
        "updated_at": "2024-01-02T03:04:05.678Z",
        "last_login": "2024-01-02T03:04:05.678Z",
        "logins_count": 12,
    }
    users = [
        exported_by_auth0,
        {"email": "plain@example.com", "user_id": "no-prefix-7"},
        {"email": "social@example.com", "user_id": "google-oauth2|1234567890"},
        {"email": "twice@example.com", "user_id": "5f1e9c0d2a7b4c0068f1d2e3"},
        {"email": "empty@example.com", "user_id": "auth0|"},
    ]
    job = await import_and_run(api, world, database.id, users)
    assert job["summary"] == {"failed": 3, "updated": 0, "inserted": 2, "total": 5}
    moved = await api.get("/api/v2/users/auth0|5f1e9c0d2a7b4c0068f1d2e3")
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["email"] == "moved@example.com" and body["email_verified"] is True
    assert body["identities"][0]["user_id"] == "5f1e9c0d2a7b4c0068f1d2e3"
    assert body["identities"][0]["provider"] == "auth0"
    plain = await api.get("/api/v2/users/auth0|no-prefix-7")
    assert plain.status_code == 200 and plain.json()["email"] == "plain@example.com"
    failed = {
        item["user"]["email"]: item["errors"][0]
        for item in (await api.get(f"/api/v2/jobs/{job['id']}/errors")).json()
    }
    assert failed["social@example.com"]["code"] == "PATTERN"
    assert failed["social@example.com"]["path"] == "user_id"
    assert "auth0|" in failed["social@example.com"]["message"]
    assert failed["twice@example.com"]["code"] == "CONFLICT"  # the same id, written without it
    assert failed["empty@example.com"]["code"] == "PATTERN"


async def test_an_email_twice_in_one_file(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    """Rows apply in order: without upsert the repeat is DUPLICATED_USER, with it the last row
    wins (Auth0 refuses the repeat either way: a difference the README states)."""

    def rows(name: str) -> list[dict[str, Any]]:
        return [
            {"email": f"{name}@example.com", "user_metadata": {"v": 1}},
            {"email": f"{name.title()}@Example.com", "user_metadata": {"v": 2}},
        ]

    off = await import_and_run(api, world, database.id, rows("twice"))
    assert off["summary"] == {"failed": 1, "updated": 0, "inserted": 1, "total": 2}
    [repeat] = (await api.get(f"/api/v2/jobs/{off['id']}/errors")).json()
    assert repeat["errors"][0]["code"] == "DUPLICATED_USER"
    on = await import_and_run(api, world, database.id, rows("again"), upsert=True)
    assert on["summary"] == {"failed": 0, "updated": 1, "inserted": 1, "total": 2}
    [user] = (await api.get("/api/v2/users-by-email", params={"email": "again@example.com"})).json()
    assert user["user_metadata"] == {"v": 2}


async def test_a_retired_user_id_is_never_imported_again(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    """DESIGN.md invariant 3: a user_id once issued is never issued to someone else, whether
    the row names it with Auth0's prefix or without."""
    first = await import_and_run(
        api, world, database.id, [{"email": "old@example.com", "user_id": "gone-1"}]
    )
    assert first["summary"]["inserted"] == 1
    assert (await api.delete("/api/v2/users/auth0|gone-1")).status_code == 204
    again = await import_and_run(
        api,
        world,
        database.id,
        [
            {"email": "new@example.com", "user_id": "gone-1"},
            {"email": "newer@example.com", "user_id": "auth0|gone-1"},
        ],
    )
    assert again["summary"] == {"failed": 2, "updated": 0, "inserted": 0, "total": 2}
    errors = (await api.get(f"/api/v2/jobs/{again['id']}/errors")).json()
    assert [e["errors"][0]["code"] for e in errors] == ["CONFLICT", "CONFLICT"]
