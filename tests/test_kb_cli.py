"""`salesbot kb gaps`: unanswered and down-voted queries, as text and as JSON lines."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.commands.kb import run_gaps
from bot.config import DatabaseSettings, Settings
from knowledge import store
from storage.db import Database
from storage.migrate import ensure_schema


async def test_kb_gaps_lists_unanswered_and_down_voted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/kb.db"))
    args = argparse.Namespace(days=7, json=False)
    assert await run_gaps(args, settings) == 0
    assert "最近 7 天没有未回答或被点踩的问题" in capsys.readouterr().out
    await ensure_schema(settings.database.url)
    db = Database(settings.database.url)
    now = datetime.now(UTC)
    try:
        async with db.session() as s:
            for when in (now, now - timedelta(hours=1), now - timedelta(days=20)):
                await store.log_query(s, user_id="rep01", query="冷库客户嫌贵", ranked=[], scores=[],
                                      answered=False, shown_card=None, now=when)
            q = await store.log_query(s, user_id="rep02", query="医院嫌贵", ranked=["K001"], scores=[5.0],
                                      answered=True, shown_card="K001", now=now)
            await store.add_feedback(s, query_id=q, card_id="K001", user_id="rep02", vote="down", now=now)
    finally:
        await db.dispose()
    assert await run_gaps(args, settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert "2" in out[0] and "无答案" in out[0] and "冷库客户嫌贵" in out[0]  # the 20-day-old one is outside 7 days
    assert "点踩 K001" in out[1] and "医院嫌贵" in out[1]
    assert await run_gaps(argparse.Namespace(days=30, json=True), settings) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(g["kind"], g["q"], g["count"], g["card"]) for g in lines] == [
        ("unanswered", "冷库客户嫌贵", 3, None), ("down", "医院嫌贵", 1, "K001")]
