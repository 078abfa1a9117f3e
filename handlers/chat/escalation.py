"""Reminder and escalation card buttons (their keys: bot/actions.py; the cards: reminders/messages.py).

Rep on a reminder card:   SnoozeReminder, PauseReminder
Manager on a freeze card: TakeOver, AssignPicker → AssignFrozenTo, ExtendFrozen
Manager by text:          延期 <线索号> [工作小时|N天] [原因]   (e.g. "延期 12 48 客户出差", "延期 12 3天 出差")
Who may act is checked in reminders/actions.py (the escalation belongs to the manager of the frozen lead).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.actions import AssignFrozenTo, AssignPicker, ExtendFrozen, PauseReminder, SnoozeReminder, TakeOver
from bot.config import RemindersSettings
from bot.context import Context
from bot.messages import CardUpdate, Inbound, Text
from bot.router import Router, split_command
from handlers.leads.assignment import reassign_options
from handlers.leads.permissions import lead_gate, ramp_refused
from reminders import actions
from reminders.calendar import day_hours
from reminders.policies import EXTEND_DEFAULT_HOURS, EXTEND_DEFAULT_REASON, PAUSE_NEXT_WEEK_REASON
from storage.models import Lead, Reminder

router: Router[Context] = Router("escalation")

CN_DIGITS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
EXTEND_USAGE = "用法：延期 线索号 [工作小时或天] [原因]，例如「延期 12 48 客户出差」「延期 12 3天 客户出差」"


async def apply_result(ctx: Context, result: actions.Result) -> None:
    if result.card_status:
        ctx.update_card(result.card_status)
        for channel, ref in result.cards:  # e.g. the freeze card behind the picker that was clicked
            if channel == ctx.msg.channel and ref != ctx.msg.card_ref:
                ctx.reply(CardUpdate(card_ref=ref, text=result.card_status))
    if result.reply is not None:
        ctx.reply(result.reply)
    for to, body, key in result.sends:  # off-hours recipients are held by the context at commit
        ctx.send(to, body, key=key)


@router.card_action(SnoozeReminder)
async def snooze_button(ctx: Context, action: SnoozeReminder) -> None:
    result = await actions.snooze(await ctx.db(), ctx.user, action.reminder_id, action.hours, ctx.now(),
                                  ctx.settings.reminders)
    await apply_result(ctx, result)


@router.card_action(PauseReminder)
async def pause_button(ctx: Context, action: PauseReminder) -> None:
    result = await actions.pause(await ctx.db(), ctx.user, action.reminder_id, ctx.now(), ctx.settings.reminders,
                                 PAUSE_NEXT_WEEK_REASON)
    await apply_result(ctx, result)


@router.card_action(TakeOver)
async def take_over_button(ctx: Context, action: TakeOver) -> None:
    result = await actions.take_over(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, ctx.now(),
                                     ctx.settings.reminders)
    await apply_result(ctx, result)


@router.card_action(AssignPicker)
async def assign_picker_button(ctx: Context, action: AssignPicker) -> None:
    card = (ctx.msg.channel, ctx.msg.card_ref) if ctx.msg.card_ref else None
    result = await actions.assign_picker(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, card,
                                         ranker(ctx))
    await apply_result(ctx, result)


@router.card_action(AssignFrozenTo)
async def assign_to_button(ctx: Context, action: AssignFrozenTo) -> None:
    if await ramp_refused(ctx, "pool", action.rep_id):  # a frozen lead is in the pool
        return
    result = await actions.assign_to(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, action.rep_id,
                                     ctx.now(), ctx.settings.reminders, ranker(ctx))
    await apply_result(ctx, result)


@router.card_action(ExtendFrozen)
async def extend_button(ctx: Context, action: ExtendFrozen) -> None:
    hours = action.hours if action.hours is not None else EXTEND_DEFAULT_HOURS
    result = await actions.extend(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, hours,
                                  EXTEND_DEFAULT_REASON, ctx.now(), ctx.settings.reminders)
    await apply_result(ctx, result)


def ranker(ctx: Context) -> actions.Ranker:
    """The assignment engine's order for a frozen lead's 改派 (the rep it was frozen from is left out)."""

    async def rank(lead: Lead) -> list[tuple[str, str]]:
        picks = await reassign_options(await ctx.db(), lead, ctx.user, ctx.now(), limit=actions.MAX_PICK_BUTTONS,
                                       ramp=ctx.settings.ramp)
        return [(pick.rep.id, pick.reason) for pick in picks]

    return rank


def _span_hours(text: str, cfg: RemindersSettings) -> float | None:
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


def _meant_as_length(word: str) -> bool:
    """A length was meant (digits, a sign or point, 两天, nan/inf): it is read or refused, never taken as the reason."""
    w = word.lower()
    return (w[:1].isdigit() or w[:1] in "+-.−" or w[:1] in CN_DIGITS or w in ("nan", "inf", "infinity")
            or re.search(r"[天周]|小时", w[:4]) is not None)


def _is_id(text: str) -> bool:
    """An id we could have put in a key: ASCII digits ("²" and "１" are digits to str.isdigit), within INTEGER."""
    return text.isascii() and text.isdigit() and 0 < len(text) <= 9


@router.command("延期", roles={"manager", "admin"})
async def extend_command(ctx: Context, msg: Inbound) -> None:
    args = (split_command(msg.text, "延期") or "").lstrip("#").split(maxsplit=2)
    if not args or not _is_id(args[0]):
        ctx.reply(Text(EXTEND_USAGE))
        return
    lead_id = int(args[0])
    hours, reason = EXTEND_DEFAULT_HOURS, EXTEND_DEFAULT_REASON
    rest = args[1:]
    if rest and _meant_as_length(rest[0]):
        span = _span_hours(rest[0], ctx.settings.reminders)
        if span is None:
            ctx.reply(Text(f"没看懂时长「{rest[0][:12]}」。{EXTEND_USAGE}"))
            return
        hours, rest = span, rest[1:]
    if rest:
        reason = " ".join(rest)[:100]
    if hours <= 0:
        ctx.reply(Text(f"延期时长要大于零。{EXTEND_USAGE}"))
        return
    if hours > actions.MAX_EXTEND_HOURS:
        ctx.reply(Text(actions.EXTEND_LIMIT))  # before anything is looked up: 「延期 1 999天」 changes nothing
        return
    lead = await lead_gate(ctx, lead_id, "manage", "延期 12 24")  # another team's lead answers as a missing one
    if lead is None:
        return
    session = await ctx.db()
    rid = (lead.extra or {}).get("frozen", {}).get("reminder_id")
    if rid is None or await session.scalar(select(Reminder.id).where(Reminder.id == rid)) is None:
        await apply_result(ctx, await actions.extend_open_step(session, ctx.user, lead, hours, reason, ctx.now(),
                                                               ctx.settings.reminders))
        return
    await apply_result(ctx, await actions.extend(session, ctx.user, lead_id, int(rid), hours, reason, ctx.now(),
                                     ctx.settings.reminders))
