"""Email verification (issue 16, part 1; domain/verification.py): the sign-up mail and its
single-use link on the hosted page ``/lo/verify_email``, the tenant setting, resending and its
limit, an email change, and the link as a proof of the mailbox (security-checklist §4.1).

The hosted page has no script, so these run through httpx in process, as a browser would post
the form: the GET changes nothing, the POST carries the CSRF token and answers 303 or a page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import World
from tests.domain.conftest import FakeClock
from tests.linking.support import (
    API,
    bearer,
    check_invariants,
    id_token,
    link,
    machine_token,
    owners,
    path_id,
    user_token,
)
from tests.security.support_s2_linking import DETACHED, api_events, mails, sign_up
from tether.domain.audit import LogType
from tether.domain.log_filter import LogFilter
from tether.domain.mailbox import DETACHED_EVENT
from tether.domain.verification import SUBJECT

EMAIL = "ann@example.com"


def link_of(body: str) -> str:
    match = re.search(r"(http://\S+/lo/verify_email\?ticket=\S+)", body)
    assert match, body
    return match.group(1)


async def verification_links(world: World, to: str = EMAIL) -> list[str]:
    return [link_of(m.body) for m in await mails(world, SUBJECT) if m.to == to]


def csrf_of(page: httpx.Response) -> str:
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def open_link(http: httpx.AsyncClient, url: str) -> httpx.Response:
    parts = urlsplit(url)
    return await http.get(f"{parts.path}?{parts.query}")


async def use_link(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """What the person does: open the mailed link, press the button."""
    page = await open_link(http, url)
    assert page.status_code == 200, page.text
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]
    return await http.post(
        "/lo/verify_email", data={"ticket": ticket, "csrf": csrf_of(page)}, follow_redirects=False
    )


async def user(world: World, user_id: str) -> Any:
    return await world.container.user_admin.get(world.tenant.id, user_id)


async def log_types(world: World) -> list[str]:
    found, _ = await world.container.logs.page(world.tenant.id, LogFilter(), offset=0, limit=200)
    return [e.type for e in found]


async def test_sign_up_mails_a_link_that_verifies_the_address_once(
    http: httpx.AsyncClient, world: World
) -> None:
    user_id = await sign_up(http, world, EMAIL)
    [url] = await verification_links(world)
    assert url.startswith(world.tenant.issuer + "lo/verify_email?ticket=")

    # Opening the link (a mail scanner would) changes nothing.
    page = await open_link(http, url)
    assert page.status_code == 200
    assert EMAIL in page.text and "Verify my email" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert (await user(world, user_id)).email_verified is False

    done = await use_link(http, url)
    assert done.status_code == 200, done.text
    assert "Your email address is verified" in done.text
    assert (await user(world, user_id)).email_verified is True
    assert LogType.SUCCESS_VERIFICATION_EMAIL.value in await log_types(world)

    again = await use_link(http, url)
    assert again.status_code == 400
    assert "expired or was already used" in again.text
    assert LogType.FAILED_VERIFICATION_EMAIL.value in await log_types(world)


async def test_the_button_needs_the_csrf_token(http: httpx.AsyncClient, world: World) -> None:
    user_id = await sign_up(http, world, EMAIL)
    [url] = await verification_links(world)
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]
    response = await http.post("/lo/verify_email", data={"ticket": ticket, "csrf": "forged"})
    assert response.status_code == 403
    assert (await user(world, user_id)).email_verified is False


async def test_an_unknown_or_missing_ticket_is_a_page_not_a_500(
    http: httpx.AsyncClient, world: World
) -> None:
    for target in ("/lo/verify_email", "/lo/verify_email?ticket=nope", "/lo/verify_email?ticket="):
        response = await http.get(target)
        assert response.status_code == 400, target
        assert "incomplete or unknown" in response.text


async def test_the_tenant_setting_turns_the_sign_up_mail_off(
    http: httpx.AsyncClient, world: World
) -> None:
    await world.container.tenants.update_settings(
        world.tenant, {"email_verification.on_signup": False}
    )
    await sign_up(http, world, EMAIL)
    assert await mails(world, SUBJECT) == []


async def test_an_expired_link_offers_a_new_one_within_the_limit(
    http: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    user_id = await sign_up(http, world, EMAIL)
    [url] = await verification_links(world)
    clock.advance(timedelta(days=5, seconds=1))  # Auth0's default lifetime, 432000 s
    spent = await use_link(http, url)
    assert spent.status_code == 400 and "Send me a new link" in spent.text
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]

    resent = await http.post(
        "/lo/verify_email/resend", data={"ticket": ticket, "csrf": csrf_of(spent)}
    )
    assert resent.status_code == 200 and "new link" in resent.text
    links = await verification_links(world)
    assert len(links) == 2
    newest = next(u for u in links if u != url)
    assert (await use_link(http, newest)).status_code == 200
    assert (await user(world, user_id)).email_verified is True


async def test_resending_is_rate_limited_per_user(http: httpx.AsyncClient, world: World) -> None:
    await sign_up(http, world, EMAIL)
    [url] = await verification_links(world)
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]
    page = await open_link(http, url)
    answers = [
        (
            await http.post(
                "/lo/verify_email/resend", data={"ticket": ticket, "csrf": csrf_of(page)}
            )
        ).status_code
        for _ in range(6)
    ]
    assert answers == [200] * 5 + [429]  # TETHER_VERIFICATION_MAIL_RATE_LIMIT, 5/hour
    assert len(await verification_links(world)) == 6


async def test_the_link_is_a_mailbox_proof_that_detaches_a_trojan_identity(
    http: httpx.AsyncClient, world: World, engine: Any
) -> None:
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2;
    security-checklist §4.1): the attacker pre-registers the victim's address and links an
    identity of their own; the owner uses the verification link; the attacker's identity is
    detached, the owner is told, and the log says how the mailbox was proven."""
    victim_id = await sign_up(http, world, EMAIL)
    attacker_id = await sign_up(http, world, "mallory@evil.example")
    token = await user_token(http, world.app, EMAIL)
    trojan = await id_token(http, world.app, "mallory@evil.example")
    assert (await link(http, token, victim_id, {"link_with": trojan})).status_code == 201

    [url] = await verification_links(world)
    assert (await use_link(http, url)).status_code == 200

    held = await owners(engine, world.tenant.id)
    assert held[attacker_id] == attacker_id and held[victim_id] == victim_id
    await check_invariants(engine)
    [event] = await api_events(world, DETACHED_EVENT)
    assert event.details["how"] == "verification_link"
    assert event.details["identities"] == [attacker_id]
    assert [m.to for m in await mails(world, DETACHED)] == [EMAIL]


async def test_an_email_change_unverifies_and_mails_the_new_address(
    http: httpx.AsyncClient, world: World
) -> None:
    user_id = await sign_up(http, world, EMAIL)
    [old_url] = await verification_links(world)
    assert (await use_link(http, old_url)).status_code == 200
    token = await machine_token(http, world.machine)

    changed = await http.patch(
        f"{API}/users/{path_id(user_id)}", json={"email": "ann@new.example"}, headers=bearer(token)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["email_verified"] is False
    [new_url] = await verification_links(world, "ann@new.example")
    assert (await use_link(http, new_url)).status_code == 200
    assert (await user(world, user_id)).email_verified is True


async def test_a_link_to_the_old_address_dies_with_it(
    http: httpx.AsyncClient, world: World
) -> None:
    """Unexpired email change (security-checklist §4.1): no capability outlives the address it
    was made for; a verification link to the old address is refused once the email changed."""
    user_id = await sign_up(http, world, EMAIL)
    [old_url] = await verification_links(world)
    token = await machine_token(http, world.machine)
    changed = await http.patch(
        f"{API}/users/{path_id(user_id)}",
        json={"email": "ann@new.example", "verify_email": False},
        headers=bearer(token),
    )
    assert changed.status_code == 200, changed.text
    assert await verification_links(world, "ann@new.example") == []  # verify_email: false
    assert (await use_link(http, old_url)).status_code == 400
    assert (await user(world, user_id)).email_verified is False


async def test_creating_a_user_mails_the_link_as_auth0_does(
    http: httpx.AsyncClient, world: World
) -> None:
    """Auth0: "User will receive a verification email after creation if email_verified is
    false or not specified"; ``verify_email: false`` says no mail."""
    token = await machine_token(http, world.machine)
    for email, extra in (
        ("plain@example.com", {}),
        ("quiet@example.com", {"verify_email": False}),
        ("known@example.com", {"email_verified": True}),
    ):
        created = await http.post(
            f"{API}/users",
            json={
                "connection": "Username-Password-Authentication",
                "email": email,
                "password": "correct horse battery staple",
                **extra,
            },
            headers=bearer(token),
        )
        assert created.status_code == 201, created.text
    assert sorted(m.to for m in await mails(world, SUBJECT)) == ["plain@example.com"]
