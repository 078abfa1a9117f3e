"""Every session of the application (storage.db.Database) records the facts it changes in the tamper-evident record:
a lead whose fields, key fields or provenance changed, an activity or a flag written or deleted, an evidence row
added or deleted. Whatever the path (chat, CLI, console, import, handover, reminder and renewal batches — bulk
inserts through the session are recorded from what they return), a change made through the application leaves an
entry; one made by hand in the database does not, and `audit verify` reports the difference.

Flushes only note which rows changed (after_flush, while the ORM still knows); at commit the entries the use case
queued (storage.chain.append) and one per changed row, with its final state, are appended in one statement, so the
record's lock is held only for the last moments of a transaction (no lock-order deadlock with the rows the
transaction touched before).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage import chain, facts
from storage.models import Activity, Evidence, Lead, LeadFlag

PENDING = "chain_facts"  # session.info key: {(kind, id): (lead id, the row, or None once deleted)}
ACTOR = "chain_actor"  # session.info key: the user id the session's changes are made for (bot.context.Context.db)
HEAD = "chain_head"  # session.info key: (engine, the head this transaction wrote), remembered once committed
_LEAD_ATTRS = (*facts.LEAD_KEYS, "field_sources")


class RecordingSession(Session):
    """The sync session behind every AsyncSession of storage.db.Database."""

    records_at_commit = True  # storage.chain.append queues its entries here


KINDS: dict[type, str] = {Lead: "lead", Activity: "activity", LeadFlag: "flag", Evidence: "evidence"}
_RECORDED = (Lead, Activity, LeadFlag, Evidence)


def _kind(obj: Any) -> str:
    return KINDS[type(obj)]


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


def _lead_of(obj: Any) -> int | None:
    return obj.id if isinstance(obj, Lead) else obj.lead_id


def _changed_rows(session: Session) -> Iterator[tuple[str, int, int | None, Any]]:
    """(kind, id, lead id, row or None) of each fact row this flush wrote. An evidence row enters when it is
    added or deleted (its later changes, a manager's verdict, have entries of their own)."""
    for obj in session.new:
        if isinstance(obj, _RECORDED):
            yield _kind(obj), obj.id, _lead_of(obj), obj
    for obj in session.dirty:
        if isinstance(obj, Lead) and _lead_changed(obj):
            yield "lead", obj.id, obj.id, obj
        elif isinstance(obj, Activity | LeadFlag) and session.is_modified(obj):
            yield _kind(obj), obj.id, obj.lead_id, obj
    for obj in session.deleted:
        if isinstance(obj, _RECORDED):
            yield _kind(obj), obj.id, _lead_of(obj), None


def _note_rows(session: Session, changed: Iterable[tuple[str, int, int | None, Any]]) -> None:
    pending = session.info.setdefault(PENDING, {})
    for kind, key, lead_id, row in changed:
        pending[(kind, key)] = (lead_id, row)


@event.listens_for(RecordingSession, "after_flush")
def _note(session: Session, _flush: UOWTransaction) -> None:
    _note_rows(session, _changed_rows(session))


# -- writes that bypass the unit of work: bulk inserts are recorded from what they return --------------------------
_RETURNED = {
    Lead: (Lead.id, *(getattr(Lead, name) for name in facts.LEAD_KEYS), Lead.field_sources, Lead.extra),
    Activity: (Activity.id, Activity.lead_id, Activity.actor_id, Activity.kind, Activity.summary,
               Activity.created_at),
    LeadFlag: (LeadFlag.id, LeadFlag.lead_id, LeadFlag.rule, LeadFlag.subject, LeadFlag.level, LeadFlag.status,
               LeadFlag.owner_id, LeadFlag.cleared_by, LeadFlag.reason, LeadFlag.answer, LeadFlag.answered_by),
    Evidence: (Evidence.id, Evidence.lead_id, Evidence.kind, Evidence.sha256, Evidence.path, Evidence.note,
               Evidence.proof, Evidence.added_by, Evidence.confirmed_by),
}


def _entity(state: ORMExecuteState) -> Any:
    mapper = state.bind_mapper
    return mapper.class_ if mapper is not None else None


@event.listens_for(RecordingSession, "do_orm_execute", retval=True)
def _bulk(state: ORMExecuteState) -> Any:
    """An INSERT of fact rows through the session (imports, reminder and renewal batches) is recorded row by row;
    a bulk UPDATE or DELETE of them would change facts the record cannot name, so it is refused."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    model = _entity(state)
    if model not in _RETURNED:
        return None
    stmt = state.statement
    if not state.is_insert or not isinstance(stmt, Insert) or stmt._returning:
        raise RuntimeError(f"bulk {'insert with RETURNING' if state.is_insert else 'update/delete'} of "
                           f"{model.__tablename__} bypasses the audit record: change the rows through the session")
    result = state.invoke_statement(statement=stmt.returning(*_RETURNED[model], sort_by_parameter_order=True))
    frozen = result.freeze()
    kind = KINDS[model]
    _note_rows(state.session, ((kind, r.id, r.id if model is Lead else r.lead_id, r) for r in frozen().all()))
    return frozen()


def _data(kind: str, key: int, row: Any) -> dict[str, Any]:
    if kind == "lead":
        return {"state": None if row is None else facts.lead_state(row)}
    if kind == "evidence":
        if row is None:
            return {"evidence_id": key, "deleted": True}
        return facts.evidence_data(row)
    state = None if row is None else facts.activity_state(row) if kind == "activity" else facts.flag_state(row)
    return {"id": key, "state": state}


def _actor(session: Session, kind: str, row: Any) -> str | None:
    """Who made the change: the evidence's sender, the activity's author, else the account the session acts for
    (ACTOR: the chat user of the message; None for batch work with no one at the keyboard)."""
    if kind == "evidence" and row is not None:
        return row.added_by
    if kind == "activity" and row is not None and row.actor_id:
        return row.actor_id
    return session.info.get(ACTOR)


@event.listens_for(RecordingSession, "before_commit")
def _record(session: Session) -> None:
    """The transaction's entries, then the facts it changed: one append (storage.chain.append_rows)."""
    session.flush()
    queued: list[chain.Item] = session.info.pop(chain.QUEUED, None) or []
    pending = session.info.pop(PENDING, None) or {}
    if not queued and not pending:
        return
    now = datetime.now(UTC)
    explicit = {item[4].get("evidence_id") for item in queued if item[0] == "evidence"}
    items = queued + [(kind, lead_id, _actor(session, kind, row), now, _data(kind, key, row))
                      for (kind, key), (lead_id, row) in pending.items()
                      if not (kind == "evidence" and key in explicit)]
    conn = session.connection()
    last = chain.append_rows(conn, items)
    if last is not None:
        session.info[HEAD] = (conn.engine, last)


@event.listens_for(RecordingSession, "after_commit")
def _remember(session: Session) -> None:
    written = session.info.pop(HEAD, None)
    if written is not None:
        chain.remember_head(*written)


@event.listens_for(RecordingSession, "after_rollback")
@event.listens_for(RecordingSession, "after_soft_rollback")
def _forget(session: Session, *_: Any) -> None:
    for key in (PENDING, chain.QUEUED, HEAD):
        session.info.pop(key, None)
