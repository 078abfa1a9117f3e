"""Firing one due timer row: the rule's state change, its notices and the next timer, in one transaction.

Notices are rows too (rule `notice`), due at the recipient's next working moment; the ticker
turns due notices into outbox messages, merging what piled up overnight into one per recipient.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RemindersSettings
from bot.messages import body_to_json
from reminders import messages, renewal_hold
from reminders.calendar import BusinessCalendar, WorkHours
from reminders.directory import Directory
from reminders.messages import Note
from reminders.policies import (
    CADENCE,
    DORMANCY,
    FIRST_CONTACT,
    FOLLOW_UP,
    NOTICE,
    RENEWAL,
    RULE_CN,
    SLA_RULES,
    STAGE_STALL,
    TERMINAL_STAGES,
    cadence_days,
    cc_manager,
    first_level,
    freeze_level,
    next_level,
    promised_at,
    sla_window,
)
from reminders.store import ClaimedRow, cancel_timers, fence
from storage.models import Activity, Lead, Reminder, RenewalWarning

log = logging.getLogger(__name__)

_ROWS, _ACTIVITIES = "reminders.rows", "reminders.activities"  # session.info: rows waiting for flush_queued


@dataclass
class TickEnv:
    """What one tick knows: settings, calendar (with overrides), people, the tick's time and worker id."""

    cfg: RemindersSettings
    cal: BusinessCalendar
    people: Directory
    now: datetime
    worker: str

    def hours(self, user_id: str | None) -> WorkHours:
        return self.people.hours(self.cal, user_id)


def queue_timer(session: AsyncSession, env: TickEnv, lead_id: int | None, rule: str, due: datetime, *,
                level: int = 1, payload: dict[str, Any] | None = None) -> None:
    """A reminder row to insert at the end of the chunk (one statement for all, see `flush_queued`)."""
    session.info.setdefault(_ROWS, []).append(
        {"lead_id": lead_id, "rule": rule, "due_at": due, "level": level, "status": "pending",
         "payload": payload or {}, "created_at": env.now, "updated_at": env.now})


def queue_activity(session: AsyncSession, env: TickEnv, lead_id: int, kind: str, summary: str,
                   **detail: Any) -> None:
    session.info.setdefault(_ACTIVITIES, []).append(
        {"lead_id": lead_id, "actor_id": None, "kind": kind, "summary": summary, "detail": detail,
         "created_at": env.now})


def drop_queued(session: AsyncSession, lead_id: int, rules: tuple[str, ...]) -> None:
    """Forget queued timers of a lead (a freeze later in the same chunk cancels what was queued before)."""
    rows = session.info.get(_ROWS, [])
    rows[:] = [r for r in rows if not (r["lead_id"] == lead_id and r["rule"] in rules)]


async def add_notice(session: AsyncSession, env: TickEnv, row: ClaimedRow, to: str, note: Note, *,
                     standalone: bool = False, now: bool = False) -> None:
    """Queue a message for `to`, due at their next working moment — or, with `now`, at once whatever the hour (a
    time agreed with a customer: the call at 20:00 is at 20:00); `key` makes its outbox row idempotent."""
    due = env.now if now else env.cal.next_working_moment(env.now, env.hours(to))
    payload = {"to": to, "body": body_to_json(note.body), "line": note.line, "standalone": standalone,
               "key": f"rem:{row.id}:{row.level}:{to}", **({"asked": True} if now else {})}
    queue_timer(session, env, row.lead_id, NOTICE, due, level=row.level, payload=payload)


async def flush_queued(session: AsyncSession) -> None:
    rows, activities = session.info.pop(_ROWS, []), session.info.pop(_ACTIVITIES, [])
    if rows:
        await session.execute(insert(Reminder), rows)
    if activities:
        await session.execute(insert(Activity), activities)


async def fire(session: AsyncSession, env: TickEnv, row: ClaimedRow) -> bool:
    """Process one claimed timer row; False when another worker took it over (or it was cancelled)."""
    return bool(await fire_many(session, env, [row]))


async def fire_many(session: AsyncSession, env: TickEnv, rows: list[ClaimedRow]) -> int:
    """Process claimed timer rows in the session's transaction; returns how many this worker still held.

    Lock order as in the handlers: the chunk's leads first (FOR UPDATE, by id), then the reminder rows.
    Fencing first would deadlock with a handler that locked a lead and then cancels its timers (PostgreSQL;
    SQLite's BEGIN IMMEDIATE serialises writers anyway)."""
    lead_ids = sorted({r.lead_id for r in rows if r.lead_id is not None})
    leads: dict[int, Lead] = {}
    if lead_ids:  # one query for the chunk
        found = await session.execute(select(Lead).where(Lead.id.in_(lead_ids)).order_by(Lead.id).with_for_update())
        leads = {lead.id: lead for lead in found.scalars()}
    held = set(await fence(session, [r.id for r in rows], env.worker, env.now))
    mine = [r for r in rows if r.id in held]
    with session.no_autoflush:  # lead updates and activity rows are written together at commit
        for row in mine:
            lead = leads.get(row.lead_id) if row.lead_id is not None else None
            handler = HANDLERS.get(row.rule)
            if lead is None:
                continue
            if handler is None:
                log.warning("reminder %s has unknown rule %r; dropped", row.id, row.rule)
                continue
            await handler(session, env, row, lead)
    await flush_queued(session)
    return len(mine)


# -- SLA rules with a ladder ----------------------------------------------------------------

def _sla_applies(row: ClaimedRow, lead: Lead) -> bool:
    if lead.status != "active" or lead.owner_id is None:
        return False
    if row.rule == FIRST_CONTACT:
        return lead.first_contact_at is None
    return lead.stage not in TERMINAL_STAGES and lead.stage == row.payload.get("stage", lead.stage)


async def _fire_sla(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    owner = lead.owner_id  # a lead in the pool has no SLA (`_sla_applies`): the owner is who hears of it
    if owner is None or not _sla_applies(row, lead):
        return
    if await renewal_hold.held(session, lead):  # paused: never escalate what the lock itself refuses
        hours = env.hours(lead.owner_id)
        later = env.cal.add_working_time(max(env.now, row.due_at), sla_window(row.rule, env.cfg, env.cal, hours), hours)
        payload = dict(row.payload)
        if "deadline" in payload:
            payload["deadline"] = (datetime.fromisoformat(payload["deadline"]) + (later - row.due_at)).isoformat()
        queue_timer(session, env, lead.id, row.rule, later, level=row.level, payload=payload)
        return
    carry: dict[str, Any] = {k: row.payload[k] for k in ("stage", "snoozed_h", "pauses") if k in row.payload}
    # (carried chain-wide)
    if row.level == 0:
        await _warn(session, env, row, lead, owner, carry)
        return
    lead.timeout_count = (lead.timeout_count or 0) + 1  # the lead's lifetime total, across rules and owners
    miss = row.level - first_level(row.rule, env.cfg) + 1  # this rule's chain for the current owner
    queue_activity(session, env, lead.id, "sla_breach", f"{RULE_CN[row.rule]}超时（第{miss}次）",
                 rule=row.rule, level=row.level, reminder_id=row.id)
    if row.level >= freeze_level(env.cfg):
        await freeze(session, env, row, lead)
        return
    level = next_level(row.rule, row.level, env.cfg)
    assert level is not None
    hours = env.hours(lead.owner_id)
    next_due = env.cal.add_working_time(max(env.now, row.due_at), sla_window(row.rule, env.cfg, env.cal, hours), hours)
    queue_timer(session, env, lead.id, row.rule, next_due, level=level, payload=carry)
    note = messages.sla_breach(row.rule, lead, row.level, miss, next_due, row.id, level >= freeze_level(env.cfg))
    await add_notice(session, env, row, owner, note)
    if cc_manager(row.level, env.cfg):
        cc = messages.sla_cc(row.rule, lead, env.people.name(lead.owner_id), miss)
        for boss in env.people.supervisors_of(lead.owner_id):
            await add_notice(session, env, row, boss, cc)


async def _warn(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead, owner: str,
                carry: dict[str, Any]) -> None:
    deadline = datetime.fromisoformat(row.payload["deadline"])
    queue_timer(session, env, lead.id, row.rule, deadline, level=first_level(row.rule, env.cfg), payload=carry)
    if env.now >= deadline:
        return  # the breach is already due: a late warning would only add noise
    note = messages.sla_warning(row.rule, lead, deadline, row.id)
    await add_notice(session, env, row, owner, note)
    queue_activity(session, env, lead.id, "sla_warning", f"{RULE_CN[row.rule]}即将到期",
                 rule=row.rule, deadline=deadline.isoformat())


async def freeze(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    """L3: freeze, move to the pool (owner cleared), card to the manager, word to the rep."""
    prev = lead.owner_id
    bosses = env.people.supervisors_of(prev)
    lead.status, lead.frozen_at, lead.owner_id = "frozen", env.now, None
    reason = f"{RULE_CN[row.rule]}多次超时"
    lead.extra = {**(lead.extra or {}), "frozen": {"prev_owner": prev, "rule": row.rule, "reminder_id": row.id,
                                                  "reason": reason, "at": env.now.isoformat()}}
    await cancel_timers(session, lead.id, env.now, SLA_RULES)
    drop_queued(session, lead.id, SLA_RULES)
    escalation = {"prev_owner": prev, "managers": bosses, "resolved": None}
    await session.execute(update(Reminder).where(Reminder.id == row.id)
                          .values(payload={**row.payload, "escalation": escalation}))
    queue_activity(session, env, lead.id, "freeze", f"{reason}，冻结并转入线索池",
                 rule=row.rule, prev_owner=prev, reminder_id=row.id)
    owner_name = env.people.name(prev)
    for boss in bosses:
        note = messages.freeze_card(row.rule, lead, owner_name, row.id, env.now)
        await add_notice(session, env, row, boss, note, standalone=True)
    if prev:
        boss_name = "、".join(env.people.name(b) for b in bosses) or "主管"
        await add_notice(session, env, row, prev, messages.freeze_rep(row.rule, lead, boss_name))


# -- one-shot touchpoints ---------------------------------------------------------------------

async def _fire_cadence(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    days = cadence_days(env.cfg)
    step = int(row.payload.get("step", 0))
    anchor = datetime.fromisoformat(row.payload["anchor"])
    if step + 1 < len(days) and lead.status in ("active", "frozen"):
        due = anchor + timedelta(days=days[step + 1])
        queue_timer(session, env, lead.id, CADENCE, due, payload={"anchor": anchor.isoformat(), "step": step + 1})
    if lead.status != "active" or lead.owner_id is None or step >= len(days):
        return
    await add_notice(session, env, row, lead.owner_id, messages.cadence(lead, days[step]))
    queue_activity(session, env, lead.id, "reminder", f"高价值线索第 {days[step]} 天跟进节点", rule=CADENCE)


async def _fire_dormancy(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    if lead.status != "active" or lead.owner_id is None:
        return
    last = max(t for t in (lead.last_activity_at, lead.assigned_at, lead.created_at) if t is not None)
    wake_at = last + timedelta(days=env.cfg.dormancy_days)
    if wake_at > env.now + timedelta(minutes=1):  # activity logged without the hook: look again later
        queue_timer(session, env, lead.id, DORMANCY, wake_at, payload={"since": last.isoformat()})
        return
    lead.status = "dormant"
    days = (env.now - last).days
    queue_activity(session, env, lead.id, "dormant", f"{days} 天未跟进，转为沉睡并发出唤醒任务",
                 rule=DORMANCY)
    await add_notice(session, env, row, lead.owner_id, messages.dormancy(lead, days))


async def _fire_follow_up(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    if lead.status not in ("active", "dormant") or lead.owner_id is None:
        return
    at = promised_at(row.payload, row.due_at)
    # the time was agreed with the customer (or chosen by the rep): it is kept outside working hours too; only
    # the SLA clocks count working time
    await add_notice(session, env, row, lead.owner_id, messages.follow_up(lead, at, row.payload.get("note", "")),
                     now=True)
    queue_activity(session, env, lead.id, "reminder", "约定回访提醒", rule=FOLLOW_UP, at=at.isoformat())


async def _fire_renewal(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    """The escalation ladder of an unanswered 续约预警, like an SLA's: L1 remind the owner, L2… remind and CC the
    manager, the top level asks the manager to step in. 已联系, a renewal proof or a lifted lock ends it."""
    warning = await session.get(RenewalWarning, int(row.payload.get("warning_id", 0)))
    if warning is None or warning.status != "open":
        return
    owner, top = warning.owner_id, freeze_level(env.cfg)
    queue_activity(session, env, lead.id, "renewal_overdue", f"续约预警未处理（第{row.level}次）",
                   rule=RENEWAL, level=row.level, warning_id=warning.id)
    bosses = env.people.supervisors_of(owner)
    if row.level >= top or owner is None:
        for boss in bosses:
            note = messages.renewal_escalated(lead, warning.id, env.people.name(owner), asked=False)
            await add_notice(session, env, row, boss, note, standalone=True)
        return
    hours = env.hours(owner)
    step = env.cal.working_days(float(row.payload.get("step_days", 2.0)), hours)
    next_due = env.cal.add_working_time(max(env.now, row.due_at), step, hours)
    queue_timer(session, env, lead.id, RENEWAL, next_due, level=row.level + 1, payload=dict(row.payload))
    await add_notice(session, env, row, owner, messages.renewal_overdue(lead, warning.id, row.level, next_due))
    if cc_manager(row.level, env.cfg):
        for boss in bosses:
            await add_notice(session, env, row, boss, messages.renewal_cc(lead, env.people.name(owner), row.level))


HANDLERS = {
    FIRST_CONTACT: _fire_sla,
    STAGE_STALL: _fire_sla,
    CADENCE: _fire_cadence,
    DORMANCY: _fire_dormancy,
    FOLLOW_UP: _fire_follow_up,
    RENEWAL: _fire_renewal,
}
