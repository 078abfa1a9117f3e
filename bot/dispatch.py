"""Inbound → the one handler the router picks, with errors turned into a short reply."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot import phrases as P
from bot.actions import Action
from bot.confirm import confirm_card, needs_confirm
from bot.context import Context, UserInfo
from bot.dedup import mark_handled
from bot.faults import FailureLog
from bot.messages import Inbound, Outbound, Text
from bot.metrics import HANDLER, timed
from bot.org import TeamCache, UserCache, identify_cached
from bot.outbox import enqueue
from bot.router import Route
from bot.services import Services, Shared
from bot.usertext import clean_inbound
from storage.users import ChannelWrite

log = logging.getLogger(__name__)
FAILURES = FailureLog(log, "message handling", level=logging.ERROR)  # the message is replayed later
USERS = Shared("org.users", lambda _s: UserCache())  # who is who, kept warm between messages
TEAM = Shared("org.team", lambda _s: TeamCache())  # every user in one snapshot: the front door's names, newcomers

FAILED, FORBIDDEN, ROLE_CN = P.FAILED, P.FORBIDDEN, P.ROLE_CN


def refusal(roles: frozenset[str] | set[str]) -> str:
    """The same words whichever layer refuses (router or handler): 「这个操作只有主管或管理员可以做。」."""
    if set(roles) == {"manager", "admin"}:
        return P.MANAGER_ONLY
    if set(roles) == {"admin"}:
        return P.ADMIN_ONLY
    return FORBIDDEN.format(roles="/".join(ROLE_CN[r] for r in sorted(roles)))
UNKNOWN_USER, UNKNOWN_COMMAND, UNSUPPORTED, BAD_KEY = P.UNKNOWN_USER, P.UNKNOWN_COMMAND, P.UNSUPPORTED, P.BAD_KEY


async def dispatch(services: Services, msg: Inbound) -> None:
    """Handle one deduplicated inbound message; never raises."""
    try:
        with timed(HANDLER, kind=msg.kind):
            queued = await _dispatch(services, msg)
        if not queued:
            return  # every row it wrote is being delivered already
    except Exception as exc:
        FAILURES.failed(exc, f"{msg.channel}:{msg.msg_id}")
    else:
        FAILURES.succeeded()
    services.wake_outbox()


async def _dispatch(services: Services, msg: Inbound) -> bool:
    """False when the outbox's claim loop need not be woken (the answer was handed straight over)."""
    if msg.text:
        msg = replace(msg, text=clean_inbound(msg.text))
    now = services.clock.now()
    cache = services.shared(USERS)
    user, new_channel = await identify_cached(
        services.db, cache, msg.user_id, msg.channel, msg.display_name, services.settings.org.auto_register, now,
        services.shared(TEAM))
    if user is None:
        log.warning("message from unknown user %s:%s refused", msg.channel, msg.user_id)
        await _reply_only(services, msg, UNKNOWN_USER)
        return True
    ctx = Context(services, msg, user)
    if new_channel is not None:  # recorded with the message's own effects, in its one transaction
        ctx.on_open.append(ChannelWrite(user.id, new_channel))
    try:
        route = await services.router.resolve(ctx, msg)
        if route is None:
            log.info("no handler for %s from %s: %.40r", msg.kind, msg.user_id, msg.text)
            ctx.reply(Text(UNKNOWN_COMMAND if msg.kind == "text" else UNSUPPORTED))
        elif needs_confirm(msg, route.roles) and refused(route, user) is None:
            log.warning("%s: admin command %r over a channel without a signed body; asking to confirm",
                        user.id, msg.text[:40])
            ctx.reply(confirm_card(msg.text, ctx.now()))
        else:
            ctx.group_ok = route.group_ok
            await run_route(services, route, ctx, ctx.msg)  # the reader may have put the command there
        await ctx.commit()
        return ctx.queued
    except Exception as exc:  # logged once per cause while it repeats (a database outage), with the first traceback
        FAILURES.failed(exc, f"handler for {msg.channel}:{msg.msg_id} from {msg.user_id}")
        await ctx.close()
        await _reply_only(services, msg, FAILED)
        return True
    finally:
        await ctx.close()


def refused(route: Route[Context], user: UserInfo) -> str | None:
    """Why this user may not take this route (its declared roles), in the route's words; None when they may."""
    if not route.roles or user.role in route.roles:
        return None
    return route.refusal or refusal(route.roles)


async def run_route(services: Services, route: Route[Context], ctx: Context, msg: Inbound) -> bool:
    """The handler with what it asked for: the message; or the unpacked card action, and its lead (also used by
    the front door's numbered replies and the web console, which run a route on a user's behalf). The one place
    a route's roles are checked: False (and the refusal replied) when the caller's role is not among them."""
    why = refused(route, ctx.user)
    if why is not None:
        log.warning("%s (%s) refused %s %r", ctx.user.id, ctx.user.role, msg.kind, msg.click_key or msg.text[:40])
        ctx.reply(Text(why))
        return False
    if route.action is None:
        await route.handler(ctx, msg)
        return True
    action = route.action.unpack(msg.click_key or "")
    if action is None:
        log.warning("malformed %s key %.60r from %s", route.action.__name__, msg.click_key, msg.user_id)
        ctx.reply(Text(BAD_KEY))
        return True
    if route.lead is None:
        await route.handler(ctx, action)
        return True
    gate = services.router.lead_gate
    if gate is None:
        raise RuntimeError(f"route {route.action.__name__} acts on a lead but the router has no lead gate")
    lead = await gate(ctx, _lead_id(action), route.lead)
    if lead is not None:
        await route.handler(ctx, action, lead)
    return True


def _lead_id(action: Action) -> int:
    lead_id = getattr(action, "lead_id", None)
    if not isinstance(lead_id, int):
        raise TypeError(f"{type(action).__name__} has no lead_id")
    return lead_id


async def _reply_only(services: Services, msg: Inbound, text: str) -> None:
    """The answer alone, and the message marked handled with it (nothing when another run handled it)."""
    out = Outbound(to=msg.user_id, body=Text(text), channel=msg.channel, dedup_key=f"in:{msg.channel}:{msg.msg_id}:err")
    now = services.clock.now()
    async with services.db.session() as session:
        if await mark_handled(session, msg.channel, msg.msg_id, now):
            await enqueue(session, [out], now, services.default_channel)
