"""Helpers for the Authentication API tests: users, APIs, applications, token requests, and an
independent RS256 check (cryptography only, not Tether's own JOSE code)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import FAST_HASH, PG_URL, PUBLIC_URL, Client, World, make_settings
from tether.bootstrap import Container, build_container
from tether.domain.applications import NewApi, NewApplication
from tether.domain.models import Api, AppType, User
from tether.domain.users import NewDatabaseUser
from tether.protocol import jose
from tether.storage.db import create_engine
from tether.storage.tables import metadata
from tether.web.app import create_app as create_asgi_app

ISSUER = PUBLIC_URL + "/"
USERINFO_AUDIENCE = ISSUER + "userinfo"
REALM = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
PASSWORD = "correct horse battery staple"
EMAIL = "ann@example.com"
WRONG_PASSWORD = {"error": "invalid_grant", "error_description": "Wrong email or password."}
INVALID_REFRESH = {
    "error": "invalid_grant",
    "error_description": "Unknown or invalid refresh token.",
}


# -- speed ------------------------------------------------------------------

_KEY_POOL: list[bytes] = []
_KEY_MEMO: dict[tuple[str, bytes, bytes], Any] = {}


@pytest.fixture(autouse=True)
def reuse_rsa_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test provisions a tenant, which makes two RSA keys and loads each PEM several times
    (cryptography checks the key on every load: ~40 ms). Draw keys from a small pool made once
    and remember what each PEM loads to. Consecutive keys stay distinct; the keys stay real."""
    if not _KEY_POOL:
        _KEY_POOL.extend(jose.generate_private_pem() for _ in range(4))
    counter = iter(range(1 << 30))
    from_pem = jose.PrivateKey.from_pem.__func__  # type: ignore[attr-defined]
    real = {"thumbprint_kid": jose.thumbprint_kid, "public_jwk_from_pem": jose.public_jwk_from_pem}

    def memo(name: str, kid: str, pem: bytes, make: Callable[[], Any]) -> Any:
        key = (name, kid.encode(), pem)
        if key not in _KEY_MEMO:
            _KEY_MEMO[key] = make()
        return _KEY_MEMO[key]

    monkeypatch.setattr(
        jose, "generate_private_pem", lambda bits=2048: _KEY_POOL[next(counter) % len(_KEY_POOL)]
    )
    monkeypatch.setattr(
        jose,
        "thumbprint_kid",
        lambda pem: memo("kid", "", pem, lambda: real["thumbprint_kid"](pem)),
    )
    monkeypatch.setattr(
        jose,
        "public_jwk_from_pem",
        lambda kid, pem: dict(memo("jwk", kid, pem, lambda: real["public_jwk_from_pem"](kid, pem))),
    )
    monkeypatch.setattr(
        jose.PrivateKey,
        "from_pem",
        classmethod(lambda cls, kid, pem: memo("priv", kid, pem, lambda: from_pem(cls, kid, pem))),
    )


@pytest.fixture(scope="session")
def web_pg_schema() -> Iterator[str | None]:
    """On PostgreSQL, one schema for this folder's whole session (None on SQLite)."""
    if not PG_URL:
        yield None
        return
    schema = "w_" + secrets.token_hex(6)

    async def run(statement: str, create_tables: bool = False) -> None:
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(sa.text(statement))
        await admin.dispose()
        if create_tables:
            eng = create_engine(PG_URL, schema=schema)
            async with eng.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await eng.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"', create_tables=True))
    yield schema
    asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
async def engine(tmp_path: Path, web_pg_schema: str | None) -> AsyncIterator[AsyncEngine]:
    """Overrides tests/conftest.py's ``engine`` for this folder, on PostgreSQL only: every test
    still starts from an empty database with the current schema, but the schema is made once
    and emptied before each test (one round trip) instead of created and dropped per test,
    which under load cost a second a test. SQLite keeps a fresh file per test."""
    if web_pg_schema is None:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield eng
        await eng.dispose()
        return
    eng = create_engine(PG_URL, schema=web_pg_schema)
    async with eng.begin() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        tables = reversed(metadata.sorted_tables)  # children first: foreign keys hold
        await driver.execute("; ".join(f'DELETE FROM "{t.name}"' for t in tables))  # noqa: S608
    yield eng
    await eng.dispose()


# -- JWTs by hand -----------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_header(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_unb64(token.split(".")[0]))
    return value


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload, not verified (use verify_rs256 for that)."""
    value: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return value


def _b64_int(value: str) -> int:
    return int.from_bytes(_unb64(value), "big")


def verify_rs256(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Check an RS256 signature against a published JWKS with nothing but cryptography."""
    head, payload, signature = token.split(".")
    header = json.loads(_unb64(head))
    assert header["alg"] == "RS256"
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(_b64_int(key["e"]), _b64_int(key["n"])).public_key()
    try:
        public.verify(
            _unb64(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as exc:  # pragma: no cover - the assertion message is the point
        raise AssertionError("signature does not verify against the JWKS") from exc
    return jwt_claims(token)


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


# -- requests ---------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic."""
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def password_login(
    http: httpx.AsyncClient,
    app: Client,
    *,
    username: str = EMAIL,
    password: str = PASSWORD,
    scope: str | None = None,
    audience: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """What auth0-python's GetToken.login() sends: JSON, nulls included."""
    body: dict[str, Any] = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "username": username,
        "password": password,
        "realm": REALM,
        "scope": scope,
        "audience": audience,
        "grant_type": PASSWORD_REALM,
    }
    body.update(extra)
    return await http.post("/oauth/token", json=body)


async def refresh(
    http: httpx.AsyncClient, app: Client, token: str, scope: str = ""
) -> httpx.Response:
    """What auth0-python's GetToken.refresh_token() sends (scope "" by default)."""
    return await http.post(
        "/oauth/token",
        json={
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "refresh_token": token,
            "scope": scope,
            "grant_type": "refresh_token",
        },
    )


async def client_credentials(
    http: httpx.AsyncClient, app: Client, audience: str | None, scope: str | None = None
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            k: v
            for k, v in {
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "audience": audience,
                "scope": scope,
            }.items()
            if v is not None
        },
    )


def oauth_error_problem(response: httpx.Response, status: int, error: str) -> str | None:
    """What is wrong with ``response`` as an Authentication API error, or None. For loops that
    try many inputs on one world and report every failing input at once."""
    try:
        assert_oauth_error(response, status, error)
    except (AssertionError, ValueError) as exc:
        return f"{response.status_code} {response.text[:200]} ({exc})"
    return None


def signup_error_problem(response: httpx.Response, status: int, code: str | None) -> str | None:
    """Like oauth_error_problem for the /dbconnections/signup shape."""
    problem = f"{response.status_code} {response.text[:200]}"
    if response.status_code != status:
        return problem
    try:
        body = response.json()
    except ValueError:
        return problem
    if set(body) != {"name", "code", "description", "statusCode"} or body["statusCode"] != status:
        return problem
    if code is not None and body["code"] != code:
        return problem
    return None


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The Authentication API's error shape, exactly two string members, never cached."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    return body


# -- world building ---------------------------------------------------------


async def create_user(
    world: World, email: str = EMAIL, password: str = PASSWORD, **fields: Any
) -> User:
    return await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email=email, password=password, **fields)
    )


async def set_blocked(world: World, user_id: str, blocked: bool = True) -> None:
    async with world.container.uow() as uow:
        user = await uow.users.get(world.tenant.id, user_id)
        assert user is not None
        user.blocked = blocked
        await uow.users.update(user)
        await uow.commit()


async def create_api(
    world: World,
    identifier: str = "https://api.example.com/",
    scopes: tuple[str, ...] = ("read:things", "write:things"),
    *,
    allow_offline_access: bool = False,
    token_lifetime: int = 7200,
) -> Api:
    return await world.container.apis.create(
        world.tenant,
        NewApi(
            name="Things",
            identifier=identifier,
            scopes=scopes,
            allow_offline_access=allow_offline_access,
            token_lifetime=token_lifetime,
        ),
    )


async def create_app(
    world: World,
    name: str = "Other App",
    *,
    app_type: AppType = AppType.REGULAR_WEB,
    grant_types: tuple[str, ...] | None = None,
    enable_database: bool = True,
) -> Client:
    created = await world.container.applications.create(
        world.tenant, NewApplication(name=name, app_type=app_type, grant_types=grant_types)
    )
    client_id = created.application.client_id
    if enable_database:
        await world.container.connections.enable(world.tenant, REALM, client_id)
    return Client(client_id, created.client_secret or "")


async def count_users(world: World) -> int:
    async with world.container.uow() as uow:
        return await uow.users.count(world.tenant.id)


@asynccontextmanager
async def serve(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_asgi_app(container, deliver_mail=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


ServeWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def serve_with(world: World, engine: AsyncEngine, tmp_path: Path) -> ServeWith:
    """An HTTP client on a second app over the same database, built with other settings."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        settings = make_settings(tmp_path, **overrides)
        container = build_container(settings, engine=engine, hash_parameters=FAST_HASH)
        return serve(container)

    return factory


@pytest.fixture
async def user(world: World) -> User:
    return await create_user(world)


@pytest.fixture
async def jwks(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    value: dict[str, Any] = response.json()
    return value
