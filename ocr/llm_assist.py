"""Optional LLM assist for low-confidence OCR extractions ([llm], off by default).

The OCR text goes to the configured OpenAI-compatible model, which answers JSON with the lead fields.
Every value is validated with the same rules as the heuristic extractor; it only fills fields the
heuristics left unknown and never overrides them. Any failure leaves the extraction as it was.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from datetime import datetime
from typing import Any

from bot.clock import CN_TZ, to_cn
from bot.config import LlmSettings
from bot.llm import complete
from ocr.extract import EMAIL, LeadFields, normalise_phone

log = logging.getLogger(__name__)
LOW_CONFIDENCE = 0.6
LLM_CONFIDENCE = 0.5  # what a field filled by the model is worth
TEXT_FIELDS = ("customer_name", "company", "title", "wechat_id")

SYSTEM = (
    "你从销售与客户的聊天记录 OCR 文本中提取客户信息。只提取客户本人的信息，不要提取销售自己的或转介绍人的。"
    "只输出 JSON 对象，键为 customer_name, company, title, phone, email, wechat_id, budget_cny（整数，单位元）, "
    "needs（字符串数组）, follow_up（ISO 8601，带 +08:00）。文本里没有的值一律为 null，不要猜。"
)


def build_messages(text: str, now: datetime) -> list[dict[str, str]]:
    user = f"当前时间：{to_cn(now).isoformat(timespec='minutes')}\nOCR 文本：\n{text[:6000]}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def validated(raw: dict[str, Any]) -> dict[str, Any]:
    """Only values that pass the extractor's own rules; everything else is dropped."""
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and 1 <= len(value.strip()) <= 64:
            out[name] = value.strip()
    phone = normalise_phone(str(raw.get("phone") or ""))
    if phone:
        out["phone"] = phone
    email = raw.get("email")
    if isinstance(email, str) and EMAIL.fullmatch(email.strip()):
        out["email"] = email.strip()
    budget = raw.get("budget_cny")
    if isinstance(budget, int | float) and not isinstance(budget, bool) and 0 < budget < 10**11:
        out["budget_cny"] = int(budget)
    needs = raw.get("needs")
    if isinstance(needs, list):
        out["needs"] = tuple(n.strip() for n in needs if isinstance(n, str) and 0 < len(n.strip()) <= 20)[:8]
    follow = raw.get("follow_up")
    if isinstance(follow, str) and re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", follow):
        try:
            when = datetime.fromisoformat(follow)
            out["follow_up"] = when if when.tzinfo else when.replace(tzinfo=CN_TZ)
        except ValueError:
            pass
    return out


async def assist(fields: LeadFields, settings: LlmSettings, now: datetime) -> LeadFields:
    """Fill unknown fields of a low-confidence lead from the model; unchanged when off or failing."""
    if not settings.enabled or not fields.is_lead or fields.confidence >= LOW_CONFIDENCE or not fields.text:
        return fields
    reply = await complete(settings, build_messages(fields.text, now), max_tokens=400, json_mode=True)
    try:
        raw = json.loads(reply or "")
    except json.JSONDecodeError:
        log.warning("llm assist: reply was not JSON")
        return fields
    if not isinstance(raw, dict):
        return fields
    filled = {k: v for k, v in validated(raw).items() if getattr(fields, k) in (None, ())}
    if not filled:
        return fields
    confidence = dict(fields.field_confidence) | {k: LLM_CONFIDENCE for k in filled}
    log.info("llm assist filled %s", sorted(filled))
    return dataclasses.replace(fields, **filled, field_confidence=confidence)
