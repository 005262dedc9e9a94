"""A credential change ends every way in (issue 11, finding 1).

Browser A is signed in (an SSO session) and its app holds a refresh token; the password is then
changed elsewhere, by each path that sets one: the mailed reset ticket in browser B, the
Management API's ``PATCH /api/v2/users/{id}``, and ``UserAdmin.update``, which the CLI
(``tether users update --password``) calls. After each: browser A's session gives no code with
``prompt=none``, the refresh token is refused, an older reset ticket is refused, and the person
was mailed.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import World
from tests.oidc.conftest import EMAIL, PASSWORD, Browser, MovableClock, Oidc
from tests.security.support_s1_credentials import (
    NEW_PASSWORD,
    bearer,
    browser,  # noqa: F401  (fixtures)
    changed_mails,
    clock,  # noqa: F401
    container,  # noqa: F401
    machine_token,
    oidc,  # noqa: F401
    other_browser,  # noqa: F401
    outbox,
    path_id,
    refresh,
    request_ticket,
    reset_with_ticket,
    signed_in_with_refresh_token,
    silent_code,
    user_token_response,
)
from tests.web.conftest import create_user
from tests.web.test_cross_origin_authentication import _authenticate, _authorize, _spa
from tether.domain.actor import Actor
from tether.domain.log_filter import LogFilter
from tether.domain.user_admin import UserChanges


async def _assert_every_way_in_ended(
    world: World, agent: Browser, refresh_token: str, older_ticket: str, other: httpx.AsyncClient
) -> None:
    assert await silent_code(agent) is None, "browser A's SSO session still answers prompt=none"
    refused = await refresh(agent, refresh_token)
    assert refused.status_code in (400, 403), refused.text
    assert refused.json()["error"] == "invalid_grant"
    stale = await reset_with_ticket(other, older_ticket, "yet another passphrase 7")
    assert stale.status_code == 400, stale.text
    assert "expired or was already used" in stale.text
    assert len(changed_mails(await outbox(world))) == 1


async def test_reset_ticket_ends_sessions_refresh_tokens_and_older_tickets(
    world: World,
    browser: Browser,  # noqa: F811
    other_browser: httpx.AsyncClient,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.3 and the "unexpired session" pre-account takeover (Sudhodanan &
    Paverd 2022): a reset ends every session and refresh token of the user (RFC 9700 §4.14.2)
    and every other outstanding reset ticket; the person is told (ASVS 5.0 6.3.7)."""
    refresh_token = await signed_in_with_refresh_token(browser)
    assert await silent_code(browser) is not None  # the session works before the change
    older = await request_ticket(world)
    newer = await request_ticket(world)
    clock.advance(2)

    done = await reset_with_ticket(other_browser, newer)
    assert done.status_code == 200, done.text
    assert "Your password was changed" in done.text

    await _assert_every_way_in_ended(world, browser, refresh_token, older, other_browser)


async def test_management_patch_password_ends_every_way_in(
    world: World,
    browser: Browser,  # noqa: F811
    other_browser: httpx.AsyncClient,  # noqa: F811
    http: httpx.AsyncClient,
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.3: a password set by an administrator (PATCH /api/v2/users/{id})
    ends every session, refresh token and outstanding reset ticket, and mails the person
    (ASVS 5.0 6.3.7)."""
    refresh_token = await signed_in_with_refresh_token(browser)
    older = await request_ticket(world)
    token = await machine_token(other_browser, world)
    clock.advance(2)

    patched = await other_browser.patch(
        f"/api/v2/users/{path_id(oidc.user_id)}",
        json={"password": NEW_PASSWORD, "connection": "Username-Password-Authentication"},
        headers=bearer(token),
    )
    assert patched.status_code == 200, patched.text

    await _assert_every_way_in_ended(world, browser, refresh_token, older, other_browser)


async def test_cli_and_dashboard_password_change_ends_every_way_in(
    world: World,
    browser: Browser,  # noqa: F811
    other_browser: httpx.AsyncClient,  # noqa: F811
    oidc: Oidc,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 7.4.3: the operator's path (``tether users update --password`` calls
    ``UserAdmin.update`` with no client, as the dashboard's user editor would) is the same
    one operation: sessions, refresh tokens and reset tickets end, and a mail is queued."""
    refresh_token = await signed_in_with_refresh_token(browser)
    older = await request_ticket(world)
    clock.advance(2)

    await world.container.user_admin.update(
        world.tenant.id, oidc.user_id, UserChanges({"password": NEW_PASSWORD}), Actor(None)
    )

    await _assert_every_way_in_ended(world, browser, refresh_token, older, other_browser)
    async with world.container.uow() as uow:
        events, _ = await uow.logs.search(world.tenant.id, LogFilter(), offset=0, limit=100)
    assert any(e.type == "scp" and e.user_id == oidc.user_id for e in events)


async def test_the_new_password_signs_in_and_the_mail_goes_to_the_person(
    world: World,
    browser: Browser,  # noqa: F811
    other_browser: httpx.AsyncClient,  # noqa: F811
    clock: MovableClock,  # noqa: F811
) -> None:
    """OWASP ASVS 5.0 6.3.7: the person is told of the change (no secret in the mail); the
    old password no longer works and the new one does."""
    await signed_in_with_refresh_token(browser)
    ticket = await request_ticket(world)
    clock.advance(2)
    assert (await reset_with_ticket(other_browser, ticket)).status_code == 200
    [mail] = changed_mails(await outbox(world))
    assert mail.to == EMAIL
    assert "signed out" in mail.body
    assert ticket not in mail.body
    old = await user_token_response(other_browser, world, EMAIL, PASSWORD)
    assert old.status_code == 403, old.text
    assert (await user_token_response(other_browser, world, EMAIL, NEW_PASSWORD)).status_code == 200


async def test_a_login_ticket_earned_before_the_change_is_refused(
    http: httpx.AsyncClient, world: World
) -> None:
    """OWASP ASVS 5.0 7.4.3: a credential change ends every way in, the embedded login's
    unspent login ticket (/co/authenticate, valid 2 minutes) included. Fails before this fix:
    the ticket still started a session after the password changed."""
    client_id = await _spa(world)
    user = await create_user(world)
    ticket = (await _authenticate(http, client_id)).json()["login_ticket"]
    await world.container.user_admin.update(
        world.tenant.id, user.user_id, UserChanges({"password": NEW_PASSWORD}), Actor(None)
    )

    refused = await http.get("/authorize", params=_authorize(client_id, ticket))

    assert refused.status_code == 303, refused.text
    fragment = parse_qs(urlsplit(refused.headers["location"]).fragment)
    assert fragment["error"] == ["access_denied"]
    assert "tether_session" not in refused.headers.get("set-cookie", "")
