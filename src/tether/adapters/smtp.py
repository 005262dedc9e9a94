"""MailTransport over SMTP (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from tether.domain.models import Mail


class SmtpTransport:
    def __init__(
        self, host: str, port: int, *, username: str = "", password: str = "", starttls: bool = True
    ):
        self._host = host
        self._port = port
        self._username = username or None
        self._password = password or None
        self._starttls = starttls

    async def send(self, mail: Mail, sender: str) -> None:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            timeout=10,
        )
