"""What the connection tests share: a small browser made of httpx (cookies per host, redirects
and forms followed by hand), a loopback server thread for the test doubles, JWT helpers, and the
Management API calls the checks use.

Every request has a timeout, and every address is on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: The relying party the tests sign in to; the browser stops when it is sent there.
APP_CALLBACK = "https://app.example.com/callback"
HTTP_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MAX_HOPS = 30


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def in_thread(make: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Run a coroutine on an event loop of its own, in a worker thread (the caller may already
    run a loop: Playwright's sync API does)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result(timeout=timeout)


# -- JWTs ----------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the tests read what Tether issued them)."""
    payload: dict[str, Any] = json.loads(unb64url(token.split(".")[1]))
    return payload


@dataclass
class RsaKey:
    """An RSA signing key with a ``kid``, and its public JWK."""

    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid: str) -> RsaKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = (
            b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        )
        signature = self.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def unsigned(claims: dict[str, Any]) -> str:
    """``alg: none``: a JWT with no signature at all."""
    header = {"alg": "none", "typ": "JWT"}
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode()) + "."


# -- loopback servers for the test doubles ---------------------------------------------------


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1"):
        self.host = host
        self.port = free_port(host)
        config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            # A handler that hangs on purpose must not hold the shutdown up.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError(f"test double on {self.url} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[LoopbackServer]:
    server = LoopbackServer(app).start()
    try:
        yield server
    finally:
        server.stop()


# -- a browser made of httpx ---------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms (action, method, inputs) and links of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": (a.get("method") or "get").lower(),
                "inputs": {},
            }
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form["inputs"][a["name"]] = a.get("value", "")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


@dataclass
class Page:
    url: str
    status: int
    text: str
    headers: httpx.Headers

    def parsed(self) -> _Forms:
        parser = _Forms()
        parser.feed(self.text)
        return parser

    def link(self, contains: str) -> str:
        for href in self.parsed().links:
            if contains in href:
                return urljoin(self.url, href)
        raise AssertionError(f"no link with {contains!r} on {self.url}:\n{self.text[:2000]}")

    def form(self, index: int = 0) -> dict[str, Any]:
        forms = self.parsed().forms
        assert len(forms) > index, f"no form {index} on {self.url} ({self.status}):\n{self.text}"
        return forms[index]


@dataclass
class Cookie:
    name: str
    value: str
    path: str


class Browser:
    """Follows redirects and submits forms like a person's browser would, keeping cookies per
    host (as browsers do; not per port). Secure cookies are sent over http to loopback, as
    Chromium does for localhost. Stops when sent to the application's callback."""

    def __init__(self, stop_at: str = APP_CALLBACK):
        self.stop_at = stop_at
        self.cookies: dict[str, dict[str, Cookie]] = {}
        self.history: list[str] = []
        self._client = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    # cookies

    def _cookie_header(self, url: str) -> str | None:
        parts = urlsplit(url)
        jar = self.cookies.get(parts.hostname or "", {})
        path = parts.path or "/"
        sent = [
            f"{c.name}={c.value}"
            for c in sorted(jar.values(), key=lambda c: -len(c.path))
            if path == c.path or path.startswith(c.path.rstrip("/") + "/") or c.path == "/"
        ]
        return "; ".join(sent) or None

    def _store(self, url: str, response: httpx.Response) -> None:
        parts = urlsplit(url)
        jar = self.cookies.setdefault(parts.hostname or "", {})
        for header in response.headers.get_list("set-cookie"):
            pieces = [p.strip() for p in header.split(";")]
            name, _, value = pieces[0].partition("=")
            attrs = {}
            for p in pieces[1:]:
                k, _, v = p.partition("=")
                attrs[k.lower()] = v
            path = attrs.get("path") or "/"
            key = f"{name}@{path}"
            expired = attrs.get("max-age") == "0" or (
                "expires" in attrs and "1970" in attrs["expires"]
            )
            if expired or value in ("", '""'):
                jar.pop(key, None)
            else:
                jar[key] = Cookie(name, value, path)

    def cookie(self, host: str, name: str) -> str | None:
        found = [c.value for c in self.cookies.get(host, {}).values() if c.name == name]
        return found[0] if found else None

    def set_cookie(self, host: str, name: str, value: str, path: str = "/") -> None:
        self.cookies.setdefault(host, {})[f"{name}@{path}"] = Cookie(name, value, path)

    # requests

    def request(self, method: str, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        headers = {"Accept": "text/html,application/json"}
        cookie = self._cookie_header(url)
        if cookie:
            headers["Cookie"] = cookie
        self.history.append(f"{method} {url}")
        response = self._client.request(method, url, data=data, headers=headers)
        self._store(url, response)
        return response

    def go(self, url: str, method: str = "GET", data: dict[str, str] | None = None) -> Page:
        """Request ``url`` and follow redirects until a page, or the app's callback (whose
        URL is then the Page's, unfetched, status 0)."""
        for _ in range(MAX_HOPS):
            if url.startswith(self.stop_at):
                self.history.append(f"(at the app) {url}")
                return Page(url, 0, "", httpx.Headers())
            response = self.request(method, url, data)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if response.status_code in (301, 302, 303):
                    method, data = "GET", None
                continue
            return Page(url, response.status_code, response.text, response.headers)
        raise AssertionError("too many redirects:\n" + "\n".join(self.history[-MAX_HOPS:]))

    def submit(self, page: Page, values: dict[str, str] | None = None, index: int = 0) -> Page:
        form = page.form(index)
        data = {**form["inputs"], **(values or {})}
        action = urljoin(page.url, form["action"] or page.url)
        return self.go(action, form["method"].upper(), data)


def callback_params(page: Page) -> dict[str, str]:
    """What the application's callback was given (the query)."""
    assert page.status == 0, (
        f"not sent back to the app but shown {page.url} ({page.status}):\n{page.text[:3000]}"
    )
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def authorize_url(issuer: str, client_id: str, **extra: str) -> tuple[str, str]:
    """An /authorize URL for the test app, and the ``state`` it carries."""
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": APP_CALLBACK,
        "scope": "openid profile email",
        "state": state,
        "nonce": secrets.token_urlsafe(12),
        **extra,
    }
    return f"{issuer}authorize?{urlencode(query)}", state
