"""A bare edit (「预算 50万」) goes to the lead the rep is looking at (audits of issues 15 and 17): a confirmed lead
just shown beat an older open draft, even one of another customer. Invented people and companies only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from storage.models import Lead
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, seed_lead


@pytest.fixture
def services(services: Services) -> Services:
    """Every test here on SQLite and on PostgreSQL; `chat` types into these services."""
    return services


async def say(chat: ChatSession, clock: ManualClock, line: str) -> None:
    """One line a few seconds after the one before, as a person types."""
    clock.advance(timedelta(seconds=20))
    await chat.handle_line(line)


async def _draft(chat: ChatSession, services: Services) -> int:
    """A typed draft of another customer, left open (its card is shown)."""
    await chat.handle_line("新线索 韩墨 青桐物流 13700004321")
    async with services.db.session() as s:
        return (await s.execute(select(Lead.id).where(Lead.status == "draft"))).scalar_one()


async def test_a_bare_edit_goes_to_the_lead_in_view_not_an_older_draft(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    lead = await seed_lead(services, "rep01", customer_name="骆晨", company="松涛仓储", assigned_at=cn(23, 9))
    draft = await _draft(chat, services)
    await say(chat, clock, f"线索 {lead}")
    await say(chat, clock, "预算 50万")
    await say(chat, clock, "把电话改成13912345678")
    shown, kept = await get_lead(services, lead), await get_lead(services, draft)
    assert shown.budget_cny == 500_000 and shown.phone == "13912345678", transcript.texts("rep01")[-2:]
    assert kept.budget_cny is None and kept.phone == "13700004321"


async def test_after_the_draft_is_shown_again_the_edit_goes_to_the_draft(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    lead = await seed_lead(services, "rep01", customer_name="骆晨", company="松涛仓储", assigned_at=cn(23, 9))
    await say(chat, clock, f"线索 {lead}")
    draft = await _draft(chat, services)
    await say(chat, clock, "预算 50万")
    assert (await get_lead(services, draft)).budget_cny == 500_000
    assert (await get_lead(services, lead)).budget_cny is None


async def test_an_unreadable_budget_gets_a_short_answer(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    lead = await seed_lead(services, "rep01", customer_name="骆晨", company="松涛仓储", assigned_at=cn(23, 9),
                           budget_cny=300_000)
    await say(chat, clock, f"线索 {lead}")
    for said in ("预算abc万", "预算 -5万"):
        before = len(transcript.to("rep01"))
        await say(chat, clock, said)
        replies = transcript.to("rep01")[before:]
        assert replies and "预算" in replies[-1]["text"] + replies[-1]["title"], (said, replies)
        assert (await get_lead(services, lead)).budget_cny == 300_000


async def test_clicking_edit_on_an_older_draft_brings_it_back_into_view(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    lead = await seed_lead(services, "rep01", customer_name="骆晨", company="松涛仓储", assigned_at=cn(23, 9))
    draft = await _draft(chat, services)
    await say(chat, clock, f"线索 {lead}")
    clock.advance(timedelta(seconds=20))
    await chat._send(kind="click", click_key=f"cap:edit:{draft}")  # 「修改」 on the older draft card, later
    await say(chat, clock, "预算 50万")
    assert (await get_lead(services, draft)).budget_cny == 500_000, transcript.texts("rep01")[-2:]
    assert (await get_lead(services, lead)).budget_cny is None


async def test_a_bare_edit_under_a_list_of_leads_asks_which(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    first = await seed_lead(services, "rep01", customer_name="骆晨", company="松涛仓储", assigned_at=cn(23, 9))
    second = await seed_lead(services, "rep01", customer_name="苗远", company="岭南纸业", assigned_at=cn(23, 9))
    await say(chat, clock, "我的线索")
    await say(chat, clock, "预算 50万")
    asked = transcript.last("rep01")
    assert asked["title"] == "是哪一条线索？" and f"#{first}" in asked["text"] and f"#{second}" in asked["text"], asked
    budgets = [(await get_lead(services, i)).budget_cny for i in (first, second)]
    assert budgets == [None, None]
    await say(chat, clock, "1")
    budgets = [(await get_lead(services, i)).budget_cny for i in (first, second)]
    assert budgets.count(500_000) == 1 and budgets.count(None) == 1, transcript.texts("rep01")[-2:]  # the one picked
