"""What the browser tests share: the live server's handle, the watch over hosted pages, and the
steps a person takes through Tether's pages."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROMIUM = os.environ.get("TETHER_TEST_CHROMIUM", "/usr/bin/chromium")
SPA_JS = HERE / "node_modules" / "@auth0" / "auth0-spa-js" / "dist"
PLAYGROUND = REPO / "examples" / "spa-playground" / "serve.py"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Every wait is bounded; Playwright's defaults for actions and navigations.
ACTION_TIMEOUT_MS = 15_000
NAVIGATION_TIMEOUT_MS = 20_000
CLI_TIMEOUT_S = 60
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def email(label: str) -> str:
    return f"{label}-{secrets.token_hex(4)}@example.com"


def tether_bin() -> str:
    found = Path(sys.executable).with_name("tether")
    return str(found) if found.exists() else (shutil.which("tether") or "tether")


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [tether_bin(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Live:
    """A running ``tether serve`` and the SPA playground configured for it."""

    url: str  # http://localhost:PORT: Tether's public URL, spa-js's "domain"
    issuer: str
    app_url: str  # http://localhost:APP/: the app's callback and logout URL
    app_origin: str
    client_id: str
    audience: str
    other_callback: str  # registered, but its origin is not a web origin
    env: dict[str, str]
    data_dir: Path
    log: Path

    def cli(self, *args: str) -> Any:
        """``tether ARGS --json`` on this server's database, parsed."""
        return json.loads(run_cli(self.env, self.data_dir, *args, "--json"))

    def signup(self, email: str, password: str = PASSWORD) -> None:
        """A database user, created through the public API as an app would."""
        r = httpx.post(
            f"{self.url}/dbconnections/signup",
            json={
                "client_id": self.client_id,
                "email": email,
                "password": password,
                "connection": "Username-Password-Authentication",
            },
            timeout=10,
        )
        assert r.status_code == 200, r.text


# -- watching what the browser gets from Tether -------------------------------------------

_ANCESTORS = re.compile(r"frame-ancestors ([^;]+)")


@dataclass
class Visit:
    """One HTML document Tether served to the browser (a page, a popup or an iframe)."""

    url: str
    status: int
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def frame_ancestors(self) -> str | None:
        m = _ANCESTORS.search(self.headers.get("content-security-policy", ""))
        return m.group(1).strip() if m else None

    @property
    def is_web_message(self) -> bool:
        return self.frame_ancestors not in (None, "'none'")


@dataclass
class Watch:
    """What a browser context saw of Tether, and what the browser complained about."""

    live: Live
    problems: list[str] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def on_response(self, response: Any) -> None:
        # Read now, from the event itself: a popup's responses are gone once it closes, so no
        # all_headers() round trip. (These headers leave out only the cookie ones.)
        if (
            response.url.startswith(self.live.url + "/")
            and response.request.resource_type == "document"
            and not 300 <= response.status < 400
        ):
            headers = response.headers
            if headers.get("content-type", "").startswith("text/html"):
                self.visits.append(Visit(response.url, response.status, headers))

    def on_console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"console {message.type}: {text}")

    def on_page(self, page: Any) -> None:
        page.on("console", self.on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def wait_for(
        self,
        page: Any,
        path: str,
        *,
        web_message: bool,
        status: int | None = None,
        timeout_s: float = 5,
    ) -> Visit:
        """The visit of ``path`` once its response event has reached Python (events are
        delivered while a call into the browser waits, so this waits inside one)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for v in self.visits:
                if (
                    v.path == path
                    and v.is_web_message == web_message
                    and status in (None, v.status)
                ):
                    return v
            if time.monotonic() > deadline:
                raise AssertionError(f"no {path} page seen: {[v.url for v in self.visits]}")
            page.wait_for_timeout(50)

    def check(self) -> None:
        """The browser rules (DESIGN.md) on every page seen, and no CSP violation."""
        wrong: list[str] = []
        for v in self.visits:
            h = v.headers
            if h.get("referrer-policy") != "no-referrer":
                wrong.append(f"{v.url}: Referrer-Policy {h.get('referrer-policy')!r}")
            if v.is_web_message:
                # The web_message answer: the app frames it for silent authentication, so
                # only the app's own origin may frame it, and no X-Frame-Options.
                if v.path not in ("/authorize", "/authorize/resume"):
                    wrong.append(f"{v.url}: a frameable page ({v.frame_ancestors})")
                if v.frame_ancestors != self.live.app_origin:
                    wrong.append(f"{v.url}: frame-ancestors {v.frame_ancestors!r}")
                if "x-frame-options" in h:
                    wrong.append(
                        f"{v.url}: web_message with X-Frame-Options {h['x-frame-options']}"
                    )
                continue
            q = parse_qs(urlsplit(v.url).query)
            if (
                v.path == "/authorize"
                and q.get("response_mode") == ["web_message"]
                and q.get("redirect_uri", [""])[0].startswith(self.live.app_url)
            ):
                wrong.append(f"{v.url}: a web_message answer the app may not frame")
            if v.frame_ancestors != "'none'":
                wrong.append(f"{v.url}: frame-ancestors {v.frame_ancestors!r}")
            if h.get("x-frame-options", "").upper() != "DENY":
                wrong.append(f"{v.url}: X-Frame-Options {h.get('x-frame-options')!r}")
        assert not wrong, "hosted pages break the browser rules:\n" + "\n".join(wrong)
        assert not self.problems, "the browser complained:\n" + "\n".join(self.problems)


@dataclass
class Session:
    """One browser context (its own cookies) and its first tab."""

    live: Live
    context: Any
    page: Any
    watch: Watch

    def open_app(self) -> Any:
        self.page.goto(self.live.app_url)
        wait_ready(self.page)
        return self.page

    def call(self, expression: str, arg: Any = None) -> Any:
        """Evaluate a playground call in the tab; its result."""
        return self.page.evaluate(expression, arg)


def new_session(browser: Any, live: Live, **context_options: Any) -> Session:
    context = browser.new_context(**context_options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    watch = Watch(live)
    context.on("response", watch.on_response)
    context.on("page", watch.on_page)
    return Session(live, context, context.new_page(), watch)


# -- steps through the pages ------------------------------------------------------------------


def wait_ready(page: Any) -> None:
    """The playground page has started (and handled a callback, if it was one)."""
    page.wait_for_selector("body[data-ready]", state="attached", timeout=NAVIGATION_TIMEOUT_MS)


def on_tether(session: Session, path: str, page: Any = None) -> Any:
    """Wait until the tab shows Tether's ``path`` (e.g. /u/login)."""
    page = page or session.page
    page.wait_for_url(lambda u: u.startswith(f"{session.live.url}{path}"))
    return page


def fill_and_submit(page: Any, **fields: str) -> None:
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    page.click("form button[type=submit]")


def back_at_app(session: Session) -> dict[str, Any]:
    """Wait for the app's callback page to finish handleRedirectCallback; its outcome."""
    page = session.page
    page.wait_for_url(lambda u: u.startswith(session.live.app_url))
    wait_ready(page)
    result: dict[str, Any] | None = page.evaluate("() => playground.results.callback")
    assert result is not None, "the app page saw no authorization response"
    return result


def login_with_redirect(
    session: Session, email: str, password: str = PASSWORD, **authorization_params: str
) -> dict[str, Any]:
    """loginWithRedirect, sign in on /u/login, back at the app: the callback's outcome."""
    session.call("p => playground.login(p)", authorization_params)
    page = on_tether(session, "/u/login")
    fill_and_submit(page, email=email, password=password)
    result = back_at_app(session)
    assert result["ok"], result
    return result


def token(session: Session, **options: Any) -> dict[str, Any]:
    """getTokenSilently with the cache off, so that Tether is asked every time."""
    result: dict[str, Any] = session.call(
        "o => playground.token(o)", {"cacheMode": "off", **options}
    )
    return result
