"""Lead lifecycle → timer rows. Lead handlers call these inside their own transaction.

Timers are rows in `reminders` (the ticker fires them); nothing here sends a message.
    on_lead_activated   first contact (if not yet contacted), stage stall, agreed follow-up,
                        high-value cadence, dormancy
    on_contact_logged   completes first contact, restarts the stall chain and dormancy (and wakes a dormant
                        lead); the agreed follow-up timer follows `next_follow_up_at`
    on_stage_changed    restarts the stall timer (cancels everything when won/lost)
    on_owner_changed    the SLA clocks and dormancy restart for the new owner (also when a frozen lead is released)
    on_lead_closed      cancels every open timer of the lead
    schedule_follow_up  the owner is reminded `follow_up_before_min` minutes before an agreed time
    on_calendar_changed an admin's 放假 / 补班 moves the running SLA timers to the new calendar
A frozen lead refuses rep follow-up: the lead gate (handlers/leads/permissions.py `policy_refusal`) checks
`is_frozen(lead)` and answers `frozen_message(lead)`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RemindersSettings
from bot.messages import Text
from bot.result import Result
from reminders import messages
from reminders.calendar import BusinessCalendar, WorkHours, load_calendar, set_override
from reminders.directory import load_directory, working_hours
from reminders.policies import (
    CADENCE,
    DORMANCY,
    FIRST_CONTACT,
    FOLLOW_UP,
    SLA_RULES,
    STAGE_STALL,
    TERMINAL_STAGES,
    cadence_days,
    first_level,
    is_high_value,
    sla_window,
    warn_before,
)
from reminders.store import add_timer, cancel_timers
from storage.activity import add_audit
from storage.models import Lead, Reminder


def is_frozen(lead: Lead) -> bool:
    """A frozen lead waits for its manager (接手 / 改派 / 延期); reps cannot follow it up meanwhile."""
    return lead.status == "frozen"


def frozen_message(lead: Lead) -> str:
    """The explanation a rep gets when a follow-up command hits a frozen lead."""
    return messages.frozen_text(lead)


async def _owner_hours(session: AsyncSession, lead: Lead, cal: BusinessCalendar) -> WorkHours:
    return await working_hours(session, cal, lead.owner_id)


async def _lead_id(session: AsyncSession, lead: Lead) -> int:
    if lead.id is None:
        await session.flush()
    return lead.id


async def start_sla(
    session: AsyncSession, lead: Lead, rule: str, start: datetime, now: datetime, cfg: RemindersSettings,
    cal: BusinessCalendar, hours: WorkHours, *, snoozed_h: float = 0.0, window: timedelta | None = None,
    extra: dict[str, object] | None = None,
) -> int:
    """A fresh SLA chain from `start`: the warning row (or the first breach row when warnings are off).
    `window` overrides the rule's working time for the first step (延期 by N hours)."""
    window = window or sla_window(rule, cfg, cal, hours)
    deadline = cal.add_working_time(start, window, hours)
    payload: dict[str, object] = {**(extra or {}), "deadline": deadline.isoformat(), "snoozed_h": snoozed_h}
    if rule == STAGE_STALL:
        payload["stage"] = lead.stage
    lead_id = await _lead_id(session, lead)
    before = warn_before(window, cfg)
    if before is None:
        return await add_timer(session, lead_id, rule, deadline, now, level=first_level(rule, cfg), payload=payload)
    warn_at = cal.add_working_time(start, window - before, hours)
    return await add_timer(session, lead_id, rule, warn_at, now, level=0, payload=payload)


async def _start_sla_rules(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings,
                           cal: BusinessCalendar, hours: WorkHours) -> None:
    if lead.first_contact_at is None:
        await start_sla(session, lead, FIRST_CONTACT, now, now, cfg, cal, hours)
    if lead.stage not in TERMINAL_STAGES:
        await start_sla(session, lead, STAGE_STALL, now, now, cfg, cal, hours)


async def start_dormancy(session: AsyncSession, lead: Lead, since: datetime, now: datetime,
                          cfg: RemindersSettings) -> None:
    await cancel_timers(session, await _lead_id(session, lead), now, [DORMANCY])
    due = since + timedelta(days=cfg.dormancy_days)
    await add_timer(session, lead.id, DORMANCY, due, now, payload={"since": since.isoformat()})


async def _start_cadence(session: AsyncSession, lead: Lead, anchor: datetime, now: datetime,
                         cfg: RemindersSettings) -> None:
    days = cadence_days(cfg)
    if days:
        await add_timer(session, await _lead_id(session, lead), CADENCE, anchor + timedelta(days=days[0]), now,
                        payload={"anchor": anchor.isoformat(), "step": 0})


async def on_lead_activated(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """A lead became active with an owner: first-contact, follow-up, cadence and dormancy timers."""
    lead_id = await _lead_id(session, lead)
    await cancel_timers(session, lead_id, now)  # activating twice must not double the timers
    if lead.owner_id is None or lead.status != "active":
        return
    cal = await load_calendar(session, cfg)
    hours = await _owner_hours(session, lead, cal)
    await _start_sla_rules(session, lead, now, cfg, cal, hours)
    if lead.next_follow_up_at is not None and lead.next_follow_up_at > now:
        await schedule_follow_up(session, lead, lead.next_follow_up_at, now, cfg)
    if is_high_value(lead, cfg):
        await _start_cadence(session, lead, now, now, cfg)
    await start_dormancy(session, lead, lead.last_activity_at or now, now, cfg)


async def on_contact_logged(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """The owner logged a contact: completes first contact, restarts the stall chain and dormancy. The agreed
    follow-up reminder stays only while `next_follow_up_at` (which the caller may have cleared) is ahead."""
    lead_id = await _lead_id(session, lead)
    done = [FIRST_CONTACT] if lead.next_follow_up_at is not None and lead.next_follow_up_at > now else [
        FIRST_CONTACT, FOLLOW_UP]
    await cancel_timers(session, lead_id, now, done)
    if lead.first_contact_at is None:
        lead.first_contact_at = now
    lead.last_activity_at = now
    if lead.status == "dormant":
        lead.status = "active"
    if lead.status == "active":
        await start_dormancy(session, lead, now, now, cfg)
        await _restart_stall(session, lead, now, cfg)


async def on_stage_changed(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """Stage moved: restart the stall timer."""
    if lead.stage in TERMINAL_STAGES:
        await on_lead_closed(session, lead, now)
        return
    await _restart_stall(session, lead, now, cfg)


async def _restart_stall(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """A fresh stall chain (warning first, ladder from its start) from now, or from the end of a pause."""
    await cancel_timers(session, await _lead_id(session, lead), now, [STAGE_STALL])
    if lead.status != "active" or lead.owner_id is None or lead.stage in TERMINAL_STAGES:
        return
    cal = await load_calendar(session, cfg)
    await start_sla(session, lead, STAGE_STALL, max(now, paused_until(lead) or now), now, cfg, cal,
                    await _owner_hours(session, lead, cal))


def paused_until(lead: Lead) -> datetime | None:
    """The end of a "客户说下周再联系" pause, if one was set."""
    until = ((lead.extra or {}).get("paused") or {}).get("until")
    return datetime.fromisoformat(until) if until else None


async def on_owner_changed(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """Reassigned, taken over or released from a freeze: timers now count for the new owner, dormancy
    included (a frozen lead's dormancy date may have passed while it waited)."""
    await cancel_timers(session, await _lead_id(session, lead), now, SLA_RULES)
    if lead.owner_id is None or lead.status != "active":
        return
    cal = await load_calendar(session, cfg)
    await _start_sla_rules(session, lead, now, cfg, cal, await _owner_hours(session, lead, cal))
    await start_dormancy(session, lead, now, now, cfg)
    await follow_up_again(session, lead, now, cfg)


async def follow_up_again(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """A lead back with an owner (taken over, reassigned, 延期 out of a freeze): the agreed call still ahead is
    reminded in the owner's hours; a reminder that fell due while the lead was frozen was skipped, not lost."""
    when = lead.next_follow_up_at
    if when is not None and when > now:
        await schedule_follow_up(session, lead, when, now, cfg)


async def on_lead_closed(session: AsyncSession, lead: Lead, now: datetime) -> None:
    """Won, lost or dropped: cancel every pending timer of the lead."""
    await cancel_timers(session, await _lead_id(session, lead), now)


async def schedule_follow_up(
    session: AsyncSession, lead: Lead, when: datetime, now: datetime, cfg: RemindersSettings
) -> None:
    """An agreed follow-up time: remind the owner `follow_up_before_min` minutes before it, whatever the hour (a
    call agreed for 20:00 is reminded at 19:45, not the next morning); SLA timers alone count working hours."""
    lead_id = await _lead_id(session, lead)
    await cancel_timers(session, lead_id, now, [FOLLOW_UP])
    due = max(now, when - timedelta(minutes=cfg.follow_up_before_min))
    await add_timer(session, lead_id, FOLLOW_UP, due, now, payload={"at": when.isoformat(), "note": ""})


async def on_calendar_changed(session: AsyncSession, before: BusinessCalendar, after: BusinessCalendar, day: date,
                              now: datetime) -> int:
    """`day` became a working day or a day off: pending SLA timers keep the working time they had left
    (counted from now, or from the end of a pause) under the new calendar. Returns how many rows moved."""
    day_start = datetime.combine(day, time(0), after.tz).astimezone(UTC)
    if now >= day_start + timedelta(days=1):
        return 0
    stmt = (select(Reminder, Lead).join(Lead, Lead.id == Reminder.lead_id)
            .where(Reminder.status == "pending", Reminder.rule.in_(SLA_RULES), Reminder.due_at > now,
                   or_(Reminder.due_at >= day_start, Reminder.level == 0)))  # a warning's deadline may move
    people = await load_directory(session)
    moved = 0
    for row, lead in (await session.execute(stmt)).all():
        hours = people.hours(after, lead.owner_id)
        anchor = max(now, paused_until(lead) or now)

        def shift(t: datetime, hours: WorkHours = hours, anchor: datetime = anchor) -> datetime:
            return after.add_working_time(anchor, before.working_time_between(anchor, t, hours), hours)

        due = shift(row.due_at)
        payload = dict(row.payload)
        if "deadline" in payload:
            payload["deadline"] = shift(datetime.fromisoformat(payload["deadline"])).isoformat()
        if due != row.due_at or payload != row.payload:
            row.due_at, row.payload, row.updated_at = due, payload, now
            moved += 1
    return moved


# -- the company calendar on top of the statutory one ---------------------------------------------------
DATE_HINT = "日期格式如 2026-12-31，例如「放假 2026-12-31 公司年会」或「补班 2026-12-27」。"


def parse_day(arg: str) -> tuple[date, str] | None:
    """「2026-12-31 公司年会」 → (the day, the note); None: no date first."""
    first, _, note = arg.strip().partition(" ")
    try:
        return date.fromisoformat(first.replace("/", "-")), note.strip()
    except ValueError:
        return None


async def override_day(session: AsyncSession, actor_id: str, day: date, is_workday: bool, note: str, now: datetime,
                       cfg: RemindersSettings) -> Result:
    """放假 / 补班 (chat's commands, the console's 日历): `day` becomes a day off or a working day, and the timers
    running over it are counted again."""
    before = await load_calendar(session, cfg)
    await set_override(session, day, is_workday, note or None)
    after = await load_calendar(session, cfg)  # the new override is flushed before the query
    moved = await on_calendar_changed(session, before, after, day, now)
    add_audit(session, actor_id, "calendar.override", day.isoformat(), now, is_workday=is_workday, note=note,
              moved_timers=moved)
    what = "工作日（补班）" if is_workday else "休息日"
    timers = f"{moved} 个进行中的时限已按新日历重新计算。" if moved else "之后的提醒和时限按新的日历计算。"
    return Result(reply=Text(f"✅ {day.isoformat()} 已设为{what}，{timers}"), changed=True)
