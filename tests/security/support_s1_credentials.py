"""Helpers for the credential-change and tokens-valid-after tests (issue 11, findings 1 and 8).

The fixtures give a container on a ``MovableClock`` (tests/oidc/conftest.py), a relying party
and a user with a password (``oidc``), and browser A (``browser``: the ``http`` client's cookie
jar). ``other_browser`` opens a second user agent with a jar of its own (browser B).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, World
from tests.oidc.conftest import (
    DATABASE,
    EMAIL,
    Browser,
    MovableClock,
    Oidc,
    callback_params,
    forms,
    goes_to_login,
)
from tests.oidc.conftest import oidc as oidc
from tether.bootstrap import Container, build_container
from tether.config import Settings
from tether.domain.models import Mail
from tether.web.app import create_app

MANAGEMENT_AUDIENCE = PUBLIC_URL + "/api/v2/"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
USER_SCOPE = "openid read:current_user update:current_user_metadata update:current_user_identities"
NEW_PASSWORD = "a brand new passphrase 42"
CHANGED_SUBJECT = "Your password was changed"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def container(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> AsyncIterator[Container]:
    yield build_container(settings, engine=engine, clock=clock, hash_parameters=FAST_HASH)


@pytest.fixture
def browser(http: httpx.AsyncClient, oidc: Oidc) -> Browser:
    return Browser(http, oidc)


@pytest.fixture
async def other_browser(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """Browser B: the same server, its own cookie jar."""
    app = create_app(world.container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


# -- what browser A holds ------------------------------------------------------------------


async def signed_in_with_refresh_token(browser: Browser) -> str:
    """Browser A signs in (an SSO session) and its app redeems a code with offline_access."""
    got = await browser.code()
    response = await browser.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": got["code"],
            "redirect_uri": browser.defaults()["redirect_uri"],
            "client_id": browser.oidc.rp.client_id,
            "client_secret": browser.oidc.rp.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    refresh = response.json().get("refresh_token")
    assert isinstance(refresh, str) and refresh
    return refresh


async def silent_code(browser: Browser) -> dict[str, str] | None:
    """prompt=none: the callback's parameters with a code, or None when the answer is
    ``login_required`` (OIDC Core §3.1.2.6: no session to answer from)."""
    response = await browser.authorize(prompt="none")
    assert not goes_to_login(response)  # prompt=none never shows a page
    got = callback_params(response)
    if "code" in got:
        return got
    assert got["error"] == "login_required", got
    return None


async def refresh(browser: Browser, token: str) -> httpx.Response:
    return await browser.http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": browser.oidc.rp.client_id,
            "client_secret": browser.oidc.rp.client_secret,
        },
    )


# -- reset tickets and mail -----------------------------------------------------------------


async def outbox(world: World) -> list[Mail]:
    async with world.container.uow() as uow:
        return await uow.outbox.list(world.tenant.id)


async def request_ticket(world: World, email: str = EMAIL) -> str:
    """Ask for a reset mail (as /dbconnections/change_password does) and read its ticket."""
    before = {m.id for m in await outbox(world)}
    c = world.container
    app = await c.applications.get(world.tenant, world.app.client_id)
    await c.users.request_password_change(world.tenant, app, DATABASE, email)
    mail = next(m for m in await outbox(world) if m.id not in before)
    found = re.search(r"/lo/reset\?ticket=([A-Za-z0-9_\-]+)", mail.body)
    assert found, mail.body
    return found.group(1)


async def reset_with_ticket(
    client: httpx.AsyncClient, ticket: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    """Open the mailed link and submit the form, as the mailbox owner does in a browser."""
    page = await client.get("/lo/reset", params={"ticket": ticket})
    assert page.status_code == 200, page.text
    form = next(f for f in forms(page.text) if "password" in f.fields)
    data: dict[str, Any] = {**form.fields, "password": password, "confirm": password}
    return await client.post(urljoin(str(page.url), form.action or "/lo/reset"), data=data)


def changed_mails(mails: list[Mail], to: str = EMAIL) -> list[Mail]:
    return [m for m in mails if m.to == to and m.subject == CHANGED_SUBJECT]


# -- Management API tokens ------------------------------------------------------------------


async def machine_token(http: httpx.AsyncClient, world: World) -> str:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.machine.client_id,
            "client_secret": world.machine.client_secret,
            "audience": MANAGEMENT_AUDIENCE,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def user_token_response(
    http: httpx.AsyncClient, world: World, email: str, password: str, scope: str = USER_SCOPE
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        json={
            "grant_type": PASSWORD_REALM,
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "username": email,
            "password": password,
            "realm": DATABASE,
            "scope": scope,
            "audience": MANAGEMENT_AUDIENCE,
        },
    )


async def user_token(
    http: httpx.AsyncClient, world: World, email: str, password: str, scope: str = USER_SCOPE
) -> str:
    """A Management API access token of ``email`` with the current-user scopes."""
    response = await user_token_response(http, world, email, password, scope)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def path_id(user_id: str) -> str:
    from urllib.parse import quote

    return quote(user_id, safe="")
