"""Hourly tidy-up of one tenant's sign-in state and mail (run for every active tenant by the
`identity.housekeeping` scheduled job, platform/jobs.py).

- sessions that ended (absolute or idle limit) are deleted; a request presenting one deletes it too,
  but a browser that never comes back would otherwise leave its row forever;
- invitation and reset links used or expired more than a week ago are deleted (the audit log keeps
  the events);
- mail still pending in the outbox (a sender that failed) is sent again, up to its attempt limit;
  mail sent more than 30 days ago is deleted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from polyflow.config import Settings
from polyflow.erp.identity import outbox
from polyflow.erp.models import OneTimeToken, OutboxMessage, UserSession

KEEP_LINKS = timedelta(days=7)
KEEP_SENT_MAIL = timedelta(days=30)


@dataclass
class Tidied:
    sessions: int = 0
    links: int = 0
    mail_sent: int = 0
    mail_pruned: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


async def tidy(engine: AsyncEngine, settings: Settings, now: datetime | None = None) -> Tidied:
    now = now or datetime.now(timezone.utc)
    idle = timedelta(minutes=settings.session_idle_minutes)
    done = Tidied()
    async with AsyncSession(engine) as session, session.begin():
        done.sessions = (await session.execute(delete(UserSession).where(
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= now - idle)))).rowcount
        done.links = (await session.execute(delete(OneTimeToken).where(
            or_(OneTimeToken.used_at <= now - KEEP_LINKS, OneTimeToken.expires_at <= now - KEEP_LINKS)))).rowcount
        done.mail_pruned = (await session.execute(delete(OutboxMessage).where(
            OutboxMessage.sent_at <= now - KEEP_SENT_MAIL))).rowcount
    done.mail_sent = await outbox.deliver(engine, outbox.sender_for(settings))
    return done
