"""The outbox is delivered over real SMTP (aiosmtpd on loopback): sent once, failures retried up
to MAX_ATTEMPTS, and without SMTP the mail waits and the log never shows its content."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, make_settings
from tether.bootstrap import Container, build_container
from tether.domain.mail import MAX_ATTEMPTS
from tether.domain.models import Tenant

SECRET_LINK = "https://tether.test/lo/reset?ticket=do-not-log-me"


class Inbox:
    """aiosmtpd handler: keeps each message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _closed_port()  # free now; aiosmtpd needs a fixed port to check it is up
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _container(tmp_path: Path, engine: AsyncEngine, **smtp: Any) -> Container:
    settings = make_settings(tmp_path, smtp_starttls=False, mail_from="id@tether.test", **smtp)
    return build_container(settings, engine=engine, hash_parameters=FAST_HASH)


async def _queue(c: Container, tenant: Tenant, to: str) -> None:
    async with c.uow() as uow:
        await c.mail.enqueue(uow.outbox, tenant, to, "Reset your password", f"Open {SECRET_LINK}")
        await uow.commit()


@pytest.fixture
async def tenant_of(tmp_path: Path, engine: AsyncEngine) -> AsyncIterator[Any]:
    async def make(**smtp: Any) -> tuple[Container, Tenant]:
        c = await _container(tmp_path, engine, **smtp)
        return c, (await c.provision()).tenant

    yield make


async def test_a_queued_mail_is_sent_once(smtp: tuple[Inbox, int], tenant_of: Any) -> None:
    inbox, port = smtp
    c, tenant = await tenant_of(smtp_host="127.0.0.1", smtp_port=port)
    await _queue(c, tenant, "ada@example.com")

    assert await c.mail.deliver_pending() == 1
    assert await c.mail.deliver_pending() == 0

    [message] = inbox.messages
    assert message["To"] == "ada@example.com" and message["From"] == "id@tether.test"
    assert message["Subject"] == "Reset your password"
    assert SECRET_LINK in message.get_payload(decode=True).decode()
    [stored] = await c.mail.list(tenant)
    assert stored.sent_at is not None


async def test_a_failing_server_is_retried_then_given_up(
    tenant_of: Any, caplog: pytest.LogCaptureFixture
) -> None:
    c, tenant = await tenant_of(smtp_host="127.0.0.1", smtp_port=_closed_port())
    await _queue(c, tenant, "ada@example.com")

    with caplog.at_level(logging.WARNING, logger="tether.mail"):
        for _ in range(MAX_ATTEMPTS + 2):
            assert await c.mail.deliver_pending() == 0

    [stored] = await c.mail.list(tenant)
    assert stored.sent_at is None
    assert stored.attempts == MAX_ATTEMPTS  # not retried past the limit
    assert stored.last_error
    assert SECRET_LINK not in caplog.text and "ada@example.com" in caplog.text


async def test_without_smtp_the_mail_waits_and_the_log_holds_no_content(
    tenant_of: Any, caplog: pytest.LogCaptureFixture
) -> None:
    c, tenant = await tenant_of()
    await _queue(c, tenant, "ada@example.com")

    with caplog.at_level(logging.INFO, logger="tether.mail"):
        assert await c.mail.deliver_pending() == 0
        assert await c.mail.deliver_pending() == 0

    assert caplog.text.count("waiting in the outbox") == 1  # said once, not at every pass
    assert SECRET_LINK not in caplog.text
    [stored] = await c.mail.list(tenant)
    assert stored.sent_at is None and stored.last_error == "no SMTP server configured"
