"""OpenID conformance checks (Basic OP, plus RFC 9700 MUSTs) over HTTP, in process.

A ``Browser`` drives the hosted sign-in like a person would: GET /authorize, follow to
/u/login, read the form's hidden ``csrf`` and ``state``, POST the credentials to the form's
action, follow to /authorize/resume, and read the answer at the callback. Time is a
``MovableClock`` so max_age and expiry tests move it instead of sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import FAST_HASH, PG_URL, PUBLIC_URL, Client, World
from tether.bootstrap import Container, build_container
from tether.config import Settings
from tether.domain.applications import NewApplication
from tether.domain.clock import SystemClock
from tether.domain.models import AppType
from tether.domain.users import NewDatabaseUser
from tether.protocol import jose
from tether.storage.db import create_engine
from tether.storage.tables import metadata

ISSUER = PUBLIC_URL + "/"
DATABASE = "Username-Password-Authentication"
RP_ORIGIN = "https://app.example.com"
CALLBACK = RP_ORIGIN + "/cb"
OTHER_CALLBACK = RP_ORIGIN + "/other"
QUERY_CALLBACK = RP_ORIGIN + "/q?x=1"
LOGOUT_URL = RP_ORIGIN + "/bye"
EMAIL = "ann@example.com"
PASSWORD = "correct horse battery staple"
PROFILE = {
    "name": "Ann Example",
    "given_name": "Ann",
    "family_name": "Example",
    "nickname": "ann",
    "picture": "https://img.example.com/ann.png",
}
FULL_SCOPE = "openid profile email offline_access"


# -- time ----------------------------------------------------------------------------


class MovableClock:
    """Stands still until a test moves it: no test depends on how fast the machine is."""

    def __init__(self) -> None:
        self._now = SystemClock().now().replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def epoch(self) -> int:
        return int((self._now - datetime(1970, 1, 1)).total_seconds())


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def oidc_pg_schema() -> AsyncIterator[str | None]:
    """PostgreSQL: one schema with the current tables for this folder's whole session, emptied
    before each test (a schema with ``create_all`` per test costs a second on a busy server).
    SQLite: None, and every test keeps its own fresh file."""
    if not PG_URL:
        yield None
        return
    schema = "to_" + secrets.token_hex(6)
    admin = create_async_engine(PG_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        setup = create_engine(PG_URL, schema=schema)
        async with setup.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await setup.dispose()
        yield schema
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture
async def engine(oidc_pg_schema: str | None, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database with the current schema."""
    if oidc_pg_schema is None:
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'tether.db'}")
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
    else:
        eng = create_engine(PG_URL, schema=oidc_pg_schema)
        async with eng.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    yield eng
    await eng.dispose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def container(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> AsyncIterator[Container]:
    """The shared container, but on the movable clock."""
    yield build_container(settings, engine=engine, clock=clock, hash_parameters=FAST_HASH)


# -- speed: RSA keys ---------------------------------------------------------------------

_KEY_POOL: list[bytes] = []
_MEMO: dict[tuple[str, str, bytes], Any] = {}


@pytest.fixture(autouse=True)
def _reuse_rsa_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provisioning makes two RSA keys per test (and parses each PEM several times): draw them
    from a small pool made once. Consecutive keys stay distinct and real."""
    if not _KEY_POOL:
        _KEY_POOL.extend(jose.generate_private_pem() for _ in range(4))
    counter = iter(range(1 << 30))
    real_kid, real_jwk = jose.thumbprint_kid, jose.public_jwk_from_pem
    real_from_pem = jose.PrivateKey.from_pem.__func__  # type: ignore[attr-defined]

    def memo(kind: str, kid: str, pem: bytes, make: Callable[[], Any]) -> Any:
        key = (kind, kid, pem)
        if key not in _MEMO:
            _MEMO[key] = make()
        return _MEMO[key]

    monkeypatch.setattr(
        jose, "generate_private_pem", lambda bits=2048: _KEY_POOL[next(counter) % len(_KEY_POOL)]
    )
    monkeypatch.setattr(
        jose, "thumbprint_kid", lambda pem: memo("kid", "", pem, lambda: real_kid(pem))
    )
    monkeypatch.setattr(
        jose,
        "public_jwk_from_pem",
        lambda kid, pem: dict(memo("jwk", kid, pem, lambda: real_jwk(kid, pem))),
    )
    monkeypatch.setattr(
        jose.PrivateKey,
        "from_pem",
        classmethod(
            lambda cls, kid, pem: memo("priv", kid, pem, lambda: real_from_pem(cls, kid, pem))
        ),
    )


# -- JWTs, checked with cryptography alone --------------------------------------------------


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_claims(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return value


def jwt_header(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_unb64(token.split(".")[0]))
    return value


def verify_rs256(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The signature must verify against the published JWKS (oidcc-idtoken-signature)."""
    head, payload, signature = token.split(".")
    header = json.loads(_unb64(head))
    assert header["alg"] == "RS256"
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    numbers = rsa.RSAPublicNumbers(
        int.from_bytes(_unb64(key["e"]), "big"), int.from_bytes(_unb64(key["n"]), "big")
    )
    try:
        numbers.public_key().verify(
            _unb64(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as exc:  # pragma: no cover - the message is the point
        raise AssertionError("signature does not verify against the JWKS") from exc
    return jwt_claims(token)


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6, computed here rather than by Tether's code."""
    return b64url(hashlib.sha256(access_token.encode()).digest()[:16])


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


# -- HTML ----------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def assert_html_security_headers(response: httpx.Response) -> None:
    """Every HTML response (RFC 9700 §4.16, §4.2.4)."""
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def assert_error_page(response: httpx.Response, status: int = 400) -> None:
    """An error shown to the person: a page, never a redirect (RFC 6749 §4.1.2.1)."""
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert_html_security_headers(response)


# -- the world --------------------------------------------------------------------------


@dataclass
class Oidc:
    world: World
    rp: Client
    user_id: str

    @property
    def container(self) -> Container:
        return self.world.container

    async def app(
        self,
        *,
        app_type: AppType = AppType.REGULAR_WEB,
        callbacks: tuple[str, ...] = (CALLBACK,),
        web_origins: tuple[str, ...] = (RP_ORIGIN,),
        logout_urls: tuple[str, ...] = (LOGOUT_URL,),
        grant_types: tuple[str, ...] | None = None,
        first_party: bool = True,
        name: str = "Relying Party",
    ) -> Client:
        c, tenant = self.container, self.world.tenant
        created = await c.applications.create(
            tenant,
            NewApplication(
                name=name,
                app_type=app_type,
                callbacks=callbacks,
                web_origins=web_origins,
                allowed_logout_urls=logout_urls,
                grant_types=grant_types,
            ),
        )
        app = created.application
        await c.connections.enable(tenant, DATABASE, app.client_id)
        if not first_party:
            app.is_first_party = False
            async with c.uow() as uow:
                await uow.applications.update(app)
                await uow.commit()
        return Client(app.client_id, created.client_secret or "")


@pytest.fixture
async def oidc(world: World) -> Oidc:
    """A confidential regular web app with three callbacks, and a user with a full profile."""
    holder = Oidc(world, Client("", ""), "")
    holder.rp = await holder.app(callbacks=(CALLBACK, OTHER_CALLBACK, QUERY_CALLBACK))
    user = await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email=EMAIL, password=PASSWORD, profile=PROFILE)
    )
    holder.user_id = user.user_id
    return holder


# -- the browser ------------------------------------------------------------------------------


def location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return response.headers["location"]


def callback_params(response: httpx.Response, *, at: str = CALLBACK) -> dict[str, str]:
    """The authorization response at the callback: query or fragment, as the mode put it."""
    url = location(response)
    parts = urlsplit(url)
    base = urlsplit(at)
    assert (parts.scheme, parts.netloc, parts.path) == (base.scheme, base.netloc, base.path), url
    raw = parts.fragment or parts.query
    params = dict(parse_qsl(raw, keep_blank_values=True))
    for name, value in parse_qsl(base.query):
        assert params.pop(name) == value  # the callback's own query is kept
    return params


class Browser:
    """One user agent: a cookie jar (the httpx client's) and the hosted forms."""

    def __init__(self, http: httpx.AsyncClient, oidc: Oidc):
        self.http = http
        self.oidc = oidc

    def defaults(self, client: Client | None = None) -> dict[str, str]:
        return {
            "client_id": (client or self.oidc.rp).client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": FULL_SCOPE,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
        }

    def query(self, client: Client | None = None, **params: str | None) -> dict[str, str]:
        """The defaults, overridden by ``params``; a ``None`` drops a parameter."""
        query = self.defaults(client)
        for name, value in params.items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = value
        return query

    async def authorize(self, client: Client | None = None, **params: str | None) -> httpx.Response:
        return await self.http.get("/authorize", params=self.query(client, **params))

    async def get(self, url: str) -> httpx.Response:
        return await self.http.get(url)

    async def open_login(self, response: httpx.Response) -> tuple[httpx.Response, Form]:
        """Follow /authorize's redirect to the sign-in page and read its form."""
        url = location(response)
        assert urlsplit(url).path == "/u/login", url
        page = await self.http.get(url)
        assert page.status_code == 200, page.text
        assert_html_security_headers(page)
        form = next(f for f in forms(page.text) if "password" in f.fields)
        form.action = urljoin(str(page.url), form.action)
        return page, form

    async def submit(self, form: Form, **fields: str | None) -> httpx.Response:
        data = {**form.fields, **{k: v for k, v in fields.items() if v is not None}}
        for k in [k for k, v in fields.items() if v is None]:
            data.pop(k, None)
        return await self.http.post(form.action, data=data)

    async def sign_in_from(
        self, response: httpx.Response, *, email: str = EMAIL, password: str = PASSWORD
    ) -> httpx.Response:
        """From /authorize's redirect to the sign-in page: sign in, then follow
        /authorize/resume. Returns resume's answer (the callback redirect or a page)."""
        _, form = await self.open_login(response)
        posted = await self.submit(form, email=email, password=password)
        assert posted.status_code == 303, posted.text
        resume = location(posted)
        assert urlsplit(resume).path == "/authorize/resume", resume
        return await self.http.get(resume)

    async def sign_in(self, client: Client | None = None, **params: str | None) -> httpx.Response:
        return await self.sign_in_from(await self.authorize(client, **params))

    async def code(self, client: Client | None = None, **params: str | None) -> dict[str, str]:
        """A full code flow (signing in if asked to): the callback's parameters, with
        ``state`` and RFC 9207 ``iss`` checked."""
        query = self.query(client, **params)
        first = await self.http.get("/authorize", params=query)
        answer = await self.sign_in_from(first) if goes_to_login(first) else first
        got = callback_params(answer, at=query["redirect_uri"])
        assert "code" in got, got
        assert got.get("state") == query.get("state")
        assert got["iss"] == ISSUER
        return got


def goes_to_login(response: httpx.Response) -> bool:
    return (
        response.status_code in (302, 303)
        and urlsplit(response.headers["location"]).path == "/u/login"
    )


@pytest.fixture
def browser(http: httpx.AsyncClient, oidc: Oidc) -> Browser:
    return Browser(http, oidc)


async def redeem(
    http: httpx.AsyncClient,
    client: Client,
    code: str,
    *,
    redirect_uri: str | None = CALLBACK,
    basic: bool = False,
    **extra: str,
) -> httpx.Response:
    """POST /oauth/token, authorization_code, client_secret_post (or _basic)."""
    body = {"grant_type": "authorization_code", "code": code, **extra}
    if redirect_uri is not None:
        body["redirect_uri"] = redirect_uri
    auth = None
    if basic:
        auth = httpx.BasicAuth(client.client_id, client.client_secret)
    else:
        body["client_id"] = client.client_id
        if client.client_secret:
            body["client_secret"] = client.client_secret
    return await http.post("/oauth/token", data=body, auth=auth)


async def jwks(http: httpx.AsyncClient) -> dict[str, Any]:
    discovery = (await http.get("/.well-known/openid-configuration")).json()
    response = await http.get(discovery["jwks_uri"].removeprefix(PUBLIC_URL))
    assert response.status_code == 200
    value: dict[str, Any] = response.json()
    return value
