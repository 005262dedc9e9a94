"""The Management API's answers are its response models (issue 12, item 4): FastAPI validates
what a route returns against the model its OpenAPI document names, the user object's bytes are
the presenter's (fields in Auth0's order, absent ones left out), and the model declares every
field the presenter can write, so the document and the output cannot drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import PUBLIC_URL, World
from tests.management.conftest import API, assert_error
from tether.domain.models import Identity, User
from tether.presentation import users as presentation
from tether.web.app import create_app
from tether.web.management import schemas
from tether.web.management import users as user_routes


async def _created(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post(
        f"{API}/users",
        json={
            "connection": "Username-Password-Authentication",
            "email": "ada@example.com",
            "password": "correct horse battery staple",
            "given_name": "Ada",
            "user_metadata": {"plan": "gold", "seats": [1, 2], "note": None, "é": "ü"},
            "app_metadata": {"roles": ["admin"]},
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_user_answer_is_the_presenters_bytes(api: httpx.AsyncClient, world: World) -> None:
    created = await _created(api)
    user = await world.container.user_admin.get(world.tenant.id, created["user_id"])
    expected = presentation.user_json(user)
    response = await api.get(f"{API}/users/{created['user_id']}")
    assert response.status_code == 200
    # Same keys in the same order, nested nulls kept, non-ASCII as UTF-8: the wire is unchanged.
    assert response.content == json.dumps(
        expected, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    assert list(response.json()) == list(expected)
    assert response.json()["user_metadata"]["note"] is None
    assert "blocked" not in response.json() and "last_login" not in response.json()
    picked = await api.get(
        f"{API}/users/{created['user_id']}", params={"fields": "email,user_id,identities"}
    )
    assert list(picked.json()) == ["user_id", "email", "identities"]
    envelope = await api.get(f"{API}/users", params={"include_totals": "true"})
    assert envelope.json()["users"] == [expected] and envelope.json()["total"] == 1


async def test_a_route_cannot_answer_off_its_model(
    api: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A shape that breaks the response model is the server's error (500), never sent; the log
    says where, without the values (a client's answer holds its secret)."""
    created = await _created(api)
    monkeypatch.setattr(
        user_routes, "user_json", lambda user: {"user_id": user.user_id, "email_verified": "maybe"}
    )
    # As a server answers: the 500 is sent, the exception is not raised into the client.
    transport = httpx.ASGITransport(
        app=create_app(world.container, deliver_mail=False), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(
        transport=transport, base_url=PUBLIC_URL, headers=dict(api.headers)
    ) as client:
        response = await client.get(f"{API}/users/{created['user_id']}")
    assert_error(response, 500, "server_error")
    assert "maybe" not in response.text
    assert "response.email_verified (bool_parsing)" in caplog.text
    assert "maybe" not in caplog.text


def test_the_model_declares_every_field_the_presenter_writes() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def identity(subject: str, primary: bool) -> Identity:
        return Identity(
            id=subject,
            tenant_id="t",
            user_pk="pk",
            connection_id="con",
            connection_name="github" if not primary else "Username-Password-Authentication",
            provider="github" if not primary else "auth0",
            subject=subject,
            is_primary=primary,
            is_social=not primary,
            profile_data={"login": "ada"},
        )

    user = User(
        pk="pk",
        tenant_id="t",
        user_id="auth0|1",
        email="ada@example.com",
        email_verified=True,
        created_at=when,
        updated_at=when,
        username="ada",
        name="Ada",
        given_name="Ada",
        family_name="Lovelace",
        nickname="ada",
        picture="https://example.com/a.png",
        user_metadata={"a": 1},
        app_metadata={"b": 2},
        blocked=True,
        last_login=when,
        logins_count=3,
        last_ip="192.0.2.1",
        identities=[identity("2", False), identity("1", True)],
    )
    shown = presentation.user_json(user)
    # Every field set and in the declared order: the order the model serializes in.
    assert list(shown) == list(schemas.User.model_fields)
    assert [list(i) for i in shown["identities"]] == [
        ["connection", "provider", "user_id", "isSocial"],
        list(schemas.Identity.model_fields),
    ]
