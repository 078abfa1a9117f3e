"""What a third new-user audit of the front door found (issue 15), each written as the user's complaint first.
Invented people and companies only."""

from __future__ import annotations

from sqlalchemy import select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from knowledge.store import gaps
from storage.models import Lead, Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, seed_lead
from tests.test_numeric_args import frozen


async def test_a_lead_asked_for_by_a_name_nobody_has_is_answered_and_never_a_knowledge_gap(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「邵阳的线索」 with no such lead got 「没找到合适的话术」 and landed in the admins' 知识缺口 queue."""
    await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line("邵阳的线索")
    reply = transcript.last("rep01")["text"]
    assert "没找到邵阳的线索" in reply and "话术" not in reply, reply
    async with services.db.session() as s:
        assert not [g for g in await gaps(s) if "邵阳" in str(g)]


async def test_a_manager_extends_a_lead_whose_open_step_is_an_agreed_callback(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「延期 1 2天 客户出差」 with an overdue 约定回访 answered 「现在没有进行中的期限，不需要延期」, although
    谁超时了 listed it and itself suggested 「延期 编号 2天 原因」."""
    lead = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead} 打了电话，约了明天上午10点再打")
    assert "提醒你" in transcript.last("rep01")["text"]
    clock.set(cn(25, 14))
    await chat.settle()
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"延期 {lead} 2天 客户出差")
    reply = transcript.last("manager01")["text"]
    assert "已延期" in reply and "不需要延期" not in reply, reply
    async with services.db.session() as s:
        due = [r.due_at for r in (await s.execute(select(Reminder).where(
            Reminder.lead_id == lead, Reminder.status == "pending", Reminder.rule == "follow_up"))).scalars()]
    assert due and min(due) > cn(25, 14), due  # the callback reminder moved on, not left behind


async def _last_lead(services: Services) -> Lead:
    async with services.db.session() as s:
        lead = (await s.execute(select(Lead).order_by(Lead.id.desc()).limit(1))).scalar_one()
    return lead


async def test_region_industry_and_product_line_typed_in_a_new_lead_fill_their_fields(
        chat: ChatSession, services: Services) -> None:
    """「… 区域华北」 and 「… 零售行业」 in a 新线索 line were dropped: the draft still asked for 区域 / 行业."""
    await chat.handle_line("新线索 郑经理 北岭机械 13322225555 预算20万 区域华北")
    lead = await _last_lead(services)
    assert (lead.customer_name, lead.company, lead.region) == ("郑经理", "北岭机械", "华北")
    await chat.handle_line("我想录一个客户 卢总 海棠百货 13900005678 预算 30万 零售行业")
    lead = await _last_lead(services)
    assert (lead.customer_name, lead.company, lead.industry) == ("卢总", "海棠百货", "零售")
    await chat.handle_line("新客户 冯丽 青禾药业 13700006666 行业：医药 产品线 CRM 华南")
    lead = await _last_lead(services)
    assert (lead.customer_name, lead.company, lead.industry, lead.product_line, lead.region) == (
        "冯丽", "青禾药业", "医药", "CRM", "华南")


async def test_a_latin_given_name_before_a_company_is_the_person(chat: ChatSession, services: Services) -> None:
    """「新线索 Tom 华为 …」 stored 客户 华为 · 公司 Tom."""
    await chat.handle_line("新线索 Kevin 华为 13800003333 budget 20万")
    lead = await _last_lead(services)
    assert (lead.customer_name, lead.company) == ("Kevin", "华为")


async def test_month_end_said_on_the_last_day_of_the_month_means_today(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """On 11-30 10:00 「跟进 N 月底前签约」 set no reminder and 「提醒我月底…」 answered 「「月底」已经过去了」."""
    lead = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(27, 9),
                           first_contact_at=cn(27, 10))
    clock.set(cn(30, 10))
    await chat.handle_line(f"跟进 {lead} 客户说月底前签约")
    reply = transcript.last("rep01")["text"]
    assert reply.startswith("✅ 已记录；") and "今天" in reply, reply
    assert (await get_lead(services, lead)).next_follow_up_at > cn(30, 10)
    await chat.handle_line("提醒我月底给邹海发资料")
    reply = transcript.last("rep01")["text"]
    assert "过去" not in reply and "今天" in reply, reply


async def test_reassigning_a_frozen_lead_keeps_the_managers_reason_in_chinese_punctuation(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「分配 7 张伟 客户在张伟片区」 on a frozen lead stored 「改派（冻结后）：无匹配规则, 按负荷轮转, …」 and answered
    「已改派给 张伟。」 without the reason, unlike the same command on a lead that is not frozen."""
    lead = await frozen(chat, services)
    assert (await get_lead(services, lead)).status == "frozen"
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"分配 {lead} rep02 客户在她的片区")
    reply = transcript.last("manager01")["text"]
    assert "已改派给" in reply and "客户在她的片区" in reply, reply
    got = await get_lead(services, lead)
    assert got.owner_id == "rep02" and "客户在她的片区" in (got.assign_reason or "")
    assert "," not in (got.assign_reason or ""), got.assign_reason


async def test_a_typed_lost_asks_one_confirm_click_before_closing_the_lead(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「输单 1 价格太高」 closed the lead at once, with no confirm (a lead closed is not undone)."""
    lead = await seed_lead(services, "rep01", customer_name="邹海", company="松涛仓储", assigned_at=cn(23, 9))
    await chat.handle_line(f"输单 {lead} 价格太高")
    card = transcript.last("rep01")
    assert card["title"].startswith("确认") and (await get_lead(services, lead)).status == "active", card
    await chat.handle_line("/click 确认输单")
    assert (await get_lead(services, lead)).status == "lost"
