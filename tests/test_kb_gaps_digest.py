"""The weekly knowledge-gaps digest reaches admins once per week, on a working day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.kb_gaps import send_weekly_gaps
from tests.conftest import Transcript, with_digests


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Daily and weekly digests on (the shared fixture turns them off)."""
    return with_digests(settings)


async def test_weekly_gaps_digest_once_a_week_to_admins(chat: ChatSession, transcript: Transcript,
                                                        services: Services, clock: ManualClock) -> None:
    clock.advance(timedelta(days=-3))  # Friday 10:00, after digest_time: the question nobody could answer
    await chat.handle_line("客户问展会物料谁来出")  # the console runs due work after each line
    (friday,) = transcript.to("admin01")
    assert friday["title"] == "📚 知识库周报" and "「客户问展会物料谁来出」× 1" in friday["text"]
    assert await send_weekly_gaps(services) == 0  # once per week
    clock.advance(timedelta(days=1))  # Saturday: a new day, still the same week
    assert await send_weekly_gaps(services) == 0
    clock.advance(timedelta(days=2))  # Monday of the next week: last 7 days still hold Friday's question
    assert await send_weekly_gaps(services) == 1
    assert await send_weekly_gaps(services) == 0
    await services.outbox.drain()  # type: ignore[union-attr]
    assert len(transcript.to("admin01")) == 2
    assert not [m for m in transcript.to("manager01") if m["title"] == "📚 知识库周报"]


async def test_quiet_week_sends_nothing(services: Services) -> None:
    assert await send_weekly_gaps(services) == 0


async def test_admin_asks_for_gaps_in_chat(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("知识缺口")
    assert "管理员" in transcript.last("rep01")["text"]  # reps are refused
    await chat.handle_line("今天食堂吃什么")  # the rep's own day: declined, but no gap in the knowledge base
    await chat.handle_line("明天下雨吗")
    await chat.handle_line("客户问展会物料谁来出")
    await chat.handle_line("/as admin01")
    await chat.handle_line("知识缺口")
    listing = transcript.last("admin01")["text"]
    assert "「客户问展会物料谁来出」× 1" in listing and "食堂" not in listing and "下雨" not in listing
