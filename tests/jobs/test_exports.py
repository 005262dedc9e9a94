"""POST /api/v2/jobs/users-exports (Auth0 Management API v2, "Bulk User Exports"): gzipped
NDJSON or CSV with ``fields``/``export_as``, downloaded from ``location`` by an unguessable,
expiring link; a linked user is one row; CSV cells are escaped against formulas (OWASP, "CSV
Injection"); no password hash appears anywhere."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx

from tests.conftest import World
from tests.jobs.conftest import import_and_run, run_jobs
from tests.management.conftest import assert_error
from tether.domain.jobs.exports import Writer, export_view
from tether.domain.models import Connection
from tether.presentation.users import user_json

FIELDS = [
    {"name": "user_id"},
    {"name": "email", "export_as": "Email"},
    {"name": "name"},
    {"name": "user_metadata.plan", "export_as": "Plan"},
    {"name": "identities[0].connection", "export_as": "Connection"},
]


async def seed(api: httpx.AsyncClient, world: World, database: Connection) -> list[dict[str, Any]]:
    hashed = bcrypt.hashpw(b"password one", bcrypt.gensalt(rounds=4)).decode()
    users = [
        {
            "email": f"user{i}@example.com",
            "name": f"User {i}",
            "user_metadata": {"plan": "gold" if i % 2 else "free"},
            "password_hash": hashed,
        }
        for i in range(25)
    ]
    users.append(
        {
            "email": "evil@example.com",
            "name": '=HYPERLINK("http://x")',
            "user_metadata": {"plan": "@SUM(1)"},
        }
    )
    job = await import_and_run(api, world, database.id, users)
    assert job["summary"]["inserted"] == len(users)
    return users


async def export(api: httpx.AsyncClient, world: World, **body: Any) -> tuple[dict[str, Any], bytes]:
    created = await api.post("/api/v2/jobs/users-exports", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and created.json()["type"] == "users_export"
    await run_jobs(world)
    job = (await api.get(f"/api/v2/jobs/{created.json()['id']}")).json()
    assert job["status"] == "completed", job
    location = urlsplit(job["location"])
    assert job["location"].startswith("http://tether.test/api/v2/jobs/")
    # the link carries its own proof: no bearer token
    assert location.path.endswith("/file") and location.query.startswith("token=")
    file = await api.get(f"{location.path}?{location.query}", headers={"Authorization": ""})
    assert file.status_code == 200, file.text
    assert file.headers["content-type"] == "application/gzip"
    return job, gzip.decompress(file.content)


def no_hash_in(data: bytes) -> None:
    text = data.decode()
    for marker in ("$2b$", "$2a$", "$argon2", "$legacy$", "password_hash", "custom_password_hash"):
        assert marker not in text


async def test_json_export_round_trip_with_fields(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    users = await seed(api, world, database)
    job, data = await export(api, world, format="json", fields=FIELDS, connection_id=database.id)
    assert job["format"] == "json" and job["fields"][1] == {"name": "email", "export_as": "Email"}
    assert job["connection_id"] == database.id and job["connection"] == database.name
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert len(lines) == len(users)
    by_email = {line["Email"]: line for line in lines}
    assert by_email["user1@example.com"]["Plan"] == "gold"
    assert by_email["user2@example.com"]["name"] == "User 2"
    assert by_email["user2@example.com"]["Connection"] == database.name
    assert by_email["user2@example.com"]["user_id"].startswith("auth0|")
    no_hash_in(data)
    # without fields: the whole user, as GET /api/v2/users shows it
    _, full = await export(api, world, format="json", limit=3)
    rows = [json.loads(line) for line in full.decode().splitlines()]
    assert len(rows) == 3 and {"user_id", "email", "identities", "created_at"} <= set(rows[0])
    no_hash_in(full)


async def test_csv_export_escapes_formulas(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    users = await seed(api, world, database)
    job, data = await export(api, world, format="csv", fields=FIELDS)
    assert job["format"] == "csv"
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["user_id", "Email", "name", "Plan", "Connection"]
    assert len(rows) == len(users) + 1
    evil = next(r for r in rows if r[1] == "evil@example.com")
    assert evil[2] == '\'=HYPERLINK("http://x")' and evil[3] == "'@SUM(1)"
    no_hash_in(data)
    _, default = await export(api, world, format="csv")
    header = next(csv.reader(io.StringIO(default.decode())))
    assert header[:3] == ["user_id", "email", "email_verified"]


async def test_a_linked_user_is_exported_once_with_its_identities(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    await seed(api, world, database)
    [a] = (await api.get("/api/v2/users-by-email", params={"email": "user1@example.com"})).json()
    [b] = (await api.get("/api/v2/users-by-email", params={"email": "user2@example.com"})).json()
    linked = await api.post(
        f"/api/v2/users/{a['user_id']}/identities",
        json={"provider": "auth0", "user_id": b["user_id"].split("|", 1)[1]},
    )
    assert linked.status_code == 201, linked.text
    fields = [{"name": "email"}, {"name": "identities"}]
    _, data = await export(api, world, format="json", fields=fields)
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert len(lines) == 25  # 26 users imported, one now a secondary of another
    [row] = [line for line in lines if line["email"] == "user1@example.com"]
    assert {i["user_id"] for i in row["identities"]} == {
        a["user_id"].split("|", 1)[1],
        b["user_id"].split("|", 1)[1],
    }
    assert not [line for line in lines if line["email"] == "user2@example.com"]
    no_hash_in(data)


async def test_the_link_is_unguessable_and_expires(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    job, _ = await export(api, world, format="json", limit=1)
    where = urlsplit(job["location"])
    path, token = where.path, parse_qs(where.query)["token"][0]
    expires, _, mac = token.partition(".")
    for forged in (f"{expires}.{mac[:-2]}AA", f"{int(expires) + 3600}.{mac}", "nope", ""):
        answer = await api.get(path, params={"token": forged}, headers={"Authorization": ""})
        assert answer.status_code == 404, forged
    assert (await api.get(path, headers={"Authorization": ""})).status_code == 404
    other = path.replace(job["id"], "job_" + "0" * 32)
    answer = await api.get(other, params={"token": token}, headers={"Authorization": ""})
    assert answer.status_code == 404
    # The link opens on its own tenant's host only.
    elsewhere = await world.container.tenants.create("elsewhere", "http://elsewhere.test/")
    assert elsewhere.issuer != world.tenant.issuer
    answer = await api.get(
        f"http://elsewhere.test{path}", params={"token": token}, headers={"Authorization": ""}
    )
    assert answer.status_code == 404
    async with world.container.uow() as uow:
        stored = await uow.jobs.get(world.tenant.id, job["id"])
        assert stored is not None and stored.location_expires_at is not None
        stored.location_expires_at -= timedelta(hours=2)
        await uow.jobs.save(stored)
        await uow.commit()
    answer = await api.get(path, params={"token": token}, headers={"Authorization": ""})
    assert answer.status_code == 404
    assert "location" not in (await api.get(f"/api/v2/jobs/{job['id']}")).json()


async def test_bad_export_requests(api: httpx.AsyncClient, database: Connection) -> None:
    assert_error(await api.post("/api/v2/jobs/users-exports", json={"format": "xml"}), 400, None)
    assert_error(await api.post("/api/v2/jobs/users-exports", json={"fields": "email"}), 400, None)
    assert_error(
        await api.post("/api/v2/jobs/users-exports", json={"fields": [{"name": "a b"}]}), 400, None
    )
    assert_error(await api.post("/api/v2/jobs/users-exports", json={"limit": 0}), 400, None)
    assert_error(
        await api.post("/api/v2/jobs/users-exports", json={"connection_id": "con_x"}), 400, None
    )
    assert_error(
        await api.post(
            "/api/v2/jobs/users-exports", content=b"[", headers={"content-type": "application/json"}
        ),
        400,
        None,
    )


async def test_the_export_view_is_the_user_view(
    api: httpx.AsyncClient, world: World, database: Connection
) -> None:
    """exports.export_view skips user_json's walk for non-finite numbers; otherwise the same."""
    await seed(api, world, database)
    async with world.container.uow() as uow:
        users = await uow.bulk_users.page(world.tenant.id, None, None, 100)
        users[0].user_metadata = {"bad": float("nan"), "ok": 1}
        users[1].blocked = True
    assert len(users) == 26
    for user in users:
        assert export_view(user) == user_json(user) or user is users[0]
    writer = Writer("json", None)
    [first, *_] = writer.rows(users[:1]).decode().splitlines()
    assert json.loads(first)["user_metadata"] == {"bad": None, "ok": 1}
    assert json.loads(first) == user_json(users[0])
