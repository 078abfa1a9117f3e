"""What a second new-user audit of the front door found (issue 15), each written as the user's complaint: numbers
read whole, today's follow-ups asked in many ways, edits and reminders on a lead named by its customer, stable
draft buttons, agreed times kept outside working hours, one budget check, and 接手 / 改派 by text that act at once
with an undo. Invented people and companies only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from storage.models import Activity, Lead, Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, seed_lead


async def _snapshot(services: Services) -> tuple[int, int, list[tuple[int, str | None, str, int | None]]]:
    """What a bad message must not change: activities, reminders, and each lead's owner, status and budget."""
    async with services.db.session() as s:
        acts = int((await s.execute(select(func.count()).select_from(Activity))).scalar_one())
        rems = int((await s.execute(select(func.count()).select_from(Reminder))).scalar_one())
        leads = [(x.id, x.owner_id, x.status, x.budget_cny)
                 for x in (await s.execute(select(Lead).order_by(Lead.id))).scalars()]
    return acts, rems, leads


def _short_chinese(text: str) -> bool:
    import re

    return len(text) <= 120 and re.search(r"[A-Za-z]{3,}", text) is None and re.search(r"[\u4e00-\u9fff]", text)


async def test_a_lead_number_is_read_whole_never_cut_to_its_first_digits(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「线索 1e10」 showed lead 1 (a customer the rep did not mean); 「跟进 2.5 …」 wrote on lead 2."""
    await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await seed_lead(services, "rep01", customer_name="祁敏", company="白鹭酒店", assigned_at=cn(23, 9))
    before = await _snapshot(services)
    for line in ("线索 1e10", "跟进 2.5 客户回电了", "查看线索1.0", "接手 123456789"):
        await chat.handle_line(line)
        reply = transcript.last("rep01")["text"]
        assert "不是线索编号" in reply and "邹海" not in reply and "祁敏" not in reply, (line, reply)
        assert _short_chinese(reply)
    assert await _snapshot(services) == before


async def test_bad_input_gets_a_short_chinese_answer_and_changes_nothing(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    before = await _snapshot(services)
    rep_lines = ("客户" * 51_200, "🎉🎉🙈", "。。。！！，", "\u200b\u200f\u202e\u2066", "跟进 1 打了电话 改派 1 李娜",
                 "改派 1 李娜")
    for line in rep_lines:
        n = len(transcript.texts("rep01"))
        await chat.handle_line(line)
        texts = transcript.texts("rep01")
        assert len(texts) == n + 1 and _short_chinese(texts[-1]), (line[:20], texts[-1])
    await chat.handle_line("/as manager01")
    for line in ("改派 999 李娜", "延期 1 999天"):
        n = len(transcript.texts("manager01"))
        await chat.handle_line(line)
        texts = transcript.texts("manager01")
        assert len(texts) == n + 1 and _short_chinese(texts[-1]), (line, texts[-1])
    assert await _snapshot(services) == before
    assert (await get_lead(services, 1)).owner_id == "rep01"


async def test_todays_follow_ups_asked_in_a_reps_own_words(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「今天有啥要跟进的」 got a knowledge card about follow-up technique, not the rep's list for today."""
    due_today = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(20, 9),
                                first_contact_at=cn(20, 10), next_follow_up_at=cn(23, 16))
    await seed_lead(services, "rep01", customer_name="祁敏", company="白鹭酒店", assigned_at=cn(20, 9),
                    first_contact_at=cn(20, 10), next_follow_up_at=cn(26, 10))
    await chat.handle_line("下午5点提醒我交周报")
    for line in ("今天有啥要跟进的", "今天要跟谁", "今天的待办", "我今天该联系谁"):
        await chat.handle_line(line)
        card = transcript.last("rep01")
        assert card["title"] == "📋 今天要跟进（2）", (line, card)
        assert f"16:00 #{due_today} 邹海 · 松涛仓储 · 约定回访" in card["text"] and "交周报" in card["text"]
        assert "祁敏" not in card["text"] and "话术" not in card["text"]
    await chat.handle_line("明天要见哪些客户")
    assert "明天没有到期的跟进" in transcript.last("rep01")["text"]


async def test_an_edit_or_a_plan_names_the_lead_by_its_customer(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「把王总的预算改成60万」 and 「过两天再跟进李经理」 got 「你是想查看…还是记录跟进？」, though the rep had
    said what to do."""
    one = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(20, 9),
                          first_contact_at=cn(20, 10))
    mgr = await seed_lead(services, "rep01", customer_name="祁经理", company="白鹭酒店", assigned_at=cn(20, 9),
                          first_contact_at=cn(20, 10))
    await chat.handle_line("把邹海的预算改成60万")
    assert (await get_lead(services, one)).budget_cny == 600_000
    assert f"已更新线索 #{one} 的预算：60万" in transcript.last("rep01")["text"]
    await chat.handle_line("过两天再跟进祁经理")
    assert f"线索 #{mgr} 祁经理" in transcript.last("rep01")["text"] and "提醒你" in transcript.last("rep01")["text"]
    assert (await get_lead(services, mgr)).next_follow_up_at is not None
    await chat.handle_line("邹总的电话是13566667777")  # surname and title, one customer of that surname
    assert (await get_lead(services, one)).phone == "13566667777"
    # two leads of one customer: asked which, nothing changed
    two = await seed_lead(services, "rep01", customer_name="邹海", company="松涛物流", assigned_at=cn(20, 9),
                          first_contact_at=cn(20, 10))
    await chat.handle_line("把邹海的预算改成80万")
    assert f"#{one}、#{two}" in transcript.last("rep01")["text"]
    assert (await get_lead(services, one)).budget_cny == 600_000 and (await get_lead(services, two)).budget_cny is None
    await chat.handle_line("把董明的预算改成80万")  # no such customer
    assert "没有叫董明的客户" in transcript.last("rep01")["text"]


async def test_draft_buttons_keep_their_order_after_an_edit(chat: ChatSession, transcript: Transcript) -> None:
    """The typed draft offered 确认 · 放弃; after 「行业 物流」 it offered 确认 · 修改 · 放弃, so the rep's 「2」 meant
    放弃 before the edit and 修改 after it."""
    await chat.handle_line("新客户 祁经理 白鹭酒店 13722224567")
    first = [b["text"] for b in transcript.last("rep01")["buttons"]]
    await chat.handle_line("行业 酒店")
    after = transcript.last("rep01")
    assert after["title"].startswith("线索草稿") and [b["text"] for b in after["buttons"]] == first
    await chat.handle_line("预算 30万")
    assert [b["text"] for b in transcript.last("rep01")["buttons"]] == first == ["确认", "修改", "放弃"]


async def test_a_time_agreed_with_a_customer_after_hours_is_reminded_at_that_time(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「今晚8点给客户回电话」 on a lead was reminded the next morning at 09:00, after the call it was about."""
    one = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(20, 9),
                          first_contact_at=cn(20, 10), last_activity_at=cn(23, 9))
    two = await seed_lead(services, "rep01", customer_name="祁敏", company="白鹭酒店", assigned_at=cn(20, 9),
                          first_contact_at=cn(20, 10), last_activity_at=cn(23, 9))
    await chat.handle_line("今晚8点提醒我给邹海回电话")
    assert f"今天 20:00 提醒你给邹海回电话（线索 #{one} 邹海）" in transcript.last("rep01")["text"]
    await chat.handle_line(f"跟进 {two} 电话没聊完，约了晚上9点再打")
    assert transcript.last("rep01")["text"].startswith("✅ 已记录；今天 21:00 提醒你回访")
    n = len(transcript.texts("rep01"))
    clock.set(cn(23, 19, 59))
    await chat.settle()
    assert not any("邹海" in t for t in transcript.texts("rep01")[n:])
    clock.set(cn(23, 20, 0))
    await chat.settle()
    assert any("给邹海回电话" in t for t in transcript.texts("rep01")[n:])
    clock.set(cn(23, 20, 46))  # 15 minutes before the call agreed in the follow-up
    await chat.settle()
    assert any("约定回访" in t and "祁敏" in t for t in transcript.texts("rep01")[n:])


async def test_one_budget_check_asks_before_an_edit_keeps_a_value(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """The edit asked by its own ×10-of-the-largest rule while the lead flag used the team's median for the
    industry: 「预算 50」 (50 元, a unit typo) and 900万 among 30万 logistics deals went through the edit unasked,
    then came back as a 🔴 flag."""
    for i in range(5):
        await seed_lead(services, "rep02", customer_name=f"客户{i}", industry="物流", budget_cny=300_000,
                        assigned_at=cn(20, 9))
    lead_id = await seed_lead(services, "rep01", customer_name="邹海", industry="物流", assigned_at=cn(20, 9),
                              first_contact_at=cn(20, 10))
    for said, reason in ((f"线索 {lead_id} 预算 50", "远低于"), (f"线索 {lead_id} 预算 900万", "中位数 30 万元")):
        await chat.handle_line(said)
        card = transcript.last("rep01")
        assert reason in card["title"] and [b["text"] for b in card["buttons"]] == ["确认", "取消"], card
        assert (await get_lead(services, lead_id)).budget_cny is None
    await chat.handle_line(f"线索 {lead_id} 预算 60万")  # plausible: kept at once, no flag
    assert (await get_lead(services, lead_id)).budget_cny == 600_000
    assert "🔴" not in transcript.last("rep01")["text"]


async def test_a_managers_typed_takeover_or_reassign_acts_at_once_says_what_it_did_and_can_be_undone(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """A clear 「接手 N」 / 「把N号线索改派给李娜」 from a manager acts at once, names the customer and the owner
    before, and offers 撤销; a name that fits no colleague exactly (「小李」) is asked about with buttons, and
    nothing moves until one is clicked."""
    one = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    two = await seed_lead(services, "rep01", customer_name="祁敏", company="白鹭酒店", assigned_at=cn(23, 9))
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"接手 {one}")
    card = transcript.last("manager01")
    assert (await get_lead(services, one)).owner_id == "manager01"
    assert f"线索 #{one} 邹海 · 松涛仓储 已由你接手" in card["text"] and "原负责人 张伟" in card["text"]
    assert [b["text"] for b in card["buttons"]] == ["撤销"]
    await chat.handle_line("/click 撤销")
    assert (await get_lead(services, one)).owner_id == "rep01"
    assert "回到 张伟 名下" in transcript.last("manager01")["text"]
    assert any(f"线索 #{one} 邹海" in t and "回到你名下" in t for t in transcript.texts("rep01"))

    await chat.handle_line(f"把{two}号线索改派给李娜")
    card = transcript.last("manager01")
    assert (await get_lead(services, two)).owner_id == "rep02"
    assert f"线索 #{two} 祁敏 · 白鹭酒店 已改派给 李娜" in card["text"] and "原负责人 张伟" in card["text"]
    await chat.handle_line("/click 撤销")
    assert (await get_lead(services, two)).owner_id == "rep01"
    assert any("改派已被 王经理 撤销" in t for t in transcript.texts("rep02"))
    await chat.handle_line("/click 撤销")  # the card was already used: nothing moves
    assert (await get_lead(services, two)).owner_id == "rep01"

    await chat.handle_line(f"改派 {two} 小李")
    card = transcript.last("manager01")
    assert "你是想把线索" in card["title"] and [b["text"] for b in card["buttons"]] == ["李娜"]
    assert (await get_lead(services, two)).owner_id == "rep01"
    await chat.handle_line("1")
    assert (await get_lead(services, two)).owner_id == "rep02"


@pytest.mark.parametrize("status, refusal", [("won", "已赢单，不能再操作"), ("frozen", "冻结")])
async def test_a_budget_confirm_clicked_after_the_lead_closed_or_froze_changes_nothing(
        chat: ChatSession, transcript: Transcript, services: Services, status: str, refusal: str) -> None:
    """The 确认 under 「预算 900万」 still wrote the budget after the lead was won or frozen, although the same edit
    typed again was refused: the button goes through the same lead gate as the typed edit (issue 12)."""
    for i in range(5):
        await seed_lead(services, "rep02", customer_name=f"客户{i}", industry="物流", budget_cny=300_000,
                        assigned_at=cn(20, 9))
    lead_id = await seed_lead(services, "rep01", customer_name="邹海", industry="物流", assigned_at=cn(20, 9),
                              first_contact_at=cn(20, 10))
    await chat.handle_line(f"线索 {lead_id} 预算 900万")
    assert [b["text"] for b in transcript.last("rep01")["buttons"]] == ["确认", "取消"]
    async with services.db.session() as s:
        lead = await s.get(Lead, lead_id)
        assert lead is not None
        lead.status = status
        if status == "frozen":
            lead.extra = {"frozen": {"prev_owner": "rep01", "reason": "首次联系超时"}}
    before = await _snapshot(services)
    await chat.handle_line("/click 确认")
    assert refusal in transcript.last("rep01")["text"], transcript.last("rep01")
    assert await _snapshot(services) == before
