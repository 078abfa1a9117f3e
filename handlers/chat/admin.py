"""Admin commands in chat: 知识缺口 (what the knowledge base could not answer in the last 7 days), and
the company calendar on top of the statutory one: 放假 / 补班 <日期> [说明], 日历."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.actions import CancelAdmin, ConfirmAdmin
from bot.clock import to_cn
from bot.confirm import ADMIN_ONLY, confirmed_text
from bot.context import Context
from bot.dispatch import run_route
from bot.messages import Inbound, Markdown, Text
from bot.router import Router, split_command
from handlers.kb_gaps import all_gaps, gaps_text
from reminders.lifecycle import DATE_HINT, override_day, parse_day
from storage.models import CalendarOverride

router: Router[Context] = Router("admin")


@router.card_action(ConfirmAdmin, roles={"admin"})
async def confirmed(ctx: Context, action: ConfirmAdmin) -> None:
    """The confirm click on an admin command that arrived without a signed body (bot/confirm.py): run it now."""
    text = confirmed_text(action, ctx.now())
    again = replace(ctx.msg, kind="text", text=text or "", click_key=None, card_ref=None, unsigned_body=False)
    route = await ctx.services.router.resolve(ctx, again) if text else None
    if route is None or route.roles != ADMIN_ONLY:
        ctx.update_card("已过期")
        ctx.reply(Text("这个确认已过期，请重新发送指令。"))
        return
    ctx.update_card("已确认执行")
    await run_route(ctx.services, route, ctx, again)


@router.card_action(CancelAdmin, roles={"admin"})
async def cancelled(ctx: Context, action: CancelAdmin) -> None:
    ctx.update_card("已取消，没有执行")


@router.command("知识缺口", roles={"admin"})
async def knowledge_gaps(ctx: Context, msg: Inbound) -> None:
    items, field = await all_gaps(ctx.services, ctx.now())
    if not items and not field:
        ctx.reply(Text("最近 7 天没有答不上来或被点「没用」的问题，一线跟进里也没有知识库答不了的反复顾虑 👍"))
        return
    ctx.reply(Markdown(title="📚 知识库缺口（近 7 天）", text=gaps_text(items, field)))


# -- business calendar overrides (reminders/lifecycle.override_day) ---------------------------------------
async def _override(ctx: Context, msg: Inbound, word: str, is_workday: bool) -> None:
    parsed = parse_day(split_command(msg.text, word) or "")
    if parsed is None:
        ctx.reply(Text(DATE_HINT))
        return
    day, note = parsed
    ctx.apply(await override_day(await ctx.db(), ctx.user.id, day, is_workday, note, ctx.now(),
                                 ctx.settings.reminders))


@router.command("放假", roles={"admin"})
async def day_off(ctx: Context, msg: Inbound) -> None:
    await _override(ctx, msg, "放假", is_workday=False)


@router.command("补班", roles={"admin"})
async def extra_workday(ctx: Context, msg: Inbound) -> None:
    await _override(ctx, msg, "补班", is_workday=True)


@router.command("日历", roles={"admin"})
async def show_overrides(ctx: Context, msg: Inbound) -> None:
    today = to_cn(ctx.now()).date()
    session = await ctx.db()
    rows = await session.execute(select(CalendarOverride).where(CalendarOverride.day >= today)
                                 .order_by(CalendarOverride.day))
    lines = [f"- {r.day.isoformat()} {'补班' if r.is_workday else '放假'} {r.note or ''}".rstrip()
             for r in rows.scalars()]
    text = "\n".join(lines) if lines else "没有自定义的放假或补班（法定节假日和调休已自动计入）。"
    ctx.reply(Markdown(title="📅 公司日历调整", text=text))
