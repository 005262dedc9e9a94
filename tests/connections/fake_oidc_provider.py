"""TEST DOUBLE: a fake OpenID provider that can be told to misbehave.

Not a real provider (tests/connections/oidc_provider.mjs runs the real oidc-provider): this one
answers discovery, JWKS, /authorize (no login: it sends the person straight back with a code),
/token and /userinfo, and makes whatever bad answer a test asks for: an ID token with the wrong
issuer, audience or nonce, expired, unsigned (``alg: none``) or signed by a key that is not in
its JWKS; a token endpoint that hangs or answers with a huge body; an ``error`` instead of a
code. Served on 127.0.0.1 in a thread (support.LoopbackServer).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.connections.support import RsaKey, unsigned

CLIENT_ID = "tether-at-fake-op"
#: RFC 6749 §2.3.1: form-urlencoded in the Basic header; "%41" shows whether it was.
CLIENT_SECRET = "fake op+secret/%41=:"
HANG_SECONDS = 30.0
HUGE_BYTES = 8 * 1024 * 1024


@dataclass
class Behaviour:
    """What the next sign-ins get; a test sets it, the fixture resets it."""

    subject: str = "fake-subject"
    #: Claims changed or added in the ID token (None removes one).
    id_token: dict[str, Any] = field(default_factory=dict)
    #: "good" | "none" (alg none) | "rogue" (a key and kid not in the JWKS) |
    #: "rogue_same_kid" (another key under the JWKS key's kid)
    signing: str = "good"
    #: "ok" | "hang" (no answer) | "trickle" (a byte now and then) | "huge" | "not_json" |
    #: "deep" (JSON nested too deep to parse)
    token_endpoint: str = "ok"
    #: An ``error`` sent back instead of a code (e.g. access_denied).
    authorize_error: str | None = None
    userinfo: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Pending:
    nonce: str
    code_challenge: str
    redirect_uri: str
    subject: str


class FakeOidcProvider:
    """TEST DOUBLE of an OpenID provider. ``url`` is set once served."""

    def __init__(self) -> None:
        self.url = ""
        self.key = RsaKey.generate("fake-op-key")
        self.rogue = RsaKey.generate("rogue-key")
        self.behaviour = Behaviour()
        self.codes: dict[str, _Pending] = {}
        #: Every request's "METHOD path", for the tests to see what Tether asked for.
        self.seen: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
            ]
        )

    @property
    def issuer(self) -> str:
        return self.url + "/"

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.seen.clear()

    def connection_options(self, **extra: Any) -> dict[str, Any]:
        return {
            "discovery_url": self.issuer + ".well-known/openid-configuration",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "openid profile email",
            **extra,
        }

    async def discovery(self, request: Request) -> Response:
        self.seen.append("GET discovery")
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
                "userinfo_endpoint": self.url + "/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.seen.append("GET jwks")
        return JSONResponse({"keys": [self.key.public_jwk()]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        self.seen.append("GET authorize")
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        redirect_uri = q["redirect_uri"]
        if self.behaviour.authorize_error:
            query = {"error": self.behaviour.authorize_error, "state": q.get("state", "")}
            return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)
        code = secrets.token_urlsafe(16)
        self.codes[code] = _Pending(
            q["nonce"], q["code_challenge"], redirect_uri, self.behaviour.subject
        )
        query = {"code": code, "state": q.get("state", "")}
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)

    def _client_ok(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return False
        cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        # RFC 6749 §2.3.1: both are form-urlencoded before they are joined.
        return unquote(cid) == CLIENT_ID and unquote(secret) == CLIENT_SECRET

    async def token(self, request: Request) -> Response:
        self.seen.append("POST token")
        behaviour = self.behaviour
        if behaviour.token_endpoint == "hang":
            await asyncio.sleep(HANG_SECONDS)
        if behaviour.token_endpoint == "huge":
            return StreamingResponse(_huge(), media_type="application/json")
        if behaviour.token_endpoint == "trickle":
            return StreamingResponse(_trickle(), media_type="application/json")
        if behaviour.token_endpoint == "deep":
            return Response(b"[" * 200_000 + b"]" * 200_000, media_type="application/json")
        if behaviour.token_endpoint == "not_json":
            return Response("<html>oops</html>", media_type="text/html")
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        pending = self.codes.pop(str(form.get("code")), None)
        if pending is None or form.get("redirect_uri") != pending.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier") or "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending.code_challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": pending.subject,
            "nonce": pending.nonce,
            "iat": now,
            "exp": now + 300,
        }
        for name, value in behaviour.id_token.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        if behaviour.signing == "none":
            id_token = unsigned(claims)
        elif behaviour.signing == "rogue":
            id_token = self.rogue.sign(claims)
        elif behaviour.signing == "rogue_same_kid":
            id_token = self.rogue.sign(claims, kid=self.key.kid)
        else:
            id_token = self.key.sign(claims)
        return JSONResponse(
            {
                "access_token": "fake-at-" + secrets.token_urlsafe(8),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def userinfo(self, request: Request) -> Response:
        self.seen.append("GET userinfo")
        if not request.headers.get("authorization", "").startswith("Bearer fake-at-"):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        info = dict(self.behaviour.userinfo)
        if info:
            info.setdefault("sub", self.behaviour.subject)
        return JSONResponse(info or {"sub": self.behaviour.subject})


async def _huge() -> Any:
    """A JSON string that never seems to end (no Content-Length): 8 MiB at most."""
    yield b'{"access_token": "'
    chunk = b"x" * 65536
    for _ in range(HUGE_BYTES // len(chunk)):
        yield chunk
        await asyncio.sleep(0)
    yield b'"}'


async def _trickle() -> Any:
    """A byte every half second, never reaching the end within any sane deadline."""
    yield b'{"access_token": "'
    for _ in range(int(HANG_SECONDS * 2)):
        await asyncio.sleep(0.5)
        yield b"x"
    yield b'"}'
