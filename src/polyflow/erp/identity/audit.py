"""The tenant's audit log: who changed what, written in the same transaction as the change.

Every ORM insert, update and delete of a tenant table made during an authenticated request is
recorded automatically (a flush hook on tenant sessions), with the fields that changed before and
after. Sign-in events (login, failed login, token created, password changed...) are recorded
explicitly with `record`. Work without a signed-in user (onboarding seeds, migrations, the CLI)
sets no actor and is not recorded here; the platform audit log in the main database covers it.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from polyflow.erp.models import AuditEntry, JournalEntry, StockMovement
from polyflow.kit.db import TenantBase


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    email: str
    ip: str | None


current_actor: ContextVar[Actor | None] = ContextVar("polyflow_audit_actor", default=None)

# Tables not audited row by row: the log itself, sign-in state (recorded as events instead), mail,
# counters, and derived or ledger rows whose parent document is audited (stock levels follow
# movements; journal lines belong to their entry; movements carry their own user).
SKIPPED_TABLES = frozenset({
    "audit_log", "user_sessions", "api_tokens", "one_time_tokens", "outbox", "document_counters",
    "stock_levels", "journal_lines", "stock_movements", "user_recovery_codes",
})
# Never copied into the log.
SECRET_FIELDS = frozenset({"password_hash", "token_hash", "csrf_token", "totp_secret_enc", "totp_last_step"})
QUIET_FIELDS = frozenset({"created_at", "updated_at", "last_seen_at", "last_used_at", "last_login_at"})
MAX_VALUE = 200


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) else value[:MAX_VALUE]
    if isinstance(value, (Decimal, uuid.UUID, date, datetime)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value][:50]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in list(value.items())[:50]}
    return str(value)[:MAX_VALUE]


def _columns(obj) -> list:
    return [attr for attr in inspect(obj).mapper.column_attrs if attr.key not in SECRET_FIELDS | QUIET_FIELDS]


def _identity(obj) -> str | None:
    state = inspect(obj)
    key = state.identity or tuple(getattr(obj, c.key) for c in state.mapper.primary_key)
    if not key or any(k is None for k in key):
        return None
    return ",".join(str(k) for k in key)[:64]


def _snapshot(obj) -> dict:
    return {attr.key: _plain(getattr(obj, attr.key)) for attr in _columns(obj)}


def _diff(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for attr in _columns(obj):
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[attr.key] = _plain(old)
        after[attr.key] = _plain(new)
    return before, after


def _audited(obj) -> bool:
    return isinstance(obj, TenantBase) and obj.__table__.name not in SKIPPED_TABLES


def _stamp_authors(session: Session, flush_context, instances) -> None:
    """Fill the author columns of new ledger rows from the signed-in user."""
    actor = current_actor.get()
    if actor is None or actor.user_id is None:
        return
    for obj in session.new:
        if isinstance(obj, StockMovement) and obj.user_id is None:
            obj.user_id = actor.user_id
        elif isinstance(obj, JournalEntry) and obj.created_by is None:
            obj.created_by = actor.user_id


def _record_changes(session: Session, flush_context) -> None:
    # after_flush: rows have their keys, and attribute history still holds the old values.
    actor = current_actor.get()
    if actor is None:
        return
    rows = []
    for obj in session.new:
        if _audited(obj):
            rows.append(_row(actor, "create", obj, {"after": _snapshot(obj)}))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before, after = _diff(obj)
            if after:
                rows.append(_row(actor, "update", obj, {"before": before, "after": after}))
    for obj in session.deleted:
        if _audited(obj):
            rows.append(_row(actor, "delete", obj, {"before": _snapshot(obj)}))
    if rows:
        session.connection().execute(AuditEntry.__table__.insert(), rows)


def _row(actor: Actor, action: str, obj, changes: dict) -> dict:
    return {"user_id": actor.user_id, "actor": actor.email, "action": action, "entity": obj.__table__.name,
            "entity_id": _identity(obj), "changes": changes, "ip": actor.ip}


def install() -> None:
    """Hook the recorder into every ORM session (it only acts on tenant tables, with an actor set)."""
    if not event.contains(Session, "after_flush", _record_changes):
        event.listen(Session, "before_flush", _stamp_authors)
        event.listen(Session, "after_flush", _record_changes)


async def record(session: AsyncSession, action: str, entity: str, entity_id=None, *, actor: Actor | None = None,
                 **changes) -> None:
    """Write one explicit entry (sign-in events and other actions that are not a row change)."""
    actor = actor or current_actor.get() or Actor(None, "system", None)
    session.add(AuditEntry(user_id=actor.user_id, actor=actor.email, action=action, entity=entity,
                           entity_id=None if entity_id is None else str(entity_id)[:64],
                           changes={k: _plain(v) for k, v in changes.items()}, ip=actor.ip))
