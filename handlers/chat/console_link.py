"""后台: a manager or admin gets a one-time login link to the web console (/admin/)."""

from __future__ import annotations

from bot.context import Context
from bot.login_links import LINK_TTL, issue_link
from bot.messages import Inbound, Text
from bot.router import Router

router: Router[Context] = Router("console_link")

REP_REFUSAL = "网页后台供主管和管理员使用。你的线索和话术在这里直接发消息就能查看 🙂 发送「帮助」看看能做什么。"


@router.command("后台", "管理后台", "网页后台", roles={"manager", "admin"}, refusal=REP_REFUSAL)
async def console_link(ctx: Context, msg: Inbound) -> None:
    url = await issue_link(await ctx.db(), ctx.user.id, ctx.now(), ctx.settings.server.base_url)
    if url is None:
        ctx.reply(Text(REP_REFUSAL))
        return
    minutes = int(LINK_TTL.total_seconds() // 60)
    ctx.reply(Text(f"🖥 管理后台登录链接（{minutes} 分钟内有效，只能用一次，请勿转发）：\n{url}"))
