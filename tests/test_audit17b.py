"""Audit 17b: a manager's 「清除标记 N <topic>」 with a topic that is also a command word (阶段, 推进, 证据, 跟进)
clears the flag and does nothing else — no follow-up written on the rep's lead, no stage asked for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import text

from app.chat import ChatSession
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.services import Services
from storage.migrate import upgrade
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead


@pytest.fixture
async def services(db_url: str, settings: Settings, clock: ManualClock, transcript: Transcript
                   ) -> AsyncIterator[Services]:
    """SQLite and PostgreSQL (the shared fixture is SQLite only)."""
    await upgrade(db_url)
    svc = await build_services(replace(settings, database=DatabaseSettings(url=db_url)), clock,
                               {"console": ConsoleChannel(transcript.write, json_mode=True)})
    yield svc
    await svc.db.dispose()


@pytest.fixture
def chat(services: Services, clock: ManualClock, transcript: Transcript) -> ChatSession:
    console = services.channels["console"]
    assert isinstance(console, ConsoleChannel)
    return ChatSession(services, console, clock, "rep01", transcript.write)  # type: ignore[arg-type]


async def _count(services: Services, sql: str) -> int:
    async with services.db.session() as s:
        return int((await s.execute(text(sql))).scalar_one())


@pytest.mark.parametrize("topic", ["阶段", "推进", "证据", "跟进"])
async def test_clear_flag_topic_that_is_a_command_word(chat: ChatSession, transcript: Transcript,
                                                       services: Services, topic: str) -> None:
    await seed_lead(services, "rep01", customer_name="韦成", company="北岸冷链", phone="13900002222",
                    assigned_at=cn(23, 9))
    acts = await _count(services, "SELECT count(*) FROM activities")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"清除标记 1 {topic}")
    reply = transcript.last("manager01")["text"]
    assert "请带上线索编号" not in reply and "已记录线索" not in reply, reply
    assert "线索 #1" in reply, reply
    assert await _count(services, "SELECT count(*) FROM activities") == acts
    assert await _count(services, "SELECT count(*) FROM leads WHERE id = 1 AND stage = 'new'") == 1
