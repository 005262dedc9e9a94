"""TEST DOUBLE: a local stand-in for GitHub's OAuth app flow and REST API (GitHub itself cannot be
reached from tests).

It answers the documented shapes only:

- ``GET /login/oauth/authorize`` (client_id, redirect_uri, scope, state, code_challenge): no
  login page, the person chosen by the test is sent straight back with ``code`` and ``state``.
- ``POST /login/oauth/access_token`` (client_id, client_secret, code, redirect_uri,
  code_verifier): JSON with ``Accept: application/json``, else form-encoded, as GitHub does;
  a bad code is a 200 with ``error: bad_verification_code``, as GitHub does.
- ``GET /user``: the authenticated user (``id`` a number, ``login`` that can change, ``email``
  the public address or null); ``GET /user/emails``: ``[{email, primary, verified,
  visibility}]``. Both want ``Authorization: Bearer|token <token>``.

Docs: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps,
https://docs.github.com/en/rest/users/users, https://docs.github.com/en/rest/users/emails.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "Iv1.fakegithubclient"
CLIENT_SECRET = "fake-github-secret-0123456789abcdef"
DOCS = "https://docs.github.com/rest"


@dataclass
class GithubAccount:
    id: int
    login: str
    name: str | None = None
    #: GitHub's /user/emails entries: {"email", "primary", "verified", "visibility"}.
    emails: list[dict[str, Any]] = field(default_factory=list)
    public_email: str | None = None


@dataclass
class _Grant:
    account_id: int
    redirect_uri: str
    code_challenge: str | None


class FakeGitHub:
    """TEST DOUBLE of github.com and api.github.com. ``url`` is set once served."""

    def __init__(self) -> None:
        self.url = ""
        self.accounts: dict[int, GithubAccount] = {}
        #: Who the next /login/oauth/authorize signs in.
        self.next_account: int | None = None
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, int] = {}
        self.app = Starlette(
            routes=[
                Route("/login/oauth/authorize", self.authorize),
                Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
                Route("/user", self.user),
                Route("/user/emails", self.user_emails),
            ]
        )

    def add(self, account: GithubAccount) -> GithubAccount:
        self.accounts[account.id] = account
        return account

    def connection_options(self, **extra: Any) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authorization_endpoint": self.url + "/login/oauth/authorize",
            "token_endpoint": self.url + "/login/oauth/access_token",
            "api_base": self.url,
            **extra,
        }

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or self.next_account is None:
            return PlainTextResponse("The client_id is not registered.", status_code=404)
        code = secrets.token_hex(10)
        self._codes[code] = _Grant(self.next_account, q["redirect_uri"], q.get("code_challenge"))
        query = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def access_token(self, request: Request) -> Response:
        form = await request.form()
        grant = self._codes.pop(str(form.get("code")), None)
        body: dict[str, str]
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            body = {
                "error": "incorrect_client_credentials",
                "error_description": "The client_id and/or client_secret passed are incorrect.",
                "error_uri": DOCS,
            }
        elif grant is None or form.get("redirect_uri") not in (None, grant.redirect_uri):
            body = {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
                "error_uri": DOCS,
            }
        elif grant.code_challenge and _s256(str(form.get("code_verifier") or "")) != (
            grant.code_challenge
        ):
            body = {"error": "bad_verification_code", "error_description": "PKCE mismatch"}
        else:
            token = "gho_" + secrets.token_hex(18)
            self._tokens[token] = grant.account_id
            body = {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(body)
        return PlainTextResponse(urlencode(body), media_type="application/x-www-form-urlencoded")

    def _account(self, request: Request) -> GithubAccount | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        account_id = self._tokens.get(token)
        return self.accounts.get(account_id) if account_id is not None else None

    async def user(self, request: Request) -> Response:
        account = self._account(request)
        if account is None:
            return JSONResponse(
                {"message": "Requires authentication", "documentation_url": DOCS}, 401
            )
        return JSONResponse(
            {
                "login": account.login,
                "id": account.id,
                "node_id": f"U_fake{account.id}",
                "avatar_url": f"https://avatars.example.com/u/{account.id}?v=4",
                "html_url": f"https://github.example.com/{account.login}",
                "type": "User",
                "site_admin": False,
                "name": account.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": account.public_email,
                "hireable": None,
                "bio": None,
                "public_repos": 2,
                "followers": 0,
                "following": 0,
                "created_at": "2015-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }
        )

    async def user_emails(self, request: Request) -> Response:
        account = self._account(request)
        if account is None:
            return JSONResponse(
                {"message": "Requires authentication", "documentation_url": DOCS}, 401
            )
        return JSONResponse(account.emails)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
