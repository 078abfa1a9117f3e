"""What a third new-user audit of the front door found (issue 15), each written as the user's complaint first.
Invented people and companies only."""

from __future__ import annotations

from app.chat import ChatSession
from bot.services import Services
from knowledge.store import gaps
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead


async def test_a_lead_asked_for_by_a_name_nobody_has_is_answered_and_never_a_knowledge_gap(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「邵阳的线索」 with no such lead got 「没找到合适的话术」 and landed in the admins' 知识缺口 queue."""
    await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line("邵阳的线索")
    reply = transcript.last("rep01")["text"]
    assert "没找到邵阳的线索" in reply and "话术" not in reply, reply
    async with services.db.session() as s:
        assert not [g for g in await gaps(s) if "邵阳" in str(g)]
