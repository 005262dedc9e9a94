"""No ticket, code, token, password or secret in any log line (OWASP ASVS 16.2.5 / 7.1.1:
logs never hold credentials or session tokens).

A live ``tether serve`` (tests/e2e's ``server`` fixture) goes through a full flow: sign-up,
password login, the code flow with PKCE through the hosted login page, refresh, a reset
ticket, a passwordless code and a magic link. Every secret value that flowed is then looked for in
everything the process wrote: uvicorn's access log (which records query strings such as
``/lo/reset?ticket=...``) and every other logger.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.e2e.conftest import (
    DATABASE_CONNECTION,
    TETHER,
    Client,
    Server,
    _stop,
    _wait_healthy,
    tether_env,
)
from tether.web.access_log import redact_path

pytestmark = pytest.mark.e2e

CALLBACK = "https://app.example.com/cb"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
OTP = "http://auth0.com/oauth/grant-type/passwordless/otp"
TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


@pytest.fixture(scope="module", params=["text", "json"])
def log_format(request: pytest.FixtureRequest) -> str:
    """Both log formats: text (uvicorn's access log) and TETHER_LOG_FORMAT=json (Tether's own
    request lines, log event lines, everything else as JSON)."""
    return str(request.param)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, log_format: str) -> Iterator[Server]:
    """tests/e2e's live server, at the default log level (info: the access log on)."""
    data_dir = tmp_path_factory.mktemp("logs")
    with tether_env(data_dir) as env:
        env.env["TETHER_LOG_LEVEL"] = "info"
        env.env["TETHER_LOG_FORMAT"] = log_format
        init = env.json("init")
        stdout_path, stderr_path = data_dir / "serve.stdout", data_dir / "serve.stderr"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(
                [TETHER, "serve", "--host", "127.0.0.1", "--port", str(env.port)],
                env=env.env,
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        try:
            srv = Server(
                env=env,
                process=process,
                init=init,
                acme={},
                app=Client(init["default_app"]["client_id"], init["default_app"]["client_secret"]),
                machine=Client(
                    init["management_client"]["client_id"],
                    init["management_client"]["client_secret"],
                ),
                stdout_path=stdout_path,
                stderr_path=stderr_path,
            )
            srv.secrets.update({srv.app.client_secret, srv.machine.client_secret})
            if (data_dir / "tether.secret").exists():
                srv.secrets.add((data_dir / "tether.secret").read_text().strip())
            if "TETHER_MASTER_SECRET" in env.env:
                srv.secrets.add(env.env["TETHER_MASTER_SECRET"])
            _wait_healthy(process, f"{srv.base_url}/healthz", srv.output)
            yield srv
        finally:
            _stop(process)


def test_the_access_log_filter_redacts_query_values() -> None:
    """OWASP ASVS 16.2.5: query values are redacted, names and harmless values kept."""
    assert redact_path("/lo/reset?ticket=abc123") == "/lo/reset?ticket=[redacted]"
    assert redact_path("/authorize?response_type=code&state=s3&code_challenge=x") == (
        "/authorize?response_type=code&state=[redacted]&code_challenge=[redacted]"
    )
    assert redact_path("/login/callback?code=c&state=s") == (
        "/login/callback?code=[redacted]&state=[redacted]"
    )
    assert redact_path("/x?secretword") == "/x?[redacted]"
    assert redact_path("/healthz") == "/healthz"


class Browser:
    """httpx with cookies kept by hand: Tether marks cookies Secure on http://localhost (as
    browsers treat it), which Python's cookie jar would not send back over http."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar: dict[str, str] = {}
        self.http = httpx.Client(timeout=30)

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value:
                self.jar[name.strip()] = value
            else:
                self.jar.pop(name.strip(), None)
        return response

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._keep(self.http.get(urljoin(self.base, url), headers=self._headers(), **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._keep(
            self.http.post(urljoin(self.base, url), headers=self._headers(), **kwargs)
        )


def _form(html: str) -> tuple[str, dict[str, str]]:
    form = re.search(r"<form[^>]*method=\"post\"[^>]*action=\"([^\"]*)\"(.*?)</form>", html, re.S)
    assert form, html[:2000]
    fields = {
        unescape(n): unescape(v)
        for n, v in re.findall(
            r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"",
            form.group(2),
        )
    }
    return unescape(form.group(1)), fields


def _mail_to(srv: Server, email: str) -> str:
    mails = [m for m in srv.env.json("mail", "list") if m["to"] == email]
    assert mails, f"no mail to {email}"
    return str(mails[0]["body"])


def _tokens(srv: Server, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    srv.secrets.update(str(body[f]) for f in TOKEN_FIELDS if body.get(f))
    return body


def test_a_full_flow_leaves_no_secret_in_the_logs(server: Server, log_format: str) -> None:
    """OWASP ASVS 16.2.5: sign-up, password login, code flow with PKCE, refresh, a reset
    ticket, a passwordless code, a magic link and an export's download link: none of the passwords, tickets, codes,
    tokens or client secrets appears in any line the server logged."""
    base = f"http://localhost:{server.env.port}"
    http = httpx.Client(base_url=base, timeout=30)
    flowed: set[str] = set()

    machine = _tokens(
        server,
        http.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": server.machine.client_id,
                "client_secret": server.machine.client_secret,
                "audience": server.env.management_audience,
            },
        ),
    )
    api = {"Authorization": f"Bearer {machine['access_token']}"}
    created = http.post(
        "/api/v2/clients",
        headers=api,
        json={
            "name": "Log check",
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token", PASSWORD_REALM, OTP],
        },
    )
    assert created.status_code == 201, created.text
    client_id, client_secret = created.json()["client_id"], created.json()["client_secret"]
    flowed.add(client_secret)
    database = http.get("/api/v2/connections", headers=api, params={"name": DATABASE_CONNECTION})
    db = database.json()[0]
    enabled = http.patch(
        f"/api/v2/connections/{db['id']}",
        headers=api,
        json={"enabled_clients": [*db["enabled_clients"], client_id]},
    )
    assert enabled.status_code == 200, enabled.text
    email_connection = http.post(
        "/api/v2/connections",
        headers=api,
        json={"name": "email", "strategy": "email", "enabled_clients": [client_id]},
    )
    assert email_connection.status_code == 201, email_connection.text

    # Sign-up and password login.
    email = f"logs-{secrets.token_hex(4)}@example.com"
    password = f"pw {secrets.token_urlsafe(12)} long enough"
    flowed.add(password)
    signed_up = http.post(
        "/dbconnections/signup",
        json={
            "client_id": client_id,
            "email": email,
            "password": password,
            "connection": DATABASE_CONNECTION,
        },
    )
    assert signed_up.status_code == 200, signed_up.text
    first = _tokens(
        server,
        http.post(
            "/oauth/token",
            data={
                "grant_type": PASSWORD_REALM,
                "client_id": client_id,
                "client_secret": client_secret,
                "username": email,
                "password": password,
                "realm": DATABASE_CONNECTION,
                "scope": "openid email offline_access",
            },
        ),
    )
    # Refresh.
    _tokens(
        server,
        http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": first["refresh_token"],
            },
        ),
    )

    # The code flow with PKCE, through the hosted login page.
    browser = Browser(base)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    flowed.add(verifier)
    app_state = secrets.token_urlsafe(16)
    flowed.add(app_state)
    r = browser.get(
        "/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid email offline_access",
            "state": app_state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 303, r.text
    login = browser.get(r.headers["location"])
    action, fields = _form(login.text)
    flowed.update(v for k, v in fields.items() if k in ("state", "csrf", "_csrf") and len(v) > 8)
    r = browser.post(
        action or str(login.url), data={**fields, "email": email, "password": password}
    )
    for _ in range(5):
        location = r.headers.get("location", "")
        if r.status_code not in (302, 303) or location.startswith(CALLBACK):
            break
        r = browser.get(location)
    answer = parse_qs(urlsplit(r.headers.get("location", "")).query)
    assert "code" in answer, (r.status_code, r.text[:1000])
    flowed.add(answer["code"][0])
    _tokens(
        server,
        http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": client_secret,
                "code": answer["code"][0],
                "code_verifier": verifier,
                "redirect_uri": CALLBACK,
            },
        ),
    )
    flowed.update(v for v in browser.jar.values() if len(v) > 8)  # session and flow cookies

    # A reset ticket, opened as the mail's link.
    reset = http.post(
        "/dbconnections/change_password",
        json={"client_id": client_id, "email": email, "connection": DATABASE_CONNECTION},
    )
    assert reset.status_code == 200, reset.text
    link = re.search(r"(https?://\S+/lo/reset\?\S+)", _mail_to(server, email))
    assert link, "no reset link"
    ticket = parse_qs(urlsplit(link.group(1)).query)["ticket"][0]
    flowed.add(ticket)
    opened = http.get(urlsplit(link.group(1)).path, params={"ticket": ticket})
    assert opened.status_code == 200, opened.text[:500]

    # A passwordless code, exchanged.
    other = f"otp-{secrets.token_hex(4)}@example.com"
    started = http.post(
        "/passwordless/start",
        json={
            "client_id": client_id,
            "client_secret": client_secret,
            "connection": "email",
            "send": "code",
            "email": other,
        },
    )
    assert started.status_code == 200, started.text
    found = re.search(r"\b(\d{6})\b", _mail_to(server, other))
    assert found
    code = found.group(1)
    _tokens(
        server,
        http.post(
            "/oauth/token",
            data={
                "grant_type": OTP,
                "client_id": client_id,
                "client_secret": client_secret,
                "username": other,
                "otp": code,
                "realm": "email",
                "scope": "openid email",
            },
        ),
    )

    # A magic link, opened.
    linked = f"link-{secrets.token_hex(4)}@example.com"
    started = http.post(
        "/passwordless/start",
        json={
            "client_id": client_id,
            "client_secret": client_secret,
            "connection": "email",
            "send": "link",
            "email": linked,
            "authParams": {
                "response_type": "code",
                "redirect_uri": CALLBACK,
                "scope": "openid email",
                "state": app_state,
            },
        },
    )
    assert started.status_code == 200, started.text
    magic = re.search(r"(https?://\S+/u/passwordless/link\?\S+)", _mail_to(server, linked))
    assert magic
    magic_query = urlsplit(magic.group(1)).query
    flowed.update(
        v for vs in parse_qs(magic_query).values() for v in vs if len(v) > 8 and "@" not in v
    )
    follow = Browser(base)
    r = follow.get(f"{urlsplit(magic.group(1)).path}?{magic_query}")
    assert r.status_code in (200, 303), r.text[:500]

    # A users export, downloaded through its link (the link's token is the only proof).
    export = http.post("/api/v2/jobs/users-exports", headers=api, json={"format": "csv"})
    assert export.status_code == 201, export.text
    job: dict[str, Any] = {}
    for _ in range(100):
        job = http.get(f"/api/v2/jobs/{export.json()['id']}", headers=api).json()
        if job.get("status") in ("completed", "failed"):
            break
        time.sleep(0.1)
    assert job.get("location"), job
    where = urlsplit(job["location"])
    # The token, wherever the link carries it (it used to be the path's last segment).
    flowed.add(parse_qs(where.query).get("token", [where.path.rsplit("/", 1)[-1]])[0])
    downloaded = http.get(job["location"])
    assert downloaded.status_code == 200, downloaded.text[:500]

    server.secrets.update(flowed)
    output = server.output()
    if log_format == "json":
        # Every line the server logged is JSON (stdout has only `tether serve`'s banner).
        logged = server.stderr_path.read_text(errors="replace").splitlines()
        lines = [json.loads(line) for line in logged if line.strip()]
        routes = {line.get("route") for line in lines if line["logger"] == "tether.access"}
        assert "/lo/reset" in routes, f"no request line for the reset:\n{output}"
        assert any(line["logger"] == "tether.events" for line in lines), output
    else:
        assert "/lo/reset?ticket=" in output, f"the access log did not record the reset:\n{output}"
    leaked = sorted(s for s in {*flowed, *server.secrets} if s and s in output)
    assert not leaked, f"{len(leaked)} secret(s) in the server's output: {leaked}"
    # Six digits may occur anywhere by chance (a port, a time): only as a word of its own.
    assert not re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", output), code
