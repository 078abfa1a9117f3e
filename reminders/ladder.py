"""Firing one due timer row: the rule's state change, its notices and the next timer, in one transaction.

Notices are rows too (rule `notice`), due at the recipient's next working moment; the ticker
turns due notices into outbox messages, merging what piled up overnight into one per recipient.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RemindersSettings
from bot.messages import body_to_json
from reminders import messages
from reminders.calendar import BusinessCalendar, WorkHours
from reminders.directory import Directory
from reminders.messages import Note
from reminders.policies import (
    CADENCE,
    DORMANCY,
    FIRST_CONTACT,
    FOLLOW_UP,
    NOTICE,
    RULE_CN,
    SLA_RULES,
    STAGE_STALL,
    TERMINAL_STAGES,
    cadence_days,
    cc_manager,
    first_level,
    freeze_level,
    next_level,
    sla_window,
)
from reminders.store import ClaimedRow, add_timer, cancel_timers, fence
from storage.activity import add_activity
from storage.models import Lead, Reminder

log = logging.getLogger(__name__)


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


async def add_notice(session: AsyncSession, env: TickEnv, row: ClaimedRow, to: str, note: Note, *,
                     standalone: bool = False) -> None:
    """Queue a message for `to`, due at their next working moment; `key` makes its outbox row idempotent."""
    due = env.cal.next_working_moment(env.now, env.hours(to))
    payload = {"to": to, "body": body_to_json(note.body), "line": note.line, "standalone": standalone,
               "key": f"rem:{row.id}:{row.level}:{to}"}
    await add_timer(session, row.lead_id, NOTICE, due, env.now, level=row.level, payload=payload)


async def fire(session: AsyncSession, env: TickEnv, row: ClaimedRow) -> bool:
    """Process one claimed timer row; False when another worker took it over (or it was cancelled)."""
    if not await fence(session, [row.id], env.worker, env.now):
        return False
    lead = await session.get(Lead, row.lead_id) if row.lead_id is not None else None
    if lead is None:
        return True
    handler = HANDLERS.get(row.rule)
    if handler is None:
        log.warning("reminder %s has unknown rule %r; dropped", row.id, row.rule)
        return True
    await handler(session, env, row, lead)
    return True


# -- SLA rules with a ladder ----------------------------------------------------------------

def _sla_applies(row: ClaimedRow, lead: Lead) -> bool:
    if lead.status != "active" or lead.owner_id is None:
        return False
    if row.rule == FIRST_CONTACT:
        return lead.first_contact_at is None
    return lead.stage not in TERMINAL_STAGES and lead.stage == row.payload.get("stage", lead.stage)


async def _fire_sla(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    if not _sla_applies(row, lead):
        return
    carry = {k: row.payload[k] for k in ("stage", "snoozed_h") if k in row.payload}
    if row.level == 0:
        await _warn(session, env, row, lead, carry)
        return
    lead.timeout_count = (lead.timeout_count or 0) + 1
    add_activity(session, lead.id, None, "sla_breach", env.now, f"{RULE_CN[row.rule]}超时（第{lead.timeout_count}次）",
                 rule=row.rule, level=row.level, reminder_id=row.id)
    if row.level >= freeze_level(env.cfg):
        await freeze(session, env, row, lead)
        return
    level = next_level(row.rule, row.level, env.cfg)
    assert level is not None
    hours = env.hours(lead.owner_id)
    next_due = env.cal.add_working_time(max(env.now, row.due_at), sla_window(row.rule, env.cfg, env.cal, hours), hours)
    successor = await add_timer(session, lead.id, row.rule, next_due, env.now, level=level, payload=carry)
    note = messages.sla_breach(row.rule, lead, row.level, next_due, successor, level >= freeze_level(env.cfg))
    await add_notice(session, env, row, lead.owner_id, note)  # type: ignore[arg-type]
    if cc_manager(row.level, env.cfg):
        for boss in env.people.supervisors_of(lead.owner_id):
            await add_notice(session, env, row, boss, messages.sla_cc(row.rule, lead, env.people.name(lead.owner_id)))


async def _warn(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead, carry: dict[str, Any]) -> None:
    deadline = datetime.fromisoformat(row.payload["deadline"])
    successor = await add_timer(session, lead.id, row.rule, deadline, env.now,
                                level=first_level(row.rule, env.cfg), payload=carry)
    if env.now >= deadline:
        return  # the breach is already due: a late warning would only add noise
    note = messages.sla_warning(row.rule, lead, deadline, successor)
    await add_notice(session, env, row, lead.owner_id, note)  # type: ignore[arg-type]
    add_activity(session, lead.id, None, "sla_warning", env.now, f"{RULE_CN[row.rule]}即将到期",
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
    escalation = {"prev_owner": prev, "managers": bosses, "resolved": None}
    await session.execute(update(Reminder).where(Reminder.id == row.id)
                          .values(payload={**row.payload, "escalation": escalation}))
    add_activity(session, lead.id, None, "freeze", env.now, f"{reason}，冻结并转入线索池",
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
        await add_timer(session, lead.id, CADENCE, due, env.now, payload={"anchor": anchor.isoformat(),
                                                                            "step": step + 1})
    if lead.status != "active" or lead.owner_id is None or step >= len(days):
        return
    await add_notice(session, env, row, lead.owner_id, messages.cadence(lead, days[step]))
    add_activity(session, lead.id, None, "reminder", env.now, f"高价值线索第 {days[step]} 天跟进节点", rule=CADENCE)


async def _fire_dormancy(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    if lead.status != "active" or lead.owner_id is None:
        return
    last = lead.last_activity_at or lead.assigned_at or lead.created_at
    wake_at = last + timedelta(days=env.cfg.dormancy_days)
    if wake_at > env.now + timedelta(minutes=1):  # activity logged without the hook: look again later
        await add_timer(session, lead.id, DORMANCY, wake_at, env.now, payload={"since": last.isoformat()})
        return
    lead.status = "dormant"
    days = (env.now - last).days
    add_activity(session, lead.id, None, "dormant", env.now, f"{days} 天未跟进，转为沉睡并发出唤醒任务",
                 rule=DORMANCY)
    await add_notice(session, env, row, lead.owner_id, messages.dormancy(lead, days))


async def _fire_follow_up(session: AsyncSession, env: TickEnv, row: ClaimedRow, lead: Lead) -> None:
    if lead.status not in ("active", "dormant") or lead.owner_id is None:
        return
    at = datetime.fromisoformat(row.payload["at"])
    await add_notice(session, env, row, lead.owner_id, messages.follow_up(lead, at, row.payload.get("note", "")))
    add_activity(session, lead.id, None, "reminder", env.now, "约定回访提醒", rule=FOLLOW_UP, at=at.isoformat())


HANDLERS = {
    FIRST_CONTACT: _fire_sla,
    STAGE_STALL: _fire_sla,
    CADENCE: _fire_cadence,
    DORMANCY: _fire_dormancy,
    FOLLOW_UP: _fire_follow_up,
}
