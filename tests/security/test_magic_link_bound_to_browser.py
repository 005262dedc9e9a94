"""Issue 11, finding 7: a passwordless magic link completes only in the browser that asked for it.

An attacker used to request a magic link for their own address and get a victim to open it: the
victim's browser was silently signed in as the attacker (login CSRF), its own session replaced.
Now ``/passwordless/start`` with ``send=link`` binds the link to the requesting browser with an
HttpOnly cookie (its hash kept with the parked request); elsewhere a page names the account the
link would sign in to and asks, by a POST with a CSRF token, and nothing changes until then.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.oidc.conftest import (
    CALLBACK,
    EMAIL,
    Browser,
    Oidc,
    callback_params,
    location,
)
from tests.oidc.conftest import browser as browser
from tests.oidc.conftest import oidc as oidc
from tether.web.app import create_app

ATTACKER = "mallory@example.com"


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"__action": a.get("action", "")})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            self.forms[-1][a["name"]] = a.get("value", "")


def forms_of(html: str) -> list[dict[str, str]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@pytest.fixture
async def attacker(oidc: Oidc) -> AsyncIterator[httpx.AsyncClient]:
    """The attacker's own browser, with the email connection enabled for the relying party."""
    c, tenant = oidc.container, oidc.world.tenant
    await c.connections.create(tenant, "email", "email", {}, [oidc.rp.client_id])
    transport = httpx.ASGITransport(
        app=create_app(c, deliver_mail=False), client=("127.0.0.1", 50011)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://tether.test") as client:
        yield client


async def request_link(http: httpx.AsyncClient, oidc: Oidc, email: str) -> str:
    """``POST /passwordless/start`` with ``send=link`` from ``http``; the link from the mail."""
    r = await http.post(
        "/passwordless/start",
        json={
            "client_id": oidc.rp.client_id,
            "client_secret": oidc.rp.client_secret,
            "connection": "email",
            "send": "link",
            "email": email,
            "authParams": {
                "response_type": "code",
                "redirect_uri": CALLBACK,
                "scope": "openid email",
                "state": "from-link",
            },
        },
    )
    assert r.status_code == 200, r.text
    mails = [m for m in await oidc.container.mail.list(oidc.world.tenant) if m.to == email]
    found = re.search(r"https?://\S+(/u/passwordless/link\?\S+)", mails[0].body)
    assert found, mails[0].body
    return found.group(1)


async def signed_in_email(oidc: Oidc, http: httpx.AsyncClient) -> str | None:
    """Whose SSO session the browser's cookie names (None: no session)."""
    c, tenant = oidc.container, oidc.world.tenant
    session = await c.sessions.current(tenant, http.cookies.get("tether_session"))
    if session is None:
        return None
    async with c.uow() as uow:
        user = await uow.users.by_pk(tenant.id, session.user_pk)
    return user.email if user else None


async def test_a_link_opened_in_another_browser_asks_and_keeps_the_session(
    browser: Browser,  # the victim, signed in as themselves
    oidc: Oidc,
    attacker: httpx.AsyncClient,
) -> None:
    """Login CSRF (OWASP ASVS 3.5.1; RFC 9700 §4.7 on binding a flow to the user agent): a link
    the attacker requested for their own address, opened in the victim's browser, does not
    sign it in; a page names the account and asks; the victim's session is kept."""
    await browser.code()
    assert await signed_in_email(oidc, browser.http) == EMAIL
    link = await request_link(attacker, oidc, ATTACKER)

    page = await browser.http.get(link)

    assert page.status_code == 200, page.text
    assert ATTACKER in page.text
    assert EMAIL in page.text  # says who is signed in here now
    assert "set-cookie" not in page.headers or "tether_session" not in page.headers["set-cookie"]
    assert await signed_in_email(oidc, browser.http) == EMAIL
    # silent authentication still answers for the victim
    assert "code" in callback_params(await browser.authorize(prompt="none"))

    # the confirmation is a POST with this browser's CSRF token: without it nothing happens
    [confirm] = [f for f in forms_of(page.text) if "csrf" in f]
    action = urljoin(str(page.url), confirm.pop("__action"))
    refused = await browser.http.post(action, data={**confirm, "csrf": "0" * 64})
    assert refused.status_code == 403
    assert await signed_in_email(oidc, browser.http) == EMAIL

    # only an explicit confirmation switches the account (the code was not spent by the GET)
    confirmed = await browser.http.post(action, data=confirm)
    assert confirmed.status_code == 303, confirmed.text
    resumed = await browser.http.get(location(confirmed))
    assert callback_params(resumed)["state"] == "from-link"
    assert await signed_in_email(oidc, browser.http) == ATTACKER


async def test_a_link_opened_in_a_fresh_browser_asks_first(
    oidc: Oidc, attacker: httpx.AsyncClient
) -> None:
    """Login CSRF (OWASP ASVS 3.5.1): a browser that did not ask for the link is not signed in
    by merely opening it, even with no session of its own."""
    link = await request_link(attacker, oidc, ATTACKER)
    transport = httpx.ASGITransport(
        app=create_app(oidc.container, deliver_mail=False), client=("127.0.0.1", 50012)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://tether.test") as other:
        page = await other.get(link)
        assert page.status_code == 200, page.text
        assert ATTACKER in page.text
        assert await signed_in_email(oidc, other) is None


async def test_the_requesting_browser_completes_directly(
    oidc: Oidc, attacker: httpx.AsyncClient
) -> None:
    """RFC 9700 §4.7 (the flow completes in the user agent that started it): the browser that
    asked for the link is signed in by opening it, with no extra step."""
    link = await request_link(attacker, oidc, ATTACKER)
    set_cookie = attacker.cookies
    assert any("magic" in name for name in set_cookie), list(set_cookie)

    opened = await attacker.get(link)

    assert opened.status_code == 303, opened.text
    assert urlsplit(location(opened)).path == "/authorize/resume"
    resumed = await attacker.get(location(opened))
    assert callback_params(resumed)["state"] == "from-link"
    assert await signed_in_email(oidc, attacker) == ATTACKER


async def test_a_forged_binding_cookie_does_not_complete(
    oidc: Oidc, attacker: httpx.AsyncClient
) -> None:
    """RFC 9700 §4.7: the binding is a secret only the requesting browser holds (stored hashed,
    compared in constant time); a guessed cookie value in another browser still asks."""
    link = await request_link(attacker, oidc, ATTACKER)
    [name] = [n for n in attacker.cookies if "magic" in n]
    transport = httpx.ASGITransport(
        app=create_app(oidc.container, deliver_mail=False), client=("127.0.0.1", 50013)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://tether.test") as other:
        other.cookies.set(name, "x" * 43, domain="tether.test", path="/")
        page = await other.get(link)
        assert page.status_code == 200, page.text
        assert await signed_in_email(oidc, other) is None
