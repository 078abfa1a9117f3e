"""The weekly knowledge-gaps digest reaches admins once per week, on a working day."""

from __future__ import annotations

from datetime import timedelta

from bot.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from handlers.kb_gaps import send_weekly_gaps
from tests.conftest import Transcript


async def test_weekly_gaps_digest_once_to_admins(chat: ChatSession, transcript: Transcript, services: Services,
                                                 clock: ManualClock) -> None:
    clock.advance(timedelta(days=-3))  # Friday before: the question nobody could answer
    await chat.handle_line("今天食堂吃什么")
    clock.advance(timedelta(days=1))  # Saturday: no digest on a day off
    assert await send_weekly_gaps(services) == 0
    clock.advance(timedelta(days=2))  # Monday 10:00, after digest_time 09:30
    assert await send_weekly_gaps(services) == 1
    assert await send_weekly_gaps(services) == 0  # once per week
    await services.outbox.drain()  # type: ignore[union-attr]
    (digest,) = transcript.to("admin01")
    assert digest["title"] == "📚 知识库周报" and "「今天食堂吃什么」× 1" in digest["text"]
    assert transcript.to("manager01") == []
