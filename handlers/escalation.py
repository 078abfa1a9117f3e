"""Reminder and escalation card buttons.

Rep on a reminder card:   rem:snooze:<reminder_id>:<hours>   rem:pause:<reminder_id>:nextweek
Manager on a freeze card: esc:take:<lead_id>:<reminder_id>   esc:assign:<lead_id>:<reminder_id>
                          esc:extend:<lead_id>:<reminder_id>[:<hours>]   esc:to:<lead_id>:<reminder_id>:<rep_id>
Manager by text:          延期 <线索号> [工作小时|N天] [原因]   (e.g. "延期 12 48 客户出差", "延期 12 3天 出差")
"""

from __future__ import annotations

import math
import re

from sqlalchemy import select

from bot.config import RemindersSettings
from bot.context import Context
from bot.messages import CardUpdate, Inbound, Text
from bot.router import Router, split_command
from handlers.assignment import reassign_options
from handlers.permissions import closed_refusal, lead_for
from reminders import actions
from reminders.calendar import day_hours
from reminders.policies import EXTEND_DEFAULT_HOURS, EXTEND_DEFAULT_REASON, PAUSE_NEXT_WEEK_REASON
from storage.models import Lead, Reminder

router = Router("escalation")

BAD_KEY = "这个按钮已失效。"
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


def _parts(key: str, n: int) -> list[str] | None:
    parts = key.split(":")
    return parts if len(parts) >= n and all(p for p in parts[:n]) else None


@router.card_action("rem:")
async def reminder_button(ctx: Context, msg: Inbound) -> None:
    parts = _parts(msg.click_key or "", 3)
    if parts is None or not _is_id(parts[2]) or parts[1] not in ("snooze", "pause"):
        ctx.reply(Text(BAD_KEY))
        return
    session, rid, cfg = await ctx.db(), int(parts[2]), ctx.settings.reminders
    if parts[1] == "snooze":
        try:
            hours = float(parts[3]) if len(parts) > 3 else 1.0
        except ValueError:  # nan / inf / 1e308 pass here and are refused in Chinese by actions.snooze's range check
            ctx.reply(Text(BAD_KEY))
            return
        result = await actions.snooze(session, ctx.user, rid, hours, ctx.now(), cfg)
    else:
        result = await actions.pause(session, ctx.user, rid, ctx.now(), cfg, PAUSE_NEXT_WEEK_REASON)
    await apply_result(ctx, result)


@router.card_action("esc:")
async def escalation_button(ctx: Context, msg: Inbound) -> None:
    parts = _parts(msg.click_key or "", 4)
    if parts is None or not (_is_id(parts[2]) and _is_id(parts[3])):
        ctx.reply(Text(BAD_KEY))
        return
    action, lead_id, rid = parts[1], int(parts[2]), int(parts[3])
    session, now, cfg = await ctx.db(), ctx.now(), ctx.settings.reminders
    if action == "take":
        result = await actions.take_over(session, ctx.user, lead_id, rid, now, cfg)
    elif action == "assign":
        card = (msg.channel, msg.card_ref) if msg.card_ref else None
        result = await actions.assign_picker(session, ctx.user, lead_id, rid, card, ranker(ctx))
    elif action == "to" and len(parts) > 4:
        result = await actions.assign_to(session, ctx.user, lead_id, rid, parts[4], now, cfg, ranker(ctx))
    elif action == "extend":
        given = parts[4] if len(parts) > 4 else None  # 1e308, nan: out of range, answered by actions.extend
        hours = EXTEND_DEFAULT_HOURS if given is None else float(given) if _number(given) else math.inf
        result = await actions.extend(session, ctx.user, lead_id, rid, hours, EXTEND_DEFAULT_REASON, now, cfg)
    else:
        result = actions.Result(reply=Text(BAD_KEY))
    await apply_result(ctx, result)


def ranker(ctx: Context) -> actions.Ranker:
    """The assignment engine's order for a frozen lead's 改派 (the rep it was frozen from is left out)."""

    async def rank(lead: Lead) -> list[tuple[str, str]]:
        picks = await reassign_options(await ctx.db(), lead, ctx.user, ctx.now(), limit=actions.MAX_PICK_BUTTONS)
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


def _is_id(text: str) -> bool:
    """An id we could have put in a key: ASCII digits ("²" and "１" are digits to str.isdigit), within INTEGER."""
    return text.isascii() and text.isdigit() and 0 < len(text) <= 9


def _number(text: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)?", text) is not None


@router.command("延期", roles={"manager", "admin"})
async def extend_command(ctx: Context, msg: Inbound) -> None:
    args = (split_command(msg.text, "延期") or "").lstrip("#").split(maxsplit=2)
    if not args or not _is_id(args[0]):
        ctx.reply(Text(EXTEND_USAGE))
        return
    lead_id = int(args[0])
    hours, reason = EXTEND_DEFAULT_HOURS, EXTEND_DEFAULT_REASON
    rest = args[1:]
    if rest and (rest[0][:1].isdigit() or rest[0][:1] in CN_DIGITS or re.search(r"[天周]|小时", rest[0][:4])):
        span = _span_hours(rest[0], ctx.settings.reminders)
        if span is None:
            ctx.reply(Text(f"没看懂时长「{rest[0][:12]}」。{EXTEND_USAGE}"))
            return
        hours, rest = span, rest[1:]
    if rest:
        reason = " ".join(rest)[:100]
    if not 0 < hours <= actions.MAX_EXTEND_HOURS:
        ctx.reply(Text(actions.EXTEND_LIMIT))  # before anything is looked up: 「延期 1 999天」 changes nothing
        return
    lead = await lead_for(ctx, lead_id, "延期 12 24")  # another team's lead answers as a missing one
    if lead is None or closed_refusal(ctx, lead):
        return
    session = await ctx.db()
    rid = (lead.extra or {}).get("frozen", {}).get("reminder_id")
    if rid is None or await session.scalar(select(Reminder.id).where(Reminder.id == rid)) is None:
        await apply_result(ctx, await actions.extend_open_step(session, ctx.user, lead, hours, reason, ctx.now(),
                                                               ctx.settings.reminders))
        return
    await apply_result(ctx, await actions.extend(session, ctx.user, lead_id, int(rid), hours, reason, ctx.now(),
                                     ctx.settings.reminders))
