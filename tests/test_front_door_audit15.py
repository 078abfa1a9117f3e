"""What an independent new-user audit of the front door left (issue 15), each written as the user's complaint
first, through the chat use cases. Invented people and companies only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from bot.usertext import plain
from handlers.report import DIGEST_WINDOW, compute_report, report_lines
from storage.models import Activity, AuditLog, Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, seed_lead
from tests.test_numeric_args import frozen


async def _kinds(services: Services, lead_id: int) -> list[str]:
    async with services.db.session() as s:
        return list((await s.execute(select(Activity.kind).where(Activity.lead_id == lead_id)
                                     .order_by(Activity.id))).scalars())


async def _escalation_open(services: Services, lead_id: int) -> bool:
    async with services.db.session() as s:
        rows = (await s.execute(select(Reminder.payload).where(Reminder.lead_id == lead_id))).scalars()
        return any((p or {}).get("escalation") and not p["escalation"].get("resolved") for p in rows)


async def test_a_typed_takeover_of_a_frozen_lead_can_be_undone_as_the_help_promises(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「接手 2」 on a frozen lead acted at once with no 撤销, although 帮助 says 接手、改派后 10 分钟内可点「撤销」."""
    lead = await frozen(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"接手 {lead}")
    card = transcript.last("manager01")
    assert [b["text"] for b in card["buttons"]] == ["撤销"] and "撤销" in card["text"], card
    assert (await get_lead(services, lead)).owner_id == "manager01"
    await chat.handle_line("撤销")  # typed, as the card says
    back = await get_lead(services, lead)
    assert (back.status, back.owner_id) == ("frozen", None), (back.status, back.owner_id)
    assert (back.extra or {}).get("frozen", {}).get("prev_owner") == "rep01" and back.frozen_at is not None
    assert await _escalation_open(services, lead)  # the freeze card's 接手 / 改派 / 延期 work again
    assert "回到线索池" in transcript.last("manager01")["text"]
    assert any("撤销" in t and f"#{lead}" in t for t in transcript.texts("rep01"))
    assert (await _kinds(services, lead))[-1] == "undo"
    async with services.db.session() as s:
        assert await s.scalar(select(AuditLog.id).where(AuditLog.action == "escalation.undo")) is not None
    await chat.handle_line(f"改派 {lead} 李娜 客户在她片区")  # settled again, then taken back by its button
    assert (await get_lead(services, lead)).owner_id == "rep02"
    await chat.handle_line("/click 撤销")
    assert ((await get_lead(services, lead)).status, (await get_lead(services, lead)).owner_id) == ("frozen", None)
    assert "不再由你负责" in transcript.last("rep02")["text"]


async def test_an_undo_after_the_window_changes_nothing(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    lead = await frozen(chat, services)
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"接手 {lead}")
    clock.advance(timedelta(minutes=11))
    await chat.handle_line("撤销")
    assert "撤销" in transcript.last("manager01")["text"] and "已撤销" not in transcript.last("manager01")["text"]
    await chat.handle_line("/click 撤销")
    assert "不能撤销" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead)).owner_id == "manager01"


async def test_a_newcomer_without_a_display_name_is_not_greeted_by_their_id(
        chat: ChatSession, transcript: Transcript) -> None:
    """「你好，newguy！」: the id of a newcomer registered without a name."""
    await chat.handle_line("/as newguy")
    await chat.handle_line("你好")
    hello = transcript.last("newguy")["text"]
    assert hello.startswith("你好！") and "newguy" not in hello, hello


async def test_the_timeline_says_who_did_what_and_when_each_once(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「约定回访」 without its time, 「约定回访：提醒：发资料」, 「王经理 接手：王经理 接手」, and an undo shown as
    「改派：王经理 撤销了刚才的转交」."""
    lead = await seed_lead(services, "rep01", customer_name="骆晨", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead} 电话聊了，约了后天下午3点再打")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"接手 {lead}")
    await chat.handle_line("撤销")
    await chat.handle_line(f"改派 {lead} 李娜 客户在她片区")
    await chat.handle_line(f"线索 {lead}")
    timeline = plain(transcript.last("manager01")["text"]).split("\n")
    timeline = timeline[1:timeline.index(next(t for t in timeline if t.startswith("客户")))]
    assert any(line.endswith("张伟 约定 11月25日 15:00 回访") for line in timeline), timeline
    assert sum(line.endswith("王经理 接手") for line in timeline) == 1, timeline
    assert any("王经理 撤销了刚才的接手，线索回到 张伟 名下" in line for line in timeline), timeline
    assert any(line.endswith("王经理 改派给 李娜：客户在她片区") for line in timeline), timeline
    assert not [line for line in timeline if line.count("：") > 1 or "改派：王经理" in line], timeline
    assert len(set(timeline)) == len(timeline)


async def test_the_digest_names_completeness_once_and_counts_no_frozen_lead_as_worked(
        chat: ChatSession, services: Services, clock: ManualClock) -> None:
    """「信息完整度」 next to 「关键字段完整」; and 在跟 counted a lead frozen in the pool that nobody works."""
    await frozen(chat, services)
    await seed_lead(services, "rep02", customer_name="骆晨", assigned_at=cn(23, 9))
    now = clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now - DIGEST_WINDOW, now, services.settings.reminders)
    text = plain("\n".join(report_lines(report)))
    assert "关键字段完整" not in text and text.count("信息完整度") == 1, text
    assert "- 在跟 1 · 赢单 0 · 输单 0 · 冻结待处理 1" in text, text
    assert "张伟: 健康指数" in text and "· 在跟 0 ·" in text.split("张伟: 健康指数")[1].split("\n")[0], text


async def test_team_lead_filters_match_on_purpose_and_list_frozen_leads(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「团队线索 刘洋」 listed a lead of 刘洋贸易 that 刘洋 does not hold, 「团队线索 方案演示」 a company with that
    phrase in its name; and a lead frozen from 张伟 was missing from 「团队线索 张伟」."""
    lead = await frozen(chat, services)
    await seed_lead(services, "rep02", customer_name="骆晨", company="刘洋贸易", assigned_at=cn(23, 9))
    await seed_lead(services, "rep02", customer_name="邹海", company="方案演示中心", assigned_at=cn(23, 9))
    demo = await seed_lead(services, "rep02", customer_name="尹总", company="松涛仓储", stage="demo",
                           assigned_at=cn(23, 9))
    await chat.handle_line("/as manager01")
    await chat.handle_line("团队线索 刘洋")
    assert "没有符合" in transcript.last("manager01")["text"]
    await chat.handle_line("团队线索 方案演示")
    shown = transcript.last("manager01")["text"]
    assert f"#{demo} " in shown and "方案演示中心" not in shown, shown
    await chat.handle_line("团队线索 张伟")
    shown = plain(transcript.last("manager01")["text"])
    assert f"#{lead} " in shown and "已冻结" in shown and "线索池（原 张伟）" in shown, shown
    await chat.handle_line("团队线索 刘洋贸易")  # a company is still found by its name
    assert "骆晨" in transcript.last("manager01")["text"]


async def test_two_leads_of_one_name_are_offered_as_buttons(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「明天提醒我给周立打电话」 with two leads of 周立 asked which one, with no buttons to pick it."""
    first = await seed_lead(services, "rep01", customer_name="周立", company="青松医院", assigned_at=cn(23, 9))
    second = await seed_lead(services, "rep01", customer_name="周立", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line("明天15点提醒我给周立打电话")
    card = transcript.last("rep01")
    assert [b["text"] for b in card["buttons"]] == [f"#{first} 青松医院", f"#{second} 松涛仓储"], card
    await chat.handle_line("2")  # a number picks a button too
    assert (await get_lead(services, second)).next_follow_up_at == cn(24, 15)
    assert (await get_lead(services, first)).next_follow_up_at is None
    assert f"线索 #{second} 周立" in transcript.last("rep01")["text"]
    await chat.handle_line("把周立的预算改成60万")
    await chat.handle_line(f"/click #{first} 青松医院")
    assert (await get_lead(services, first)).budget_cny == 600_000


async def test_a_reminder_keeps_the_callback_agreed_with_the_customer_and_says_so(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「提醒 …」 silently replaced the callback the customer had agreed to."""
    lead = await seed_lead(services, "rep01", customer_name="骆晨", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead} 电话聊了，约了明天下午3点再打")
    await chat.handle_line(f"后天上午10点提醒我给骆晨发报价 线索{lead}")
    said = transcript.last("rep01")["text"]
    assert "后天 10:00" in said and "原定 明天 15:00 的回访照旧" in said, said
    assert (await get_lead(services, lead)).next_follow_up_at == cn(24, 15)
    clock.set(cn(24, 15))
    await chat.settle()
    assert any("约定回访提醒" in t for t in transcript.texts("rep01"))
    clock.set(cn(25, 10))
    await chat.settle()
    assert "给骆晨发报价" in transcript.texts("rep01")[-1]


async def test_a_note_that_states_no_pain_point_fills_none(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「电话打通了，把报表发给他了，约了下周去看库存」 filled 痛点 数据打通、管理可视化、库存管理."""
    lead = await seed_lead(services, "rep01", customer_name="骆晨", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead} 电话打通了，把报表发给他了，约了下周去看库存")
    assert "痛点" not in transcript.last("rep01")["text"]
    assert not ((await get_lead(services, lead)).extra or {}).get("insights", {}).get("pain_points")
    await chat.handle_line(f"跟进 {lead} 客户嫌报价太高，库存对不上")
    pains = ((await get_lead(services, lead)).extra or {}).get("insights", {}).get("pain_points")
    assert pains and "价格" in pains, pains

