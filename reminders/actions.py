"""What people do with reminder and escalation cards.

Rep (owner) on a reminder card: snooze (bounded by `snooze_max_hours` per chain, audited) and
pause ("客户说下周再联系": the SLA clocks stop until next week, a follow-up reminder is set).
Manager (the previous owner's manager) or admin on a freeze card: 接手 take over, 改派 reassign to a
team rep, 延期 extend by N hours with a reason. A second click, someone else's click or a stale
card gets a clear answer and changes nothing. Every change leaves an activity (and audit) row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.actions import AssignFrozenTo
from bot.clock import fmt_cn
from bot.config import RemindersSettings
from bot.context import UserInfo
from bot.messages import Button, Card, Text
from bot.org import active_reps, handover_team, manages
from bot.result import Result, said
from bot.usertext import user_text
from reminders import messages
from reminders.calendar import day_hours, load_calendar
from reminders.directory import person, working_hours
from reminders.lifecycle import (
    follow_up_again,
    on_owner_changed,
    paused_until,
    schedule_follow_up,
    start_dormancy,
    start_sla,
)
from reminders.policies import (
    DORMANCY,
    FOLLOW_UP,
    PAUSE_MAX_PER_CHAIN,
    RULE_CN,
    SLA_RULES,
    STAGE_STALL,
    TERMINAL_STAGES,
    next_level,
)
from reminders.store import add_timer, cancel_timers, open_timers
from storage.activity import add_activity, add_audit
from storage.leads import set_owner
from storage.models import Lead, Reminder, User

MAX_PICK_BUTTONS = 6  # WeCom button_interaction cards take at most 6 buttons
# The assignment engine's ranking for a lead: (rep id, reason) best first. Given by the handler layer
# (handlers.leads.assignment.reassign_options), so reminders/ does not import handlers/.
Ranker = Callable[[Lead], Awaitable[list[tuple[str, str]]]]
ACTION_CN = {"take": "接手", "assign": "改派", "extend": "延期"}

STALE = "这张卡片已过期（线索状态已经变化），无需操作。"
GONE = "这条提醒已不存在或按钮已失效。"
MAX_EXTEND_HOURS = 24 * 30
EXTEND_LIMIT = "延期时长需在 720 个工作小时以内（可写小时或天，如「48」「3天」）。"
NOT_PENDING = "这条提醒已更新（可能已完成或已升级），按钮已失效。"


async def _get_for_update(session: AsyncSession, model: type[Any], key: Any) -> Any:
    return await session.get(model, key, with_for_update=True)  # PostgreSQL row lock; SQLite: BEGIN IMMEDIATE


# -- rep: snooze / pause ------------------------------------------------------------------------

async def _rep_row(session: AsyncSession, user: UserInfo, fired_id: int,
                   cfg: RemindersSettings) -> tuple[Reminder, Lead] | Result:
    """The open next step of the chain whose reminder card was clicked (`fired_id` = the row that fired)."""
    fired = await session.get(Reminder, fired_id)
    if fired is None or fired.rule not in SLA_RULES or fired.lead_id is None:
        return said(GONE)
    lead = await _get_for_update(session, Lead, fired.lead_id)
    if lead is None:
        return said(GONE)
    if lead.status == "frozen" and (lead.extra or {}).get("frozen", {}).get("prev_owner") == user.id:
        return said(messages.frozen_text(lead))  # the rep whose card it was learns why the button is dead
    if lead.owner_id != user.id:
        return said(GONE)  # anyone else: as if there were no such reminder (nothing about the lead leaks)
    level = next_level(fired.rule, fired.level, cfg)
    stmt = select(Reminder).where(Reminder.lead_id == lead.id, Reminder.rule == fired.rule,
                                  Reminder.level == level, Reminder.status == "pending",
                                  Reminder.created_at == fired.updated_at).limit(1)
    row = (await session.execute(stmt.with_for_update())).scalar_one_or_none()
    if row is None:  # the chain moved on (fired again, completed, restarted)
        return said(NOT_PENDING)
    return row, lead


async def snooze(session: AsyncSession, user: UserInfo, rid: int, hours: float, now: datetime,
                 cfg: RemindersSettings) -> Result:
    found = await _rep_row(session, user, rid, cfg)
    if isinstance(found, Result):
        return found
    row, lead = found
    if not 0 < hours <= cfg.snooze_max_hours:
        return said(f"推迟时长需在 0–{cfg.snooze_max_hours:g} 小时之间。")
    total = float(row.payload.get("snoozed_h", 0.0)) + hours
    if total > cfg.snooze_max_hours + 1e-9:
        return said(f"这条提醒最多只能累计推迟 {cfg.snooze_max_hours:g} 小时，请尽快处理。")
    cal = await load_calendar(session, cfg)
    work = await working_hours(session, cal, user.id)
    row.due_at = cal.add_working_time(max(row.due_at, now), timedelta(hours=hours), work)
    row.payload = {**row.payload, "snoozed_h": total}
    row.updated_at = now
    add_activity(session, lead.id, user.id, "snooze", now, f"{RULE_CN[row.rule]}提醒推迟 {hours:g} 小时",
                 reminder_id=row.id, hours=hours, total_hours=total)
    add_audit(session, user.id, "reminder.snooze", f"lead:{lead.id}", now, reminder_id=row.id, hours=hours,
              total_hours=total)
    text = f"好的，推迟 {hours:g} 小时，下次提醒在 {fmt_cn(row.due_at)}。"
    return Result(reply=Text(text), card_status=f"已推迟 {hours:g} 小时", changed=True)


async def pause(session: AsyncSession, user: UserInfo, rid: int, now: datetime, cfg: RemindersSettings,
                reason: str) -> Result:
    found = await _rep_row(session, user, rid, cfg)
    if isinstance(found, Result):
        return found
    row, lead = found
    refusal = _pause_refusal(lead, row, now)
    if refusal:
        return said(refusal)
    cal = await load_calendar(session, cfg)
    work = await working_hours(session, cal, user.id)
    until = cal.next_week_start(now, work)
    for timer in await open_timers(session, lead.id, [*SLA_RULES, DORMANCY]):
        if timer.rule == DORMANCY:
            timer.due_at = max(timer.due_at, now) + (until - now)
        else:  # the SLA clock stops now and runs on from `until` with what was left
            timer.payload = {**timer.payload, "pauses": int(timer.payload.get("pauses", 0)) + 1}
            left = cal.working_time_between(now, timer.due_at, work)
            timer.due_at = cal.add_working_time(until, max(left, timedelta(0)), work)
            if "deadline" in timer.payload:
                deadline = datetime.fromisoformat(timer.payload["deadline"])
                moved = cal.add_working_time(until, max(cal.working_time_between(now, deadline, work),
                                                        timedelta(0)), work)
                timer.payload = {**timer.payload, "deadline": moved.isoformat()}
        timer.updated_at = now
    await cancel_timers(session, lead.id, now, [FOLLOW_UP])
    await add_timer(session, lead.id, FOLLOW_UP, until, now, payload={"at": until.isoformat(), "note": reason})
    lead.next_follow_up_at = until
    lead.extra = {**(lead.extra or {}), "paused": {"until": until.isoformat(), "reason": reason, "by": user.id}}
    add_activity(session, lead.id, user.id, "pause", now, f"暂停提醒到 {fmt_cn(until)}：{reason}",
                 until=until.isoformat(), reason=reason)
    add_audit(session, user.id, "reminder.pause", f"lead:{lead.id}", now, until=until.isoformat(), reason=reason)
    text = f"好的，线索 {messages.lead_label(lead)} 的提醒暂停到 {fmt_cn(until)}（{reason}），到时提醒你联系客户。"
    return Result(reply=Text(text), card_status=f"已暂停到 {fmt_cn(until)}", changed=True)


def _pause_refusal(lead: Lead, row: Reminder, now: datetime) -> str | None:
    """Why another pause is refused: one is still running, or this chain used up its pauses."""
    until = paused_until(lead)
    if until is not None and until > now:
        return f"线索 {messages.lead_label(lead)} 已暂停到 {fmt_cn(until)}，到时会提醒你联系客户，无需重复操作。"
    if int(row.payload.get("pauses", 0)) >= PAUSE_MAX_PER_CHAIN:
        return f"这条提醒已经暂停过 {PAUSE_MAX_PER_CHAIN} 次，不能再暂停了，请尽快联系客户或推进阶段。"
    return None


# -- manager: 接手 / 改派 / 延期 ------------------------------------------------------------------

@dataclass
class Escalation:
    lead: Lead
    row: Reminder
    info: dict[str, Any]

    @property
    def prev_owner(self) -> str | None:
        return self.info.get("prev_owner")

    @property
    def rule(self) -> str:
        return self.row.rule


async def _escalation(session: AsyncSession, user: UserInfo, lead_id: int, rid: int) -> Escalation | Result:
    row = await _get_for_update(session, Reminder, rid)
    lead = await _get_for_update(session, Lead, lead_id)
    info = (row.payload or {}).get("escalation") if row is not None else None
    if row is None or lead is None or row.lead_id != lead_id or not info:
        return said(GONE)
    if not await _answers_for(session, user, info):  # answered as a missing card: nothing about another team leaks
        return said(GONE)
    done = info.get("resolved")
    if done:
        return said(f"该线索已由 {done['by_name']} {done['summary']}，无需重复操作。")
    frozen = (lead.extra or {}).get("frozen", {})
    if lead.status != "frozen" or frozen.get("reminder_id") != rid:
        return said(STALE)
    return Escalation(lead, row, info)


async def _answers_for(session: AsyncSession, user: UserInfo, info: dict[str, Any]) -> bool:
    """Whether `user` acts on the escalation: who manages the frozen rep (bot/org.manages: their manager, an
    admin) or, while that manager is gone (departed, unknown), one the card went up to (`info["managers"]`)."""
    prev = await person(session, info.get("prev_owner"))
    if prev is None:  # no one left to manage: an admin, or one the card went to
        return user.is_admin or user.id in info.get("managers", [])
    if manages(user, prev):
        return True
    boss = await person(session, prev.manager_id)
    return (boss is None or not boss.active) and user.id in info.get("managers", [])


def _freeze_cards(esc: Escalation, user: UserInfo) -> list[tuple[str, str]]:
    """The freeze card `user` clicked earlier (kept by 改派), to update when the outcome comes another way."""
    card = esc.info.get("cards", {}).get(user.id)
    return [(card[0], card[1])] if card else []


def _resolve(esc: Escalation, user: UserInfo, action: str, summary: str, now: datetime, **detail: Any) -> None:
    """The escalation is settled and the lead leaves the freeze; what the freeze was is kept (`before`), so
    a 撤销 can put it back (`undo`)."""
    lead = esc.lead
    before = {"frozen": (lead.extra or {}).get("frozen"), "owner": lead.owner_id,
              "frozen_at": lead.frozen_at.isoformat() if lead.frozen_at else None,
              "assigned_at": lead.assigned_at.isoformat() if lead.assigned_at else None,
              "assign_reason": lead.assign_reason}
    resolved = {"by": user.id, "by_name": user.name, "action": action, "summary": summary, "at": now.isoformat(),
                "before": before, **detail}
    esc.row.payload = {**esc.row.payload, "escalation": {**esc.info, "resolved": resolved}}
    esc.row.updated_at = now
    extra = dict(esc.lead.extra or {})
    extra.pop("frozen", None)
    esc.lead.extra = extra
    esc.lead.status, esc.lead.frozen_at = "active", None


async def take_over(session: AsyncSession, user: UserInfo, lead_id: int, rid: int, now: datetime,
                    cfg: RemindersSettings) -> Result:
    esc = await _escalation(session, user, lead_id, rid)
    if isinstance(esc, Result):
        return esc
    _resolve(esc, user, "take", "接手", now)
    await set_owner(session, esc.lead, user.id)
    esc.lead.assigned_at, esc.lead.assign_reason = now, "主管接手冻结线索"
    add_activity(session, lead_id, user.id, "takeover", now, f"{user.name} 接手冻结线索",
                 prev_owner=esc.prev_owner, reminder_id=rid)
    await on_owner_changed(session, esc.lead, now, cfg)
    label = messages.lead_label(esc.lead)
    result = Result(reply=Text(P.TAKEN_OVER.format(id=lead_id, who=messages.lead_name(esc.lead))),
                    card_status=f"已由 {user_text(user.name)} 接手", changed=True, cards=_freeze_cards(esc, user))
    if esc.prev_owner and esc.prev_owner != user.id:
        text = P.TAKEN_AWAY.format(label=label, by=user_text(user.name))
        result.sends.append((esc.prev_owner, Text(text), f"esc:{rid}:take:{esc.prev_owner}"))
    return result


async def undo(session: AsyncSession, user: UserInfo, lead_id: int, rid: int, now: datetime, window: timedelta,
               cfg: RemindersSettings) -> Result:
    """撤销 of the caller's own 接手 / 改派 of a frozen lead, within `window` and while nothing moved the lead
    since: frozen again in the pool as it was (its escalation open, its SLA clocks stopped), the new owner and
    the rep it was frozen from told, an activity and an audit row written."""
    row = await _get_for_update(session, Reminder, rid)
    lead = await _get_for_update(session, Lead, lead_id)
    info = (row.payload or {}).get("escalation") if row is not None and row.lead_id == lead_id else None
    done = (info or {}).get("resolved") or {}
    to = user.id if done.get("action") == "take" else done.get("to")
    if (lead is None or info is None or done.get("by") != user.id or done.get("action") not in ("take", "assign")
            or not done.get("before") or lead.status != "active" or lead.owner_id != to
            or now - datetime.fromisoformat(done["at"]) > window):
        return said(P.UNDO_TOO_LATE.format(id=lead_id))
    assert row is not None and lead is not None
    before = done["before"]
    if info.get("prev_owner"):  # the renewal warnings and contracts go back to whom the freeze left them
        await set_owner(session, lead, info["prev_owner"])
    lead.owner_id = before.get("owner")
    lead.status = "frozen"
    lead.frozen_at = datetime.fromisoformat(before["frozen_at"]) if before.get("frozen_at") else now
    lead.assigned_at = datetime.fromisoformat(before["assigned_at"]) if before.get("assigned_at") else None
    lead.assign_reason = before.get("assign_reason")
    lead.extra = {**(lead.extra or {}), "frozen": before.get("frozen")}
    row.payload = {**row.payload, "escalation": {**info, "resolved": None}}
    row.updated_at = now
    await cancel_timers(session, lead.id, now, SLA_RULES)  # as the freeze left them
    what = ACTION_CN[done["action"]]
    add_activity(session, lead.id, user.id, "undo", now, f"{user.name} 撤销了刚才的{what}，线索回到线索池（冻结）",
                 reminder_id=rid, undone=done["action"])
    add_audit(session, user.id, "escalation.undo", f"lead:{lead.id}", now, reminder_id=rid, undone=done["action"])
    label = messages.lead_label(lead)
    text = f"↩️ 已撤销{what}，线索 {label} 回到线索池，仍为冻结，等待处理。"
    result = Result(reply=Text(text), card_status=text, changed=True)
    if to and to != user.id:
        result.sends.append((to, Text(P.HANDOVER_UNDONE.format(label=label, by=user_text(user.name))),
                             f"esc:{rid}:undo:{to}:{now.isoformat()}"))
    prev = info.get("prev_owner")
    if prev and prev not in (user.id, to):
        result.sends.append((prev, Text(f"线索 {label} 的{what}已被 {user_text(user.name)} 撤销，仍冻结在线索池。"),
                             f"esc:{rid}:undo-prev:{now.isoformat()}"))
    return result


async def _team(session: AsyncSession, user: UserInfo, prev_owner: str | None) -> list[User]:
    """The reps `user` may hand the frozen lead to: the team of bot/org.handover_team (as the lead card's 改派);
    an admin whose team has none gets every rep, so a frozen lead can always move."""
    team = handover_team(user, await person(session, prev_owner))
    reps = list((await session.execute(active_reps(team))).scalars())
    if not reps and user.is_admin:
        reps = list((await session.execute(active_reps(None))).scalars())
    return reps


async def _candidates(session: AsyncSession, user: UserInfo, esc: Escalation,
                      rank: Ranker | None) -> list[tuple[User, str]]:
    """Team reps the lead may go to, best first with the engine's reason; never the rep the freeze took it from."""
    team = {rep.id: rep for rep in await _team(session, user, esc.prev_owner) if rep.id != esc.prev_owner}
    ranked = [(team.pop(rep_id), reason) for rep_id, reason in (await rank(esc.lead) if rank else [])
              if rep_id in team]
    return ranked + [(rep, "") for rep in team.values()]


async def assign_picker(session: AsyncSession, user: UserInfo, lead_id: int, rid: int,
                        card: tuple[str, str] | None = None, rank: Ranker | None = None) -> Result:
    """改派 step 1: a card listing the team's reps as buttons. `card` (channel, ref) is the clicked freeze card:
    kept so that the outcome can update it too."""
    esc = await _escalation(session, user, lead_id, rid)
    if isinstance(esc, Result):
        return esc
    if card is not None:
        esc.info = {**esc.info, "cards": {**esc.info.get("cards", {}), user.id: list(card)}}
        esc.row.payload = {**esc.row.payload, "escalation": esc.info}
    picks = (await _candidates(session, user, esc, rank))[:MAX_PICK_BUTTONS]
    if not picks:
        return said("你的团队里还没有可以改派的销售。")
    buttons = tuple(Button(AssignFrozenTo(lead_id, rid, rep.id).pack(), user_text(rep.name)) for rep, _ in picks)
    why = "".join(f"\n{user_text(rep.name)}：{reason}" for rep, reason in picks if reason)
    picker = Card(title="改派给谁？", description=f"线索 {messages.lead_label(esc.lead)} 改派给：{why}",
                  buttons=buttons, card_id=f"pick{rid}")
    return Result(reply=picker)


async def assign_to(session: AsyncSession, user: UserInfo, lead_id: int, rid: int, rep_id: str, now: datetime,
                    cfg: RemindersSettings, rank: Ranker | None = None, reason: str = "") -> Result:
    """改派 step 2: the chosen rep becomes the owner, timers restart, the rep is told; `reason`: the manager's
    own (「分配 7 张伟 客户在他片区」), else the ranking's."""
    esc = await _escalation(session, user, lead_id, rid)
    if isinstance(esc, Result):
        return esc
    reasons = {rep.id: reason for rep, reason in await _candidates(session, user, esc, rank)}
    rep = await session.get(User, rep_id)
    if rep is None or rep.id not in reasons:
        if rep is not None and rep.id == esc.prev_owner:
            return said("这条线索就是从他那里冻结的；要还给原负责人请用「延期」。")
        return said("只能改派给你团队里的在职销售。")
    _resolve(esc, user, "assign", f"改派给 {rep.name}", now, to=rep.id)
    await set_owner(session, esc.lead, rep.id)
    esc.lead.assigned_at = now
    why = reason or reasons[rep.id]
    esc.lead.assign_reason = (f"{user.name} 改派（冻结后）" + (f"：{why}" if why else ""))[:255]
    add_activity(session, lead_id, user.id, "assign", now, f"{user.name} 改派给 {rep.name}" + (
        f"：{reason}" if reason else ""), prev_owner=esc.prev_owner, to=rep.id, reminder_id=rid)
    await on_owner_changed(session, esc.lead, now, cfg)
    label = messages.lead_label(esc.lead)
    by, to = user_text(user.name), user_text(rep.name)
    card = messages.handed_to_you(esc.lead, user.name, reason)
    said_why = f"（{user_text(reason)}）" if reason else ""
    result = Result(reply=Text(P.REASSIGNED.format(id=lead_id, who=messages.lead_name(esc.lead), rep=to,
                                                          reason=said_why)),
                    card_status=f"已由 {user_text(user.name)} 改派给 {user_text(rep.name)}",
                    changed=True, cards=_freeze_cards(esc, user))
    result.sends.append((rep.id, card, f"esc:{rid}:assign:{rep.id}"))
    if esc.prev_owner and esc.prev_owner != rep.id:
        result.sends.append((esc.prev_owner, Text(P.REASSIGNED_AWAY.format(label=label, by=by, to=to)),
                             f"esc:{rid}:assign-prev:{esc.prev_owner}"))
    return result


async def extend(session: AsyncSession, user: UserInfo, lead_id: int, rid: int, hours: float, reason: str,
                 now: datetime, cfg: RemindersSettings) -> Result:
    """延期: back to the previous owner with `hours` more for the escalated rule."""
    if not 0 < hours <= MAX_EXTEND_HOURS:
        return said(EXTEND_LIMIT)
    esc = await _escalation(session, user, lead_id, rid)
    if isinstance(esc, Result):
        return esc
    prev = await session.get(User, esc.prev_owner) if esc.prev_owner else None
    if prev is None or not prev.active:
        return said("原负责人已不在，请用「接手」或「改派」。")
    span = messages.work_span(hours, day_hours(cfg))
    _resolve(esc, user, "extend", f"延期 {span}", now, hours=hours, reason=reason)
    lead = esc.lead
    await set_owner(session, lead, prev.id)
    add_activity(session, lead_id, user.id, "extend", now, f"{user.name} 延期 {span}：{reason}",
                 hours=hours, reason=reason, reminder_id=rid)
    add_audit(session, user.id, "escalation.extend", f"lead:{lead_id}", now, hours=hours, reason=reason)
    deadline = await _restart_after_extend(session, lead, esc.rule, timedelta(hours=hours), now, cfg, reason)
    text = (f"⏳ {user_text(user.name)} 已将线索 {messages.lead_label(lead)} 延期 {span}（{user_text(reason)}），"
            f"请在 {fmt_cn(deadline)} 前完成{RULE_CN[esc.rule]}。")
    result = Result(reply=Text(f"已延期 {span}，线索已还给 {user_text(prev.name)}。"),
                    card_status=f"已由 {user_text(user.name)} 延期 {span}：{user_text(reason)}", changed=True,
                    cards=_freeze_cards(esc, user))
    result.sends.append((prev.id, Text(text), f"esc:{rid}:extend:{prev.id}"))
    return result


async def _restart_after_extend(session: AsyncSession, lead: Lead, rule: str, window: timedelta, now: datetime,
                                cfg: RemindersSettings, reason: str) -> datetime:
    """Fresh chains for the owner; the extended rule gets `window` of the owner's working time. Returns its deadline."""
    await cancel_timers(session, lead.id, now, SLA_RULES)
    cal = await load_calendar(session, cfg)
    work = await working_hours(session, cal, lead.owner_id)
    for other in SLA_RULES:
        if other == rule:
            await start_sla(session, lead, rule, now, now, cfg, cal, work, window=window, extra={"extended": reason})
        elif (other != STAGE_STALL and lead.first_contact_at is None) or (
                other == STAGE_STALL and lead.stage not in TERMINAL_STAGES):
            await start_sla(session, lead, other, now, now, cfg, cal, work)
    await start_dormancy(session, lead, now, now, cfg)
    await follow_up_again(session, lead, now, cfg)
    return cal.add_working_time(now, window, work)


async def extend_open_step(session: AsyncSession, user: UserInfo, lead: Lead, hours: float, reason: str,
                           now: datetime, cfg: RemindersSettings) -> Result:
    """延期 on a lead that is not frozen: its open step (the SLA deadline coming first) gets `hours` more
    working time, counted on from the deadline it had; an agreed callback (约定回访) moves by as much."""
    if not 0 < hours <= MAX_EXTEND_HOURS:
        return said(EXTEND_LIMIT)
    rows = await open_timers(session, lead.id, SLA_RULES)
    if not rows and lead.next_follow_up_at is None:
        return said(f"线索 {messages.lead_label(lead)} 现在没有进行中的期限，不需要延期。")
    cal = await load_calendar(session, cfg)
    work = await working_hours(session, cal, lead.owner_id)
    steps: list[tuple[str, datetime]] = []
    if rows:
        row = min(rows, key=_deadline_of)
        left = cal.working_time_between(now, _deadline_of(row), work) if _deadline_of(row) > now else timedelta()
        await cancel_timers(session, lead.id, now, [row.rule])
        await start_sla(session, lead, row.rule, now, now, cfg, cal, work, window=left + timedelta(hours=hours),
                        extra={"extended": reason})
        steps.append((RULE_CN[row.rule], cal.add_working_time(now, left + timedelta(hours=hours), work)))
    if lead.next_follow_up_at is not None:
        lead.next_follow_up_at = cal.add_working_time(max(now, lead.next_follow_up_at), timedelta(hours=hours), work)
        await schedule_follow_up(session, lead, lead.next_follow_up_at, now, cfg)
        steps.append(("约定回访", lead.next_follow_up_at))
    span = messages.work_span(hours, day_hours(cfg))
    rule = row.rule if rows else FOLLOW_UP
    add_activity(session, lead.id, user.id, "extend", now, f"{user.name} 延期 {span}：{reason}",
                 hours=hours, reason=reason, rule=rule)
    add_audit(session, user.id, "lead.extend", f"lead:{lead.id}", now, hours=hours, reason=reason, rule=rule)
    return _extended(user, lead, span, reason, steps, now)


def _deadline_of(row: Reminder) -> datetime:
    """An SLA row's deadline: the one its chain started with, else (a row past the warning) when it fires."""
    raw = row.payload.get("deadline")
    return datetime.fromisoformat(raw) if raw else row.due_at


def _extended(user: UserInfo, lead: Lead, span: str, reason: str, steps: list[tuple[str, datetime]],
              now: datetime) -> Result:
    what = "、".join(f"「{name}」" for name, _ in steps)
    due = "；".join(f"{name} {fmt_cn(at)}" for name, at in steps)
    result = Result(reply=Text(f"✅ 线索 {messages.lead_label(lead)} 的{what}已延期 {span}，新的期限：{due}。"),
                    changed=True)
    if lead.owner_id and lead.owner_id != user.id:
        result.sends.append((lead.owner_id, Text(f"⏳ {user.name} 把线索 {messages.lead_label(lead)} 的{what}"
                                                 f"延期 {span}（{reason}），新的期限：{due}。"),
                             f"extend:{lead.id}:{now.isoformat()}"))
    return result
