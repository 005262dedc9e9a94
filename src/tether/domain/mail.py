"""The mail outbox: mails are rows written in the transaction that caused them, then delivered.

Delivery goes through a MailTransport (SMTP when configured). Without one, mails stay in the
outbox, the log says that a mail is waiting (never its content: it may hold a reset link), and
``tether mail list`` shows them.
"""

from __future__ import annotations

import builtins
import logging

from tether.domain.clock import Clock
from tether.domain.ids import new_id
from tether.domain.models import Mail, Tenant
from tether.domain.ports import MailTransport, OutboxRepo, UnitOfWorkFactory

log = logging.getLogger("tether.mail")
MAX_ATTEMPTS = 5


class MailService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        transport: MailTransport | None,
        sender: str,
    ):
        self._uow = uow
        self._clock = clock
        self._transport = transport
        self._sender = sender

    async def enqueue(
        self, outbox: OutboxRepo, tenant: Tenant, to: str, subject: str, body: str
    ) -> Mail:
        """Queue a mail in the caller's transaction, through the one repository it writes: it
        is sent only if the change it tells of commits (the transactional outbox)."""
        mail = Mail(new_id("mail_"), tenant.id, to, subject, body, self._clock.now())
        await outbox.add(mail)
        return mail

    async def enqueue_all(
        self, outbox: OutboxRepo, tenant: Tenant, to: builtins.list[str], subject: str, body: str
    ) -> builtins.list[Mail]:
        """``enqueue`` of the same mail to several addresses, in one statement (a link tells
        both of its accounts, inside the transaction that holds the users' locks)."""
        now = self._clock.now()
        mails = [Mail(new_id("mail_"), tenant.id, address, subject, body, now) for address in to]
        if mails:
            await outbox.add_all(mails)
        return mails

    async def list(self, tenant: Tenant | None, *, limit: int = 50) -> builtins.list[Mail]:
        async with self._uow(read_only=True) as uow:
            return await uow.outbox.list(tenant.id if tenant else None, limit=limit)

    async def deliver_pending(self) -> int:
        """Send what waits in the outbox. Returns how many were sent."""
        async with self._uow(read_only=True) as uow:
            pending = await uow.outbox.pending()
        if not pending:
            return 0
        if self._transport is None:
            for mail in pending:
                if mail.attempts == 0:
                    log.info(
                        "mail to %s waiting in the outbox (no SMTP configured): %s",
                        mail.to,
                        mail.subject,
                    )
                    async with self._uow() as uow:
                        await uow.outbox.mark_failed(mail.id, "no SMTP server configured")
                        await uow.commit()
            return 0
        sent = 0
        for mail in pending:
            if mail.attempts >= MAX_ATTEMPTS:
                continue
            try:
                await self._transport.send(mail, self._sender)
            except Exception as exc:
                async with self._uow() as uow:
                    await uow.outbox.mark_failed(mail.id, type(exc).__name__)
                    await uow.commit()
                log.warning("mail to %s failed: %s", mail.to, type(exc).__name__)
                continue
            async with self._uow() as uow:
                await uow.outbox.mark_sent(mail.id, self._clock.now())
                await uow.commit()
            sent += 1
        return sent
