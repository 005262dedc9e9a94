"""Pre-account takeover, "trojan identifier" (Sudhodanan & Paverd 2022, §6.2.2; issue 11,
finding 2): an identity linked while the account's email was unverified is detached when the
mailbox owner proves the address, and every way in that may have come through it ends."""

from __future__ import annotations

import re

import httpx

from tests.conftest import World
from tests.linking.support import (
    API,
    ID_SCOPE,
    bearer,
    check_invariants,
    claims_of,
    id_token,
    link,
    machine_token,
    owners,
    password_realm,
    path_id,
    subject_of,
    user_token,
)
from tests.security.support_s2_linking import (
    DETACHED,
    api_events,
    mails,
    reset_password_by_mail,
    sign_up,
)
from tether.domain.applications import NewApplication
from tether.domain.mailbox import DETACHED_EVENT
from tether.domain.models import AppType
from tether.protocol.grants import GrantType

VICTIM, ATTACKER = "victim@example.com", "mallory@evil.example"
NEW_PASSWORD = "the owner's own new passphrase"


async def _refresh(http: httpx.AsyncClient, world: World, token: str) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
            "refresh_token": token,
        },
    )


async def test_the_owners_reset_detaches_the_attackers_identity(
    http: httpx.AsyncClient, world: World, engine
) -> None:  # type: ignore[no-untyped-def]
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): the attacker
    pre-registers victim@ (unverified), links an identity they control with ``link_with``; the
    owner resets the password through the mailed ticket; the attacker's identity is a user of
    its own again, its refresh token is dead, the owner is mailed and a log event says why."""
    victim_id = await sign_up(http, world, VICTIM)
    attacker_id = await sign_up(http, world, ATTACKER)
    token = await user_token(http, world.app, VICTIM)
    trojan = await id_token(http, world.app, ATTACKER)

    linked = await link(http, token, victim_id, {"link_with": trojan})
    assert linked.status_code == 201, linked.text

    # Today: the attacker signs in through their own identity and is the victim's user.
    before = await password_realm(
        http, world.app, ATTACKER, scope=ID_SCOPE + " offline_access", audience=None
    )
    assert before.status_code == 200, before.text
    assert claims_of(before.json()["id_token"])["sub"] == victim_id
    kept_refresh = before.json()["refresh_token"]

    await reset_password_by_mail(http, world, VICTIM, NEW_PASSWORD)

    # The attacker's identity is a user of its own again, as after an unlink.
    held = await owners(engine, world.tenant.id)
    assert held[attacker_id] == attacker_id
    assert held[victim_id] == victim_id
    await check_invariants(engine)
    after = await password_realm(http, world.app, ATTACKER, scope=ID_SCOPE, audience=None)
    assert after.status_code == 200, after.text
    assert claims_of(after.json()["id_token"])["sub"] == attacker_id
    # What was obtained through the detached identity is dead.
    refreshed = await _refresh(http, world, kept_refresh)
    assert refreshed.status_code in (400, 403), refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"

    # The owner's account: email verified now, only its own identity, the new password works.
    owner = await world.container.user_admin.get(world.tenant.id, victim_id)
    assert owner.email_verified is True
    assert [i.user_id for i in owner.identities] == [victim_id]
    signed_in = await password_realm(
        http, world.app, VICTIM, password=NEW_PASSWORD, scope=ID_SCOPE, audience=None
    )
    assert claims_of(signed_in.json()["id_token"])["sub"] == victim_id

    # The owner is told, and the log says why.
    [told] = await mails(world, DETACHED)
    assert told.to == VICTIM
    assert ATTACKER in told.body
    [event] = await api_events(world, DETACHED_EVENT)
    assert event.user_id == victim_id
    assert event.details["how"] == "reset_ticket"
    assert event.details["identities"] == [attacker_id]
    assert "unverified" in event.details["reason"]


async def test_an_identity_linked_after_the_email_was_verified_stays(
    http: httpx.AsyncClient, world: World, engine
) -> None:  # type: ignore[no-untyped-def]
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): only what was
    linked while the address was unproven is detached; a link made once the owner had proven it
    survives a later reset, and the owner gets no detach mail."""
    victim_id = await sign_up(http, world, VICTIM)
    other_id = await sign_up(http, world, "second@example.com")
    await reset_password_by_mail(http, world, VICTIM, NEW_PASSWORD)  # proves the mailbox
    token = await user_token_with(http, world, VICTIM, NEW_PASSWORD)
    second = await id_token(http, world.app, "second@example.com")
    assert (await link(http, token, victim_id, {"link_with": second})).status_code == 201

    await reset_password_by_mail(http, world, VICTIM, NEW_PASSWORD + " again")

    assert (await owners(engine, world.tenant.id))[other_id] == victim_id
    assert await mails(world, DETACHED) == []
    assert await api_events(world, DETACHED_EVENT) == []


async def test_a_reset_of_the_linked_identitys_own_address_proves_nothing_of_the_primary(
    http: httpx.AsyncClient, world: World, engine
) -> None:  # type: ignore[no-untyped-def]
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): the attacker
    resetting the password of their own linked identity proves their mailbox, not the
    victim's: the account's email stays unverified and nothing is detached."""
    victim_id = await sign_up(http, world, VICTIM)
    attacker_id = await sign_up(http, world, ATTACKER)
    token = await user_token(http, world.app, VICTIM)
    trojan = await id_token(http, world.app, ATTACKER)
    assert (await link(http, token, victim_id, {"link_with": trojan})).status_code == 201

    await reset_password_by_mail(http, world, ATTACKER, NEW_PASSWORD)

    assert (await owners(engine, world.tenant.id))[attacker_id] == victim_id
    owner = await world.container.user_admin.get(world.tenant.id, victim_id)
    assert owner.email_verified is False
    assert await api_events(world, DETACHED_EVENT) == []


async def user_token_with(http: httpx.AsyncClient, world: World, email: str, password: str) -> str:
    from tests.linking.support import USER_SCOPE

    response = await password_realm(http, world.app, email, password=password, scope=USER_SCOPE)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_a_used_email_code_detaches_what_was_linked_while_unverified(
    http: httpx.AsyncClient, world: World, engine
) -> None:  # type: ignore[no-untyped-def]
    """Pre-account takeover, trojan identifier (Sudhodanan & Paverd 2022, §6.2.2): a used
    passwordless code proves the mailbox like a reset ticket does; an identity linked while the
    user's email was unverified is detached, and the log event says the code proved it."""
    c = world.container
    created = await c.applications.create(
        world.tenant,
        NewApplication(
            name="Passwordless app",
            app_type=AppType.REGULAR_WEB,
            callbacks=("http://localhost:3000/callback",),
            grant_types=(GrantType.PASSWORDLESS_OTP.value,),
        ),
    )
    app = created.application.client_id
    await c.connections.create(world.tenant, "email", "email", {}, [app])

    async def sign_in_with_a_code() -> str:
        sent = await http.post(
            "/passwordless/start",
            json={
                "client_id": app,
                "client_secret": created.client_secret,
                "connection": "email",
                "send": "code",
                "email": VICTIM,
            },
        )
        assert sent.status_code == 200, sent.text
        body = next(m for m in await mails(world) if m.to == VICTIM).body
        found = re.search(r"\b(\d{6})\b", body)
        assert found, body
        response = await http.post(
            "/oauth/token",
            data={
                "grant_type": GrantType.PASSWORDLESS_OTP.value,
                "client_id": app,
                "client_secret": created.client_secret,
                "username": VICTIM,
                "otp": found.group(1),
                "realm": "email",
                "scope": "openid email",
            },
        )
        assert response.status_code == 200, response.text
        return str(claims_of(response.json()["id_token"])["sub"])

    victim_id = await sign_in_with_a_code()
    # The address stops counting as proven (an administrator's PATCH, as after an email change).
    admin = await machine_token(http, world.machine)
    patched = await http.patch(
        f"{API}/users/{path_id(victim_id)}", json={"email_verified": False}, headers=bearer(admin)
    )
    assert patched.status_code == 200, patched.text
    attacker_id = await sign_up(http, world, ATTACKER)
    body = {"provider": "auth0", "user_id": subject_of(attacker_id)}
    assert (await link(http, admin, victim_id, body)).status_code == 201

    assert await sign_in_with_a_code() == victim_id

    held = await owners(engine, world.tenant.id)
    assert held[attacker_id] == attacker_id
    assert (await c.user_admin.get(world.tenant.id, victim_id)).email_verified is True
    [event] = await api_events(world, DETACHED_EVENT)
    assert event.details["how"] == "passwordless_code"
    assert event.details["identities"] == [attacker_id]
    assert [m.to for m in await mails(world, DETACHED)] == [VICTIM]
