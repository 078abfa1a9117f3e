"""What the fourth independent audit of the front door (issue 15) found, each written as the user's complaint
first, through the chat use cases. Invented people and companies only."""

from __future__ import annotations

from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from knowledge.store import gaps
from storage.models import Activity
from tests.conftest import Transcript
from tests.leads_helpers import get_lead, seed_lead
from tests.test_numeric_args import frozen


async def _notes(services: Services, lead_id: int) -> list[str]:
    async with services.db.session() as s:
        return list((await s.execute(select(Activity.summary).where(Activity.lead_id == lead_id,
                                                                 Activity.kind == "contact"))).scalars())


async def test_a_lead_number_glued_to_the_command_word_is_the_lead_named(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「跟进2约了周四下午两点演示」 was saved on the lead on screen (#1), with 「2」 read as part of the note."""
    first = await seed_lead(services, "rep01", customer_name="钱总", company="青松材料")
    second = await seed_lead(services, "rep01", customer_name="孔总", company="远山物流")
    await chat.handle_line("/as rep01")
    await chat.handle_line(f"线索 {first}")  # #1 is the lead on screen
    await chat.handle_line(f"跟进{second}约了周四下午两点演示")
    assert await _notes(services, first) == []
    assert [n for n in await _notes(services, second) if "演示" in n], await _notes(services, second)
    assert (await get_lead(services, second)).next_follow_up_at is not None
    assert f"#{second}" in transcript.last("rep01")["text"], transcript.last("rep01")
    await chat.handle_line(f"跟进{second}号客户要报价")  # the 号 form too
    assert any("报价" in n for n in await _notes(services, second))


async def test_a_bare_number_after_other_replies_does_not_press_an_old_cards_button(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「改派 1 李娜 …」 → card [1] 撤销; then 团队日报, 谢谢; then 「1」 undid the reassignment."""
    lead = await seed_lead(services, "rep01", customer_name="钱总", company="青松材料")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {lead} 李娜 客户在她片区")
    assert (await get_lead(services, lead)).owner_id == "rep02"
    await chat.handle_line("团队日报")
    await chat.handle_line("谢谢")
    await chat.handle_line("1")
    assert (await get_lead(services, lead)).owner_id == "rep02"  # nothing undone
    assert "卡片" in transcript.last("manager01")["text"], transcript.last("manager01")
    await chat.handle_line(f"线索 {lead}")  # a card just sent: its numbers work as before
    await chat.handle_line(f"改派 {lead} 张伟")
    await chat.handle_line("1")
    assert (await get_lead(services, lead)).owner_id == "rep02", "「1」 right after the card is its 撤销"


async def test_an_extended_frozen_lead_is_not_called_overdue_at_its_old_deadline(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """延期 of a frozen lead: 谁超时了 and 团队日报 still listed it as overdue at the old first-contact deadline."""
    lead = await frozen(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line("谁超时了")
    assert f"#{lead}" in transcript.last("manager01")["text"]  # frozen: it is overdue
    await chat.handle_line(f"延期 {lead} 2天 客户出差")
    assert (await get_lead(services, lead)).status == "active"
    await chat.handle_line("谁超时了")
    assert f"#{lead}" not in transcript.last("manager01")["text"], transcript.last("manager01")
    await chat.handle_line("团队日报")
    digest = "\n".join(transcript.texts("manager01")[-2:])
    assert "当前超时" not in digest or f"#{lead}" not in digest.split("当前超时", 1)[1], digest


async def test_asking_how_a_named_customer_is_doing_is_about_the_lead_not_the_knowledge_base(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「张三那个客户怎么样了」 got 「没找到合适的话术」 and landed in 知识缺口."""
    await seed_lead(services, "rep01", customer_name="钱多多", company="青松材料")
    twins = [await seed_lead(services, "rep01", customer_name="孔一一", company=c) for c in ("远山物流", "白云酒店")]
    await chat.handle_line("/as rep01")
    await chat.handle_line("钱多多那个客户怎么样了")
    shown = transcript.last("rep01")
    assert "青松材料" in shown["text"] and "话术" not in shown["text"], shown
    await chat.handle_line("孔一一那个客户怎么样了")
    card = transcript.last("rep01")
    assert all(f"#{i}" in " ".join(b["text"] for b in card["buttons"]) for i in twins), card
    await chat.handle_line("卫某某那个客户怎么样了")  # no lead of that name: said so, not a knowledge decline
    assert "话术" not in transcript.last("rep01")["text"], transcript.last("rep01")
    async with services.db.session() as s:
        assert await gaps(s, limit=100) == []


async def test_the_offboard_question_counts_what_the_handover_moves(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「确认…把 2 条进行中的线索交给 刘洋」, then 「3 条线索已交给 刘洋」: a draft and a frozen pool lead uncounted."""
    cold = await frozen(chat, services)
    await seed_lead(services, "rep01", customer_name="孔总", company="远山物流")
    await chat.handle_line("/as rep01")
    await chat.handle_line("新线索 钱总 青松材料 13900001234")
    await chat.handle_line("/as admin01")
    await chat.handle_line("离职 rep01 交给 rep03")
    ask = transcript.last("admin01")["title"]
    assert "3 条线索（其中 1 条冻结，交接后解冻、1 条草稿）" in ask, ask
    await chat.handle_line("/click 确认")
    assert "3 条线索" in transcript.last("admin01")["text"], transcript.last("admin01")
    back = await get_lead(services, cold)
    assert (back.owner_id, back.status) == ("rep03", "active")  # unfrozen, as the question said


async def test_an_english_clock_time_in_a_follow_up_is_not_a_decision_maker(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「跟进 2 call back tomorrow 3pm」 stored a decision-chain role (pm read as a job title)."""
    lead = await seed_lead(services, "rep01", customer_name="孔总", company="远山物流")
    await chat.handle_line("/as rep01")
    await chat.handle_line(f"跟进 {lead} call back tomorrow 3pm")
    assert "决策链" not in transcript.last("rep01")["text"], transcript.last("rep01")
    assert not ((await get_lead(services, lead)).extra or {}).get("insights", {}).get("roles")
