"""The front door: every typed message is read (handlers/intent.py) before anything acts on it.

`read` loads what the conversation knows (the last card sent to the person, their open draft and leads, the
people they work with) and returns the Intent; the router then takes the intent's own route here, or the
command the intent stands for (`canonical`), and only a knowledge question reaches the knowledge base.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, literal, literal_column, null, or_, select, union_all
from sqlalchemy.sql.selectable import CompoundSelect, Select

from bot import phrases as P
from bot.actions import (
    Big,
    Cancel,
    ConfirmBudget,
    ConfirmDraft,
    ConfirmOffboard,
    DoGuessed,
    DropDraft,
    EditDraft,
    FollowUpHint,
    UndoFrozen,
    UndoHandover,
    ViewLead,
    lead_of_card,
)
from bot.clock import CN_TZ, fmt_cn, to_cn
from bot.context import Context
from bot.dispatch import TEAM, run_route
from bot.messages import Button, Card, Inbound, Text, body_from_json, body_to_json, numbered
from bot.router import Reading, Router
from bot.usertext import user_text
from handlers.checks import flags as checks_flags
from handlers.checks import hooks
from handlers.intent import FIELD_WORDS, KEY_FACTS, Intent, State, customer_hits, reading_pair, understand
from handlers.intent_model import READER
from handlers.leads import manage
from handlers.leads import views as view
from handlers.leads.assignment import change_owner, handed_over, offboard_refusal
from handlers.leads.chat_gate import lead_for, lead_gate, policy_refused
from handlers.leads.handover import offboard_with_handover
from handlers.leads.permissions import list_leads
from handlers.leads.records import draft_duplicates
from handlers.leads.screenshots import checked_card, tell_conflicts
from handlers.llm_intent import ask_model
from handlers.ramp.service import written_waiting
from handlers.report import DIGEST_WINDOW, compute_report
from handlers.when import first_future, replaced, say_when, workdays
from knowledge.query import SIMPLIFIER, Simplifier
from ocr.extract import budget_in
from ocr.timeparse import find_times
from reminders import messages
from reminders.actions import undo as undo_frozen
from reminders.policies import FOLLOW_UP, NOTICE, RULE_CN
from reminders.store import add_timer, cancel_timers
from storage.activity import add_activity
from storage.leads import clean_value, parse_budget, plain_number, set_field, user_names
from storage.models import Activity, Lead, OutboxMessage, Reminder, User
from storage.sql import table_of

log = logging.getLogger(__name__)
router: Router[Context] = Router("front")

OPEN = ("active", "frozen", "dormant")
# what a model's reading may do at once; anything that changes data asks 「你是想…？」 with one click first
SAFE_FROM_MODEL = frozenset({"greeting", "thanks", "help", "my_leads", "lead_show", "overdue", "team_leads",
                             "kb_import", "renewals", "ramp", "console", "flags"})
RECENT_TOUCH = timedelta(minutes=30)  # a lead the user acted on this recently is the one the conversation is about


# ---------------------------------------------------------------- reading

async def read(ctx: Context, msg: Inbound) -> Intent:
    """The intent of a text message, with the conversation's state; a lead named only by its customer or by
    the card just shown is filled in."""
    if len(msg.text) > 4000:
        return understand(msg.text, ctx.user.role, t2s=t2s(ctx))
    state = await load_state(ctx)
    intent = understand(msg.text, ctx.user.role, state, await ctx.services.shared(READER).get(), t2s=t2s(ctx))
    ctx.state = state
    if intent.name == "knowledge":
        model = await ask_model(ctx.settings.llm, msg.text, ctx.user.role)
        if model is not None and model.name != "knowledge":
            return model if model.name in SAFE_FROM_MODEL else Intent("guess", {"intent": model}, intent.text)
    return intent


async def load_state(ctx: Context) -> State:
    """One read-only statement (no write lock on SQLite; small and indexed, so on the loop's thread: no trip);
    the team comes from memory (`TeamCache`)."""
    people = await ctx.services.shared(TEAM).people(ctx.services.db)
    params = {"s_to": ctx.msg.user_id, "s_user": ctx.user.id, "s_since": ctx.now() - RECENT_TOUCH,
              "s_channel": ctx.msg.channel}
    rows = await ctx.services.db.read_rows(_state_statement(), params)
    last_card = next((r for r in rows if r.part == 1), None)
    touched = next(((r.num, r.at) for r in rows if r.part == 2), None)
    mine = [(r.num, r.name, r.status, r.company, r.phone) for r in rows if r.part == 3]
    card = body_from_json(last_card.payload) if last_card else None
    buttons = card.buttons if isinstance(card, Card) else ()
    current = lead_of_card(tuple(b.key for b in buttons))
    current_at = last_card.at if current is not None and last_card is not None else None
    shown = tuple(dict.fromkeys(i for b in buttons if (i := lead_of_card((b.key,))) is not None))
    if touched and (current is None or last_card is None or touched[1] >= last_card.at):
        current, current_at = touched  # the lead the rep just wrote about (「跟进 1 …」, then 「决策链 …」)
        shown = ()
    words_only = last_card is not None and not _still_open(last_card, [r for r in rows if r.part == 4])
    if last_card is None or words_only:  # 「1」 after 「团队日报」, 「谢谢」: the card is no longer what they answer;
        # a draft's own 确认 / 修改 / 放弃 said in words still is (the draft waits: 「我的标记」, then 「放弃」)
        buttons = tuple(b for b in buttons if _draft_button(b.key)) if any(m[2] == "draft" for m in mine) else ()
    live = [m for m in mine if m[2] != "draft"]
    return State(buttons=tuple(b.text for b in buttons), keys=tuple(b.key for b in buttons),
                 has_draft=len(live) < len(mine), words_only=words_only and bool(buttons),
                 current_lead=current, current_at=current_at, card_leads=shown if len(shown) > 1 else (),
                 team=people,
                 customers=tuple((lid, name) for lid, name, _, _, _ in live if name),
                 companies=tuple((lid, co) for lid, _, _, co, _ in live if co),
                 phones=tuple((lid, phone) for lid, _, _, _, phone in live if phone))


def _draft_button(key: str) -> bool:
    return any(action.unpack(key) is not None for action in (ConfirmDraft, DropDraft, EditDraft))


LATEST = 3  # the newest messages sent to the person that are looked at to tell whether the last card is still open


def _still_open(card: Any, latest: list[Any]) -> bool:
    """Nothing was sent to the person after the card but the rest of the same reply (its dedup keys share the
    inbound message's prefix, 「in:<channel>:<msg id>:」)."""
    after = [r for r in latest if r.num > card.num]
    if len(after) >= LATEST:
        return False
    same = card.name.rsplit(":", 1)[0] + ":" if card.name.startswith("in:") else None
    return all(same is not None and r.name.startswith(same) for r in after)


@cache
def _state_statement() -> CompoundSelect:
    """The last card sent to the person, the lead they last acted on, their open leads and drafts: three reads
    as one UNION ALL (one trip to the database per text instead of three), built once (building a statement
    cost more than running it); the open statuses are written into the SQL (an IN list of bound values is
    re-rendered on every execution). Columns: part (1 card, 2 touched, 3 lead, 4 latest sent), num, name, status,
    at, payload, company, phone."""
    o, a, lead = table_of(OutboxMessage).c, table_of(Activity).c, table_of(Lead).c
    to, user = bindparam("s_to", type_=String()), bindparam("s_user", type_=String())
    channel = bindparam("s_channel", type_=String())
    since = bindparam("s_since", type_=a.created_at.type)

    def part(n: int, num: Any = None, name: Any = None, status: Any = None, at: Any = None,
             payload: Any = None, company: Any = None, phone: Any = None) -> Select[Any]:
        def typed(value: Any, kind: Any) -> Any:
            return null().cast(kind) if value is None else value

        return select(literal(n).label("part"), typed(num, Integer).label("num"), typed(name, String).label("name"),
                      typed(status, String).label("status"), typed(at, o.created_at.type).label("at"),
                      typed(payload, o.payload.type).label("payload"), typed(company, String).label("company"),
                      typed(phone, String).label("phone"))

    card = (part(1, num=o.id, name=o.dedup_key, at=o.created_at, payload=o.payload)
            .where(o.recipient == to, o.kind == "card").order_by(o.id.desc()).limit(1).subquery())
    latest = (part(4, num=o.id, name=o.dedup_key).where(o.channel == channel, o.recipient == to)
              .order_by(o.id.desc()).limit(LATEST).subquery())
    touched = (part(2, num=a.lead_id, at=a.created_at).where(a.created_at >= since, a.actor_id == user)
               .order_by(a.id.desc()).limit(1).subquery())
    leads = (part(3, num=lead.id, name=lead.customer_name, status=lead.status, company=lead.company, phone=lead.phone)
             .where(((lead.owner_id == user) & or_(*(lead.status == literal_column(f"'{s}'") for s in OPEN)))
                    | ((lead.created_by == user) & (lead.status == "draft")))
             .order_by(lead.id.desc()).limit(500).subquery())
    return union_all(select(card), select(touched), select(leads), select(latest))


def intent_of(ctx: Context) -> Intent:
    return ctx.intent if isinstance(ctx.intent, Intent) else understand(ctx.msg.text, ctx.user.role, t2s=t2s(ctx))


def t2s(ctx: Context) -> Simplifier:
    """OpenCC's tables, as the services keep them (how the reader and the value parsers read 繁體)."""
    return ctx.services.engines.get(SIMPLIFIER)


def state_of(ctx: Context) -> State:
    return ctx.state if isinstance(ctx.state, State) else State()


# ---------------------------------------------------------------- small talk

def _top_lines(role: str) -> str:
    return "\n".join(f"· {line}" for line in P.ROLE_TOP.get(role, P.ROLE_TOP["rep"]))


@router.intent("greeting", group_ok=True)
async def greeting(ctx: Context, msg: Inbound) -> None:
    name = ctx.user.spoken_name
    hello = P.GREETING.format(name=name) if name else P.GREETING_NO_NAME
    ctx.reply(Text(f"{hello}\n{_top_lines(ctx.user.role)}\n{P.MORE_HELP}"))


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


@router.intent("bad_id")
async def bad_id(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.BAD_ID.format(raw=intent_of(ctx).slots.get("raw", ""))))


@router.intent("unclear")
async def unclear(ctx: Context, msg: Inbound) -> None:
    intent = intent_of(ctx)
    customer, lead_id = intent.slots.get("customer", ""), intent.slots.get("lead_id")
    if lead_id is None and not intent.slots.get("lead_ids"):
        ctx.reply(Text(_none_named(intent.slots)))
        return
    if lead_id is None:
        ids = intent.slots.get("lead_ids", [])
        ctx.reply(which_lead(P.REMINDER_WHICH.format(customer=customer, n=len(ids), ids="、".join(f"#{i}" for i in ids),
                                                     example=f"线索 {ids[0]}"), ids, None, state_of(ctx)))
        return
    options = [P.UNCLEAR_OPTIONS[o].format(customer=customer) for o in ("lead_show", "follow_up")]
    ctx.reply(Card(title=P.UNCLEAR.format(options="，还是".join(options)),
                   buttons=(Button(ViewLead(lead_id).pack(), "查看线索", "primary"),
                            Button(FollowUpHint(lead_id).pack(), "记录跟进"))))


def _none_named(slots: dict[str, Any]) -> str:
    """What to say when nothing the person has fits what they named (a name, a phone, an amount alone)."""
    if "budget_of" in slots:  # 「金额」, 「2 金额」: the word without a figure
        return P.AMOUNT_HOW.format(id=slots["budget_of"] or "<编号>")
    if slots.get("amount"):
        return P.AMOUNT_WHICH.format(amount=slots["amount"])
    if slots.get("phone"):
        return P.UNKNOWN_PHONE.format(phone=slots["phone"])
    return (P.UNKNOWN_NAME if slots.get("bare") else P.NO_LEAD_NAMED).format(customer=user_text(slots.get("customer")))


def which_lead(question: str, ids: list[int], intent: Intent | None, state: State) -> Card:
    """「叫周立的客户有 2 条线索…」 with one button per lead (a bare 「1」 / 「2」 picks one too): the same request
    on that lead (`intent` with its number), else that lead's card."""
    companies, customers = dict(state.companies), dict(state.customers)
    buttons = []
    for i in ids[:6]:  # WeCom's button_interaction limit
        label = f"#{i} {companies.get(i) or customers.get(i) or P.UNNAMED_CUSTOMER}"[:20]
        text = command_text(replace(intent, slots={**intent.slots, "lead_id": i, "customer": None})) if intent \
            else None
        buttons.append(Button(DoGuessed(text[:300]).pack() if text else ViewLead(i).pack(), label))
    return Card(title=P.WHICH_LEAD_TITLE, description=question, buttons=tuple(buttons),
                note=P.WHICH_LEAD_NOTE.format(n=len(buttons)))


@router.intent("kb_import")
async def kb_import(ctx: Context, msg: Inbound) -> None:
    ctx.reply(Text(P.KB_IMPORT_HOW if ctx.user.is_admin else P.KB_IMPORT_NOT_ADMIN))


# ---------------------------------------------------------------- a reply to the last card

@router.intent("pick")
async def pick(ctx: Context, msg: Inbound) -> None:
    """「1」/「2」 or a button's own text: that button of the last card sent to this person, as if clicked."""
    state = state_of(ctx)
    if not state.keys or (state.words_only and intent_of(ctx).slots.get("by_place")):
        ctx.reply(Text(P.NO_CARD))
        return
    key = numbered(state.keys, int(intent_of(ctx).slots.get("index", 0)))
    if key is None:
        ctx.reply(Text(P.NO_SUCH_BUTTON.format(n=len(state.keys))))
        return
    await run_as(ctx, replace(msg, kind="click", text="", click_key=key))


async def run_as(ctx: Context, msg: Inbound) -> None:
    """Handle `msg` (a click or a text made on the person's behalf) in this same transaction, roles checked."""
    if msg.kind == "text":
        ctx.msg = msg  # its reader may replace it with the command it stands for
    route = await ctx.services.router.resolve(ctx, msg)
    if route is None:
        ctx.reply(Text(P.NO_CARD))
        return
    if msg.kind != "text":
        ctx.msg = msg
    await run_route(ctx.services, route, ctx, ctx.msg)


@router.intent("guess")
async def guess(ctx: Context, msg: Inbound) -> None:
    """A reading that is only a guess (a model's, or a near-miss command word): one 「你是想…？」 click before
    anything happens."""
    guess = intent_of(ctx).slots.get("intent")
    text = command_text(guess) if isinstance(guess, Intent) else None
    if not text:
        from handlers.chat.knowledge import answer

        await answer(ctx, msg)
        return
    ctx.reply(Card(title=P.UNCLEAR.format(options=f"「{text}」"),
                   buttons=(Button(DoGuessed(text[:300]).pack(), "是的", "primary"), Button(Cancel().pack(), "不是"))))


@router.card_action(DoGuessed)
async def do_confirmed(ctx: Context, action: DoGuessed) -> None:
    """The 「是的」 of a 「你是想…？」 card: the command is read by the rules, as if typed."""
    ctx.update_card(f"好的：{action.text}")
    ctx.confirmed = True
    await run_as(ctx, replace(ctx.msg, kind="text", text=action.text, click_key=None, card_ref=None))


# ---------------------------------------------------------------- the command an intent stands for

def canonical(intent: Intent, state: State) -> str | None:
    """The command text the existing handlers understand, for intents that are plain commands."""
    s = intent.slots
    lead_id = s.get("lead_id")
    if lead_id is None and intent.name == "follow_up" and s.get("note"):
        lead_id = state.current_lead
    n = "" if lead_id is None else f" {lead_id}"
    forms = {
        "help": "帮助", "my_leads": "我的线索", "team_report": "团队日报", "kb_gaps": "知识缺口",
        "renewals": "续约", "ramp": "通关", "console": "后台", "flags": "我的标记",
        "lead_show": f"线索{n}", "follow_up": f"跟进{n} {s.get('note', '')}",
        "stage": f"阶段{n} {s.get('stage', '')}", "won": f"赢单{n} {s.get('reason', '')}",
        "lost": f"输单{n} {s.get('reason', '')}", "evidence": f"证据{n} {s.get('note', '')}",
        "lead_new": f"新线索 {s.get('text', '')}", "team_leads": f"团队线索 {s.get('filter', '')}",
        "reassign": f"改派{n} {s.get('assignee') or ''} {s.get('reason', '')}",
        "extend": f"延期{n} {s.get('span') or ''} {s.get('reason', '')}",
        "calendar": intent.text if s.get("arg") else "日历",  # 「公司日历发我看看」
    }
    form = forms.get(intent.name)
    return " ".join(form.split()) if form is not None else None


def command_text(intent: Intent) -> str | None:
    """Any acting intent as the words a person would type for it (what a 「你是想…？」 button sends)."""
    s, n = intent.slots, f" {intent.slots['lead_id']}" if intent.slots.get("lead_id") is not None else ""
    words = {v: k for k, v in FIELD_WORDS.items()}
    forms = {
        "takeover": f"接手{n}", "overdue": "谁超时了", "kb_import": "导入话术",
        "offboard": f"离职 {s.get('user', '')} 交给 {s.get('to', '')}",
        "reminder": f"{s.get('when', '')}提醒我{s.get('task', '')}{' 线索' + n.strip() if n else ''}",
        "edit": f"线索{n} {words.get(s.get('field', ''), '')} {s.get('value', '')}" if n else
                f"{words.get(s.get('field', ''), '')} {s.get('value', '')}",
    }
    form = forms.get(intent.name) or canonical(intent, State())
    return " ".join(form.split()) if form else None


@router.reads
async def front_door(ctx: Context, msg: Inbound) -> Reading:
    intent = await read(ctx, msg)
    ctx.intent = intent
    if intent.name in ("ack", "thanks") and await written_waiting(ctx.services.db, ctx.user.id, ctx.now(),
                                                                   ctx.settings.ramp.answer_minutes):
        return Reading("")  # 「好的我明白」 to an open written question is graded (and told it is not an answer)
    command = canonical(intent, state_of(ctx))
    if command is not None:
        ctx.msg = replace(msg, text=command)
    log.debug("read %.40r as %s %s", msg.text, intent.name, intent.slots)
    return Reading(intent.name, command)


# ---------------------------------------------------------------- what to do today

@router.intent("today")
async def today(ctx: Context, msg: Inbound) -> None:
    """「今天有啥要跟进的」: the caller's leads with a step due by the end of the day (overdue first), and the
    reminders they asked for that day; 「明天…」: the same for tomorrow."""
    tomorrow = intent_of(ctx).slots.get("day") == "明天"
    now = ctx.now()
    start = datetime.combine(to_cn(now).date() + timedelta(days=int(tomorrow)), time(0), CN_TZ)
    end = start + timedelta(days=1)
    session = await ctx.db()
    leads = [lead for lead in await list_leads(session, ctx.user, scope="own") if lead.status != "frozen"]
    timers = await view.next_actions(session, [lead.id for lead in leads])
    due: list[tuple[datetime, str, int | None]] = []
    for lead in leads:
        steps = [(to_cn(timers[lead.id][1]), timers[lead.id][0])] if lead.id in timers else []
        if lead.next_follow_up_at is not None:
            steps.append((to_cn(lead.next_follow_up_at), RULE_CN[FOLLOW_UP]))
        when, what = min(steps, default=(None, ""))
        if when is not None and when < end and (when >= start or not tomorrow):
            who = user_text(lead.customer_name or P.UNNAMED_CUSTOMER)
            company = f" · {user_text(lead.company)}" if lead.company else ""
            late = "🔴 已超时 " if when < now else ""
            due.append((when, f"{late}{fmt_cn(when, with_date=when < start)} #{lead.id} {who}{company} · {what}",
                        lead.id))
    asked = await session.execute(select(Reminder.due_at, Reminder.payload).where(
        Reminder.lead_id.is_(None), Reminder.rule == NOTICE, Reminder.status == "pending",
        Reminder.due_at >= max(start, now), Reminder.due_at < end))
    for when, payload in asked.all():
        if (payload or {}).get("to") == ctx.user.id and (payload or {}).get("asked"):
            due.append((to_cn(when), f"⏰ {fmt_cn(when, with_date=False)} {user_text(payload.get('task') or '提醒')}",
                        None))
    day = "明天" if tomorrow else "今天"
    if not due:
        ctx.reply(Text(P.TODAY_NONE.format(day=day)))
        return
    due.sort(key=lambda d: d[0])
    ids = [lead_id for _, _, lead_id in due if lead_id is not None]
    ctx.reply(Card(title=P.TODAY_TITLE.format(day=day, n=len(due)), description="\n".join(line for _, line, _ in due),
                   buttons=tuple(Button(ViewLead(i).pack(), f"查看 #{i}") for i in ids[:5]), note=P.TODAY_NOTE))


# ---------------------------------------------------------------- reminders

# a task about whichever lead the conversation is on: 「明天提醒我跟进」 after a lead's card
_ABOUT_THE_LEAD = re.compile(r"(?:再?(?:跟进|回访|联系|回电话?|回个电话|打电话|打个电话|约客户|联系客户)(?:一下)?)?")


async def _lead_named(ctx: Context, slots: dict[str, Any]) -> tuple[bool, Lead | None]:
    """(whether the request is about a lead, that lead): named by number, by its customer's name, or the one
    on the card just shown when the task is only 「跟进 / 回电话」. (True, None): refused or asked which."""
    if slots.get("lead_id") is not None:
        return True, await lead_for(ctx, slots["lead_id"])
    state = state_of(ctx)
    customer = slots.get("customer")
    if customer:
        ids = customer_hits(customer, state)[1]
        if len(ids) > 1:
            asked = P.REMINDER_WHICH.format(customer=customer, n=len(ids), ids="、".join(f"#{i}" for i in ids),
                                            example=f"明天提醒我跟进 {ids[0]}")
            ctx.reply(which_lead(asked, ids, intent_of(ctx), state))
            return True, None
        if ids:
            return True, await lead_for(ctx, ids[0])
    if state.current_lead is not None and _ABOUT_THE_LEAD.fullmatch(slots.get("task") or ""):
        return True, await lead_for(ctx, state.current_lead)
    return False, None


# a task typed with an English sales verb, said back in Chinese: 「call 周立」 → 「给周立打电话」; the object is the
# next word as typed (a name, a company, a product), unknown English words stay as typed
_EN = r"(?<![A-Za-z])"
_END = r"(?![A-Za-z])"
_WHO = r"\s*(?P<who>[^\s，,。；;！!？?]+)"
_DOC = r"(?:the\s+|a\s+|our\s+)?(?P<doc>quotation|quote|proposal|contract|price\s+list)s?" + _END
_DOCS_CN = {"quotation": "报价", "quote": "报价", "proposal": "方案", "contract": "合同", "price list": "价格表"}
_VERBS_CN: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), say) for pattern, say in (
        (_EN + r"send\s+" + _DOC + r"(?:\s+to" + _WHO + ")?",
         lambda m: f"给{m['who']}发{_doc_cn(m)}" if m["who"] else f"发{_doc_cn(m)}"),
        (_EN + r"send\s+(?!(?:the|a|our)\s)(?P<who>[^\s，,。；;！!？?]+)\s+" + _DOC,
         lambda m: f"给{m['who']}发{_doc_cn(m)}"),
        (_EN + r"(?:follow[\s-]*up|fu)" + _END + r"(?:\s*with" + _END + r")?(?:" + _WHO + ")?",
         lambda m: f"跟进{m['who'] or ''}"),
        (_EN + r"call" + _END + r"(?:" + _WHO + ")?", lambda m: f"给{m['who']}打电话" if m["who"] else "打电话"),
        (_EN + r"e-?mail" + _END + r"(?:\s*to" + _END + r")?(?:" + _WHO + ")?",
         lambda m: f"给{m['who']}发邮件" if m["who"] else "发邮件"),
        (_EN + r"ping" + _END + r"(?:" + _WHO + ")?", lambda m: f"联系{m['who'] or ''}"),
        (_EN + r"meet" + _END + r"(?:\s*with" + _END + r")?(?:" + _WHO + ")?",
         lambda m: f"见{m['who']}" if m["who"] else "见面"),
        (_EN + r"visit" + _END + r"(?:" + _WHO + ")?", lambda m: f"拜访{m['who'] or ''}"),
        (_EN + r"demo" + _END, lambda m: "演示"),
    ))


def _doc_cn(m: re.Match[str]) -> str:
    return _DOCS_CN[re.sub(r"\s+", " ", m["doc"].lower())]


def task_cn(task: str) -> str:
    """A reminder's task as replies, stored summaries and the reminder message say it: common English sales verbs
    in Chinese (「FU 周立」 → 「跟进周立」, 「send 周立 the quote」 → 「给周立发报价」), everything else as typed."""
    for pattern, say in _VERBS_CN:
        task = pattern.sub(say, task)
    return re.sub(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])", "", task).strip()


async def remind_me(ctx: Context, when: datetime, task: str) -> None:
    """A reminder for the person alone (no lead): a message due at the very time they chose."""
    note = messages.asked(when, task)
    await add_timer(await ctx.db(), None, NOTICE, when, ctx.now(), payload={
        "to": ctx.user.id, "body": body_to_json(note.body), "line": note.line, "standalone": True, "asked": True,
        "task": task[:200],
        "key": f"asked:{ctx.user.id}:{ctx.msg.channel}:{ctx.msg.msg_id}"})


async def remind_at(ctx: Context, lead: Lead, when: datetime, task: str) -> str:
    """The lead's next follow-up becomes `when`, and its owner is reminded at that very moment; returns what to
    add to the reply when this replaced a reminder still ahead."""
    session, now = await ctx.db(), ctx.now()
    note = replaced(lead.next_follow_up_at, when, now)
    lead.next_follow_up_at = when
    add_activity(session, lead.id, ctx.user.id, "plan", now, f"提醒：{task}" if task else "约定回访",
                 due=when.isoformat())
    await cancel_timers(session, lead.id, now, [FOLLOW_UP])
    await add_timer(session, lead.id, FOLLOW_UP, when, now, payload={"at": when.isoformat(), "note": task})
    return note


@router.intent("reminder")
async def reminder(ctx: Context, msg: Inbound) -> None:
    slots, now = intent_of(ctx).slots, ctx.now()
    said = slots.get("when")
    if not said:
        ctx.reply(Text(P.REMINDER_NEED_TIME))
        return
    # kept as typed (「tomorrow 3pm」, 「後天」): read in the time grammar's words
    said = reading_pair(said, t2s(ctx))[1]
    when = first_future(said, now, await workdays(ctx))
    if when is None:
        ctx.reply(Text(P.REMINDER_PAST.format(when=said) if find_times(said, now) else P.REMINDER_NEED_TIME))
        return
    named, lead = await _lead_named(ctx, slots)
    task = task_cn(slots.get("task") or "")  # the slot stays as typed; people read it in Chinese
    if not named:
        await remind_me(ctx, when, task)
        ctx.reply(Text(P.REMINDER_SET.format(when=say_when(when, now), task=task)))
        return
    if lead is None or await policy_refused(ctx, lead, "open"):
        return
    customer = lead.customer_name or P.UNNAMED_CUSTOMER
    agreed = lead.next_follow_up_at
    if agreed is not None and agreed > now and abs((agreed - when).total_seconds()) >= 60:
        # a reminder asked for (「发报价」, 「回电」) next to a callback already agreed with the customer: both are
        # kept, the agreed one is never moved by it; at the callback's very minute there is one reminder, the new one
        task = task or "跟进"
        await remind_me(ctx, when, f"{task}（线索 #{lead.id} {customer}）")
        add_activity(await ctx.db(), lead.id, ctx.user.id, "ask_reminder", now, task, due=when.isoformat())
        ctx.reply(Text(P.REMINDER_SET_LEAD.format(when=say_when(when, now), task=task, id=lead.id, customer=customer)
                       + P.CALLBACK_STAYS.format(when=say_when(agreed, now))))
        return
    task = task or "跟进"
    note = await remind_at(ctx, lead, when, task)
    ctx.reply(Text(P.REMINDER_SET_LEAD.format(when=say_when(when, now), task=task, id=lead.id, customer=customer)
                   + note))


# ---------------------------------------------------------------- edits by text

async def _edit_target(ctx: Context, lead_id: int | None, customer: str | None = None,
                       example: str = "预算 50万") -> Lead | None:
    """The lead an edit is about: by number; by the customer named (「把王总的预算改成60万」: the caller's lead of
    that customer, asked which when two fit); else the lead in view (`_lead_in_view`). None after replying."""
    if lead_id is not None:
        return await lead_for(ctx, lead_id)
    session = await ctx.db()
    draft = (await session.execute(select(Lead).where(Lead.created_by == ctx.user.id, Lead.status == "draft")
                                   .order_by(Lead.id.desc()).limit(1))).scalar_one_or_none()
    if customer:
        ids = customer_hits(customer, state_of(ctx))[1]
        if len(ids) == 1:
            return await lead_for(ctx, ids[0])
        if not ids and draft is not None and draft.customer_name and customer_hits(
                customer, State(customers=((draft.id, draft.customer_name),)))[1]:
            return draft  # the customer of the draft still open
        said = f"线索 {ids[0] if ids else 12} {example}"
        if ids:
            ctx.reply(which_lead(P.EDIT_WHICH_CUSTOMER.format(customer=customer, n=len(ids),
                                                              ids="、".join(f"#{i}" for i in ids), example=said),
                                 ids, intent_of(ctx), state_of(ctx)))
        else:
            ctx.reply(Text(P.NO_SUCH_CUSTOMER.format(customer=customer, example=said)))
        return None
    return await _lead_in_view(ctx, draft, example)


async def _lead_in_view(ctx: Context, draft: Lead | None, example: str) -> Lead | None:
    """A bare 「预算 50万」: the lead the rep is looking at — the later shown of the last card's lead (or the lead
    just written about) and the newest open draft; asked which when the last card lists several leads."""
    state = state_of(ctx)
    current, at = state.current_lead, state.current_at
    if state.card_leads and (draft is None or at is None or draft_shown_at(draft) < to_cn(at)):
        ids = list(state.card_leads)
        ctx.reply(which_lead(P.EDIT_WHICH_SHOWN.format(n=len(ids), ids="、".join(f"#{i}" for i in ids)),
                             ids, intent_of(ctx), state))
        return None
    if draft is not None and (current is None or current == draft.id or at is None
                              or draft_shown_at(draft) > to_cn(at)):
        return draft
    if current is None:
        field, _, value = example.partition(" ")
        ctx.reply(Text(P.EDIT_WHICH.format(field=field, value=value)))
        return None
    return await lead_for(ctx, current)


def draft_shown_at(draft: Lead) -> datetime:
    """When the rep last had this draft in front of them: made, or its 「修改」 clicked (`handlers/chat/capture`)."""
    shown = (draft.extra or {}).get("shown_at")
    return max(to_cn(draft.created_at), to_cn(datetime.fromisoformat(shown)) if shown else to_cn(draft.created_at))


@router.intent("edit")
async def edit(ctx: Context, msg: Inbound) -> None:
    slots = intent_of(ctx).slots
    name, raw = slots["field"], slots["value"]
    label = P.FIELD_CN.get(name, name)
    lead = await _edit_target(ctx, slots.get("lead_id"), slots.get("customer"), f"{label} {raw}")
    if lead is None:
        return
    if await policy_refused(ctx, lead, "edit"):  # found by customer name or as the draft in progress
        return
    if name == "follow_up":
        await _edit_follow_up(ctx, lead, raw)
        return
    if name in KEY_FACTS:
        await _edit_key_fact(ctx, lead, name, raw)
        return
    value = await _checked_value(ctx, lead, name, raw)
    if value is None:
        return
    await apply_edit(ctx, lead, name, value)


NEGATIVE = re.compile(r"^\s*(?:[-－−–]|负)\s*[\d一二两三四五六七八九十]")


async def _checked_value(ctx: Context, lead: Lead, name: str, raw: str) -> Any:
    """The value to store, or None after asking (implausible) or refusing (unreadable)."""
    label = P.FIELD_CN.get(name, name)
    # 「5千万」 / 「5e7」 / 「50000000」 by storage's parser first (one amount, one number), then 「三十万」, 「2万5」
    read = reading_pair(raw, t2s(ctx))[1]  # 「八十萬」 is 八十万
    value = (parse_budget(read) or budget_in(read)) if name == "budget_cny" else clean_value(name, raw)
    if name == "budget_cny" and NEGATIVE.match(read):
        value = None  # 「-5万」 is no budget: not read as 5万
    digits = re.sub(r"\D", "", raw)
    if name == "phone" and digits.startswith("1") and len(digits) in (10, 12):  # a digit too many or too few
        ctx.reply(Text(P.EDIT_ASK_PHONE.format(value=raw, n=len(digits))))
        return None
    if name == "phone" and not ((len(digits) == 11 and digits.startswith("1")) or (digits.startswith("0")
                                and 10 <= len(digits) <= 12)):
        value = None
    if value in (None, "", []):
        ctx.reply(Text(P.EDIT_BAD.format(value=raw, field=label)))
        return None
    if name == "budget_cny":  # the cross-check rule itself (handlers/checks): asked here, flagged if kept
        finding = await checks_flags.budget_check(await ctx.db(), lead, value, ctx.settings.checks)
        if finding is not None:
            ctx.reply(Card(title=P.EDIT_ASK_BUDGET.format(reason=finding.reason.removesuffix("，请核实")),
                           buttons=(Button(ConfirmBudget(lead.id, Big(value)).pack(), P.CONFIRM, "primary"),
                                    Button(Cancel().pack(), P.CANCEL))))
            return None
    return value


def yuan(value: int) -> str:
    if value >= 100_000_000:
        return f"{plain_number(value / 100_000_000)}亿"
    return f"{plain_number(value / 10_000)}万" if value >= 10_000 else f"{value}元"


async def apply_edit(ctx: Context, lead: Lead, name: str, value: Any) -> None:
    session, now = await ctx.db(), ctx.now()
    set_field(lead, name, value, "manual", ctx.user.id, now)
    shown = yuan(value) if name == "budget_cny" else "、".join(value) if isinstance(value, list) else str(value)
    if lead.status == "draft":
        await apply_edit_card(ctx, lead)
        return
    add_activity(session, lead.id, ctx.user.id, "edit", now, f"{P.FIELD_CN.get(name, name)}：{shown}")
    lead.last_activity_at = lead.last_activity_at or now
    flags_text = "".join(f"\n{x}" for x in await hooks.after_values(session, lead, now, ctx.settings.checks))
    ctx.reply(Text(P.EDIT_DONE.format(id=lead.id, field=P.FIELD_CN.get(name, name), value=shown) + flags_text))


async def _edit_key_fact(ctx: Context, lead: Lead, name: str, raw: str) -> None:
    """Decision chain, next step, objection: what the rep knows, in their words (kept in `lead.extra`)."""
    session, now, value = await ctx.db(), ctx.now(), raw.strip()[:KEY_FACT_CHARS]
    lead.extra = {**(lead.extra or {}), name: value}
    if lead.status == "draft":
        await apply_edit_card(ctx, lead)
        return
    add_activity(session, lead.id, ctx.user.id, "edit", now, f"{P.FIELD_CN[name]}：{value}")
    flags_text = "".join(f"\n{x}" for x in await hooks.after_values(session, lead, now, ctx.settings.checks))
    ctx.reply(Text(P.EDIT_DONE.format(id=lead.id, field=P.FIELD_CN[name], value=user_text(value)) + flags_text))


KEY_FACT_CHARS = 200


async def _edit_follow_up(ctx: Context, lead: Lead, raw: str) -> None:
    now = ctx.now()
    when = first_future(reading_pair(raw, t2s(ctx))[1], now, await workdays(ctx))
    if when is None:
        ctx.reply(Text(P.EDIT_BAD.format(value=raw, field="回访时间")))
        return
    if lead.status == "draft":
        lead.extra = {**(lead.extra or {}), "follow_up": when.isoformat()}
        await apply_edit_card(ctx, lead)
        return
    note = await remind_at(ctx, lead, when, "回访")
    ctx.reply(Text(P.FOLLOW_UP_TIMED.format(when=say_when(when, now), id=lead.id) + note))


async def apply_edit_card(ctx: Context, draft: Lead) -> None:
    """The draft card again, with what was just changed."""
    session = await ctx.db()
    dups = await draft_duplicates(session, draft)
    await tell_conflicts(ctx, session, draft, dups)  # a corrected phone may reveal a colleague's customer
    ctx.reply(await checked_card(ctx, session, draft, dups))


@router.card_action(ConfirmBudget, lead="edit")
async def confirm_budget(ctx: Context, action: ConfirmBudget, lead: Lead) -> None:
    """The same gate as the typed edit (`edit` below): a lead closed or frozen since the question is refused."""
    ctx.update_card(f"已确认预算 {yuan(action.yuan)}")
    await apply_edit(ctx, lead, "budget_cny", action.yuan)


@router.card_action(Cancel)
async def cancel(ctx: Context, action: Cancel) -> None:
    ctx.update_card(P.CANCELLED)
    ctx.reply(Text(P.CANCELLED))


# ---------------------------------------------------------------- managers and admins

@router.intent("overdue", roles={"manager", "admin"})
async def overdue_list(ctx: Context, msg: Inbound) -> None:
    """The same overdue list the digest counts (handlers/report.py), for the caller's team."""
    now = ctx.now()
    async with ctx.services.db.session() as session:
        report = await compute_report(session, None if ctx.user.is_admin else ctx.user.id, now - DIGEST_WINDOW,
                                      now, ctx.settings.reminders)
    items = sorted(((o, rep.name) for rep in report.reps for o in rep.overdue), key=lambda p: (p[0].due, p[0].lead_id))
    if not items:
        ctx.reply(Text(P.OVERDUE_NONE))
        return
    lines = [f"{o.label}（{name}）{o.what} · 应在 {fmt_cn(o.due)} 前" for o, name in items[:20]]
    if len(items) > 20:
        lines.append(f"……还有 {len(items) - 20} 条")
    buttons = tuple(Button(ViewLead(o.lead_id).pack(), f"#{o.lead_id}") for o, _ in items[:3])
    ctx.reply(Card(title=P.OVERDUE_TITLE.format(n=len(items)), description="\n".join(lines), buttons=buttons,
                   note="可回复「接手 编号」「改派 编号 姓名」「延期 编号 2天 原因」"))


@router.intent("takeover", roles={"manager", "admin"})
async def takeover(ctx: Context, msg: Inbound) -> None:
    lead = await lead_gate(ctx, intent_of(ctx).slots.get("lead_id"), "manage", "接手 12")
    if lead is None:
        return
    ctx.apply(await manage.take_over(await ctx.db(), ctx.user, lead, ctx.now(), ctx.settings.reminders))


@router.card_action(UndoHandover, roles={"manager", "admin"})
async def undo_handover(ctx: Context, action: UndoHandover) -> None:
    """撤销 under a typed 接手 / 改派: the lead goes back to its owner before, if nothing moved it since and it is
    within the window."""
    lead_id, at, new_owner, previous = action.lead_id, action.at, action.new_owner, action.previous
    lead = await lead_for(ctx, lead_id)
    if lead is None:
        return
    session, now = await ctx.db(), ctx.now()
    if (lead.owner_id != new_owner or lead.status not in ("active", "dormant")
            or now.timestamp() - at > view.UNDO_MINUTES * 60 or await find_person(session, previous) is None):
        ctx.update_card(P.UNDO_TOO_LATE.format(id=lead.id))
        ctx.reply(Text(P.UNDO_TOO_LATE.format(id=lead.id)))
        return
    name = (await user_names(session, [previous])).get(previous, "")
    what = "接手" if new_owner == ctx.user.id else "改派"
    await change_owner(session, lead, previous, ctx.user.id, now, ctx.settings.reminders,
                       reason=f"{ctx.user.name} 撤销了刚才的{what}，线索回到 {name} 名下", kind="undo")
    text = P.UNDONE.format(id=lead.id, who=user_text(name))
    ctx.update_card(text)
    ctx.reply(Text(text))
    ctx.send(previous, Text(P.BACK_TO_YOU.format(id=lead.id, customer=messages.lead_name(lead))),
             key=f"undo:{lead.id}:{now.isoformat()}")
    if new_owner not in (previous, ctx.user.id):
        told = P.HANDOVER_UNDONE.format(label=messages.lead_label(lead), by=user_text(ctx.user.name))
        ctx.send(new_owner, Text(told), key=f"undo-new:{lead.id}:{now.isoformat()}")


@router.card_action(UndoFrozen)
async def undo_unfreeze(ctx: Context, action: UndoFrozen) -> None:
    """撤销 under a 接手 / 改派 of a frozen lead: frozen in the pool again, its escalation open. Only whoever
    settled the escalation may (reminders/actions.undo), whatever their role, as on the freeze card itself."""
    if ctx.now().timestamp() - action.at > view.UNDO_MINUTES * 60:
        text = P.UNDO_TOO_LATE.format(id=action.lead_id)
        ctx.update_card(text)
        ctx.reply(Text(text))
        return
    ctx.apply(await undo_frozen(await ctx.db(), ctx.user, action.lead_id, action.rid, ctx.now(),
                                timedelta(minutes=view.UNDO_MINUTES), ctx.settings.reminders))


UNDO_KEYS = (UndoHandover.key_prefix(), UndoFrozen.key_prefix())


@router.intent("undo")
async def undo_typed(ctx: Context, msg: Inbound) -> None:
    """A typed 「撤销」: the 撤销 button of the caller's last 接手 / 改派 card still inside the window, as if clicked
    (a rep has none: told so)."""
    since = ctx.now() - timedelta(minutes=view.UNDO_MINUTES)
    o = table_of(OutboxMessage).c
    rows = (await (await ctx.db()).execute(
        select(o.payload).where(o.recipient == ctx.msg.user_id, o.kind == "card", o.created_at >= since)
        .order_by(o.id.desc()).limit(20))).scalars()
    for payload in rows:
        card = body_from_json(payload)
        key = next((b.key for b in card.buttons if b.key.startswith(UNDO_KEYS)), None) if isinstance(card, Card) \
            else None
        if key is not None:
            await run_as(ctx, replace(msg, kind="click", text="", click_key=key))
            return
    ctx.reply(Text(P.NOTHING_TO_UNDO.format(minutes=view.UNDO_MINUTES)))


async def find_person(session: Any, who: str | None) -> User | None:
    """An active person by id or name."""
    if not who:
        return None
    who = who.strip().lstrip("@")
    return (await session.execute(select(User).where((User.id == who) | (User.name == who), User.active.is_(True))
                                  .order_by(User.id).limit(1))).scalar_one_or_none()


@router.intent("offboard", roles={"admin"})
async def offboard_ask(ctx: Context, msg: Inbound) -> None:
    """「离职 rep01 交给 rep02」: one confirm click, then the same handover as `org offboard`."""
    slots, session = intent_of(ctx).slots, await ctx.db()
    leaving, taking = await find_person(session, slots.get("user")), await find_person(session, slots.get("to"))
    if leaving is None:
        ctx.reply(Text(P.NOT_IN_TEAM.format(who=slots["user"]) if slots.get("user") else P.OFFBOARD_USAGE))
        return
    if taking is None:
        ctx.reply(Text(P.OFFBOARD_NEED_TO.format(who=leaving.name) if not slots.get("to")
                       else P.NOT_IN_TEAM.format(who=slots["to"])))
        return
    if taking.id == leaving.id:
        ctx.reply(Text(P.OFFBOARD_NEED_TO.format(who=leaving.name)))
        return
    if (why := await offboard_refusal(session, leaving)) is not None:
        ctx.reply(Text(why))
        return
    leads = await handed_over(session, leaving.id)
    kinds = [(sum(lead.status == s for lead in leads), word) for s, word in (("frozen", P.OFFBOARD_FROZEN),
                                                                             ("draft", P.OFFBOARD_DRAFTS))]
    of = "、".join(word.format(n=k) for k, word in kinds if k)
    ctx.reply(Card(title=P.OFFBOARD_ASK.format(who=leaving.name, n=len(leads), to=taking.name,
                                               of=f"（其中 {of}）" if of else ""),
                   buttons=(Button(ConfirmOffboard(leaving.id, taking.id).pack(), P.CONFIRM, "danger"),
                            Button(Cancel().pack(), P.CANCEL))))


@router.card_action(ConfirmOffboard, roles={"admin"})
async def offboard_confirmed(ctx: Context, action: ConfirmOffboard) -> None:
    session, now = await ctx.db(), ctx.now()
    leaving = await find_person(session, action.leaving)
    taking = await find_person(session, action.taking)
    if leaving is None or taking is None:
        ctx.update_card("已处理")
        ctx.reply(Text("这位同事已经交接过了。"))
        return
    handover = await offboard_with_handover(session, leaving.id, taking.id, now, ctx.settings.reminders,
                                            actor_id=ctx.user.id)
    text = P.OFFBOARD_DONE.format(who=leaving.name, n=len(handover.leads), to=taking.name)
    ctx.update_card(text)
    ctx.reply(Text(text))
    notice = handover.notice(taking.id, now)  # as `org offboard`
    if notice is not None:
        ctx.send(notice.to, notice.body, key=notice.dedup_key)
