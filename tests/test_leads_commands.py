"""Rep and manager lead commands through the console chat: the full loop, refusals, evidence, frozen leads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.chat import ChatSession
from bot.services import Services
from storage.models import Activity, Evidence, Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, get_lead, seed_lead
from tests.test_reminders_support import make_lead


async def _count(services: Services, model: type, **where: object) -> int:
    async with services.db.session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return int((await s.execute(stmt)).scalar_one())


async def test_new_lead_draft_confirm_and_list(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await chat.handle_line("新线索 某某医院 设备科 13800138000 预算50万")
    card = transcript.last("rep01")
    assert card["kind"] == "card" and card["title"] == "线索草稿 #1"
    assert [b["key"] for b in card["buttons"]] == ["lead:confirm:1", "cap:edit:1", "lead:drop:1"]
    assert "电话: 13800138000（手填·张伟）" in card["text"]
    draft = await get_lead(services, 1)
    assert (draft.status, draft.source, draft.owner_id) == ("draft", "manual", None)
    assert draft.field_sources["phone"]["source"] == "manual" and draft.field_sources["phone"]["by"] == "rep01"

    await chat.handle_line("/click 确认")
    lead = await get_lead(services, 1)
    assert (lead.status, lead.owner_id) == ("active", "rep01")
    assert lead.assigned_at == cn(23, 10)
    assert await _count(services, Reminder, lead_id=1) > 0  # on_lead_activated started the timers
    assert "已启用" in transcript.last("rep01")["text"]

    await chat.handle_line("我的线索")
    listing = transcript.last("rep01")
    assert listing["title"] == "我的线索（1）" and "🟢 #1" in listing["text"]
    assert listing["buttons"][0]["key"] == "lead:view:1"


async def test_list_colours_by_response_time(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    now = cn(23, 10)
    await seed_lead(services, "rep01", customer_name="绿", assigned_at=now - timedelta(hours=5),
                    last_activity_at=now - timedelta(hours=5))
    await seed_lead(services, "rep01", customer_name="黄", assigned_at=now - timedelta(hours=15),
                    last_activity_at=now - timedelta(hours=15))
    await seed_lead(services, "rep01", customer_name="红", assigned_at=now - timedelta(hours=30),
                    last_activity_at=now - timedelta(hours=30))
    await seed_lead(services, "rep02", customer_name="别人", assigned_at=now)
    await chat.handle_line("我的线索")
    lines = transcript.last("rep01")["text"].splitlines()
    assert lines[0].startswith("🔴 #3 红") and lines[1].startswith("🟡 #2 黄") and lines[2].startswith("🟢 #1 绿")
    assert "别人" not in transcript.last("rep01")["text"]


async def test_follow_up_logs_contact_and_mines_insights(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9), last_activity_at=cn(23, 9))
    await chat.handle_line("跟进　１　设备科说太贵了，在和销售易比较，院长拍板")  # full-width space and digit
    assert "已记录线索 #1" in transcript.last("rep01")["text"]
    lead = await get_lead(services, 1)
    assert lead.first_contact_at == cn(23, 10) and lead.last_activity_at == cn(23, 10)
    insights = lead.extra["insights"]
    assert "价格" in insights["pain_points"] and insights["competitors"] == ["销售易"]
    assert set(insights["roles"]) == {"采购", "决策层"}
    await chat.handle_line("线索 1")
    detail = transcript.last("rep01")
    assert "跟进：设备科说太贵了" in detail["text"] and "竞品 销售易" in detail["text"]
    assert [b["text"] for b in detail["buttons"]] == ["跟进", "推进阶段", "赢单", "输单", "证据"]


async def test_follow_up_needs_id_and_summary(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9))
    await chat.handle_line("跟进 1")
    assert "请写上跟进摘要" in transcript.last("rep01")["text"]
    await chat.handle_line("跟进")
    assert "请带上线索编号" in transcript.last("rep01")["text"]
    assert await _count(services, Activity, kind="contact") == 0


async def test_stage_names_numbers_and_button(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 3")
    assert (await get_lead(services, 1)).stage == "discover"
    await chat.handle_line("阶段 1 方案演示")
    assert (await get_lead(services, 1)).stage == "demo"
    await chat.handle_line("阶段 1 随便")
    assert "没认出阶段" in transcript.last("rep01")["text"]
    for not_yet in ("还不需要演示", "预计下月签约", "没到诊断"):  # a stage word that says it has not happened
        await chat.handle_line(f"阶段 1 {not_yet}")
        assert "没认出阶段" in transcript.last("rep01")["text"]
        assert (await get_lead(services, 1)).stage == "demo"
    await chat.handle_line("阶段 1 第二阶段")
    assert (await get_lead(services, 1)).stage == "qualify"
    await chat.handle_line("阶段 1 四")
    assert (await get_lead(services, 1)).stage == "demo"
    await chat.handle_line("阶段 1 1")
    lead = await get_lead(services, 1)
    assert lead.stage == "new" and lead.extra["max_stage"] == "demo"
    await chat.handle_line("线索 1")
    await chat.handle_line("/click 推进阶段")
    assert (await get_lead(services, 1)).stage == "qualify"


async def test_close_needs_evidence_image(chat: ChatSession, transcript: Transcript, services: Services,
                                          tmp_path: object) -> None:
    """签约回款 / 赢单 need a contract page or a payment record: an unreadable image or a shop receipt is kept as
    evidence but proves neither; a contract page does."""
    from tests.trust_helpers import contract_png, receipt_png, save

    await seed_lead(services, "rep01", customer_name="王主任", company="青禾农业发展有限公司", stage="demo",
                    assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 5")
    assert "需要证据" in transcript.last("rep01")["text"]
    await chat.handle_line("赢单 1 合同已签")
    assert "需要证据" in transcript.last("rep01")["text"]
    assert (await get_lead(services, 1)).status == "active"
    await chat.handle_line("证据 1")
    fake = save(tmp_path, "fake.png", b"\x89PNG fake contract")
    await chat.handle_line(f"/image {fake}")
    assert "已保存线索 #1 的证据" in transcript.last("rep01")["text"]
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {save(tmp_path, 'receipt.png', receipt_png())}")
    assert "购物小票" in transcript.last("rep01")["text"]
    assert await _count(services, Evidence, lead_id=1, kind="image") == 2
    await chat.handle_line("阶段 1 签约回款")
    assert "需要证据" in transcript.last("rep01")["text"] and (await get_lead(services, 1)).stage == "demo"
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {save(tmp_path, 'contract.png', contract_png())}")
    assert "识别为：合同页" in transcript.last("rep01")["text"]
    await chat.handle_line("阶段 1 签约回款")
    assert (await get_lead(services, 1)).stage == "close"
    assert "回款凭证" in transcript.last("rep01")["text"]  # the gate asks for what 签约回款 still needs
    await chat.handle_line("赢单 1 合同已签")
    lead = await get_lead(services, 1)
    assert (lead.status, lead.close_reason) == ("won", "合同已签")
    assert "🔴" in transcript.last("rep01")["text"]  # won without a payment record: flagged
    assert await _count(services, Reminder, lead_id=1, status="pending") == 0
    await chat.handle_line("跟进 1 再聊聊")
    assert "已赢单" in transcript.last("rep01")["text"]


async def test_evidence_note_needs_manager(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", stage="demo", assigned_at=cn(23, 9))
    await chat.handle_line("证据 1 客户已盖章，回款下周")
    card = transcript.last("manager01")
    assert card["title"] == "证据待确认 · 线索 #1" and card["buttons"][0]["key"].startswith("ev:ok:")
    await chat.handle_line("赢单 1")
    assert "等主管确认" in transcript.last("rep01")["text"]
    await chat.handle_line("/as manager02")
    await chat.handle_line(f"/click {card['buttons'][0]['key']}")  # not on manager02's screen
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 确认")
    assert "已确认" in transcript.last("rep01")["text"]
    await chat.handle_line("/as rep01")
    await chat.handle_line("赢单 1")
    assert (await get_lead(services, 1)).status == "won"
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"/click {card['buttons'][1]['key']}")  # 驳回 on the same card, after the win
    assert "已处理过了" in transcript.last("manager01")["text"]
    assert await _count(services, Evidence, lead_id=1, kind="note") == 1  # the proof the lead was won on stands


async def test_lost_needs_reason(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9))
    await chat.handle_line("输单 1")
    assert "请写上输单原因" in transcript.last("rep01")["text"]
    await chat.handle_line("输单 1 预算砍掉了")
    await chat.handle_line("/click 确认输单")  # closing a lead waits for one confirm click
    lead = await get_lead(services, 1)
    assert (lead.status, lead.close_reason) == ("lost", "预算砍掉了")


async def test_frozen_lead_refused_until_manager_acts(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    # the reminders ladder freezes like this: owner released to the pool, previous owner kept in extra
    await seed_lead(services, None, status="frozen", customer_name="王主任", assigned_at=cn(20, 9),
                    extra={"frozen": {"prev_owner": "rep01", "reason": "首次联系超时"}})
    await chat.handle_line("跟进 1 已电话沟通")
    assert "冻结" in transcript.last("rep01")["text"]
    assert await _count(services, Activity, lead_id=1, kind="contact") == 0
    await chat.handle_line("/as manager01")
    await chat.handle_line("改派 1 李娜")
    lead = await get_lead(services, 1)
    assert (lead.status, lead.owner_id) == ("active", "rep02")
    assert transcript.last("rep02")["title"] == "📌 改派给你的线索" and "#1" in transcript.last("rep02")["text"]
    await chat.handle_line("/as rep02")
    await chat.handle_line("跟进 1 已电话沟通")
    assert (await get_lead(services, 1)).first_contact_at == cn(23, 10)


async def test_reassign_to_the_current_owner_changes_nothing(chat: ChatSession, services: Services,
                                                            transcript: Transcript) -> None:
    """A no-op 改派 must not restart the SLA clocks (the lead would drop out of the overdue list)."""
    lead_id = await make_lead(services)
    before = (await get_lead(services, lead_id)).assigned_at
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {lead_id} rep01")
    assert "已经由 张伟 负责" in transcript.last("manager01")["text"]
    assert (await get_lead(services, lead_id)).assigned_at == before
    assert not any("新分配" in m["title"] for m in transcript.to("rep01"))


async def test_reassign_by_button_uses_engine_reason(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", region="华东", product_line="ERP", industry="教育",
                    assigned_at=cn(23, 9))
    await chat.handle_line("/as manager01")
    await chat.handle_line("线索 1")
    await chat.handle_line("/click 改派")
    card = transcript.last("manager01")
    # rep02: 华东 +3, ERP +2, 教育 +1 = 6; rep03: ERP +2 = 2; rep01 (current owner) is left out
    assert card["buttons"][0]["key"] == "lead:to:1:rep02"
    assert "李娜（按区域 华东 · 产品线 ERP · 行业 教育 匹配" in card["text"]
    await chat.handle_line("/click 1")
    lead = await get_lead(services, 1)
    assert lead.owner_id == "rep02" and lead.assign_reason == "按区域 华东 · 产品线 ERP · 行业 教育 匹配，当前负荷 0/30"


async def test_duplicate_draft_cannot_be_confirmed(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", phone="13800138000", assigned_at=cn(23, 9))
    await chat.handle_line("/as rep02")
    await chat.handle_line("新线索 13800138000")
    assert "同一客户已有同事在跟进（线索 #1）" in transcript.last("rep02")["text"]
    assert "王主任" not in transcript.last("rep02")["text"]
    await chat.handle_line("/click 确认")
    assert "已有同事在跟进" in transcript.last("rep02")["text"]
    assert (await get_lead(services, 2)).status == "draft"
    await chat.handle_line("线索 2")
    await chat.handle_line("/click 放弃")
    assert (await get_lead(services, 2)).status == "lost"


async def test_rep_cannot_use_manager_commands(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9))
    await chat.handle_line("改派 1 rep02")
    assert "只有主管" in transcript.last("rep01")["text"]
    await chat.handle_line("团队线索")
    assert "只有主管或管理员" in transcript.last("rep01")["text"]
    assert (await get_lead(services, 1)).owner_id == "rep01"


async def test_team_list_and_report_for_manager(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9), last_activity_at=cn(23, 9))
    await seed_lead(services, "rep04", customer_name="外队客户", assigned_at=cn(23, 9))
    await chat.handle_line("/as manager01")
    await chat.handle_line("团队线索")
    text = transcript.last("manager01")["text"]
    assert "王主任" in text and "张伟" in text and "外队客户" not in text
    await chat.handle_line("团队日报")
    kinds = [m["kind"] for m in transcript.to("manager01")[-2:]]
    assert kinds == ["markdown", "image"]


async def test_new_lead_with_agreed_time_schedules_follow_up(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await chat.handle_line("新线索 张三 某某医院 设备科主任 13800138000 预算50万 明天下午3点回电")
    assert "约定回访: 2026-11-24 15:00" in transcript.last("rep01")["text"]
    await chat.handle_line("/click 确认")
    lead = await get_lead(services, 1)
    assert lead.next_follow_up_at == cn(24, 15)
    assert await _count(services, Activity, lead_id=1, kind="plan") == 1
    assert await _count(services, Reminder, lead_id=1, rule="follow_up") == 1


async def test_reassigning_a_frozen_lead_skips_the_rep_who_missed_it(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await seed_lead(services, None, status="frozen", customer_name="王主任", region="华东", product_line="CRM",
                    industry="医疗", assigned_at=cn(20, 9),
                    extra={"frozen": {"prev_owner": "rep01", "reason": "首次联系超时"}})
    await chat.handle_line("/as manager01")
    await chat.handle_line("线索 1")
    await chat.handle_line("/click 改派")
    card = transcript.last("manager01")
    # rep01 would score 6 (华东 CRM 医疗) but missed the SLA; rep02: 华东 +3, CRM +2 = 5; rep03: 0
    assert [b["key"] for b in card["buttons"]] == ["lead:to:1:rep02", "lead:to:1:rep03"]
    await chat.handle_line("/click 1")
    lead = await get_lead(services, 1)
    assert (lead.owner_id, lead.status) == ("rep02", "active")
    assert lead.assign_reason == "按区域 华东 · 产品线 CRM 匹配，当前负荷 0/30"


async def test_commands_accept_punctuation_after_the_number_and_long_aliases(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    for i in range(3):
        await seed_lead(services, "rep01", customer_name=f"客户{i}", assigned_at=cn(23, 9))
    for line in ("跟进 1，客户说下周再谈", "跟进1:客户说下周再谈", "跟进记录 1 电话沟通", "跟进记录2、电话沟通",
                 "赢单 1，合同已签", "输单 3：预算砍了"):
        await chat.handle_line(line)
        assert "请带上线索编号" not in transcript.last("rep01")["text"], line
    await chat.handle_line("/click 确认输单")
    async with services.db.session() as s:
        summaries = list((await s.execute(select(Activity.summary).where(Activity.kind == "contact")
                                          .order_by(Activity.id))).scalars())
    assert summaries == ["客户说下周再谈", "客户说下周再谈", "电话沟通", "电话沟通"]
    texts = transcript.texts("rep01")
    asked = max(k for k, t in enumerate(texts) if t.startswith("确认把线索 #3"))
    assert "证据" in texts[asked - 1]  # 赢单 reached the evidence check
    lost = await get_lead(services, 3)
    assert (lost.status, lost.close_reason) == ("lost", "预算砍了")


async def test_card_buttons_for_lost_and_evidence(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9))
    await chat.handle_line("线索 1")
    await chat.handle_line("/click 输单")
    assert "输单 1 <原因>" in transcript.last("rep01")["text"]
    await chat.handle_line("线索 1")
    await chat.handle_line("/click 证据")
    assert "5 分钟内发送线索 #1" in transcript.last("rep01")["text"]


async def test_closed_lead_has_no_next_step_and_reassigned_lead_starts_green(
    chat: ChatSession, transcript: Transcript, services: Services
) -> None:
    now = cn(23, 10)
    await seed_lead(services, "rep01", status="won", stage="close", customer_name="赢了", assigned_at=cn(20, 9))
    await seed_lead(services, "rep01", customer_name="刚改派", assigned_at=now - timedelta(hours=1),
                    last_activity_at=now - timedelta(hours=40))
    await seed_lead(services, None, status="frozen", customer_name="冻结", assigned_at=cn(20, 9),
                    extra={"frozen": {"prev_owner": "rep01", "reason": "首次联系超时"}})
    async with services.db.session() as s:  # timers a freeze leaves behind (cadence) are not the next step
        s.add(Reminder(lead_id=3, rule="cadence", due_at=cn(28, 9), level=0, status="pending", payload={},
                       created_at=now, updated_at=now))
    await chat.handle_line("线索 1")
    assert "下一步: —" in transcript.last("rep01")["text"]
    await chat.handle_line("我的线索")
    assert "🟢 #2 刚改派" in transcript.last("rep01")["text"]
    await chat.handle_line("/as manager01")
    await chat.handle_line("团队线索")
    shown = transcript.last("manager01")["text"]
    assert "#3 冻结 · 1.线索获取 [已冻结] · 线索池（原 张伟） · 下一步: 等待主管处理" in shown


async def test_stage_by_ordinal(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="王主任", assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 第3阶段")
    assert (await get_lead(services, 1)).stage == "discover"
    await chat.handle_line("阶段 1 需求诊断阶段")
    assert "已经在「3.需求诊断」" in transcript.last("rep01")["text"]
