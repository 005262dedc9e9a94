"""A certified OpenID client (Authlib) against a live ``tether serve``.

The server is a real subprocess on a free loopback port with its own data directory (and, with
TETHER_TEST_DATABASE_URL set, its own fresh PostgreSQL database, dropped afterwards), set up with
the CLI as an operator would. Authlib reads discovery, builds the authorization URL with PKCE
(S256) and a nonce, exchanges the code (client_secret_basic), validates the ID token against the
JWKS (signature, iss, aud, nonce, exp, at_hash), refreshes, calls userinfo and logs out. Only the
hosted sign-in form is driven by hand, with httpx, like a browser would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from joserfc.errors import InvalidClaimError

from tests.conftest import PG_URL
from tests.oidc.conftest import forms

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns when it falls back to httpx. Importing
    # authlib.deprecate adds an "always" filter for that warning: put ours in front of it.
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.integrations.starlette_client import OAuth

pytestmark = pytest.mark.e2e

EMAIL = "live@example.com"
PASSWORD = "live horse battery staple"
DATABASE = "Username-Password-Authentication"
SCOPE = "openid profile email offline_access"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Live:
    base: str
    client_id: str
    client_secret: str
    callback: str
    logout_url: str


def _env(data_dir: Path, port: int, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        TETHER_DATA_DIR=str(data_dir),
        TETHER_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TETHER_HOST="127.0.0.1",
        TETHER_PORT=str(port),
        TETHER_LOG_LEVEL="warning",
    )
    if database_url:
        # The README's PostgreSQL deployment: the secret in the environment, `db upgrade`
        # before `init` (which cannot make the secret file first: upgrade needs the secret).
        env["TETHER_DATABASE_URL"] = database_url
        env["TETHER_MASTER_SECRET"] = secrets.token_urlsafe(48)
    return env


def _start(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tether", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, (process.args, stdout, stderr)
    return stdout


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    return _finish(_start(env, cwd, *args))


async def _admin(sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("live")
    port, rp_port = free_port(), free_port()
    database_url = None
    db_name = None
    if PG_URL:
        db_name = "tether_oidc_" + secrets.token_hex(6)
        asyncio.run(_admin(f'CREATE DATABASE "{db_name}"'))
        database_url = urlsplit(PG_URL)._replace(path="/" + db_name).geturl()
    env = _env(data_dir, port, database_url)
    server: subprocess.Popen[bytes] | None = None
    stack = contextlib.ExitStack()
    try:
        if database_url:
            _cli(env, data_dir, "db", "upgrade")
        json.loads(_cli(env, data_dir, "init", "--json"))
        callback = f"http://127.0.0.1:{rp_port}/cb"
        logout_url = f"http://127.0.0.1:{rp_port}/bye"
        log = stack.enter_context((data_dir / "server.log").open("wb"))
        server = subprocess.Popen(
            [sys.executable, "-m", "tether", "serve"],
            env=env,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # The operator's commands while the server starts: it reads everything per request.
        creating_app = _start(
            env,
            data_dir,
            *("apps", "create", "Live RP", "--type", "regular_web", "--json"),
            *("--callbacks", callback, "--logout-urls", logout_url, "--connection", DATABASE),
        )
        creating_user = _start(
            env, data_dir, "users", "create", "--email", EMAIL, "--password", PASSWORD
        )
        app = json.loads(_finish(creating_app))
        _finish(creating_user)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (data_dir / "server.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (data_dir / "server.log").read_text()
            time.sleep(0.1)
        yield Live(base, app["client_id"], app["client_secret"], callback, logout_url)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        stack.close()
        if db_name:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


def relying_party(live: Live) -> Any:
    oauth = OAuth()
    oauth.register(
        "tether",
        client_id=live.client_id,
        client_secret=live.client_secret,
        server_metadata_url=live.base + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )
    return oauth.create_client("tether")


async def sign_in(browser: httpx.AsyncClient, url: str) -> httpx.Response:
    """What a person does in a browser: follow to the form, fill it in, submit, follow on.
    Returns the redirect to the application's callback."""
    response = await browser.get(url)
    for _ in range(5):
        if response.status_code not in (302, 303):
            break
        target = urljoin(str(response.url), response.headers["location"])
        if not target.startswith(str(browser.base_url)):
            return response  # leaving for the application
        response = await browser.get(target)
    assert response.status_code == 200, response.text
    form = next(f for f in forms(response.text) if "password" in f.fields)
    posted = await browser.post(
        urljoin(str(response.url), form.action),
        data={**form.fields, "email": EMAIL, "password": PASSWORD},
    )
    assert posted.status_code == 303, posted.text
    answer = await browser.get(urljoin(str(posted.url), posted.headers["location"]))
    assert answer.status_code in (302, 303), answer.text
    return answer


async def test_authlib_code_flow_with_pkce_refresh_userinfo_and_logout(live: Live) -> None:
    rp = relying_party(live)
    metadata = await rp.load_server_metadata()
    assert metadata["issuer"] == live.base + "/"
    assert "S256" in metadata["code_challenge_methods_supported"]

    request = await rp.create_authorization_url(live.callback)
    assert {"url", "state", "nonce", "code_verifier"} <= set(request)
    query = dict(parse_qsl(urlsplit(request["url"]).query))
    assert query["code_challenge_method"] == "S256"

    async with httpx.AsyncClient(base_url=live.base, timeout=10) as browser:
        answer = await sign_in(browser, request["url"])
        callback = answer.headers["location"]
        assert callback.startswith(live.callback + "?")
        got = dict(parse_qsl(urlsplit(callback).query))
        assert got["state"] == request["state"]
        assert got["iss"] == metadata["issuer"]  # RFC 9207

        token = await rp.fetch_access_token(
            redirect_uri=live.callback, code=got["code"], code_verifier=request["code_verifier"]
        )
        assert token["token_type"].lower() == "bearer"
        assert token.get("refresh_token")

        # Authlib checks the signature against jwks_uri, iss, aud, exp, iat, nonce, at_hash.
        claims = await rp.parse_id_token(token, nonce=request["nonce"])
        assert claims["email"] == EMAIL
        assert claims["aud"] == live.client_id
        with pytest.raises(InvalidClaimError):
            await rp.parse_id_token(token, nonce="another nonce")

        info = await rp.userinfo(token=token)
        assert info["sub"] == claims["sub"]
        assert info["email"] == EMAIL

        async with AsyncOAuth2Client(
            live.client_id, live.client_secret, token_endpoint_auth_method="client_secret_basic"
        ) as client:
            renewed = await client.refresh_token(
                metadata["token_endpoint"], refresh_token=token["refresh_token"]
            )
        assert renewed["access_token"] != token["access_token"]
        assert renewed["refresh_token"] != token["refresh_token"]
        renewed_claims = await rp.parse_id_token(renewed, nonce=None)
        assert renewed_claims["sub"] == claims["sub"]
        again = await rp.userinfo(token=renewed)
        assert again["sub"] == claims["sub"]

        # Silent authentication rides on the session the form started.
        silent = await rp.create_authorization_url(live.callback, prompt="none")
        quiet = await browser.get(silent["url"])
        assert "code" in dict(parse_qsl(urlsplit(quiet.headers["location"]).query))

        # RP-initiated logout ends it.
        logout = await rp.create_logout_url(
            post_logout_redirect_uri=live.logout_url, id_token_hint=token["id_token"]
        )
        bye = await browser.get(logout["url"])
        assert bye.status_code == 302
        assert dict(parse_qsl(urlsplit(bye.headers["location"]).query)) == {
            "state": logout["state"]
        }
        after = await rp.create_authorization_url(live.callback, prompt="none")
        refused = dict(
            parse_qsl(urlsplit((await browser.get(after["url"])).headers["location"]).query)
        )
        assert refused["error"] == "login_required"
