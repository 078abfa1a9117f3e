"""A manager's lead use cases — 改派, 延期, 接手 — as plain session functions (no Context). The chat routes
(handlers/chat/leads.py 改派 and its buttons, handlers/chat/escalation.py 延期, handlers/chat/front.py 接手) and
the web console (app/console/leads.py) call them in their own transaction and apply the `Result`
(bot/result.py): the reply, the card's status line, the messages to the new and the previous owner.

Who may act is settled before: the caller's roles (bot/dispatch.run_route for chat, `@allow` for the console) and
the lead gate (permissions.gate(…, "manage"): a lead they may see, not closed). A frozen lead is handled through
its escalation (reminders/actions.py), as the freeze card's buttons do.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phrases as P
from bot.config import RampSettings, RemindersSettings, Settings
from bot.context import UserInfo
from bot.messages import Text
from bot.org import manages
from bot.result import Result, said
from bot.usertext import user_text
from handlers.leads import views as view
from handlers.leads.assignment import change_owner, reassign_options
from handlers.ramp import service as ramp
from reminders import actions, messages
from reminders.calendar import day_hours
from storage.leads import user_names
from storage.models import Lead, Reminder, User


def frozen_escalation(lead: Lead) -> int | None:
    """The reminder whose escalation froze `lead` (its freeze card), when it is frozen."""
    rid = (lead.extra or {}).get("frozen", {}).get("reminder_id")
    return int(rid) if lead.status == "frozen" and rid is not None else None


async def find_rep(session: AsyncSession, who: str, user: UserInfo) -> User | None:
    """A rep by id or name inside the caller's reach (team for a manager, anyone for an admin)."""
    who = who.strip().lstrip("@")
    rows = await session.execute(select(User).where((User.id == who) | (User.name == who), User.active.is_(True)))
    for rep in rows.scalars():
        if rep.id == user.id or manages(user, rep):
            return rep
    return None


def ranker(session: AsyncSession, user: UserInfo, now: datetime, cfg: RampSettings) -> actions.Ranker:
    """The assignment engine's order for a frozen lead's 改派 (the rep it was frozen from is left out)."""

    async def rank(lead: Lead) -> list[tuple[str, str]]:
        picks = await reassign_options(session, lead, user, now, limit=actions.MAX_PICK_BUTTONS, ramp=cfg)
        return [(pick.rep.id, pick.reason) for pick in picks]

    return rank


async def _pool_refusal(session: AsyncSession, actor: UserInfo, rep_id: str, cfg: RampSettings) -> str | None:
    """Why `rep_id` may not get a pool lead yet (新人通关); None: they may."""
    found = await ramp.locked(session, rep_id, "pool", cfg)
    return ramp.refusal(found, "pool", own=rep_id == actor.id) if found is not None else None


async def reassign(session: AsyncSession, actor: UserInfo, lead: Lead, rep: User, reason: str, now: datetime,
                   settings: Settings) -> Result:
    """改派 `lead` to `rep` (`reason`: the manager's own or the ranking's; "" when none was given). A frozen lead
    goes through its escalation (settled, the rep it was frozen from told,
    handing it straight back refused); a no-op (`rep` owns it already) changes nothing, so the SLA clocks are not
    restarted to hide what is overdue."""
    rid = frozen_escalation(lead)
    if rid is not None:
        why = await _pool_refusal(session, actor, rep.id, settings.ramp)
        if why is not None:
            return said(why)
        return with_undo(await actions.assign_to(session, actor, lead.id, rid, rep.id, now, settings.reminders,
                                                 ranker(session, actor, now, settings.ramp), reason=reason),
                         P.REASSIGNED_TITLE, lead.id, rid, now)
    if rep.id == lead.owner_id:
        return said(P.ALREADY_OWNS.format(id=lead.id, rep=user_text(rep.name)))
    if lead.owner_id is None and (why := await _pool_refusal(session, actor, rep.id, settings.ramp)):
        return said(why)
    on_ramp = await ramp.locked(session, rep.id, "pool", settings.ramp)  # said: the pool right is not 改派
    previous = await change_owner(session, lead, rep.id, actor.id, now, settings.reminders, reason=reason)
    lead.assign_reason = lead.assign_reason or f"{actor.name} 改派"[:255]
    before = (await user_names(session, [previous])).get(previous, "") if previous else ""
    line = P.REASSIGNED.format(id=lead.id, who=messages.lead_name(lead), rep=user_text(rep.name),
                              reason=f"（{user_text(reason)}）" if reason else "")
    line += P.WAS_OWNED.format(who=user_text(before)) if before else ""
    if on_ramp is not None and rep.id != actor.id:  # the pool right is not every 改派: say so
        line += f"\n{ramp.pool_note(on_ramp)}"
    result = Result(reply=view.handover_card(P.REASSIGNED_TITLE, line, lead.id, rep.id, previous, now), changed=True)
    if rep.id != actor.id:
        result.sends.append((rep.id, messages.handed_to_you(lead, actor.name, reason),
                             f"assign:{lead.id}:{rep.id}:{now.isoformat()}"))
    if previous and previous not in (rep.id, actor.id):
        told = P.REASSIGNED_AWAY.format(label=messages.lead_label(lead), by=user_text(actor.name),
                                        to=user_text(rep.name))
        result.sends.append((previous, Text(told), f"unassign:{lead.id}:{now.isoformat()}"))
    return result


async def take_over(session: AsyncSession, actor: UserInfo, lead: Lead, now: datetime,
                    cfg: RemindersSettings) -> Result:
    """接手: the manager becomes the owner (a frozen lead through its escalation); the owner before is told."""
    rid = frozen_escalation(lead)
    if rid is not None:
        return with_undo(await actions.take_over(session, actor, lead.id, rid, now, cfg), P.TAKEN_OVER_TITLE,
                         lead.id, rid, now)
    if lead.owner_id == actor.id:
        return said(P.ALREADY_YOURS.format(id=lead.id))
    previous = await change_owner(session, lead, actor.id, actor.id, now, cfg, reason=f"{actor.name} 接手",
                                  kind="takeover")
    before = (await user_names(session, [previous])).get(previous, "") if previous else ""
    line = P.TAKEN_OVER.format(id=lead.id, who=messages.lead_name(lead))
    card = view.handover_card(P.TAKEN_OVER_TITLE, line + (P.WAS_OWNED.format(who=user_text(before)) if before else ""),
                              lead.id, actor.id, previous, now)
    result = Result(reply=card, changed=True)
    if previous and previous != actor.id:
        result.sends.append((previous, Text(P.TAKEN_AWAY.format(label=messages.lead_label(lead),
                                                                 by=user_text(actor.name))),
                             f"takeover:{lead.id}:{now.isoformat()}"))
    return result


def with_undo(result: Result, title: str, lead_id: int, rid: int, now: datetime) -> Result:
    """A typed 接手 / 改派 of a frozen lead acts at once, as on any other lead, and offers 撤销 the same way."""
    if result.changed and isinstance(result.reply, Text):
        result.reply = view.unfreeze_card(title, result.reply.text, lead_id, rid, now)
    return result


# -- 延期 -------------------------------------------------------------------------------------------------
CN_DIGITS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def span_hours(text: str, cfg: RemindersSettings) -> float | None:
    """"48" / "48h" / "48小时" → 48 working hours; "3天" / "3d" → 3 working days in hours; else None."""
    text = text.strip().lower()
    if text[:1] in CN_DIGITS and (len(text) == 1 or not text[1].isdigit()):
        text = str(CN_DIGITS[text[0]]) + text[1:]  # 两天, 三小时
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(h|小时|个小时|d|天|个工作日|工作日)?", text)
    if m is None:
        return None
    value = float(m.group(1))
    if m.group(2) in ("d", "天", "个工作日", "工作日"):
        return value * day_hours(cfg)
    return value


def meant_as_length(word: str) -> bool:
    """A length was meant (digits, a sign or point, 两天, nan/inf): it is read or refused, never taken as the reason."""
    w = word.lower()
    return (w[:1].isdigit() or w[:1] in "+-.−" or w[:1] in CN_DIGITS or w in ("nan", "inf", "infinity")
            or re.search(r"[天周]|小时", w[:4]) is not None)


def extend_refusal(hours: float) -> str | None:
    """Why a 延期 of `hours` working hours is refused before anything is looked up; None: it may go ahead."""
    if hours <= 0:
        return P.EXTEND_NOT_POSITIVE
    if hours > actions.MAX_EXTEND_HOURS:
        return actions.EXTEND_LIMIT  # 「延期 1 999天」 changes nothing
    return None


async def extend(session: AsyncSession, actor: UserInfo, lead: Lead, hours: float, reason: str, now: datetime,
                 cfg: RemindersSettings) -> Result:
    """延期: a frozen lead goes back to its owner with `hours` more (its escalation settled); any other lead's
    open step gets `hours` more working time."""
    rid = (lead.extra or {}).get("frozen", {}).get("reminder_id")
    if rid is None or await session.scalar(select(Reminder.id).where(Reminder.id == rid)) is None:
        return await actions.extend_open_step(session, actor, lead, hours, reason, now, cfg)
    return await actions.extend(session, actor, lead.id, int(rid), hours, reason, now, cfg)

