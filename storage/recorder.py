"""Every session of the application (storage.db.Database) records the facts it changes in the tamper-evident record:
a lead whose fields, key fields or provenance changed, an activity or a flag written or deleted. Whatever the path
(chat, CLI, console, import), a change made through the application leaves an entry; one made by hand in the
database does not, and `audit verify` reports the difference.

Flushes only note which rows changed (after_flush, while the ORM still knows); the entries are written at commit
with the rows' final state, one per row, so the record's lock is held only for the last moments of a transaction
(no lock-order deadlock with the rows the transaction touched before).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from storage import chain, facts
from storage.models import Activity, Lead, LeadFlag

PENDING = "chain_facts"  # session.info key: {(kind, id): (lead id, the row, or None once deleted)}
_LEAD_ATTRS = (*facts.LEAD_KEYS, "field_sources")


class RecordingSession(Session):
    """The sync session behind every AsyncSession of storage.db.Database."""


def _lead_changed(lead: Lead) -> bool:
    state = inspect(lead)
    if any(state.attrs[name].history.has_changes() for name in _LEAD_ATTRS):
        return True
    extra = state.attrs.extra.history
    if not extra.has_changes():
        return False
    before = (extra.deleted[0] if extra.deleted else None) or {}
    after = lead.extra or {}
    return any(before.get(k) != after.get(k) for k in facts.KEY_FIELDS)


def _changed_rows(session: Session) -> Iterator[tuple[str, int, int | None, Any]]:
    """(kind, id, lead id, row or None) of each fact row this flush wrote."""
    for obj in session.new:
        if isinstance(obj, Lead):
            yield "lead", obj.id, obj.id, obj
        elif isinstance(obj, Activity):
            yield "activity", obj.id, obj.lead_id, obj
        elif isinstance(obj, LeadFlag):
            yield "flag", obj.id, obj.lead_id, obj
    for obj in session.dirty:
        if isinstance(obj, Lead) and _lead_changed(obj):
            yield "lead", obj.id, obj.id, obj
        elif isinstance(obj, Activity | LeadFlag) and session.is_modified(obj):
            yield ("activity" if isinstance(obj, Activity) else "flag"), obj.id, obj.lead_id, obj
    for obj in session.deleted:
        if isinstance(obj, Lead | Activity | LeadFlag):
            kind = "lead" if isinstance(obj, Lead) else "activity" if isinstance(obj, Activity) else "flag"
            yield kind, obj.id, (obj.id if isinstance(obj, Lead) else obj.lead_id), None


@event.listens_for(RecordingSession, "after_flush")
def _note(session: Session, _flush: UOWTransaction) -> None:
    changed = list(_changed_rows(session))
    if changed:
        pending = session.info.setdefault(PENDING, {})
        for kind, key, lead_id, row in changed:
            pending[(kind, key)] = (lead_id, row)


def _data(kind: str, key: int, row: Any) -> dict[str, Any]:
    if kind == "lead":
        return {"state": None if row is None else facts.lead_state(row)}
    state = None if row is None else facts.activity_state(row) if kind == "activity" else facts.flag_state(row)
    return {"id": key, "state": state}


@event.listens_for(RecordingSession, "before_commit")
def _record(session: Session) -> None:
    session.flush()
    pending = session.info.pop(PENDING, None)
    if pending:
        items = [(kind, lead_id, _data(kind, key, row)) for (kind, key), (lead_id, row) in pending.items()]
        chain.append_rows(session.connection(), items, datetime.now(UTC))


@event.listens_for(RecordingSession, "after_rollback")
@event.listens_for(RecordingSession, "after_soft_rollback")
def _forget(session: Session, *_: Any) -> None:
    session.info.pop(PENDING, None)
