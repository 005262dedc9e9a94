"""Every link and unlink, by any surface, is mailed to the person, to both addresses when they
differ (DESIGN.md trust rules; pre-account takeover, Sudhodanan & Paverd 2022, §6.2.2: the owner
must learn that a way into their account was added)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import World
from tests.dashboard.support import form, sign_in, submit
from tests.e2e.conftest import tether_env
from tests.linking.support import (
    PASSWORD,
    id_token,
    link,
    machine_token,
    new_user,
    subject_of,
    unlink,
    user_token,
)
from tests.security.support_s2_linking import LINKED, UNLINKED, mails, recipients
from tether.domain.actor import Actor

A, B = "ann@example.com", "ann.work@example.com"


async def test_a_user_token_link_and_unlink_mail_both_addresses(
    http: httpx.AsyncClient, world: World
) -> None:
    """Every link and unlink is mailed to the person (pre-account takeover, Sudhodanan & Paverd
    2022, §6.2.2): Management API with a user token (``link_with``)."""
    a = await new_user(world, A)
    b = await new_user(world, B)
    token = await user_token(http, world.app, A)
    response = await link(http, token, a.user_id, {"link_with": await id_token(http, world.app, B)})
    assert response.status_code == 201, response.text
    assert await recipients(world, LINKED) == [B, A]
    [mail] = [m for m in await mails(world, LINKED) if m.to == A]
    assert B in mail.body and A in mail.body and "If this wasn't you" in mail.body

    response = await unlink(http, token, a.user_id, "auth0", subject_of(b.user_id))
    assert response.status_code == 200, response.text
    assert await recipients(world, UNLINKED) == [B, A]


async def test_a_machine_token_link_and_unlink_mail_both_addresses(
    http: httpx.AsyncClient, world: World
) -> None:
    """Every link and unlink is mailed to the person (pre-account takeover, Sudhodanan & Paverd
    2022, §6.2.2): Management API with a machine token (``update:users``, server side)."""
    a = await new_user(world, A)
    b = await new_user(world, B)
    token = await machine_token(http, world.machine)
    body = {"provider": "auth0", "user_id": subject_of(b.user_id)}
    assert (await link(http, token, a.user_id, body)).status_code == 201
    assert await recipients(world, LINKED) == [B, A]
    [mail] = [m for m in await mails(world, LINKED) if m.to == A]
    assert "administrator" in mail.body
    assert (await unlink(http, token, a.user_id, "auth0", subject_of(b.user_id))).status_code == 200
    assert await recipients(world, UNLINKED) == [B, A]


async def test_the_dashboard_link_and_unlink_mail_both_addresses(
    http: httpx.AsyncClient, world: World
) -> None:
    """Every link and unlink is mailed to the person (pre-account takeover, Sudhodanan & Paverd
    2022, §6.2.2): the dashboard, an administrator's act."""
    admin = await new_user(world, "admin@example.com", email_verified=True)
    await world.container.admins.add(world.tenant, admin.user_id, Actor(client_id="tests"))
    a = await new_user(world, A)
    b = await new_user(world, B)
    page = await sign_in(http, f"/dashboard/user?id={a.user_id}", "admin@example.com", PASSWORD)
    assert page.status_code == 200, page.text
    r = await submit(http, form(page.text, "/dashboard/user/link"), secondary=b.user_id)
    assert r.status_code == 200, r.text
    assert await recipients(world, LINKED) == [B, A]
    r = await submit(http, form(r.text, "/dashboard/user/unlink", identity=subject_of(b.user_id)))
    assert r.status_code == 200, r.text
    assert await recipients(world, UNLINKED) == [B, A]


@pytest.mark.e2e
def test_the_cli_link_and_unlink_mail_both_addresses(tmp_path: Path) -> None:
    """Every link and unlink is mailed to the person (pre-account takeover, Sudhodanan & Paverd
    2022, §6.2.2): ``tether users link`` and ``tether users unlink``, as an operator runs them."""
    with tether_env(tmp_path) as env:
        env.json("init")
        password = "a perfectly long cli password"
        a = env.json("users", "create", "--email", A, "--password", password)
        b = env.json("users", "create", "--email", B, "--password", password)
        env.json("users", "link", a["user_id"], "--with", b["user_id"])
        env.json("users", "unlink", a["user_id"], "auth0", subject_of(b["user_id"]))
        listed = env.json("mail", "list")
        assert sorted(m["to"] for m in listed if m["subject"] == LINKED) == [B, A]
        assert sorted(m["to"] for m in listed if m["subject"] == UNLINKED) == [B, A]
