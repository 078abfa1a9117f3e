"""Inbound → the one handler the router picks, with errors turned into a short reply."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

from bot.confirm import confirm_card, needs_confirm
from bot.context import Context
from bot.dedup import mark_handled
from bot.messages import Inbound, Outbound, Text
from bot.metrics import HANDLER, timed
from bot.org import UserCache, identify_cached, set_channel
from bot.outbox import enqueue
from bot.services import Services
from bot.usertext import clean_inbound

log = logging.getLogger(__name__)

UNKNOWN_USER = "你还没有开通 salesbot，请联系管理员开通账号。"
UNKNOWN_COMMAND = "没看懂这条指令 🤔 发送「帮助」查看可以做什么。"
UNSUPPORTED = "暂不支持这种消息，可以发文字、截图或 CSV/XLSX 文件。"
FORBIDDEN = "这个操作需要{roles}权限。"
FAILED = "出错了, 已记录。请稍后再试。"
ROLE_CN = {"rep": "销售", "manager": "主管", "admin": "管理员"}


async def dispatch(services: Services, msg: Inbound) -> None:
    """Handle one deduplicated inbound message; never raises."""
    try:
        with timed(HANDLER, kind=msg.kind):
            queued = await _dispatch(services, msg)
        if not queued:
            return  # every row it wrote is being delivered already
    except Exception:
        log.exception("dispatch failed for %s:%s", msg.channel, msg.msg_id)
    services.wake_outbox()


async def _dispatch(services: Services, msg: Inbound) -> bool:
    """False when the outbox's claim loop need not be woken (the answer was handed straight over)."""
    if msg.text:
        msg = replace(msg, text=clean_inbound(msg.text))
    now = services.clock.now()
    cache = services.component("org.users", lambda _s: UserCache())
    user, new_channel = await identify_cached(
        services.db, cache, msg.user_id, msg.channel, msg.display_name, services.settings.org.auto_register, now
    )
    if user is None:
        log.warning("message from unknown user %s:%s refused", msg.channel, msg.user_id)
        await _reply_only(services, msg, UNKNOWN_USER)
        return True
    ctx = Context(services, msg, user)
    if new_channel is not None:  # recorded with the message's own effects, in its one transaction
        ctx.on_open.append(partial(set_channel, user_id=user.id, channel=new_channel))
    try:
        route = await services.router.resolve(ctx, msg)
        if route is None:
            log.info("no handler for %s from %s: %.40r", msg.kind, msg.user_id, msg.text)
            ctx.reply(Text(UNKNOWN_COMMAND if msg.kind == "text" else UNSUPPORTED))
        elif route.roles and user.role not in route.roles:
            log.warning("%s (%s) refused %s %r", user.id, user.role, msg.kind, msg.click_key or msg.text[:40])
            ctx.reply(Text(FORBIDDEN.format(roles="/".join(ROLE_CN[r] for r in sorted(route.roles)))))
        elif needs_confirm(msg, route.roles):
            log.warning("%s: admin command %r over a channel without a signed body; asking to confirm",
                        user.id, msg.text[:40])
            ctx.reply(confirm_card(msg.text, ctx.now()))
        else:
            ctx.group_ok = route.group_ok
            await route.handler(ctx, ctx.msg)  # the reader may have put the command a text stands for there
        await ctx.commit()
        return ctx.queued
    except Exception:
        log.exception("handler failed for %s:%s from %s", msg.channel, msg.msg_id, msg.user_id)
        await ctx.close()
        await _reply_only(services, msg, FAILED)
        return True
    finally:
        await ctx.close()


async def _reply_only(services: Services, msg: Inbound, text: str) -> None:
    """The answer alone, and the message marked handled with it (nothing when another run handled it)."""
    out = Outbound(to=msg.user_id, body=Text(text), channel=msg.channel, dedup_key=f"in:{msg.channel}:{msg.msg_id}:err")
    now = services.clock.now()
    async with services.db.session() as session:
        if await mark_handled(session, msg.channel, msg.msg_id, now):
            await enqueue(session, [out], now, services.default_channel)
