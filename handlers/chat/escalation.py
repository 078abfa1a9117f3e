"""Reminder and escalation card buttons (their keys: bot/actions.py; the cards: reminders/messages.py).

Rep on a reminder card:   SnoozeReminder, PauseReminder
Manager on a freeze card: TakeOver, AssignPicker → AssignFrozenTo, ExtendFrozen (接手 and 改派 offer 撤销:
                          UndoFrozen, handlers/chat/front.py)
Manager by text:          延期 <线索号> [工作小时|N天] [原因]   (e.g. "延期 12 48 客户出差", "延期 12 3天 出差")
Who may act on a freeze card is checked in reminders/actions.py (`_answers_for`, on bot/org.manages): the card
answers to whom it went — the frozen rep's manager whatever their role, past a departed one the manager above or
an admin (reminders/directory.supervisors_of) — so its routes declare neither roles (a team head with the role
rep acts too) nor `lead=` (the lead gate shows a frozen lead to the frozen rep's own manager only, and its
refusals would say more than 「这条提醒已不存在或按钮已失效」 to a stranger).
"""

from __future__ import annotations

from bot import phrases as P
from bot.actions import AssignFrozenTo, AssignPicker, ExtendFrozen, PauseReminder, SnoozeReminder, TakeOver
from bot.context import Context
from bot.messages import Inbound, Text
from bot.router import Router, split_command
from handlers.leads import manage
from handlers.leads.chat_gate import lead_gate, ramp_refused
from reminders import actions
from reminders.policies import EXTEND_DEFAULT_HOURS, EXTEND_DEFAULT_REASON, PAUSE_NEXT_WEEK_REASON
from storage.models import Lead

router: Router[Context] = Router("escalation")


@router.card_action(SnoozeReminder)
async def snooze_button(ctx: Context, action: SnoozeReminder) -> None:
    result = await actions.snooze(await ctx.db(), ctx.user, action.reminder_id, action.hours, ctx.now(),
                                  ctx.settings.reminders)
    ctx.apply(result)


@router.card_action(PauseReminder)
async def pause_button(ctx: Context, action: PauseReminder) -> None:
    result = await actions.pause(await ctx.db(), ctx.user, action.reminder_id, ctx.now(), ctx.settings.reminders,
                                 PAUSE_NEXT_WEEK_REASON)
    ctx.apply(result)


@router.card_action(TakeOver)
async def take_over_button(ctx: Context, action: TakeOver) -> None:
    result = await actions.take_over(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, ctx.now(),
                                     ctx.settings.reminders)
    ctx.apply(manage.with_undo(result, P.TAKEN_OVER_TITLE, action.lead_id, action.reminder_id, ctx.now()))


@router.card_action(AssignPicker)
async def assign_picker_button(ctx: Context, action: AssignPicker) -> None:
    card = (ctx.msg.channel, ctx.msg.card_ref) if ctx.msg.card_ref else None
    result = await actions.assign_picker(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, card,
                                         ranker(ctx))
    ctx.apply(result)


@router.card_action(AssignFrozenTo)
async def assign_to_button(ctx: Context, action: AssignFrozenTo) -> None:
    if await ramp_refused(ctx, "pool", action.rep_id):  # a frozen lead is in the pool
        return
    result = await actions.assign_to(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, action.rep_id,
                                     ctx.now(), ctx.settings.reminders, ranker(ctx))
    ctx.apply(manage.with_undo(result, P.REASSIGNED_TITLE, action.lead_id, action.reminder_id, ctx.now()))


@router.card_action(ExtendFrozen)
async def extend_button(ctx: Context, action: ExtendFrozen) -> None:
    hours = action.hours if action.hours is not None else EXTEND_DEFAULT_HOURS
    result = await actions.extend(await ctx.db(), ctx.user, action.lead_id, action.reminder_id, hours,
                                  EXTEND_DEFAULT_REASON, ctx.now(), ctx.settings.reminders)
    ctx.apply(result)


def ranker(ctx: Context) -> actions.Ranker:
    """The assignment engine's order for a frozen lead's 改派 (handlers/leads/manage.ranker) in this transaction."""

    async def rank(lead: Lead) -> list[tuple[str, str]]:
        return await manage.ranker(await ctx.db(), ctx.user, ctx.now(), ctx.settings.ramp)(lead)

    return rank


def _is_id(text: str) -> bool:
    """An id we could have put in a key: ASCII digits ("²" and "１" are digits to str.isdigit), within INTEGER."""
    return text.isascii() and text.isdigit() and 0 < len(text) <= 9


@router.command("延期", roles={"manager", "admin"})
async def extend_command(ctx: Context, msg: Inbound) -> None:
    args = (split_command(msg.text, "延期") or "").lstrip("#").split(maxsplit=2)
    if not args or not _is_id(args[0]):
        ctx.reply(Text(P.EXTEND_USAGE))
        return
    lead_id = int(args[0])
    hours, reason = EXTEND_DEFAULT_HOURS, EXTEND_DEFAULT_REASON
    rest = args[1:]
    if rest and manage.meant_as_length(rest[0]):
        span = manage.span_hours(rest[0], ctx.settings.reminders)
        if span is None:
            ctx.reply(Text(P.EXTEND_UNREAD.format(span=rest[0][:12])))
            return
        hours, rest = span, rest[1:]
    if rest:
        reason = " ".join(rest)[:100]
    why = manage.extend_refusal(hours)  # before anything is looked up
    if why is not None:
        ctx.reply(Text(why))
        return
    lead = await lead_gate(ctx, lead_id, "manage", "延期 12 24")  # another team's lead answers as a missing one
    if lead is None:
        return
    ctx.apply(await manage.extend(await ctx.db(), ctx.user, lead, hours, reason, ctx.now(),
                                                ctx.settings.reminders))
