"""Optional LLM assist for low-confidence OCR extractions ([llm], off by default).

The chat goes to the configured OpenAI-compatible model as speaker-labelled lines (客户 / 销售 / 时间), and
the model answers JSON with the lead fields. A value is kept only when it passes the extractor's own rules
and is grounded: it appears in the customer's own words (or the title bar), and a follow-up time is one the
chat names and not in the past. It only fills fields the heuristics left unknown; confidence is recomputed.
Any failure leaves the extraction as it was.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import CN_TZ, to_cn
from bot.config import LlmSettings
from bot.llm import complete
from ocr.extract import AMOUNT, EMAIL, LeadFields, amount_of, chat_times, normalise_phone, overall_confidence

if TYPE_CHECKING:
    from bot.llm import Message


log = logging.getLogger(__name__)
LOW_CONFIDENCE = 0.6
LLM_CONFIDENCE = 0.5  # what a field filled by the model is worth
TEXT_FIELDS = ("customer_name", "company", "title", "wechat_id")
SPEAKER = {"title": "聊天标题", "time": "时间", "left": "客户", "right": "销售", "page": "文本"}

SYSTEM = (
    "你从销售与客户的聊天记录 OCR 文本中提取客户信息。每行以说话人开头：「客户：」是客户说的，"
    "「销售：」是销售本人说的，「聊天标题：」是聊天窗口标题，「时间：」是聊天里显示的时间。只提取客户本人的信息，不要提取销售自己的或转介绍人的。"
    "只输出 JSON 对象，键为 customer_name, company, title, phone, email, wechat_id, budget_cny（整数，单位元）, "
    "needs（字符串数组）, follow_up（ISO 8601，带 +08:00）。文本里没有的值一律为 null，不要猜。"
)


def transcript(fields: LeadFields) -> str:
    """One line per bubble, each labelled with who said it."""
    if not fields.dialogue:
        return fields.text
    return "\n".join(f"{SPEAKER.get(kind, kind)}：{' '.join(text.split())}" for kind, text, _ in fields.dialogue)


def build_messages(text: str, now: datetime) -> list[Message]:
    user = f"当前时间：{to_cn(now).isoformat(timespec='minutes')}\n聊天记录：\n{text[:6000]}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_·.,，。:：()（）+]", "", text).lower()


@dataclasses.dataclass(frozen=True)
class _Evidence:
    """What the customer side of the chat actually says, normalised for look-ups."""

    words: str
    digits: str
    amounts: frozenset[int]
    times: tuple[datetime, ...]


def _evidence(fields: LeadFields, now: datetime) -> _Evidence:
    if fields.dialogue:
        own = [f"{t}\n{latin}" for kind, t, latin in fields.dialogue if kind in ("left", "title")]
        times = tuple(f.when for f in chat_times(fields.dialogue, now))
    else:  # no chat layout: the plain text is all there is
        own, times = [fields.text], ()
    raw = "\n".join(own)
    amounts = frozenset(v for m in AMOUNT.finditer(raw)
                        if (v := amount_of(m)))
    return _Evidence(_norm(raw), re.sub(r"\D", "", raw), amounts, times)


def validated(raw: dict[str, Any], ev: _Evidence, now: datetime) -> dict[str, Any]:
    """Only values that pass the extractor's rules and appear in the customer's words; the rest is dropped."""
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and 1 <= len(value.strip()) <= 64 and _norm(value) in ev.words:
            out[name] = value.strip()
    phone = normalise_phone(str(raw.get("phone") or ""))
    if phone and phone in ev.digits:
        out["phone"] = phone
    email = raw.get("email")
    if isinstance(email, str) and EMAIL.fullmatch(email.strip()) and _norm(email) in ev.words:
        out["email"] = email.strip().lower()
    budget = raw.get("budget_cny")
    if isinstance(budget, int | float) and not isinstance(budget, bool) and int(budget) in ev.amounts:
        out["budget_cny"] = int(budget)
    needs = raw.get("needs")
    if isinstance(needs, list):
        kept = tuple(n.strip() for n in needs if isinstance(n, str) and 0 < len(n.strip()) <= 20
                     and _norm(n) in ev.words)[:8]
        if kept:
            out["needs"] = kept
    when = _follow_up(raw.get("follow_up"), ev, now)
    if when is not None:
        out["follow_up"] = when
    return out


def _follow_up(value: object, ev: _Evidence, now: datetime) -> datetime | None:
    """A future time on a day the chat itself names (the model may read the hour the parser missed)."""
    if not isinstance(value, str) or not re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", value):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=CN_TZ)
    if when <= now or when > now + timedelta(days=366):
        return None
    days = {to_cn(t).date() for t in ev.times}
    return when if to_cn(when).date() in days else None


async def assist(fields: LeadFields, settings: LlmSettings, now: datetime) -> LeadFields:
    """Fill unknown fields of a low-confidence lead from the model; unchanged when off or failing."""
    if not settings.enabled or not fields.is_lead or fields.confidence >= LOW_CONFIDENCE or not fields.text:
        return fields
    reply = await complete(settings, build_messages(transcript(fields), now), max_tokens=400, json_mode=True)
    try:
        raw = json.loads(reply or "")
    except json.JSONDecodeError:
        log.warning("llm assist: reply was not JSON")
        return fields
    if not isinstance(raw, dict):
        return fields
    checked = validated(raw, _evidence(fields, now), now)
    filled = {k: v for k, v in checked.items() if getattr(fields, k) in (None, ())}
    if not filled:
        return fields
    field_confidence = dict(fields.field_confidence) | {k: LLM_CONFIDENCE for k in filled}
    log.info("llm assist filled %s", sorted(filled))
    return dataclasses.replace(fields, **filled, field_confidence=field_confidence,
                               confidence=overall_confidence(field_confidence, fields.is_lead))
