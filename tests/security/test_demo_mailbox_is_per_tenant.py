"""The demo mailbox shows only the mails of the tenant the request's Host names (OWASP ASVS
8.2.2: data is reachable only within its own tenant)."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PUBLIC_URL, make_settings
from tether.bootstrap import build_container
from tether.web.app import create_app

OTHER_URL = "http://other.test"


async def test_the_mailbox_lists_only_the_hosts_tenant(tmp_path: Path, engine: AsyncEngine) -> None:
    """OWASP ASVS 8.2.2: one tenant's mails (codes, reset links) never show on another
    tenant's demo mailbox."""
    c = build_container(
        make_settings(tmp_path, demo=True), engine=engine, hash_parameters=FAST_HASH
    )
    provisioned = await c.provision()
    main = provisioned.tenant
    other = await c.tenants.create("other", OTHER_URL)
    async with c.uow() as uow:
        await c.mail.enqueue(uow.outbox, main, "ann@example.com", "Main code", "main-secret-111111")
        await c.mail.enqueue(
            uow.outbox, other, "bob@example.com", "Other code", "other-secret-222222"
        )
        await uow.commit()

    transport = httpx.ASGITransport(app=create_app(c, deliver_mail=False))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        on_main = await http.get("/demo/mailbox")
    async with httpx.AsyncClient(transport=transport, base_url=OTHER_URL) as http:
        on_other = await http.get("/demo/mailbox")

    assert on_main.status_code == 200, on_main.text
    assert "main-secret-111111" in on_main.text
    assert "other-secret-222222" not in on_main.text
    assert "bob@example.com" not in on_main.text
    assert on_other.status_code == 200, on_other.text
    assert "other-secret-222222" in on_other.text
    assert "main-secret-111111" not in on_other.text
    assert "ann@example.com" not in on_other.text
