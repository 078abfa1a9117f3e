"""The optional LLM wording through the chat handler, against the fake OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from app.chat import ChatSession
from bot.config import KnowledgeSettings, LlmSettings, Settings
from tests.conftest import Transcript
from tests.fakes.openai_api import FakeOpenAI, running_fake_openai

WORDING = "可以先把五年总成本拆开给设备科看，对比的是总成本而不是首付。[K001]"


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai(WORDING) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeOpenAI) -> Settings:
    llm = LlmSettings(enabled=True, base_url=fake_llm.base_url, api_key="sk-test", model="fake", timeout_s=0.5)
    return replace(settings, knowledge=replace(KnowledgeSettings(), seed_demo=True), llm=llm)


async def test_llm_wording_appears_in_the_card(chat: ChatSession, transcript: Transcript,
                                               fake_llm: FakeOpenAI) -> None:
    await chat.handle_line("三甲设备科嫌贵")
    card = transcript.last("rep01")
    assert card["kind"] == "card" and WORDING.removesuffix("[K001]") in card["text"]
    assert "话术" in card["text"] and "K001" not in card["text"]  # the curated card is all there, its id is not
    assert len(fake_llm.requests) == 1


async def test_llm_not_called_when_the_search_declines(chat: ChatSession, transcript: Transcript,
                                                       fake_llm: FakeOpenAI) -> None:
    await chat.handle_line("今天食堂吃什么")
    assert "没找到合适的话术" in transcript.last("rep01")["text"]
    assert fake_llm.requests == []


async def test_llm_timeout_gives_the_card_alone(chat: ChatSession, transcript: Transcript,
                                                fake_llm: FakeOpenAI) -> None:
    fake_llm.delay = 2.0
    await chat.handle_line("三甲设备科嫌贵")
    card = transcript.last("rep01")
    assert card["kind"] == "card" and card["title"].startswith("医院设备科嫌贵")
    assert WORDING not in card["text"] and len(fake_llm.requests) == 1
