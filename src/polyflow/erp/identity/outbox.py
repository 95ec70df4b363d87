"""Outgoing mail through an outbox table: a message is written in the same transaction as the change
that causes it (an invite, a reset link) and delivered after commit by the configured sender, so a
rolled-back change never sends mail and a failed send never loses the message.

Senders are pluggable (`SENDERS`): "console" prints the message (development), "smtp" sends it
through a relay, "none" leaves it in the outbox. An HTTP-API sender is one more entry with the same
`send(message)` signature. Failed sends are retried by the hourly housekeeping, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import sys
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Callable, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from polyflow.config import Settings
from polyflow.erp.models import OutboxMessage

log = logging.getLogger(__name__)
BATCH = 50
MAX_ATTEMPTS = 5
SMTP_TIMEOUT = 10


class Sender(Protocol):
    async def send(self, message: OutboxMessage) -> None: ...


class ConsoleSender:
    """Prints each message to standard output (the dev sender)."""

    async def send(self, message: OutboxMessage) -> None:
        print(f"\n--- mail to {message.recipient}: {message.subject}\n{message.body}\n---", file=sys.stdout, flush=True)


class SmtpSender:
    """Sends through an SMTP relay (STARTTLS and login as configured); one connection per message,
    opened in a worker thread so the event loop never waits on the network."""

    def __init__(self, settings: Settings):
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.starttls = settings.smtp_starttls
        self.sender = settings.mail_from

    async def send(self, message: OutboxMessage) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: OutboxMessage) -> None:
        mail = EmailMessage()  # refuses line breaks in headers: no header injection
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip("> ") or None)
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)


SENDERS: dict[str, Callable[[Settings], Sender | None]] = {
    "console": lambda settings: ConsoleSender(),
    "smtp": SmtpSender,
    "none": lambda settings: None,
}


def sender_for(settings: Settings) -> Sender | None:
    """The configured sender (None: mail stays in the outbox)."""
    return SENDERS[settings.mail_sender](settings)


def enqueue(session: AsyncSession, recipient: str, subject: str, body: str) -> None:
    """Queue an email in the caller's transaction."""
    session.add(OutboxMessage(kind="email", recipient=recipient, subject=subject, body=body))


async def deliver(engine: AsyncEngine, sender: Sender | None) -> int:
    """Send what is pending (oldest first); returns how many were sent. Safe to run concurrently:
    rows being sent by another process are skipped (SKIP LOCKED)."""
    if sender is None:
        return 0
    sent = 0
    async with AsyncSession(engine, expire_on_commit=False) as session:
        async with session.begin():
            messages = (await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
                .order_by(OutboxMessage.id).limit(BATCH).with_for_update(skip_locked=True)
            )).all()
            for message in messages:
                message.attempts += 1
                try:
                    await sender.send(message)
                except Exception as exc:  # a sender's failure is recorded and retried, never raised to a user
                    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    log.warning("outbox message %s not sent: %s", message.id, message.last_error)
                    continue
                message.sent_at = datetime.now(timezone.utc)
                sent += 1
    return sent
