"""New-user audit 18c of renewals, ramp-up and handover: what the users said, as tests."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.config import Settings
from bot.services import Services
from handlers.ramp import service
from handlers.ramp.path import parse_path
from storage.models import RampProgress
from tests.conftest import Transcript
from tests.leads_helpers import cn
from tests.ramp_helpers import seed_cards


async def _enrol(services: Services, text: str) -> None:
    async with services.db.session() as s:
        await service.set_path(s, parse_path(text), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")


def _strict_quiz(settings: Settings) -> Settings:
    return replace(settings, ramp=replace(settings.ramp, wrong_per_round=1, retry_hours=2))


@pytest.mark.parametrize("settings", [_strict_quiz], indirect=True)
async def test_the_quiz_round_limit_and_the_wait_before_a_retry_are_the_admins_to_set(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """「我们想一错就重考、两小时后再来，改不了」: `[ramp] wrong_per_round` and `retry_hours`."""
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    for _ in range(8):
        said = transcript.last("rep01")
        if "这一轮没通过" in said["title"] + said["text"]:
            break
        await chat.handle_line("1")
    failed = [t for t in transcript.texts("rep01") if "这一轮没通过" in t]
    assert failed and "答错 1 题" in failed[0] and "今天 12:00 后" in failed[0]  # 10:00 + 2 h
    async with services.db.session() as s:
        row = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01"))).first()
    assert row is not None and row.correct == 0
    await chat.handle_line("/advance 2h1m")
    await chat.handle_line("通关")
    assert "后可以重考" not in transcript.last("rep01")["text"]
