"""Linking at sign-in (issue 16, part 2; domain/sign_in_linking/), through the hosted pages
over httpx (they need no script): a password account whose address its owner verified with the
mailed link, then a sign-in with an email code for the same address -> the prompt -> Link with
the existing account's password -> back at the app with the existing account's ``sub``.

Each test names the rule of security-checklist §4.1 ("Classic-federated merge": never merge by
email; the person proves the existing account by signing in to it) it proves."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import World
from tests.connections.support import APP_CALLBACK, claims_of
from tests.connections.test_passwordless import (
    EMAIL,
    App,
    app,
    app_callback,
    code_from_outbox,
    follow,
    forms_of,
    hosted_code_page,
    post_form,
)
from tests.domain.conftest import FakeClock
from tests.linking.support import PASSWORD
from tests.security.support_s2_linking import LINKED, mails, sign_up
from tests.verification.test_email_verification import use_link, verification_links
from tether.domain.actor import Actor
from tether.domain.applications import NewApplication
from tether.domain.connections import DEFAULT_DATABASE
from tether.domain.external import ExternalProfile
from tether.domain.log_filter import LogFilter
from tether.domain.models import AppType
from tether.domain.sign_in_linking import FLAG_EVENT
from tether.domain.user_admin import UserChanges
from tether.domain.users import NewDatabaseUser

__all__ = ["app"]


async def verified_password_account(http: httpx.AsyncClient, world: World, app: App) -> str:
    """ann@ signs up with a password and verifies the address with the mailed link."""
    await world.container.connections.enable(world.tenant, DEFAULT_DATABASE, app.client_id)
    user_id = await sign_up(http, world, EMAIL)
    [url] = await verification_links(world, EMAIL)
    assert (await use_link(http, url)).status_code == 200
    return user_id


async def code_sign_in(http: httpx.AsyncClient, world: World, app: App) -> httpx.Response:
    """/authorize, "an email code", the code from the outbox: where that leads. The clock
    moves first, so the newest mail is this sign-in's code."""
    clock = world.container.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(seconds=2))
    page = await hosted_code_page(http, app)
    return await post_form(http, page, forms_of(page.text)[0], code=await code_from_outbox(world))


def other_browser(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same app in a browser with no cookies (no SSO session)."""
    return httpx.AsyncClient(transport=http._transport, base_url=str(http.base_url))


def prompt_forms(page: httpx.Response) -> dict[str, dict[str, Any]]:
    assert page.status_code in (200, 400) and "/u/link-account" in str(page.url), page.text[:2000]
    return {f["inputs"]["decision"]: f for f in forms_of(page.text)}


async def sub_of(http: httpx.AsyncClient, app: App, done: httpx.Response) -> str:
    params = app_callback(done)
    token = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": APP_CALLBACK,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert token.status_code == 200, token.text
    return str(claims_of(token.json()["id_token"])["sub"])


async def events(world: World, name: str) -> list[Any]:
    found, _ = await world.container.logs.page(
        world.tenant.id, LogFilter(types=("sapi",)), offset=0, limit=200
    )
    return [e for e in found if (e.details or {}).get("event") == name]


async def test_link_after_a_fresh_sign_in_to_the_existing_account(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    """Classic-federated merge (security-checklist §4.1): the matching verified email only
    offers; the existing account's password, entered now, is the proof; the existing user
    stays primary and the app gets its ``sub``; the log records both sign-ins."""
    existing = await verified_password_account(http, world, app)
    page = await code_sign_in(http, world, app)
    forms = prompt_forms(page)
    assert f"An account with <strong>{EMAIL}</strong> already exists" in page.text
    assert "It signs in with\na password." in page.text
    assert existing not in page.text  # how it signs in, never its details
    assert page.headers["x-frame-options"] == "DENY"

    done = await post_form(http, page, forms["link"], password=PASSWORD)
    assert await sub_of(http, app, done) == existing
    user = await world.container.user_admin.get(world.tenant.id, existing)
    assert [i.provider for i in user.identities] == ["auth0", "email"]
    [event] = await events(world, "identity_linked")
    assert event.details["method"] == "sign_in_prompt"
    proof = event.details["proof"]
    assert proof["signed_in"]["connection"] == "email"
    assert proof["existing_account_sign_in"]["user_id"] == existing
    assert [m.to for m in await mails(world, LINKED)] == [EMAIL]

    # Next time the code signs in straight to the linked account: no prompt.
    async with other_browser(http) as later:
        again = await code_sign_in(later, world, app)
        assert await sub_of(later, app, again) == existing


async def test_a_wrong_password_links_nothing(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    """Classic-federated merge (security-checklist §4.1): without the fresh sign-in, no link."""
    existing = await verified_password_account(http, world, app)
    page = await code_sign_in(http, world, app)
    wrong = await post_form(http, page, prompt_forms(page)["link"], password="not it at all")
    assert wrong.status_code == 400 and "Wrong password." in wrong.text
    user = await world.container.user_admin.get(world.tenant.id, existing)
    assert len(user.identities) == 1
    assert await events(world, "identity_linked") == []


async def test_keep_separate_is_remembered_for_the_pair(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    existing = await verified_password_account(http, world, app)
    page = await code_sign_in(http, world, app)
    done = await post_form(http, page, prompt_forms(page)["separate"])
    separate = await sub_of(http, app, done)
    assert separate.startswith("email|") and separate != existing
    assert len(await events(world, "link_declined")) == 1

    async with other_browser(http) as later:
        again = await code_sign_in(later, world, app)
        assert await sub_of(later, app, again) == separate  # not asked again


async def test_an_unverified_existing_account_is_offered_nothing_and_flagged(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    """Classic-federated merge / non-verifying IdP (security-checklist §4.1): an account whose
    address nobody proved may be a squatter's; a verified sign-in with that address gets no
    prompt, and the account is flagged in the log."""
    await world.container.connections.enable(world.tenant, DEFAULT_DATABASE, app.client_id)
    squatter = await sign_up(http, world, EMAIL)  # never verified
    done = await code_sign_in(http, world, app)
    assert (await sub_of(http, app, done)).startswith("email|")
    [flag] = await events(world, FLAG_EVENT)
    assert flag.user_id == squatter


async def test_no_prompt_when_the_setting_is_off(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    existing = await verified_password_account(http, world, app)
    await world.container.tenants.update_settings(world.tenant, {"linking.on_sign_in": "off"})
    done = await code_sign_in(http, world, app)
    assert (await sub_of(http, app, done)) != existing


async def test_prompt_none_never_shows_the_page(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    """A silent request (``prompt=none``) answers as if the setting were off."""
    await verified_password_account(http, world, app)
    prompt_forms(await code_sign_in(http, world, app))  # the interactive one asked
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": APP_CALLBACK,
        "scope": "openid profile email",
        "state": "silent",
        "prompt": "none",
    }
    silent = await follow(http, await http.get(f"/authorize?{urlencode(query)}"))
    assert (await sub_of(http, app, silent)).startswith("email|")


async def test_two_browsers_linking_the_same_pair_one_links_the_other_is_told(
    world: World, app: App
) -> None:
    """Invariant 5 (DESIGN.md): of two links of the same identity, exactly one happens."""
    from tests.conftest import PUBLIC_URL
    from tether.web.app import create_app

    asgi = create_app(world.container, deliver_mail=False)

    def browser() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=asgi, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)

    async with browser() as one, browser() as two:
        existing = await verified_password_account(one, world, app)
        first = await code_sign_in(one, world, app)
        second = await code_sign_in(two, world, app)
        answers = await asyncio.gather(
            post_form(one, first, prompt_forms(first)["link"], password=PASSWORD),
            post_form(two, second, prompt_forms(second)["link"], password=PASSWORD),
        )
    linked = [a for a in answers if a.is_redirect]
    told = [a for a in answers if not a.is_redirect]
    assert len(linked) == 1 and len(told) == 1, [a.status_code for a in answers]
    assert told[0].status_code == 409 and "already linked" in told[0].text
    user = await world.container.user_admin.get(world.tenant.id, existing)
    assert [i.provider for i in user.identities] == ["auth0", "email"]
    assert len(await events(world, "identity_linked")) == 1


async def password_sign_in(http: httpx.AsyncClient, app: App) -> httpx.Response:
    """/authorize, then the hosted page's email and password: where that leads."""
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": APP_CALLBACK,
        "scope": "openid profile email",
        "state": "password-state",
    }
    page = await follow(http, await http.get(f"/authorize?{urlencode(query)}"))
    form = next(f for f in forms_of(page.text) if f["inputs"].get("connection") == DEFAULT_DATABASE)
    return await post_form(http, page, form, email=EMAIL, password=PASSWORD)


async def test_the_other_way_round_an_email_code_account_is_proven_by_a_code(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    """Classic-federated merge (security-checklist §4.1), the other way round: the existing
    account signs in with email codes, the new one with a password; Link mails a code for the
    existing account, and only that code, entered now, links them."""
    existing = await sub_of(http, app, await code_sign_in(http, world, app))
    async with other_browser(http) as browser:
        await verified_password_account(browser, world, app)
        page = await password_sign_in(browser, app)
        forms = prompt_forms(page)
        assert "It signs in with\na code sent by email." in page.text
        clock = world.container.clock
        assert isinstance(clock, FakeClock)
        clock.advance(timedelta(seconds=2))
        sent = await post_form(browser, page, forms["send_code"])
        assert f"We sent a code to {EMAIL}." in sent.text
        wrong = await post_form(browser, sent, prompt_forms(sent)["link"], code="000000")
        assert wrong.status_code == 400 and "Wrong or expired code." in wrong.text
        code = await code_from_outbox(world)
        done = await post_form(browser, wrong, prompt_forms(wrong)["link"], code=code)
        assert await sub_of(browser, app, done) == existing
    user = await world.container.user_admin.get(world.tenant.id, existing)
    assert [i.provider for i in user.identities] == ["email", "auth0"]
    [event] = await events(world, "identity_linked")
    assert event.details["proof"]["existing_account_sign_in"]["credential"] == "email_code"


async def test_lock_s_ticket_sign_in_is_asked_too(http: httpx.AsyncClient, world: World) -> None:
    """Lock's embedded login (``/co/authenticate``, then ``/authorize?login_ticket=``) is an
    interactive sign-in: the prompt shows there too, and the answer then goes back in the
    request's response mode (here the implicit fragment Lock asks for)."""
    c = world.container
    origin, callback = "https://lock.example.org", "https://lock.example.org/callback"
    created = await c.applications.create(
        world.tenant,
        NewApplication(
            name="Lock app",
            app_type=AppType.SPA,
            callbacks=(callback,),
            web_origins=(origin,),
            grant_types=("implicit", "authorization_code"),
            cross_origin_authentication=True,
        ),
    )
    lock = await c.applications.get(world.tenant, created.application.client_id)
    await c.connections.enable(world.tenant, DEFAULT_DATABASE, lock.client_id)
    email = await c.connections.create(world.tenant, "email", "email", {}, [lock.client_id])
    existing = await c.external.sign_in(
        world.tenant,
        lock,
        email,
        ExternalProfile(
            subject=c.passwordless.subject_for(world.tenant, email, EMAIL),
            email=EMAIL,
            email_verified=True,
        ),
    )
    await c.users.create(
        world.tenant, None, NewDatabaseUser(email=EMAIL, password=PASSWORD, email_verified=True)
    )
    ticket = await http.post(
        "/co/authenticate",
        json={
            "client_id": lock.client_id,
            "username": EMAIL,
            "password": PASSWORD,
            "realm": DEFAULT_DATABASE,
            "credential_type": "http://auth0.com/oauth/grant-type/password-realm",
        },
        headers={"Origin": origin},
    )
    assert ticket.status_code == 200, ticket.text
    query = {
        "client_id": lock.client_id,
        "response_type": "token id_token",
        "redirect_uri": callback,
        "scope": "openid profile email",
        "nonce": "n-0S6_WzA2Mj",
        "state": "lock-state",
        "realm": DEFAULT_DATABASE,
        "login_ticket": ticket.json()["login_ticket"],
    }
    asked = await http.get(f"/authorize?{urlencode(query)}")
    assert asked.status_code == 303 and asked.headers["location"].startswith("/u/link-account?")
    page = await follow(http, asked)
    forms = prompt_forms(page)
    assert "a code sent by email" in page.text
    resumed = await http.post(
        str(page.url), data={**forms["separate"]["inputs"]}, follow_redirects=False
    )
    assert resumed.status_code == 303, resumed.text
    answer = await http.get(resumed.headers["location"])
    location = answer.headers["location"]
    assert location.startswith(callback + "#"), location
    fragment = parse_qs(urlsplit(location).fragment)
    assert fragment["state"] == ["lock-state"]
    sub = claims_of(fragment["id_token"][0])["sub"]
    assert sub.startswith("auth0|") and sub != existing.user_id


async def test_a_blocked_existing_account_is_not_offered(
    http: httpx.AsyncClient, world: World, app: App
) -> None:
    existing = await verified_password_account(http, world, app)
    await world.container.user_admin.update(
        world.tenant.id, existing, UserChanges({"blocked": True}), Actor(client_id="tests")
    )
    done = await code_sign_in(http, world, app)
    assert (await sub_of(http, app, done)).startswith("email|")
