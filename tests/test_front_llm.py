"""Optional model reading of messages the rules take for knowledge questions, against the fake
OpenAI-compatible server: a safe reading acts, an acting one asks 「你是想…？」 first, bad output changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from app.chat import ChatSession
from bot.config import LlmSettings, Settings
from bot.services import Services
from handlers.llm_intent import validate
from tests.conftest import Transcript
from tests.fakes.openai_api import FakeOpenAI, running_fake_openai
from tests.leads_helpers import cn, get_lead, seed_lead


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai("{}") as server:
        yield server


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeOpenAI) -> Settings:
    llm = LlmSettings(enabled=True, base_url=fake_llm.base_url, api_key="sk-test", model="fake", timeout_s=0.5,
                      intent=True)
    return replace(settings, llm=llm)


async def test_an_acting_reading_asks_first_then_acts_on_one_click(
        chat: ChatSession, transcript: Transcript, services: Services, fake_llm: FakeOpenAI) -> None:
    lead_id = await seed_lead(services, "rep01", customer_name="周立", assigned_at=cn(23, 9))
    fake_llm.reply = json.dumps({"intent": "reassign", "slots": {"lead_id": lead_id, "assignee": "李娜",
                                                                "reason": "她更熟"}}, ensure_ascii=False)
    await chat.handle_line("/as manager01")
    await chat.handle_line("姓周那个客户让小李去跟吧")
    card = transcript.last("manager01")
    assert card["title"] == f"你是想「改派 {lead_id} 李娜 她更熟」？"
    assert (await get_lead(services, lead_id)).owner_id == "rep01"  # nothing yet
    body = fake_llm.requests[0]["body"]
    assert body["response_format"] == {"type": "json_object"} and "reassign" in body["messages"][0]["content"]
    await chat.handle_line("/click 是的")
    lead = await get_lead(services, lead_id)
    assert lead.owner_id == "rep02" and lead.assign_reason == "她更熟"


async def test_a_safe_reading_acts_at_once(chat: ChatSession, transcript: Transcript,
                                           fake_llm: FakeOpenAI) -> None:
    fake_llm.reply = '{"intent": "my_leads", "slots": {}}'
    await chat.handle_line("瞅瞅俺手头的单子")
    assert transcript.last("rep01")["title"].startswith("我的线索")


@pytest.mark.parametrize("reply", ["不是 JSON", '{"intent": "drop_table"}', '{"intent": "takeover", "slots": '
                                   '{"lead_id": "abc"}}', '{"intent": "edit", "slots": {"field": "owner_id", '
                                   '"value": "x"}}'])
async def test_invalid_output_leaves_the_rules_reading(chat: ChatSession, transcript: Transcript,
                                                       fake_llm: FakeOpenAI, reply: str) -> None:
    fake_llm.reply = reply
    await chat.handle_line("今天食堂吃什么")
    assert "没找到合适的话术" in transcript.last("rep01")["text"]


async def test_a_slow_model_is_not_waited_for(chat: ChatSession, transcript: Transcript,
                                              fake_llm: FakeOpenAI) -> None:
    fake_llm.reply, fake_llm.delay = '{"intent": "my_leads", "slots": {}}', 2.0
    await chat.handle_line("今天食堂吃什么")  # no rule and not the learned reader place it: the model is asked
    assert "没找到合适的话术" in transcript.last("rep01")["text"]


def test_validation_keeps_only_schema_fields() -> None:
    got = validate('{"intent": "lead_show", "slots": {"lead_id": "#12", "extra": "x"}}', "看12")
    assert got is not None and got.name == "lead_show" and got.slots == {"lead_id": 12}
    assert validate('{"intent": "lead_show", "slots": {"lead_id": true}}', "") is None
