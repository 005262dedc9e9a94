"""Helpers for the linking tests: the invariant checker, table snapshots, tokens and requests.

The invariant checker reads the database directly (raw SQLAlchemy on the engine, a fresh
connection, so only committed rows count) and asserts DESIGN.md's "Data model and its
invariants" for every tenant at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PUBLIC_URL, Client, World
from tether.domain.models import Tenant, User
from tether.domain.users import NewDatabaseUser
from tether.storage import tables as t

API = "/api/v2"
MANAGEMENT_AUDIENCE = PUBLIC_URL + "/api/v2/"
ISSUER = PUBLIC_URL + "/"
REALM = "Username-Password-Authentication"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
PASSWORD = "correct horse battery staple"
USER_SCOPE = "openid update:current_user_identities read:current_user"
ID_SCOPE = "openid profile email"

# -- the invariant checker ----------------------------------------------------------


def violations(
    users: list[dict[str, Any]],
    identities: list[dict[str, Any]],
    retired: list[dict[str, Any]],
) -> list[str]:
    """Every broken invariant, one line each (an empty list when all hold)."""
    problems: list[str] = []
    by_pk = {u["pk"]: u for u in users}
    owned: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in identities:
        owner = by_pk.get(i["user_pk"])
        name = f"identity {i['provider']}|{i['subject']} ({i['id']})"
        if owner is None:
            problems.append(f"{name} belongs to no existing user ({i['user_pk']})")
            continue
        if owner["tenant_id"] != i["tenant_id"]:
            problems.append(f"{name} belongs to a user of another tenant")
        owned[i["user_pk"]].append(i)
    # (1) every user has at least one identity and exactly one primary, and (DESIGN.md) its
    # user_id is provider|subject of that primary identity.
    for u in users:
        mine = owned.get(u["pk"], [])
        primaries = [i for i in mine if i["is_primary"]]
        if not mine:
            problems.append(f"user {u['user_id']} has no identity")
        if len(primaries) != 1:
            problems.append(f"user {u['user_id']} has {len(primaries)} primary identities")
        elif f"{primaries[0]['provider']}|{primaries[0]['subject']}" != u["user_id"]:
            p = primaries[0]
            problems.append(
                f"user {u['user_id']} has primary identity {p['provider']}|{p['subject']}"
            )
    # (2) (tenant, connection, subject) is unique.
    keys = Counter((i["tenant_id"], i["connection_id"], i["subject"]) for i in identities)
    problems += [f"identity {k} appears {n} times" for k, n in keys.items() if n > 1]
    ids = Counter((u["tenant_id"], u["user_id"]) for u in users)
    problems += [f"user_id {k} held by {n} users" for k, n in ids.items() if n > 1]
    # (3) a user_id once issued is never issued to someone else: no live user holds a retired id.
    gone = {(r["tenant_id"], r["user_id"]) for r in retired}
    problems += [
        f"user {u['user_id']} holds a retired user_id"
        for u in users
        if (u["tenant_id"], u["user_id"]) in gone
    ]
    return problems


async def _rows(engine: AsyncEngine, table: sa.Table) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(table))
        return [dict(r._mapping) for r in result]


async def check_invariants(engine: AsyncEngine) -> None:
    """Assert DESIGN.md's invariants on what is committed in ``engine``'s database."""
    users = await _rows(engine, t.users)
    identities = await _rows(engine, t.identities)
    retired = await _rows(engine, t.retired_user_ids)
    problems = violations(users, identities, retired)
    assert not problems, "invariants broken:\n  " + "\n  ".join(problems)


#: The tables a failed link or unlink must leave exactly as they were.
SNAPSHOT_TABLES = (t.users, t.identities, t.retired_user_ids, t.password_credentials)


async def snapshot(engine: AsyncEngine) -> dict[str, list[str]]:
    """Every row of the linking tables, as sorted JSON strings (comparable with ==)."""
    out: dict[str, list[str]] = {}
    for table in SNAPSHOT_TABLES:
        rows = await _rows(engine, table)
        out[table.name] = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
    return out


async def owners(engine: AsyncEngine, tenant_id: str) -> dict[str, str]:
    """identity user_id (provider|subject) -> the user_id of the user that holds it."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.identities.c.provider, t.identities.c.subject, t.users.c.user_id)
            .join(t.users, t.users.c.pk == t.identities.c.user_pk)
            .where(t.identities.c.tenant_id == tenant_id)
        )
        return {f"{p}|{s}": u for p, s, u in rows}


# -- users, tokens -------------------------------------------------------------------


async def new_user(world: World, email: str, password: str = PASSWORD, **fields: Any) -> User:
    return await world.container.users.create(
        world.tenant, None, NewDatabaseUser(email=email, password=password, **fields)
    )


async def password_realm(
    http: httpx.AsyncClient,
    app: Client,
    email: str,
    *,
    password: str = PASSWORD,
    scope: str = USER_SCOPE,
    audience: str | None = MANAGEMENT_AUDIENCE,
) -> httpx.Response:
    body: dict[str, Any] = {
        "grant_type": PASSWORD_REALM,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "username": email,
        "password": password,
        "realm": REALM,
        "scope": scope,
    }
    if audience is not None:
        body["audience"] = audience
    return await http.post("/oauth/token", json=body)


async def user_token(
    http: httpx.AsyncClient, app: Client, email: str, scope: str = USER_SCOPE
) -> str:
    """An access token for the Management API as ``email``, with the current-user scopes."""
    response = await password_realm(http, app, email, scope=scope)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def id_token(http: httpx.AsyncClient, app: Client, email: str) -> str:
    """The ID token of ``email``: what the secondary account hands over as ``link_with``."""
    response = await password_realm(http, app, email, scope=ID_SCOPE, audience=None)
    assert response.status_code == 200, response.text
    return str(response.json()["id_token"])


async def machine_token(http: httpx.AsyncClient, machine: Client) -> str:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": machine.client_id,
            "client_secret": machine.client_secret,
            "audience": MANAGEMENT_AUDIENCE,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def path_id(user_id: str) -> str:
    """A user id as a path segment, percent-encoded as python-requests and SDKs send it."""
    from urllib.parse import quote

    return quote(user_id, safe="")


async def link(
    http: httpx.AsyncClient, token: str, primary: str, body: dict[str, Any]
) -> httpx.Response:
    return await http.post(
        f"{API}/users/{path_id(primary)}/identities", json=body, headers=bearer(token)
    )


async def unlink(
    http: httpx.AsyncClient, token: str, primary: str, provider: str, subject: str
) -> httpx.Response:
    return await http.delete(
        f"{API}/users/{path_id(primary)}/identities/{provider}/{path_id(subject)}",
        headers=bearer(token),
    )


def subject_of(user_id: str) -> str:
    return user_id.split("|", 1)[1]


def management_error(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    """Auth0's Management API error body (auth0-wire.md §1.2) with exactly ``message``."""
    assert response.status_code == status, (status, response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == status, body
    assert body["message"] == message, body
    assert isinstance(body.get("error"), str), body
    return body


# -- JWTs by hand ---------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    value: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return value


async def sign(world: World, claims: dict[str, Any], tenant: Tenant | None = None) -> str:
    """An RS256 token signed with ``tenant``'s current key (the default tenant's by default)."""
    keyset = await world.container.keys.keyset(tenant or world.tenant)
    return keyset.signing.sign(claims)


def unsigned(claims: dict[str, Any]) -> str:
    """``alg: none`` (RFC 7519 §6): no signature at all."""
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(claims)}."


async def hs256_with_public_key(world: World, claims: dict[str, Any]) -> str:
    """The classic confusion attack: HMAC-SHA256 keyed with the server's public key."""
    keyset = await world.container.keys.keyset(world.tenant)
    jwk = keyset.public_jwks[0]
    header = {"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    secret = public_pem(jwk)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def public_pem(jwk: dict[str, Any]) -> bytes:
    def number(value: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    key = rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def id_claims(sub: str, aud: Any, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "sub": sub, "aud": aud, "iat": now, "exp": now + 600}
    claims.update(extra)
    return claims
