"""The front door: every typed message is read (handlers/intent.py) before anything acts on it.

`read` loads what the conversation knows (the last card sent to the person, their open draft and leads, the
people they work with) and returns the Intent; the router then takes the intent's own route here, or the
command the intent stands for (`canonical`), and only a knowledge question reaches the knowledge base.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from bot import phrases as P
from bot.context import Context
from bot.messages import Button, Card, Inbound, Text, body_from_json
from bot.router import Router
from handlers.intent import Intent, State, understand
from ocr.timeparse import Workdays, find_times
from reminders.calendar import load_calendar
from reminders.directory import load_directory
from storage.models import Lead, OutboxMessage, User

log = logging.getLogger(__name__)
router = Router("front")

OPEN = ("active", "frozen", "dormant")
_KEY_LEAD = re.compile(r"^(?:lead|cap):[a-z]+:(\d+)")


# ---------------------------------------------------------------- reading

async def read(ctx: Context, msg: Inbound) -> Intent:
    """The intent of a text message, with the conversation's state; a lead named only by its customer or by
    the card just shown is filled in."""
    if len(msg.text) > 4000:
        return understand(msg.text, ctx.user.role)
    state = await load_state(ctx)
    intent = understand(msg.text, ctx.user.role, state)
    ctx.state = state  # type: ignore[attr-defined]
    return intent


async def load_state(ctx: Context) -> State:
    async with ctx.services.db.session() as session:
        row = (await session.execute(
            select(OutboxMessage.payload).where(OutboxMessage.recipient == ctx.msg.user_id,
                                                OutboxMessage.kind == "card")
            .order_by(OutboxMessage.id.desc()).limit(1))).scalar_one_or_none()
        people = (await session.execute(select(User.id, User.name).where(User.active.is_(True)))).all()
        mine = (await session.execute(
            select(Lead.id, Lead.customer_name, Lead.status).where(
                ((Lead.owner_id == ctx.user.id) & Lead.status.in_(OPEN))
                | ((Lead.created_by == ctx.user.id) & (Lead.status == "draft")))
            .order_by(Lead.id.desc()).limit(500))).all()
    card = body_from_json(row) if row else None
    buttons = card.buttons if isinstance(card, Card) else ()
    keys = tuple(b.key for b in buttons)
    current = next((int(m.group(1)) for k in keys if (m := _KEY_LEAD.match(k))), None)
    return State(buttons=tuple(b.text for b in buttons), keys=keys, has_draft=any(s == "draft" for *_, s in mine),
                 current_lead=current, team=tuple((p.id, p.name) for p in people),
                 customers=tuple((lid, name) for lid, name, status in mine if name and status != "draft"))


def intent_of(ctx: Context) -> Intent:
    return getattr(ctx, "intent", None) or understand(ctx.msg.text, ctx.user.role)


def state_of(ctx: Context) -> State:
    return getattr(ctx, "state", None) or State()


# ---------------------------------------------------------------- small talk

def _top_lines(role: str) -> str:
    return "\n".join(f"· {line}" for line in P.ROLE_TOP.get(role, P.ROLE_TOP["rep"]))


@router.intent("greeting", group_ok=True)
async def greeting(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(f"{P.GREETING.format(name=ctx.user.name)}\n{_top_lines(ctx.user.role)}\n{P.MORE_HELP}"))


@router.intent("thanks", group_ok=True)
async def thanks(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.THANKS))


@router.intent("ack")
async def ack(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.ACK))


@router.intent("noise")
async def noise(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.NOISE))


@router.intent("too_long")
async def too_long(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.TOO_LONG.format(n=len(msg.text) // 1000 * 1000 or len(msg.text))))


@router.intent("multi")
async def multi(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.MULTI))


@router.intent("unclear")
async def unclear(ctx: Context, msg: Inbound) -> None:
    intent = intent_of(ctx)
    customer, lead_id = intent.slots.get("customer", ""), intent.slots.get("lead_id")
    if lead_id is None:
        ids = "、".join(f"#{i}" for i in intent.slots.get("lead_ids", []))
        ctx.reply(Text(P.REMINDER_WHICH.format(customer=customer, n=len(intent.slots.get("lead_ids", [])), ids=ids,
                                               example=f"线索 {intent.slots.get('lead_ids', [0])[0]}")))
        return
    options = [P.UNCLEAR_OPTIONS[o].format(customer=customer) for o in ("lead_show", "follow_up")]
    ctx.reply(Card(title=P.UNCLEAR.format(options="，还是".join(options)),
                   buttons=(Button(f"lead:view:{lead_id}", "查看线索", "primary"),
                            Button(f"lead:fu:{lead_id}", "记录跟进"))))


@router.intent("kb_import")
async def kb_import(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.KB_IMPORT_HOW if ctx.user.is_admin else P.KB_IMPORT_NOT_ADMIN))


# ---------------------------------------------------------------- a reply to the last card

@router.intent("pick")
async def pick(ctx: Context, msg: Inbound) -> None:
    """「1」/「2」 or a button's own text: that button of the last card sent to this person, as if clicked."""
    state, n = state_of(ctx), int(intent_of(ctx).slots.get("index", 0))
    if not state.keys:
        ctx.reply(Text(P.NO_CARD))
        return
    if not 1 <= n <= len(state.keys):
        ctx.reply(Text(P.NO_SUCH_BUTTON.format(n=len(state.keys))))
        return
    click = replace(msg, kind="click", text="", click_key=state.keys[n - 1])
    route = await ctx.services.router.resolve(ctx, click)
    if route is None:
        ctx.reply(Text(P.NO_CARD))
        return
    if route.roles and ctx.user.role not in route.roles:
        ctx.reply(Text(P.MANAGER_ONLY if "manager" in route.roles else P.ADMIN_ONLY))
        return
    ctx.msg = click
    await route.handler(ctx, click)


# ---------------------------------------------------------------- times for the person

async def workdays(ctx: Context) -> Workdays:
    """The caller's own working hours and the team's calendar, for 下班前 / 下周 / 节后."""
    session = await ctx.db()
    cal = await load_calendar(session, ctx.settings.reminders)
    people = await load_directory(session)
    hours = people.hours(cal, ctx.user.id)
    return Workdays(start=hours.start, end=hours.end, is_workday=cal.is_workday)


def first_future(text: str, now: datetime, days: Workdays) -> datetime | None:
    """The first time said in `text` that is still ahead."""
    return next((f.when for f in find_times(text, now, days) if f.when > now), None)


def say_when(when: datetime, now: datetime) -> str:
    """「今天 15:00」 / 「明天 09:00」 / 「11-26 15:00」."""
    from bot.clock import to_cn

    local, today = to_cn(when), to_cn(now).date()
    clock = local.strftime("%H:%M")
    day = {0: "今天", 1: "明天", 2: "后天"}.get((local.date() - today).days)
    return f"{day} {clock}" if day else f"{local.month}月{local.day}日 {clock}"


