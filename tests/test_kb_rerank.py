"""Optional LLM rerank against a fake OpenAI-compatible server on 127.0.0.1: the model picks among close
candidates by id; a timeout, an error or an id that was not offered keeps the ranking."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import LlmSettings
from knowledge.rerank import llm_rerank
from knowledge.schema import KbCard
from knowledge.search import Hit, SearchResult
from tests.fakes.openai_api import FakeOpenAI, running_fake_openai

CARDS = [KbCard(id=f"R{i}", title=title, objection="价格", talk_track=f"话术{i}")
         for i, title in enumerate(["展台报价高", "展台按平米报价", "展期延长加价", "会场布置报价"])]


def _result(scores: list[float], answered: bool = True) -> SearchResult:
    hits = tuple(Hit(c, s) for c, s in zip(CARDS, scores, strict=False))
    return SearchResult("展台报价太高了", hits, answered)


def _settings(url: str, *, rerank: bool = True, timeout_s: float = 2.0) -> LlmSettings:
    return LlmSettings(enabled=True, base_url=url, api_key="sk-test", model="fake", timeout_s=timeout_s,
                       rerank=rerank)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai("R2") as server:
        yield server


async def test_model_picks_among_close_candidates(fake: FakeOpenAI) -> None:
    result = await llm_rerank(_settings(fake.base_url), _result([5.0, 4.8, 4.7, 2.0]))
    assert [h.card.id for h in result.hits] == ["R2", "R0", "R1", "R3"]
    (req,) = fake.requests
    prompt = req["body"]["messages"][1]["content"]
    assert "[R0]" in prompt and "[R2]" in prompt and "[R3]" not in prompt  # only the close ones are offered


@pytest.mark.parametrize("reply", ["R3", "K999", "都不合适"])
async def test_an_id_not_offered_keeps_the_ranking(fake: FakeOpenAI, reply: str) -> None:
    fake.reply = reply
    result = await llm_rerank(_settings(fake.base_url), _result([5.0, 4.8, 4.7, 2.0]))
    assert [h.card.id for h in result.hits] == ["R0", "R1", "R2", "R3"]


async def test_timeout_and_errors_keep_the_ranking(fake: FakeOpenAI) -> None:
    fake.delay = 0.5
    result = await llm_rerank(_settings(fake.base_url, timeout_s=0.1), _result([5.0, 4.9]))
    assert [h.card.id for h in result.hits] == ["R0", "R1"]
    fake.delay, fake.status = 0.0, 503
    result = await llm_rerank(_settings(fake.base_url), _result([5.0, 4.9]))
    assert [h.card.id for h in result.hits] == ["R0", "R1"]


async def test_not_asked_when_off_far_apart_or_declined(fake: FakeOpenAI) -> None:
    await llm_rerank(_settings(fake.base_url, rerank=False), _result([5.0, 4.9]))
    await llm_rerank(_settings(fake.base_url), _result([5.0, 3.0]))
    await llm_rerank(_settings(fake.base_url), _result([5.0, 4.9], answered=False))
    assert fake.requests == []
