"""LLM assist for low-confidence OCR leads, against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from bot.clock import CN_TZ
from bot.config import LlmSettings
from ocr.engine import ChatText, TextRegion
from ocr.extract import LeadFields, extract
from ocr.llm_assist import assist
from ocr.people import NAMES as NAMES_ENGINE
from tests.conftest import ENGINES
from tests.fakes.openai_api import running_fake_openai

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)


def chat(*items: tuple[str, str]) -> LeadFields:
    return extract(ChatText(tuple(TextRegion(kind, text) for kind, text in items), True), NOW, names=NAMES)


WEAK = chat(("title", "王强"), ("left", "我们是华东医疗 预算五十万左右 想看看crm"), ("right", "好的王总"),
            ("left", "电话13812345678 明天下午三点再聊"))


def llm(base_url: str) -> LlmSettings:
    return LlmSettings(enabled=True, base_url=base_url, api_key="k", model="m", timeout_s=2.0)


async def test_fills_only_unknown_fields_with_values_found_in_the_customer_text() -> None:
    weak = dataclasses.replace(WEAK, company=None, budget_cny=None, follow_up=None, needs=(),
                                 confidence=0.4)
    reply = {"customer_name": "李四", "company": "华东医疗", "phone": "12345", "budget_cny": 500000,
             "email": "not-an-email", "follow_up": "2026-11-24T15:00:00+08:00", "needs": ["CRM", 7]}
    async with running_fake_openai(json.dumps(reply, ensure_ascii=False)) as fake:
        out = await assist(weak, llm(fake.base_url), NOW)
    assert out.customer_name == "王强"  # heuristics win
    assert out.company == "华东医疗" and out.budget_cny == 500000 and out.needs == ("CRM",)
    assert out.phone == "13812345678" and out.email is None
    assert out.follow_up == datetime(2026, 11, 24, 15, 0, tzinfo=CN_TZ)
    assert out.field_confidence["company"] == 0.5 and out.confidence != weak.confidence
    body = fake.requests[0]["body"]
    assert body["response_format"] == {"type": "json_object"}
    sent = body["messages"][1]["content"]
    assert "客户：我们是华东医疗" in sent and "销售：好的王总" in sent


async def test_rep_phone_invented_values_and_past_times_are_refused() -> None:
    weak = chat(("title", "张伟"), ("left", "邮箱 zw@abc.com"), ("right", "张总，我的手机13900001111，预算报20万"),
                ("left", "好的"))
    assert weak.is_lead and weak.phone is None and weak.confidence < 0.6
    reply = {"phone": "13900001111", "company": "完全编造有限公司", "budget_cny": 200000,
             "follow_up": "2020-01-01T09:00", "needs": ["ERP"]}
    async with running_fake_openai(json.dumps(reply, ensure_ascii=False)) as fake:
        out = await assist(weak, llm(fake.base_url), NOW)
    assert out is weak
    assert "销售：张总，我的手机13900001111" in fake.requests[0]["body"]["messages"][1]["content"]


async def test_a_time_the_chat_never_names_is_refused() -> None:
    weak = chat(("title", "张伟"), ("left", "邮箱 zw@abc.com"), ("left", "下周再说吧"))
    reply = {"follow_up": "2026-12-24T10:00:00+08:00"}
    async with running_fake_openai(json.dumps(reply)) as fake:
        assert await assist(weak, llm(fake.base_url), NOW) is weak


async def test_not_called_when_confident_or_disabled_and_garbage_ignored() -> None:
    weak = dataclasses.replace(WEAK, confidence=0.4)
    async with running_fake_openai("this is not json") as fake:
        confident = LeadFields(customer_name="王强", confidence=0.9, is_lead=True, text="x")
        assert await assist(confident, llm(fake.base_url), NOW) is confident
        off = LlmSettings(enabled=False, base_url=fake.base_url)
        assert await assist(weak, off, NOW) is weak
        assert fake.requests == []
        assert await assist(weak, llm(fake.base_url), NOW) is weak  # not JSON → unchanged
        assert len(fake.requests) == 1


async def test_server_error_leaves_fields_unchanged() -> None:
    weak = dataclasses.replace(WEAK, confidence=0.4)
    async with running_fake_openai("{}") as fake:
        fake.status = 500
        assert await assist(weak, llm(fake.base_url), NOW) is weak


async def test_a_budget_written_2wan5_is_evidence_for_25000() -> None:
    """The customer wrote 预算2万5: the model's 25000 is found in their words (not mistaken for 20000)."""
    weak = dataclasses.replace(chat(("title", "王强"), ("left", "预算2万5 电话13812345678")), budget_cny=None,
                               confidence=0.4)
    async with running_fake_openai(json.dumps({"budget_cny": 25000})) as fake:
        out = await assist(weak, llm(fake.base_url), NOW)
    assert out.budget_cny == 25000
