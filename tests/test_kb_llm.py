"""Optional LLM wording against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.config import LlmSettings
from knowledge.demo import demo_cards
from knowledge.llm import llm_answer
from tests.fakes.openai_api import FakeOpenAI, running_fake_openai

CARDS = {c.id: c for c in demo_cards()}


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    async with running_fake_openai("可以先拆开五年总成本给设备科看。[K001]") as server:
        yield server, server.base_url


def _settings(base_url: str, timeout_s: float = 2.0) -> LlmSettings:
    return LlmSettings(enabled=True, base_url=base_url, api_key="sk-test", model="fake-model", timeout_s=timeout_s)


async def test_grounded_reply_cites_the_card(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    text = await llm_answer(_settings(url), "三甲设备科嫌贵", [CARDS["K001"], CARDS["K033"]])
    assert text == "可以先拆开五年总成本给设备科看。[K001]"
    (req,) = server.requests
    assert req["auth"] == "Bearer sk-test" and req["body"]["model"] == "fake-model"
    prompt = json.dumps(req["body"]["messages"], ensure_ascii=False)
    assert "[K001]" in prompt and "[K033]" in prompt and CARDS["K001"].talk_track in prompt
    assert "三甲设备科嫌贵" in prompt


async def test_missing_citation_is_added_and_invented_one_rejected(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    server.reply = "先拆开报价。"
    assert await llm_answer(_settings(url), "医院嫌贵", [CARDS["K001"]]) == "先拆开报价。 [K001]"
    server.reply = "我们打五折。[K999]"
    assert await llm_answer(_settings(url), "医院嫌贵", [CARDS["K001"]]) is None


async def test_timeout_and_error_give_none(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    server.delay = 1.0
    assert await llm_answer(_settings(url, timeout_s=0.2), "医院嫌贵", [CARDS["K001"]]) is None
    server.delay, server.status = 0.0, 503
    assert await llm_answer(_settings(url), "医院嫌贵", [CARDS["K001"]]) is None
    assert len(server.requests) == 2  # no retries


async def test_not_called_when_nothing_fits_or_disabled(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    assert await llm_answer(_settings(url), "今天食堂吃什么", []) is None
    disabled = LlmSettings(enabled=False, base_url=url)
    assert await llm_answer(disabled, "医院嫌贵", [CARDS["K001"]]) is None
    assert server.requests == []


async def test_long_reply_is_cut_on_a_sentence_and_keeps_its_citation(fake: tuple[FakeOpenAI, str]) -> None:
    server, url = fake
    server.reply = "先认同客户对成本的关注。" * 40 + "所以建议按五年总成本对比。[K001]"
    text = await llm_answer(_settings(url), "医院嫌贵", [CARDS["K001"]])
    assert text is not None and len(text) <= 400
    assert text.endswith("。 [K001]") and "先认同客户对成本的关注。" in text
    server.reply = "先拆开报价。[K001]" + "再谈付款方式。" * 80
    text = await llm_answer(_settings(url), "医院嫌贵", [CARDS["K001"]])
    assert text is not None and text.startswith("先拆开报价。[K001]") and text.endswith("。") and len(text) <= 400
