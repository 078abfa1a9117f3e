"""Knowledge from the field (知识萃取): a competitor or customer concern several reps keep writing in their visit
summaries (typed or spoken), that the knowledge search declines, reaches the admins' gaps queue — in chat, in the
weekly digest and on the console page, with the summaries as evidence and a prefilled new-card form — and leaves
it once a card answers it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.kb_gaps import field_gaps, send_weekly_gaps
from handlers.knowledge import knowledge_base
from storage.migrate import upgrade
from tests.conftest import Transcript, with_digests
from tests.console_support import login, seed_cards, start_client
from tests.leads_helpers import seed_lead

# Our own wording: three reps meet the same (invented-for-the-test) competitor and the same manual-entry pain.
NOTES = {
    "rep01": ["客户现在用红圈管外勤，觉得挺顺手", "对方说全靠excel手工录入，月底对不上"],
    "rep02": ["采购拿红圈的报价来压价", "他们销售还是手工录入订单"],
    "rep03": ["信息科说红圈已经接了他们的系统", "老板嫌价格太贵"],
}


@pytest.fixture
async def settings(settings: Settings, db_url: str) -> Settings:
    """Digests on; SQLite and PostgreSQL (the summaries' insights are read with each one's JSON operators)."""
    await upgrade(db_url)
    return replace(with_digests(settings), database=replace(settings.database, url=db_url))


async def _file_notes(services: Services, chat: ChatSession) -> dict[str, int]:
    leads = {}
    for rep, notes in NOTES.items():
        leads[rep] = await seed_lead(services, rep, customer_name=f"{rep}的客户")
        await chat.handle_line(f"/as {rep}")
        for note in notes[:-1]:
            await chat.handle_line(f"跟进 {leads[rep]} {note}")
        await chat.handle_line(f"/voice 线索{leads[rep]} {notes[-1]}")  # spoken notes count the same
    return leads


async def test_recurring_uncovered_competitor_and_concern_reach_the_admins_with_evidence(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    await seed_cards(services)  # a 价格 card exists: 「太贵」 is covered and must not show
    leads = await _file_notes(services, chat)
    await chat.handle_line("/as admin01")
    await chat.handle_line("知识缺口")
    text = transcript.last("admin01")["text"]
    assert "竞品「红圈」：3 位销售 · 3 条跟进提到" in text
    assert "客户顾虑「手工录入」：2 位销售 · 2 条跟进提到" not in text  # 2 summaries < field_min_notes (3)
    assert "价格" not in text
    assert f"线索 #{leads['rep03']}「信息科说红圈已经接了他们的系统」" in text  # the newest summary as evidence

    async with services.db.session() as session:
        kb = knowledge_base(services)
        looser = replace(services.settings.knowledge, field_min_notes=2)
        found = {g.value: g for g in await field_gaps(session, kb, services.clock.now(), looser)}
        stricter = replace(services.settings.knowledge, field_min_reps=4)
        assert await field_gaps(session, kb, services.clock.now(), stricter) == []
    assert set(found) == {"红圈", "手工录入"}
    assert (found["手工录入"].kind, found["手工录入"].reps, found["手工录入"].notes) == ("objection", 2, 2)
    assert [n.rep for n in found["红圈"].evidence] == ["刘洋", "李娜", "张伟"]  # newest first

    # a card that answers it: the gap leaves the queue by itself
    await seed_cards(services, [{"id": "F1", "title": "客户在用红圈：外勤之外的全流程", "objection": "竞品",
                                 "talk_track": "红圈管外勤打卡，我们把线索、报价、回款串成一条线。",
                                 "keywords": "红圈"}])
    await chat.handle_line("知识缺口")
    assert "红圈" not in transcript.last("admin01")["text"]


async def test_the_weekly_digest_carries_field_gaps_even_without_unanswered_questions(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock) -> None:
    clock.advance(timedelta(days=-1))  # Sunday: no digest is due while the notes come in
    await _file_notes(services, chat)
    clock.advance(timedelta(days=1))  # Monday 10:00, after digest_time
    assert await send_weekly_gaps(services) == 1
    await services.outbox.drain()
    (digest,) = [m for m in transcript.to("admin01") if m["title"] == "📚 知识库周报"]
    assert "竞品「红圈」" in digest["text"] and "没答上来" not in digest["text"]


async def test_console_gaps_page_shows_the_summaries_and_starts_a_draft_card(
        services: Services, chat: ChatSession) -> None:
    leads = await _file_notes(services, chat)
    client = await start_client(services)
    try:
        await login(client, services, "admin01")
        page = await (await client.get("/admin/gaps")).text()
        assert "一线反馈" in page and "竞品「红圈」" in page and "3 位销售 · 3 条跟进" in page
        assert "采购拿红圈的报价来压价" in page and f"/admin/leads/{leads['rep02']}" in page
        start = page.index("/admin/kb/new?", page.index("一线反馈"))
        href = page[start:page.index('"', start)].replace("&amp;", "&")
        form = await (await client.get(href)).text()
        assert 'value="客户提到红圈：怎么回应"' in form and 'value="红圈"' in form
        assert "<option selected>竞品</option>" in form
    finally:
        await client.close()


async def test_kb_gaps_cli_lists_field_gaps_with_their_evidence(
        services: Services, chat: ChatSession, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import json

    from app.commands.kb import run_gaps

    leads = await _file_notes(services, chat)
    capsys.readouterr()
    assert await run_gaps(argparse.Namespace(days=7, json=False), settings) == 0
    assert "一线 3 人" in capsys.readouterr().out
    assert await run_gaps(argparse.Namespace(days=7, json=True), settings) == 0
    (field,) = [g for g in map(json.loads, capsys.readouterr().out.splitlines()) if g["kind"] == "field"]
    assert (field["q"], field["type"], field["reps"], field["count"]) == ("红圈", "competitor", 3, 3)
    assert field["evidence"][0] == {"lead_id": leads["rep03"], "rep": "刘洋", "at": field["evidence"][0]["at"],
                                    "summary": "信息科说红圈已经接了他们的系统"}


async def test_no_field_gaps_is_said_plainly(services: Services, chat: ChatSession,
                                             transcript: Transcript) -> None:
    await chat.handle_line("/as admin01")
    await chat.handle_line("知识缺口")
    assert "一线跟进里也没有" in transcript.last("admin01")["text"]


async def test_a_rival_named_in_everyday_words_by_two_reps_reaches_the_queue(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """The user's complaint: a rival named three times by two reps (「竞品是X」, 「提到X也在报价」, 「在看X的产品」),
    that no card covers, never reached 知识缺口 because the names were dropped or glued to a verb."""
    await seed_cards(services)
    first = await seed_lead(services, "rep01", customer_name="东边的客户")
    second = await seed_lead(services, "rep01", customer_name="西边的客户")
    third = await seed_lead(services, "rep02", customer_name="rep02的客户")
    await chat.handle_line("/as rep01")
    await chat.handle_line(f"跟进 {first} 客户关心服务器放在哪里，竞品是青岚数科")
    await chat.handle_line(f"/voice 线索{second} 采购提到青岚数科也在报价，下周再谈")
    await chat.handle_line("/as rep02")
    await chat.handle_line(f"跟进 {third} 孙总在看青岚数科的产品")
    assert "竞品 青岚数科" in transcript.last("rep02")["text"]
    await chat.handle_line("/as admin01")
    await chat.handle_line("知识缺口")
    assert "竞品「青岚数科」：2 位销售 · 3 条跟进提到" in transcript.last("admin01")["text"]
