"""LLM assist for low-confidence OCR leads, against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime

from bot.clock import CN_TZ
from bot.config import LlmSettings
from ocr.extract import LeadFields
from ocr.llm_assist import assist
from tests.fakes.openai_api import running_fake_openai

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
WEAK = LeadFields(customer_name="王强", phone="13812345678", confidence=0.4, is_lead=True,
                  text="王强: 我们是华东医疗 预算五十万左右 电话13812345678 明天下午三点再聊")


def llm(base_url: str) -> LlmSettings:
    return LlmSettings(enabled=True, base_url=base_url, api_key="k", model="m", timeout_s=2.0)


async def test_fills_only_unknown_fields_with_valid_values() -> None:
    reply = {"customer_name": "李四", "company": "华东医疗", "phone": "12345", "budget_cny": 500000,
             "email": "not-an-email", "follow_up": "2026-11-24T15:00:00+08:00", "needs": ["CRM", 7]}
    async with running_fake_openai(json.dumps(reply, ensure_ascii=False)) as fake:
        out = await assist(WEAK, llm(fake.base_url), NOW)
    assert out.customer_name == "王强"  # heuristics win
    assert out.company == "华东医疗" and out.budget_cny == 500000 and out.needs == ("CRM",)
    assert out.phone == "13812345678" and out.email is None
    assert out.follow_up == datetime(2026, 11, 24, 15, 0, tzinfo=CN_TZ)
    assert out.field_confidence["company"] == 0.5
    body = fake.requests[0]["body"]
    assert body["response_format"] == {"type": "json_object"} and "华东医疗" in body["messages"][1]["content"]


async def test_not_called_when_confident_or_disabled_and_garbage_ignored() -> None:
    async with running_fake_openai("this is not json") as fake:
        confident = LeadFields(customer_name="王强", confidence=0.9, is_lead=True, text="x")
        assert await assist(confident, llm(fake.base_url), NOW) is confident
        off = LlmSettings(enabled=False, base_url=fake.base_url)
        assert await assist(WEAK, off, NOW) is WEAK
        assert fake.requests == []
        assert await assist(WEAK, llm(fake.base_url), NOW) is WEAK  # not JSON → unchanged
        assert len(fake.requests) == 1


async def test_server_error_leaves_fields_unchanged() -> None:
    async with running_fake_openai("{}") as fake:
        fake.status = 500
        assert await assist(WEAK, llm(fake.base_url), NOW) is WEAK
