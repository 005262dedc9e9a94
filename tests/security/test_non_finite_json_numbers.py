"""Non-finite numbers (NaN, Infinity, 1e999) are refused wherever JSON comes in, and a stored row
that cannot be rendered never takes a whole list down (OWASP ASVS 1.5.2 / 2.2.1: input is
validated against the structure it must have; RFC 8259 §6: NaN and Infinity are not JSON)."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import World
from tests.dashboard.conftest import TEST_ACTOR, new_user
from tests.dashboard.support import alert, form, sign_in, submit
from tests.management.conftest import MANAGEMENT_AUDIENCE, machine_token
from tether.storage import tables

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]
JSON = {"Content-Type": "application/json"}


async def _bearer(http: httpx.AsyncClient, world: World) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {await machine_token(http, world)}"}


def _assert_management_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["statusCode"] == 400 and body["errorCode"] == "invalid_body", body
    assert "non-finite" in body["message"].lower(), body


@pytest.mark.parametrize("number", NON_FINITE)
async def test_management_api_bodies_refuse_non_finite_numbers(
    world: World, http: httpx.AsyncClient, number: str
) -> None:
    """OWASP ASVS 2.2.1: metadata, new users and connection options with NaN, Infinity or
    1e999 are a 400 in the Management API's shape, and nothing is written."""
    headers = await _bearer(http, world)
    user = await http.post(
        "/api/v2/users",
        headers=headers,
        json={
            "connection": "Username-Password-Authentication",
            "email": "ann@example.com",
            "password": "correct horse battery staple 1",
        },
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["user_id"]

    patched = await http.patch(
        f"/api/v2/users/{user_id}",
        headers=headers,
        content='{"user_metadata": {"n": N}}'.replace("N", number),
    )
    _assert_management_400(patched)
    created = await http.post(
        "/api/v2/users",
        headers=headers,
        content='{"connection": "Username-Password-Authentication", "email": "bob@example.com",'
        ' "password": "correct horse battery staple 1", "app_metadata": {"n": [N]}}'.replace(
            "N", number
        ),
    )
    _assert_management_400(created)
    connection = await http.post(
        "/api/v2/connections",
        headers=headers,
        content='{"name": "odd", "strategy": "oauth2", "options": {"x": N}}'.replace("N", number),
    )
    _assert_management_400(connection)

    after = await http.get(f"/api/v2/users/{user_id}", headers=headers)
    assert after.status_code == 200 and after.json().get("user_metadata") == {}
    listed = await http.get("/api/v2/users", headers=headers)
    assert [u["email"] for u in listed.json()] == ["ann@example.com"]
    names = [c["name"] for c in (await http.get("/api/v2/connections", headers=headers)).json()]
    assert "odd" not in names


@pytest.mark.parametrize("number", NON_FINITE)
async def test_token_endpoint_json_refuses_non_finite_numbers(
    world: World, http: httpx.AsyncClient, number: str
) -> None:
    """OWASP ASVS 2.2.1: /oauth/token's JSON body with a non-finite number is an
    invalid_request, not a parameter read as the text "nan" or "inf"."""
    response = await http.post(
        "/oauth/token",
        headers=JSON,
        content=json.dumps(
            {
                "grant_type": "client_credentials",
                "client_id": world.machine.client_id,
                "client_secret": world.machine.client_secret,
                "audience": MANAGEMENT_AUDIENCE,
                "scope": "SCOPE",
            }
        ).replace('"SCOPE"', number),
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "non-finite" in body["error_description"].lower()


async def test_dashboard_json_editors_refuse_non_finite_numbers(
    world: World, http: httpx.AsyncClient
) -> None:
    """OWASP ASVS 2.2.1: the dashboard's metadata and connection-options editors answer
    NaN or 1e999 with a 400 page that says why, and write nothing."""
    c, tenant = world.container, world.tenant
    await new_user(c, tenant, "admin@example.com")
    await c.admins.add(tenant, "admin@example.com", TEST_ACTOR)
    bob = await new_user(c, tenant, "bob@example.com")
    await sign_in(http, "/dashboard/users", "admin@example.com")
    page = await http.get("/dashboard/user", params={"id": bob.user_id})
    for number in NON_FINITE:
        r = await submit(
            http,
            form(page.text, "/dashboard/user/metadata"),
            user_metadata='{"n": N}'.replace("N", number),
        )
        assert r.status_code == 400, r.text
        assert "non-finite" in alert(r.text).lower()
    assert (await c.user_admin.get(tenant.id, bob.user_id)).user_metadata == {}

    page = await http.get("/dashboard/connections")
    for number in NON_FINITE:
        r = await submit(
            http,
            form(page.text, "/dashboard/connections"),
            name="odd",
            strategy="oauth2",
            options='{"x": N}'.replace("N", number),
        )
        assert r.status_code == 400, r.text
        assert "non-finite" in alert(r.text).lower()
    assert "odd" not in [x.name for x in await c.connections.list(tenant)]


async def test_a_row_that_cannot_be_rendered_does_not_take_the_list_down(
    world: World, http: httpx.AsyncClient
) -> None:
    """OWASP ASVS 16.5.3 (fail securely): a stored user whose metadata holds a number JSON
    cannot carry (1e999 reads back as infinity) is shown without it; the list, the user and
    users-by-email still answer 200."""
    headers = await _bearer(http, world)
    ids = []
    for email in ("ann@example.com", "bob@example.com"):
        created = await http.post(
            "/api/v2/users",
            headers=headers,
            json={
                "connection": "Username-Password-Authentication",
                "email": email,
                "password": "correct horse battery staple 1",
                "user_metadata": {"ok": 1},
            },
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["user_id"])
    broken = '{"ok": 1, "n": 1e999, "deep": [1, -1e999]}'
    async with world.container.engine.begin() as conn:
        value: sa.ColumnElement[object] = sa.bindparam("m", broken, type_=sa.String)
        if conn.dialect.name == "postgresql":
            value = sa.cast(value, sa.JSON)
        await conn.execute(
            sa.update(tables.users)
            .where(tables.users.c.user_id == ids[0])
            .values(user_metadata=value)
        )

    listed = await http.get("/api/v2/users", headers=headers)
    assert listed.status_code == 200, listed.text
    assert sorted(u["email"] for u in listed.json()) == ["ann@example.com", "bob@example.com"]
    one = await http.get(f"/api/v2/users/{ids[0]}", headers=headers)
    assert one.status_code == 200, one.text
    assert one.json()["user_metadata"] == {"ok": 1, "n": None, "deep": [1, None]}
    by_email = await http.get(
        "/api/v2/users-by-email", headers=headers, params={"email": "ann@example.com"}
    )
    assert by_email.status_code == 200, by_email.text
    assert [u["user_id"] for u in by_email.json()] == [ids[0]]
    page = await http.get("/api/v2/users", headers=headers, params={"include_totals": "true"})
    assert page.status_code == 200 and page.json()["total"] == 2
