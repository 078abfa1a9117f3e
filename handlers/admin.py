"""Admin commands in chat: 知识缺口 (what the knowledge base could not answer in the last 7 days)."""

from __future__ import annotations

from bot.context import Context
from bot.messages import Inbound, Markdown, Text
from bot.router import Router
from handlers.kb_gaps import WEEK, gaps_text
from knowledge.store import gaps

router = Router("admin")


@router.command("知识缺口", roles={"admin"})
async def knowledge_gaps(ctx: Context, msg: Inbound) -> None:
    items = await gaps(await ctx.db(), since=ctx.now() - WEEK)
    if not items:
        ctx.reply(Text("最近 7 天没有答不上来或被点「没用」的问题 👍"))
        return
    ctx.reply(Markdown(title="📚 知识库缺口（近 7 天）", text=gaps_text(items)))
