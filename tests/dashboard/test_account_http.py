"""The Linked accounts page over HTTP, in process: linking by a fresh sign-in, unlink rules, the
10-minute re-authentication window (a clock that moves), mails and log events."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.dashboard.conftest import make_client, new_user
from tests.dashboard.support import (
    PASSWORD,
    MovableClock,
    alert,
    form,
    login_here,
    notice,
    sign_in,
    submit,
)
from tether.bootstrap import Container
from tether.domain.account import ACCOUNT
from tether.domain.actor import Actor
from tether.domain.connections import ConnectionChanges
from tether.domain.log_filter import LogFilter
from tether.domain.models import Tenant


async def _link(http: httpx.AsyncClient, page: httpx.Response, email: str) -> httpx.Response:
    r = await submit(http, form(page.text, "/account/link"))
    assert r.url.path == "/u/login"
    return await login_here(http, r, email)


async def test_linking_another_account_takes_a_fresh_sign_in_to_it(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    other = await new_user(container, tenant, "ann.work@example.com")
    page = await sign_in(http, "/account", "ann@example.com")
    assert page.url.path == "/account" and "ann@example.com" in page.text

    start = await http.post(
        "/account/link", data={"csrf": form(page.text, "/account/link").fields["csrf"]}
    )
    assert start.status_code == 303
    q = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    assert q["prompt"] == "login" and "login_hint" not in q
    r = await login_here(
        http,
        await http.get(start.headers["location"], follow_redirects=True),
        "ann.work@example.com",
    )
    assert r.url.path == "/account" and "was linked" in notice(r.text)
    assert "ann.work@example.com" in r.text

    user = await container.user_admin.get(tenant.id, ann.user_id)
    assert {i.user_id for i in user.identities} == {ann.user_id, other.user_id}
    linked = next(i for i in user.identities if i.user_id == other.user_id)
    app = await container.hosted_apps.ensure(tenant, ACCOUNT)
    assert linked.link_reason is not None
    assert linked.link_reason["method"] == "link_with"
    assert linked.link_reason["actor"]["client_id"] == app.client_id
    assert linked.link_reason["proof"]["id_token"]["aud"] == app.client_id
    # The browser is signed in as the user the other account joined.
    again = await http.get("/account")
    assert again.status_code == 200 and ann.user_id in again.text
    mails = await container.mail.list(tenant)
    assert sorted(m.to for m in mails if "linked" in m.subject) == [
        "ann.work@example.com",
        "ann@example.com",
    ]
    events, _ = await container.logs.page(
        tenant.id, LogFilter(types=("sapi",), user_id=ann.user_id), offset=0, limit=10
    )
    assert [e.details["event"] for e in events if e.details.get("event")] == ["identity_linked"]
    assert "Account linked" in again.text


async def test_signing_in_as_the_same_person_links_nothing(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    page = await sign_in(http, "/account", "ann@example.com")
    r = await _link(http, page, "ann@example.com")
    assert r.status_code == 400 and "already yours" in alert(r.text)
    assert len((await container.user_admin.get(tenant.id, ann.user_id)).identities) == 1


async def test_a_link_callback_in_another_browser_links_nothing(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    await new_user(container, tenant, "mallory@example.com")
    page = await sign_in(http, "/account", "ann@example.com")
    r = await submit(http, form(page.text, "/account/link"))
    login = form(r.text, "/u/login")
    r = await submit(http, login, follow=False, email="mallory@example.com", password=PASSWORD)
    callback = (await http.get(r.headers["location"])).headers["location"]
    async with make_client(container) as other:
        r = await other.get(callback)
    assert r.status_code == 400
    assert len((await container.user_admin.get(tenant.id, ann.user_id)).identities) == 1


async def test_the_main_identity_cannot_be_unlinked(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    await new_user(container, tenant, "ann.work@example.com")
    page = await _link(
        http, await sign_in(http, "/account", "ann@example.com"), "ann.work@example.com"
    )
    unlink = form(page.text, "/account/unlink")
    provider, subject = ann.user_id.split("|")
    r = await submit(http, unlink, provider=provider, user_id=subject)
    assert r.status_code == 400
    assert "main sign-in can't be unlinked" in alert(r.text)
    assert len((await container.user_admin.get(tenant.id, ann.user_id)).identities) == 2


async def test_unlink_after_ten_minutes_asks_to_sign_in_again(
    http: httpx.AsyncClient, container: Container, tenant: Tenant, clock: MovableClock
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    work = await new_user(container, tenant, "ann.work@example.com")
    page = await _link(
        http, await sign_in(http, "/account", "ann@example.com"), "ann.work@example.com"
    )
    clock.advance(11 * 60)
    page = await http.get("/account")
    assert "more than 10 minutes ago" in page.text
    r = await submit(http, form(page.text, "/account/unlink"), follow=False)
    assert r.status_code == 303
    q = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert q["prompt"] == "login" and q["login_hint"] == "ann@example.com"
    assert len((await container.user_admin.get(tenant.id, ann.user_id)).identities) == 2
    # Signing in again (as either account: both are Ann) opens the window again.
    r = await login_here(
        http, await http.get(r.headers["location"], follow_redirects=True), "ann@example.com"
    )
    assert r.url.path == "/account" and "signed in again" in notice(r.text)
    r = await submit(http, form(r.text, "/account/unlink"))
    assert r.status_code == 200 and "was unlinked" in notice(r.text)
    assert [
        i.user_id for i in (await container.user_admin.get(tenant.id, ann.user_id)).identities
    ] == [ann.user_id]
    assert (await container.user_admin.get(tenant.id, work.user_id)).email == "ann.work@example.com"
    mails = [m for m in await container.mail.list(tenant) if "unlinked" in m.subject]
    assert sorted(m.to for m in mails) == ["ann.work@example.com", "ann@example.com"]
    # This browser stays signed in; its sign-in time is still the one from before.
    r = await http.get("/account")
    assert r.status_code == 200 and "more than 10 minutes ago" not in r.text
    clock.advance(10 * 60 + 1)
    assert "more than 10 minutes ago" in (await http.get("/account")).text


async def test_unlink_ends_the_other_sessions(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    await new_user(container, tenant, "ann@example.com")
    await new_user(container, tenant, "ann.work@example.com")
    page = await _link(
        http, await sign_in(http, "/account", "ann@example.com"), "ann.work@example.com"
    )
    async with make_client(container) as laptop:
        assert (await sign_in(laptop, "/account", "ann.work@example.com")).url.path == "/account"
        await submit(http, form(page.text, "/account/unlink"))
        r = await laptop.get("/account")
        assert r.status_code == 303 and urlsplit(r.headers["location"]).path == "/authorize"


async def test_the_last_way_to_sign_in_is_not_unlinked(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    await new_user(container, tenant, "ann.work@example.com")
    page = await _link(
        http, await sign_in(http, "/account", "ann@example.com"), "ann.work@example.com"
    )
    # The main identity's connection stops letting any application sign in.
    connection = await container.connections.by_name(tenant, "Username-Password-Authentication")
    await container.connections.update(
        tenant, connection.id, ConnectionChanges(enabled_clients=()), Actor(client_id="tests")
    )
    r = await submit(http, form(page.text, "/account/unlink"))
    assert r.status_code == 400 and "last way you can sign in" in alert(r.text)
    assert len((await container.user_admin.get(tenant.id, ann.user_id)).identities) == 2


async def test_account_forms_need_their_csrf_token(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    ann = await new_user(container, tenant, "ann@example.com")
    await new_user(container, tenant, "ann.work@example.com")
    page = await _link(
        http, await sign_in(http, "/account", "ann@example.com"), "ann.work@example.com"
    )
    unlink = form(page.text, "/account/unlink")
    for token in ("", "0" * 64):
        r = await http.post("/account/unlink", data={**unlink.fields, "csrf": token})
        assert r.status_code == 403
    r = await http.post("/account/link", data={})
    assert r.status_code == 403
    assert len((await container.user_admin.get(tenant.id, ann.user_id)).identities) == 2


async def test_security_events_list_sign_ins_and_links(
    http: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    await new_user(container, tenant, "ann@example.com")
    await new_user(container, tenant, "ann.work@example.com")
    page = await _link(
        http, await sign_in(http, "/account", "ann@example.com"), "ann.work@example.com"
    )
    assert "Signed in" in page.text and "Account linked" in page.text
