"""Outgoing mail through an outbox table: a message is written in the same transaction as the change
that causes it (an invite, a reset link) and delivered after commit by the configured sender, so a
rolled-back change never sends mail and a failed send never loses the message.

Senders are pluggable (`SENDERS`): "console" prints the message (development), "none" leaves it in
the outbox. A real SMTP/API sender is one more entry with the same `send(message)` signature.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Callable, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from polyflow.erp.models import OutboxMessage

log = logging.getLogger(__name__)
BATCH = 50
MAX_ATTEMPTS = 5


class Sender(Protocol):
    async def send(self, message: OutboxMessage) -> None: ...


class ConsoleSender:
    """Prints each message to standard output (the dev sender)."""

    async def send(self, message: OutboxMessage) -> None:
        print(f"\n--- mail to {message.recipient}: {message.subject}\n{message.body}\n---", file=sys.stdout, flush=True)


SENDERS: dict[str, Callable[[], Sender | None]] = {"console": ConsoleSender, "none": lambda: None}


def sender_for(name: str) -> Sender | None:
    return SENDERS[name]()


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
