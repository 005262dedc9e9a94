"""In-process helpers: a cookie-keeping client that signs in through the hosted pages like a
browser would, and reads the forms of a page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any

import httpx

from tether.domain.clock import SystemClock

PASSWORD = "correct horse battery staple"
DATABASE = "Username-Password-Authentication"


class MovableClock:
    """Stands still until a test moves it."""

    def __init__(self) -> None:
        self._now = SystemClock().now().replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self._current.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea" and self._current is not None:
            self._textarea = a.get("name")
            self._current.fields[self._textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea and self._current is not None:
            self._current.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "textarea":
            self._textarea = None


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form(html: str, action: str, **match: str) -> Form:
    """The first form posting to ``action`` whose hidden fields include ``match``."""
    for f in forms(html):
        if f.action.split("?")[0] == action and all(f.fields.get(k) == v for k, v in match.items()):
            return f
    raise AssertionError(f"no form to {action} {match} in:\n{html[:3000]}")


def alert(html: str) -> str:
    m = re.search(r'role="alert"[^>]*>(.*?)</div>', html, re.S)
    return unescape(m.group(1)).strip() if m else ""


def notice(html: str) -> str:
    m = re.search(r'role="status">(.*?)</div>', html, re.S)
    return unescape(m.group(1)).strip() if m else ""


async def submit(
    http: httpx.AsyncClient, f: Form, follow: bool = True, **values: str
) -> httpx.Response:
    data = {**f.fields, **values}
    return await http.post(f.action, data=data, follow_redirects=follow)


async def sign_in(
    http: httpx.AsyncClient, start: str, email: str, password: str = PASSWORD
) -> httpx.Response:
    """GET ``start``, which sends the browser to /u/login; sign in; the page it comes back to."""
    r = await http.get(start, follow_redirects=True)
    return await login_here(http, r, email, password)


async def login_here(
    http: httpx.AsyncClient, page: httpx.Response, email: str, password: str = PASSWORD
) -> httpx.Response:
    assert page.url.path == "/u/login", (page.url, page.text[:500])
    f = form(page.text, "/u/login")
    return await submit(http, f, email=email, password=password)


def path_of(response: httpx.Response) -> str:
    return response.url.path


def fields_of(**values: Any) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}
