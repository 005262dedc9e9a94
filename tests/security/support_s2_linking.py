"""Helpers for the linking rules' tests (finding 2 of issue 11): sign-ups over HTTP, the outbox,
the reset ticket from the mail, and the log events of links and detaches."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import World
from tests.dashboard.support import form, submit
from tests.linking.support import PASSWORD, REALM
from tether.domain.log_filter import LogFilter
from tether.domain.models import LogEvent, Mail

LINKED = "An account was linked to your sign-in"
UNLINKED = "An account was unlinked from your sign-in"
DETACHED = "Accounts were unlinked from your sign-in"


async def sign_up(http: httpx.AsyncClient, world: World, email: str) -> str:
    """``POST /dbconnections/signup`` as anyone can: the address is not verified. The user_id."""
    response = await http.post(
        "/dbconnections/signup",
        json={
            "client_id": world.app.client_id,
            "email": email,
            "password": PASSWORD,
            "connection": REALM,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["email_verified"] is False
    return "auth0|" + str(response.json()["_id"])


async def mails(world: World, subject: str | None = None) -> list[Mail]:
    found = await world.container.mail.list(world.tenant, limit=500)
    return [m for m in found if subject is None or m.subject == subject]


async def recipients(world: World, subject: str) -> list[str]:
    return sorted(m.to for m in await mails(world, subject))


async def reset_password_by_mail(
    http: httpx.AsyncClient, world: World, email: str, new_password: str
) -> httpx.Response:
    """The owner asks for a reset, opens the mailed link and chooses a new password."""
    asked = await http.post(
        "/dbconnections/change_password",
        json={"client_id": world.app.client_id, "email": email, "connection": REALM},
    )
    assert asked.status_code == 200, asked.text
    # The newest reset mail to this address (the outbox lists newest first).
    mail = next(m for m in await mails(world, "Reset your password") if m.to == email)
    match = re.search(r"https?://\S+/lo/reset\?ticket=\S+", mail.body)
    assert match, mail.body
    page = await http.get(match.group(0))
    assert page.status_code == 200, page.text
    done = await submit(
        http, form(page.text, "/lo/reset"), password=new_password, confirm=new_password
    )
    assert done.status_code == 200, done.text
    assert "Password changed" in done.text
    return done


async def api_events(world: World, event: str) -> list[LogEvent]:
    found, _ = await world.container.logs.page(
        world.tenant.id, LogFilter(types=("sapi",)), offset=0, limit=200
    )
    return [e for e in found if e.details.get("event") == event]


async def user_json(http: httpx.AsyncClient, token: str, user_id: str) -> dict[str, Any]:
    from tests.linking.support import API, bearer, path_id

    response = await http.get(f"{API}/users/{path_id(user_id)}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
