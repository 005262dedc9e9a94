"""Helpers for the in-process Management API tests: tokens, users, Auth0's error body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import World
from tests.web.conftest import client_credentials, create_user, jwt_claims, password_login

API = "/api/v2"
ALL_USER_SCOPES = (
    "openid read:current_user update:current_user_identities update:current_user_metadata"
)
STATUS_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
}
UNOWNED = "User to be acted on does not match subject in bearer token."
#: Path segments, as sent, that can name no user: broken percent-encoding, NUL, surrogates.
BROKEN_IDS = [
    "auth0%7",  # a truncated escape
    "auth0%7Gabc",  # not hex
    "%",
    "%E0%A4%A",  # a truncated UTF-8 sequence
    "%FF%FE",  # not UTF-8 at all
    "%C0%AF",  # an overlong '/'
    "%ED%A0%80",  # a surrogate, encoded
    "a%00b",  # a NUL: PostgreSQL refuses it in a query
    "%00",
    "auth0%7C" + "x" * 4000,  # far longer than any id
    "auth0%7C%20",
    "%2E%2E",
]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def path_id(user_id: str) -> str:
    """A user id as python-requests and auth0-python 6.x put it in a path: ``auth0%7Cabc``."""
    return quote(user_id, safe="")


async def machine_token(http: httpx.AsyncClient, world: World, scope: str | None = None) -> str:
    response = await client_credentials(
        http, world.machine, world.tenant.management_audience, scope
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class Person:
    """A database user and what signing in gave it."""

    user_id: str
    email: str
    password: str
    id_token: str
    access_token: str

    @property
    def raw_id(self) -> str:
        return self.user_id.split("|", 1)[1]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


async def person(
    http: httpx.AsyncClient,
    world: World,
    name: str,
    scope: str = ALL_USER_SCOPES,
    **fields: Any,
) -> Person:
    """A user signed in through the Default App with the password-realm grant, for the
    Management API audience (as GetToken.login does); its ID token comes from a second login."""
    email, password = f"{name}@example.com", f"{name} has a long password"
    user = await create_user(world, email=email, password=password, **fields)
    api = await password_login(
        http,
        world.app,
        username=email,
        password=password,
        scope=scope,
        audience=world.tenant.management_audience,
    )
    assert api.status_code == 200, api.text
    oidc = await password_login(
        http, world.app, username=email, password=password, scope="openid profile email"
    )
    assert oidc.status_code == 200, oidc.text
    return Person(
        user.user_id, email, password, oidc.json()["id_token"], api.json()["access_token"]
    )


def token_scopes(token: str) -> set[str]:
    return set(str(jwt_claims(token).get("scope") or "").split())


def management_error(response: httpx.Response, status: int, code: str | None) -> dict[str, Any]:
    """Auth0's Management API error body, exactly: statusCode, error, message and errorCode
    (401s carry ``attributes.error`` instead of an errorCode)."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == status, body
    assert body["error"] == STATUS_NAMES[status], body
    assert isinstance(body["message"], str) and body["message"], body
    if code is None:
        assert "errorCode" not in body, body
    else:
        assert body.get("errorCode") == code, body
    return body


def problem(response: httpx.Response, status: int, code: str | None) -> str | None:
    """What is wrong with ``response`` as that error, or None (for loops over many requests)."""
    try:
        management_error(response, status, code)
    except (AssertionError, ValueError, KeyError) as exc:
        return f"{response.request.method} {response.request.url.raw_path.decode()}: {exc}"
    return None
