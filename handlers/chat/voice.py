"""Voice visit notes: a voice message is a 跟进 summary said aloud.

The words come from the channel (DingTalk sends its own recognition) or from `[asr]` (WeCom AMR, bot/asr.py).
They go to the lead the rep names (线索 12 / 12号客户 / the customer's name) or, when none is named, to the
lead of the last card this conversation showed; when neither is clear the rep picks one on a card (the words
wait in a key-value row for ten minutes; each card's buttons name their own note). From there it is the typed
跟进: the same insight mining, checks, and a time it names becomes the next follow-up with its reminder
(handlers/chat/leads.record_follow_up).

Every refusal (too long, silent, damaged, the transcription service slow or failing, transcription off)
is one short reply and a log line, before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import VoiceTo
from bot.asr import VoiceError, voice_to_text
from bot.context import Context
from bot.messages import Button, Card, Inbound, Text
from bot.router import Router
from bot.usertext import user_text
from handlers.chat.front import load_state, t2s
from handlers.chat.leads import insight_miner, record_follow_up
from handlers.intent import named_leads
from handlers.leads.chat_gate import lead_gate
from handlers.leads.rules import company_named, empty_note, names_someone_else
from handlers.renewals.locks import locked_text
from reminders.renewal_hold import lock_on
from storage.leads import OPEN_STATUSES
from storage.models import KeyValue, Lead, RenewalWarning
from storage.sql import insert_ignore, rowcount

log = logging.getLogger(__name__)
router: Router[Context] = Router("voice")

WAIT = timedelta(minutes=10)
MAX_CHARS = 2000
CHOICES = 3

HEARD = "🎙 语音记录：「{text}」"
TOO_LONG = "这条语音{n}超过了 {limit} 秒的上限，没有记录。请分成几条短语音发送，或直接发文字「跟进 编号 摘要」。"
FAILED: dict[str, str] = {
    "silent": "这条语音没有听到说话声，没有记录。请靠近话筒再录一次。",
    "corrupt": "这条语音文件无法读取（可能已损坏），没有记录。请重新录一条，或直接发文字。",
    "empty": "没听清这条语音说了什么，没有记录。请再说一遍，或直接发文字。",
    "timeout": "语音转写服务暂时没有响应，这条语音没有记录。请稍后重发，或直接发文字「跟进 编号 摘要」。",
    "failed": "语音转写服务出错了，这条语音没有记录。请稍后重发，或直接发文字「跟进 编号 摘要」。",
    "no_ffmpeg": "服务器暂时无法解码语音，这条没有记录，已通知管理员处理。请先发文字「跟进 编号 摘要」。",
}
NOT_RECEIVED = "语音没有收到（下载失败），请重新发送。"
ASR_OFF_FIRST = ("收到语音 🎙 但语音转写还没有开启，这条没有记录。\n"
                 "开启方法：请管理员在系统配置中打开「语音转写」并填写转写服务的地址和密钥，之后直接发语音就能记跟进。\n"
                 "在此之前请发文字，例如「跟进 12 已拜访，客户关心价格，周四下午再约」。")
ASR_OFF_AGAIN = "语音转写未开启，这条语音没有记录，请发文字跟进。"
SHOWN_LEAD = "📌 没听到线索编号，记到了刚才查看的线索 #{id}（{customer}）。"
WHICH = "这段语音记到哪条线索？"
WHICH_NOTE = "也可以重发语音并说出线索编号，例如「线索 12，……」"
NO_LEADS = "你还没有进行中的线索，这段语音没有记下。请先录入线索（发截图或「新线索 …」），再发语音跟进。"
EMPTY = "没听到具体内容，这段没有记下。请说说见了谁、聊了什么、下一步怎么安排，再发一次。"
OTHER = "提到了「{name}」，和刚才查看的线索对不上，先不记。请选要记到的线索；如果是新客户，请先发「新线索 …」录入。"
NEW_CUSTOMER = "说的像是一位新客户，没有记到刚才查看的线索。请选要记到的线索；如果是新客户，请先发「新线索 …」录入。"
# 「见了一个新客户」, 「新认识一位客户」: a customer the note does not name and no lead holds yet.
TALKS_OF_NEW = re.compile(r"新客户|新的客户|新认识|新接触|一(?:个|位|家)(?:新)?客户")
EXPIRED = "这段语音已超过 10 分钟没有指定线索，请重新发送。"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} 分钟" if seconds >= 90 else f"{seconds:.0f} 秒"


def _wait_key(user_id: str, note: str) -> str:
    return f"voice_wait:{user_id}:{note}"


@router.voice()
async def voice_note(ctx: Context, msg: Inbound) -> None:
    asr = ctx.settings.asr
    if msg.seconds is not None and msg.seconds > asr.max_seconds:
        log.warning("voice note from %s not recorded: %.0f s, over the %d s limit", ctx.user.id, msg.seconds,
                    asr.max_seconds)
        ctx.reply(Text(TOO_LONG.format(n=f"约 {_minutes(msg.seconds)}，", limit=asr.max_seconds)))
        return
    text = msg.text or await _transcribe(ctx, msg)
    if not text:
        return
    text = text[:MAX_CHARS]
    if empty_note(text):  # 「嗯」: nothing to record, and a junk contact would hide an at-risk account
        ctx.reply(Text(f"{HEARD.format(text=user_text(text))}\n{EMPTY}"))
        return
    state = await load_state(ctx)  # its own short read
    ids, said = named_leads(text, state, t2s(ctx))
    if await _locked_reply(ctx, text, ids):
        return
    lead_id = ids[0] if len(ids) == 1 else (state.current_lead if not ids else None)
    other = await _someone_else(ctx, text, lead_id) if not ids and lead_id is not None else None
    if lead_id is None or other is not None:
        await _ask(ctx, text, ids, hashlib.sha1(msg.msg_id.encode()).hexdigest()[:10], other)
        return
    insights = await insight_miner(ctx.services).mine_async(text)  # slow work before the transaction
    heard = Text(HEARD.format(text=user_text(text)))
    lead = await lead_gate(ctx, lead_id, "open", "线索 12")
    if lead is None:  # the gate said why; the words are not lost
        ctx.reply(heard)
        return
    reply = await record_follow_up(ctx, lead, text, insights, source="voice", said=said, keep_callback=not ids)
    where = "" if ids else "\n" + SHOWN_LEAD.format(id=lead.id, customer=user_text(lead.customer_name or "未留名客户"))
    ctx.reply(Text(f"{heard.text}{where}\n{reply}"))


async def _locked_reply(ctx: Context, text: str, named: list[int]) -> bool:
    """A note about a customer held by a 续约预警 lock — the one open lead it names, or (naming none) the account
    under the lock, a won lead, by its customer or company — gets one reply: the words and why nothing was
    recorded. True when replied."""
    session = await ctx.db()
    candidates: list[Lead] = []
    if len(named) == 1:
        lead = await session.get(Lead, named[0])
        candidates = [lead] if lead is not None else []
    elif not named:
        accounts = await session.execute(select(Lead).join(RenewalWarning, RenewalWarning.lead_id == Lead.id).where(
            RenewalWarning.locked.is_(True), RenewalWarning.owner_id == ctx.user.id).order_by(RenewalWarning.id))
        candidates = [lead for lead in accounts.scalars()
                      if (lead.customer_name and lead.customer_name in text) or company_named(text, lead.company)]
    for lead in candidates:
        warning = await lock_on(session, ctx.user.id, lead)
        if warning is not None:
            log.info("voice note from %s not recorded: lead %d is locked by renewal warning %d", ctx.user.id,
                     lead.id, warning.id)
            ctx.reply(Text(f"{HEARD.format(text=user_text(text))}\n{await locked_text(session, warning, lead)}"))
            return True
    return False


async def _transcribe(ctx: Context, msg: Inbound) -> str | None:
    """The words of a voice note the channel sent without them; None after replying why not."""
    asr = ctx.settings.asr
    if not asr.enabled:
        await _tell_asr_off(ctx)
        return None
    if msg.data is None:
        log.warning("voice note from %s not received: %s", ctx.user.id, msg.data_error)
        ctx.reply(Text(NOT_RECEIVED))
        return None
    try:
        return await voice_to_text(asr, msg.data, ctx.services.engines)
    except VoiceError as exc:
        level = logging.ERROR if exc.kind == "no_ffmpeg" else logging.WARNING
        log.log(level, "voice note from %s (%d bytes) not recorded: %s", ctx.user.id, len(msg.data), exc)
        if exc.kind == "too_long":
            # an AMR's frames give its length; decoding another format stops a second past the limit (length unknown)
            known = exc.seconds is not None and exc.seconds > asr.max_seconds + 1.5
            ctx.reply(Text(TOO_LONG.format(n=f"约 {_minutes(exc.seconds or 0)}，" if known else "",
                                           limit=asr.max_seconds)))
        else:
            ctx.reply(Text(FAILED[exc.kind]))
        return None


async def _tell_asr_off(ctx: Context) -> None:
    """How to turn transcription on, said once to each person; afterwards one short line."""
    session, now = await ctx.db(), ctx.now()
    told = await session.execute(insert_ignore(session, KeyValue).values(
        key=f"voice:asr_off_told:{ctx.user.id}", value={"at": now.isoformat()}, updated_at=now))
    first = rowcount(told) > 0
    log.info("voice note from %s not recorded: [asr] is off (%s)", ctx.user.id, "told how" if first else "again")
    ctx.reply(Text(ASR_OFF_FIRST if first else ASR_OFF_AGAIN))


async def _someone_else(ctx: Context, text: str, lead_id: int) -> str | None:
    """Why the note is not about the recently viewed lead (the fallback) — it names another company or person,
    or speaks of a new customer (「见了一个新客户」) without naming the lead's — else None."""
    lead = await (await ctx.db()).get(Lead, lead_id)
    if lead is None:
        return None
    if (other := names_someone_else(text, lead)) is not None:
        return OTHER.format(name=user_text(other))
    if TALKS_OF_NEW.search(text) and not (lead.customer_name and lead.customer_name in text):
        return NEW_CUSTOMER
    return None


async def _ask(ctx: Context, text: str, named: list[int], note: str, other: str | None = None) -> None:
    """Which lead? The leads the note names, else the rep's most recently worked open leads, as buttons; `other`:
    why the note is not the recently viewed lead's (it may need a new lead)."""
    session, now = await ctx.db(), ctx.now()
    stmt = select(Lead).where(Lead.owner_id == ctx.user.id, Lead.status.in_(list(OPEN_STATUSES)))
    if named:
        stmt = stmt.where(Lead.id.in_(named))
    leads = list((await session.execute(
        stmt.order_by(Lead.last_activity_at.desc().nulls_last(), Lead.id.desc()).limit(CHOICES))).scalars())
    heard = HEARD.format(text=user_text(text))
    if other is not None:
        heard += "\n" + other
    if not leads:
        ctx.reply(Text(f"{heard}\n{NO_LEADS}"))
        return
    await _keep(session, ctx.user.id, note, text, now)
    buttons = tuple(Button(VoiceTo(lead.id, note).pack(),
                           f"#{lead.id} {user_text(lead.customer_name or '未留名客户')}") for lead in leads)
    ctx.reply(Card(title=WHICH, description=heard, buttons=buttons, note=WHICH_NOTE))


async def _keep(session: AsyncSession, user_id: str, note: str, text: str, now: datetime) -> None:
    """The words wait for the rep's pick; this person's notes left unpicked past the wait are dropped."""
    await session.execute(delete(KeyValue).where(KeyValue.key.like(f"voice_wait:{user_id}:%"),
                                                 KeyValue.updated_at < now - WAIT))
    session.add(KeyValue(key=_wait_key(user_id, note), value={"text": text, "until": (now + WAIT).isoformat()},
                         updated_at=now))


async def _waiting(ctx: Context, note: str) -> str | None:
    """The note waiting for its lead (a short separate read; no lock held)."""
    async with ctx.services.db.session() as session:
        row = await session.get(KeyValue, _wait_key(ctx.user.id, note))
        if row is None or datetime.fromisoformat(row.value.get("until", "1970-01-01T00:00:00+00:00")) < ctx.now():
            return None
        return str(row.value.get("text") or "") or None


@router.card_action(VoiceTo)
async def click_voice_to(ctx: Context, action: VoiceTo) -> None:
    text = await _waiting(ctx, action.note)
    if text is None:
        ctx.update_card("已处理")
        ctx.reply(Text(EXPIRED))
        return
    insights = await insight_miner(ctx.services).mine_async(text)  # slow work before the transaction
    lead = await lead_gate(ctx, action.lead_id, "open", "线索 12")
    if lead is None:
        return
    session = await ctx.db()
    row = await session.get(KeyValue, _wait_key(ctx.user.id, action.note))
    if row is not None:
        await session.delete(row)
    ctx.update_card(f"已记到线索 #{lead.id}")
    ctx.reply(Text(await record_follow_up(ctx, lead, text, insights, source="voice")))
