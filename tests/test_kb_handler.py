"""Knowledge answers in chat: the card, feedback buttons, the decline, admin import by file."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.config import KnowledgeSettings, Settings
from bot.services import Services
from handlers.knowledge import is_stale
from knowledge.schema import KbCard
from storage.models import KnowledgeFeedback, QueryLog
from tests.conftest import Transcript


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, knowledge=replace(KnowledgeSettings(), seed_demo=True))


async def test_question_gets_the_card_and_buttons_work(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await chat.handle_line("三甲设备科嫌贵")
    card = transcript.last("rep01")
    assert card["kind"] == "card" and card["title"].startswith("医院设备科嫌贵")
    assert "话术" in card["text"] and "报价模板" in card["text"] and "成功案例" in card["text"]
    assert "K001" not in card["text"] and "医疗" in card["text"]  # no card ids shown to people
    assert card["text"].endswith("来源：话术库")
    keys = [b["key"] for b in card["buttons"]]
    assert [b["text"] for b in card["buttons"]] == ["有用", "没用", "换一个"]
    assert keys[0].startswith("kb:up:") and keys[0].endswith(":K001")
    await chat.handle_line("/click 换一个")
    second = transcript.last("rep01")
    assert second["kind"] == "card" and second["title"] != card["title"]
    await chat.handle_line("/click 没用")
    async with services.db.session() as s:
        logged = (await s.scalars(select(QueryLog))).all()
        votes = [(f.vote, f.card_id) for f in (await s.scalars(select(KnowledgeFeedback))).all()]
    assert [(q.query, q.answered, q.shown_card) for q in logged] == [("三甲设备科嫌贵", True, "K001")]
    assert votes[0] == ("next", "K001") and votes[1][0] == "down" and votes[1][1] != "K001"


async def test_off_topic_gets_an_honest_decline(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """A work question no card answers is logged as a gap; the rep's own day (canteen, leave) is declined too but
    never enters the gaps queue."""
    await chat.handle_line("今天食堂吃什么")
    await chat.handle_line("我年假还有几天")
    for reply in transcript.to("rep01")[-2:]:
        assert reply["kind"] == "text" and "没找到合适的话术" in reply["text"]
    await chat.handle_line("客户问展会物料谁来出")
    assert "没找到合适的话术" in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        (row,) = (await s.scalars(select(QueryLog))).all()
    assert (row.query, row.answered, row.shown_card) == ("客户问展会物料谁来出", False, None)


async def test_stale_card_carries_a_note(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("医院已经有别家的HIS了")  # K006, updated 2024-06-10
    card = transcript.last("rep01")
    assert "超过 12 个月未更新" in card["text"] and "K006" not in card["text"]


def test_staleness_boundary() -> None:
    card = KbCard(id="K1", title="t", updated_at=date(2025, 11, 23))
    assert not is_stale(card, date(2026, 11, 23), 12)
    assert is_stale(card, date(2026, 11, 24), 12)
    assert is_stale(KbCard(id="K2", title="t"), date(2026, 11, 24), 12)


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "新话术.csv"
    path.write_text("编号,标题,角色,行业,异议,话术\nK777,冷库客户嫌贵,采购,冷链,太贵,按温区计费更省\nK778,坏行,,,,\n",
                    encoding="utf-8")
    return path


async def test_admin_imports_cards_by_file(
    chat: ChatSession, transcript: Transcript, tmp_path: Path
) -> None:
    await chat.handle_line("/as admin01")
    await chat.handle_line(f"/file {_csv(tmp_path)}")
    report = transcript.last("admin01")["text"]
    assert "新增 1" in report and "第 3 行" in report
    await chat.handle_line("/as rep01")
    await chat.handle_line("冷库客户嫌贵怎么办")
    answer = transcript.last("rep01")
    assert answer["title"] == "冷库客户嫌贵" and "来源：话术库《新话术》" in answer["text"]
    assert "K777" not in answer["text"] and ".csv" not in answer["text"]


async def test_non_admin_file_import_is_refused(chat: ChatSession, transcript: Transcript, tmp_path: Path,
                                                services: Services) -> None:
    await chat.handle_line(f"/file {_csv(tmp_path)}")
    assert "只有管理员" in transcript.last("rep01")["text"]
    from knowledge import store

    async with services.db.session() as s:
        ids = {c.id for c in await store.all_cards(s)}
    assert "K777" not in ids and len(ids) == 48


