"""Optional: when the rules read a message as a knowledge question, ask an OpenAI-compatible model whether it
is one of the bot's own commands instead. The model answers with JSON drawn from the schema below; the answer
is validated field by field and anything else is ignored (the rules' reading stands). Off unless
`[llm] enabled` and `[llm] intent` are both on; a timeout or invalid output changes nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.config import LlmSettings
from bot.llm import complete
from handlers.intent import Intent

log = logging.getLogger(__name__)

MAX_TEXT = 300  # longer messages are notes or questions; not worth a model call

# intent → its slots and their types; the model may only answer with these.
SCHEMA: dict[str, dict[str, type]] = {
    "knowledge": {},
    "greeting": {}, "thanks": {}, "help": {},
    "my_leads": {}, "lead_show": {"lead_id": int},
    "lead_new": {"text": str},
    "follow_up": {"lead_id": int, "note": str},
    "reminder": {"when": str, "task": str, "lead_id": int, "customer": str},
    "edit": {"lead_id": int, "field": str, "value": str},
    "stage": {"lead_id": int, "stage": str},
    "won": {"lead_id": int, "reason": str}, "lost": {"lead_id": int, "reason": str},
    "overdue": {}, "team_leads": {"filter": str}, "takeover": {"lead_id": int},
    "reassign": {"lead_id": int, "assignee": str, "reason": str},
    "extend": {"lead_id": int, "span": str, "reason": str},
    "offboard": {"user": str, "to": str}, "kb_import": {},
    "renewals": {}, "ramp": {}, "console": {}, "flags": {},
}
FIELDS = ("customer_name", "company", "title", "phone", "email", "wechat_id", "budget_cny", "needs", "industry",
          "region", "product_line", "follow_up")

PROMPT = (
    "你是销售助手机器人的指令识别器。用户是{role}。判断下面这条消息是机器人的哪个指令；只是在问销售话术或知识时，"
    "intent 为 knowledge。只输出 JSON：{{\"intent\": 名称, \"slots\": {{…}}}}。可选指令及参数：\n{schema}\n"
    "edit 的 field 只能是：{fields}。不确定时输出 {{\"intent\": \"knowledge\", \"slots\": {{}}}}。"
)
ROLE_CN = {"rep": "销售", "manager": "主管", "admin": "管理员"}


def _schema_text() -> str:
    return "\n".join(f"- {name}: {', '.join(f'{k}({t.__name__})' for k, t in slots.items()) or '无参数'}"
                     for name, slots in SCHEMA.items())


async def ask_model(settings: LlmSettings, text: str, role: str) -> Intent | None:
    """The model's validated reading of `text`, or None (disabled, slow, failing, or not a valid answer)."""
    if not (settings.enabled and settings.intent) or len(text) > MAX_TEXT:
        return None
    system = PROMPT.format(role=ROLE_CN.get(role, "销售"), schema=_schema_text(), fields="、".join(FIELDS))
    raw = await complete(settings, [{"role": "system", "content": system}, {"role": "user", "content": text}],
                         max_tokens=200, json_mode=True)
    return validate(raw, text)


def validate(raw: str | None, text: str) -> Intent | None:
    """The model's JSON as an Intent, only when every part of it fits the schema."""
    try:
        data = json.loads(raw or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("intent") not in SCHEMA:
        return None
    name, given = data["intent"], data.get("slots") or {}
    if not isinstance(given, dict):
        return None
    slots: dict[str, Any] = {}
    for key, kind in SCHEMA[name].items():
        value = given.get(key)
        if value is None or value == "":
            continue
        if kind is int and isinstance(value, str) and value.strip().lstrip("#").isdigit():
            value = int(value.strip().lstrip("#"))
        if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, str) and len(value) > 200):
            return None
        slots[key] = value
    if name == "edit" and (slots.get("field") not in FIELDS or "value" not in slots):
        return None
    return Intent(name, slots, text)
