"""Issue 17 end to end in the console: flags raised where reps enter values, answered in one line, cleared by the
manager; stage gates by evidence type; the record verified; data quality and the anchor in chat."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.chat import ChatSession
from app.periodic import run_due_work
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from bot.usertext import CLOSE, OPEN
from handlers.report import compute_report, report_lines
from storage.chain import verify
from storage.models import ChainEntry, Evidence
from tests.conftest import Transcript, console_chat, run_cli
from tests.leads_helpers import cn, get_lead, lead_flags, seed_lead
from tests.trust_helpers import clause_contract_png, contract_png, cropped_contract_png, page, payment_png, save


async def test_budget_flag_answered_and_cleared(
        services_both: Services, clock: ManualClock, transcript: Transcript) -> None:
    services, chat = services_both, console_chat(services_both, clock, transcript)  # SQLite and PostgreSQL
    await chat.handle_line("新线索 孙立 云杉教育 校长 13700001111 预算5千万")
    said = transcript.texts("rep01")
    assert any("🔴" in t and "5000 万元" in t for t in said)
    await chat.handle_line("/click 确认")
    (flag,) = await lead_flags(services, 1, rule="budget_outlier")
    assert flag.status == "open" and flag.level == "red"
    await chat.handle_line("预算 确认 客户集团总预算")
    assert "已记录你对线索 #1 的说明" in transcript.last("rep01")["text"]
    (flag,) = await lead_flags(services, 1, rule="budget_outlier")
    assert (flag.status, flag.answer) == ("answered", "客户集团总预算")
    card = transcript.last("manager01")
    assert card["title"] == "标记说明 · 线索 #1" and "客户集团总预算" in card["text"]
    await chat.handle_line("线索 1")
    assert "🔴" in transcript.last("rep01")["text"] and "客户集团总预算" in transcript.last("rep01")["text"]
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 核实无误，清除")
    (flag,) = await lead_flags(services, 1, rule="budget_outlier")
    assert flag.status == "cleared" and flag.cleared_by == "manager01"
    assert "清除" in transcript.last("rep01")["text"]
    report = await verify(services.db)
    assert report.ok and report.entries >= 1  # the clearance is on the record


async def test_near_budget_is_not_flagged_and_unknown_answer_is_told(chat: ChatSession, transcript: Transcript,
                                                                     services: Services) -> None:
    await chat.handle_line("新线索 孙立 云杉教育 校长 13700001111 预算50万")
    assert not any("🔴" in t for t in transcript.texts("rep01"))
    await chat.handle_line("预算 确认 客户集团总预算")
    assert "没有找到" in transcript.last("rep01")["text"]


async def test_stage_jump_needs_the_skipped_proofs(chat: ChatSession, transcript: Transcript,
                                                   services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="周岚", assigned_at=cn(23, 9))  # no contact, no need
    await seed_lead(services, "rep01", customer_name="钟毅", phone="13700002222", needs=["排班"],
                    assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 4")
    assert "🔴" in transcript.last("rep01")["text"] and "跳过的阶段缺少证据" in transcript.last("rep01")["text"]
    assert {f.rule for f in await lead_flags(services, 1, status="open")} == {"stage_jump", "key_fields_unknown"}
    await chat.handle_line("阶段 2 3")  # near: the skipped 资质初筛 has its contact and need
    assert "🔴" not in transcript.last("rep01")["text"]
    assert await lead_flags(services, 2, rule="stage_jump") == []


async def test_same_file_for_two_leads_and_foreign_contract(chat: ChatSession, transcript: Transcript,
                                                            services: Services, tmp_path: Path) -> None:
    await seed_lead(services, "rep01", customer_name="吕航", company="松涛酒店管理有限公司", stage="demo",
                    assigned_at=cn(23, 9))
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业发展有限公司", stage="demo",
                    assigned_at=cn(23, 9))
    png = save(tmp_path, "c.png", contract_png("青禾农业发展有限公司"))
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {png}")
    out = transcript.last("rep01")["text"]
    assert "合同页" in out and "🟡" in out and "不一致" in out  # 甲方 is another customer
    await chat.handle_line("证据 2")
    await chat.handle_line(f"/image {png}")
    out = transcript.last("rep01")["text"]
    assert "线索 #1" in out and "完全相同" in out
    rules_2 = {f.rule for f in await lead_flags(services, 2)}
    assert "evidence_reused" in rules_2 and "contract_mismatch" not in rules_2  # near: its own contract
    assert {f.rule for f in await lead_flags(services, 1)} >= {"contract_mismatch"}
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Evidence))).scalar() == 2  # nothing lost


async def test_zero_byte_evidence_is_refused(chat: ChatSession, transcript: Transcript, services: Services,
                                             tmp_path: Path) -> None:
    await seed_lead(services, "rep01", customer_name="吕航", stage="demo", assigned_at=cn(23, 9))
    for directive, name in (("/file", "empty.pdf"), ("/image", "empty.png")):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"{directive} {save(tmp_path, name, b'')}")
        assert "0 字节" in transcript.last("rep01")["text"], directive
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Evidence))).scalar() == 0


async def test_summaries_said_signed_and_repeated(chat: ChatSession, transcript: Transcript,
                                                  services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="吕航", phone="13700003333", stage="discover",
                    assigned_at=cn(23, 9))
    await chat.handle_line("跟进 1 客户对报价基本认可，等财务审批后回复")
    assert "🟡" not in transcript.last("rep01")["text"]
    await chat.handle_line("跟进 1 客户对报价基本认可，等财务审批后回复")
    assert "一字不差" in transcript.last("rep01")["text"]
    await chat.handle_line("跟进 1 客户今天签了合同，下周安排上线")
    assert "阶段仍是 3.需求诊断" in transcript.last("rep01")["text"]


async def test_won_with_contract_and_payment_then_verify(chat: ChatSession, transcript: Transcript,
                                                         services: Services, tmp_path: Path,
                                                         settings: Any) -> None:
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业发展有限公司", phone="13700004444",
                    needs=["排班"], stage="demo", assigned_at=cn(23, 9))
    for name, data in (("c.png", contract_png()), ("p.png", payment_png())):
        await chat.handle_line("证据 1")
        await chat.handle_line(f"/image {save(tmp_path, name, data)}")
    await chat.handle_line("阶段 1 5")
    await chat.handle_line("赢单 1 合同已签")
    assert (await get_lead(services, 1)).status == "won"
    assert "🔴" not in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        kinds = list((await s.execute(select(ChainEntry.kind).order_by(ChainEntry.seq))).scalars())
    assert [k for k in kinds if k not in ("lead", "activity", "flag")] == ["evidence", "evidence", "stage", "won"]
    url = settings.database.url
    assert await asyncio.to_thread(run_cli, url, "audit", "verify") == 0
    async with services.db.session() as s:  # a hand edit behind the bot's back
        await s.execute(text("UPDATE leads SET status = 'active' WHERE id = 1"))
    assert await asyncio.to_thread(run_cli, url, "audit", "verify") == 1
    async with services.db.session() as s:
        await s.execute(text("UPDATE leads SET status = 'won' WHERE id = 1"))
    path = Path((await get_lead(services, 1)).evidence_path or "")
    path.write_bytes(b"replaced")  # a replaced evidence file
    assert await asyncio.to_thread(run_cli, url, "audit", "verify") == 1


async def test_digest_quality_and_cleanup_day(chat: ChatSession, services: Services, clock: ManualClock) -> None:
    await seed_lead(services, "rep01", customer_name="吕航", company="松涛酒店", phone="13700005555",
                    budget_cny=300000, needs=["排班"], industry="酒店", assigned_at=cn(23, 9))
    await seed_lead(services, "rep01", customer_name="周岚", assigned_at=cn(23, 9))
    await chat.handle_line("阶段 2 4")  # 🔴 stage jump on lead 2
    now = clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now.replace(day=16), now, services.settings.reminders,
                                      cleanup_day=now.day)
    text_ = "\n".join(report_lines(report)).replace(OPEN, "").replace(CLOSE, "")  # names arrive marked as user text
    assert "**数据质量**" in text_ and "张伟: 资料齐全的线索 1/2 条 · 🔴 未处理 1 条" in text_
    assert "李娜: 资料齐全的线索 未知" in text_  # no open leads: unknown, not 100 %
    assert "  - 线索 #2 🔴 从 1.线索获取 直接跳到 4.方案演示" in text_  # the open red flag with its reason
    assert "数据清洁日" in text_ and "线索 #2 🔴" in text_
    async with services.db.session() as s:
        plain = await compute_report(s, "manager01", now.replace(day=16), now, services.settings.reminders)
    assert "数据清洁日" not in "\n".join(report_lines(plain))


def _anchor_at_nine(settings: Settings) -> Settings:
    return replace(settings, audit=replace(settings.audit, anchor_time="09:00"))


@pytest.mark.parametrize("settings", [_anchor_at_nine], indirect=True, ids=["anchor_0900"])
async def test_daily_anchor_to_admins(chat: ChatSession, transcript: Transcript, services: Services,
                                      clock: ManualClock) -> None:
    await seed_lead(services, "rep01", customer_name="吕航", phone="13700006666", assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 2")
    await run_due_work(services)
    await run_due_work(services)
    await chat.handle_line("/advance 1m")
    anchors = [m for m in transcript.to("admin01") if "存证锚点" in m["text"]]
    assert len(anchors) == 1 and "最新指纹 " in anchors[0]["text"]
    seq_hash = anchors[0]["text"].split("最新指纹 ")[1].split("\n")[0]
    from storage.chain import parse_anchor

    assert (await verify(services.db, anchors=[parse_anchor(seq_hash)])).ok


async def test_budget_edits_in_every_spelling_are_one_amount(chat: ChatSession, transcript: Transcript,
                                                             services: Services) -> None:
    """「预算 5千万」 / 「5e7」 / 「50000000」 on an open lead: one amount, 50,000,000, asked about by the budget rule
    before it is kept, then stored and flagged 🔴 once confirmed; 「50万」 (near) resolves the flag."""
    await seed_lead(services, "rep01", customer_name="吕航", phone="13700007777", assigned_at=cn(23, 9))
    for spelling in ("5千万", "5e7", "50000000"):
        await chat.handle_line(f"线索 1 预算 {spelling}")
        assert "5000 万元 超出常见范围" in transcript.last("rep01")["title"], spelling
        await chat.handle_line("确认")
        assert (await get_lead(services, 1)).budget_cny == 50_000_000, spelling
        assert "🔴" in transcript.last("rep01")["text"] or spelling != "5千万"
    assert [f.status for f in await lead_flags(services, 1, rule="budget_outlier")] == ["open"]
    await chat.handle_line("线索 1 预算 50万")
    assert (await get_lead(services, 1)).budget_cny == 500_000
    assert [f.status for f in await lead_flags(services, 1, rule="budget_outlier")] == ["resolved"]


async def test_a_lead_number_before_the_amount_is_not_read_as_digits_of_it(chat: ChatSession, transcript: Transcript,
                                                                           services: Services) -> None:
    """「预算 1 80万」 was stored as 180万 on the lead in view (the number merged into the amount): it means lead #1,
    80万 (thousands in groups and a phone in groups stay one value: tests/test_front_door.py)."""
    await seed_lead(services, "rep01", customer_name="吕航", phone="13700007777", assigned_at=cn(23, 9))
    await seed_lead(services, "rep01", customer_name="邵凯", phone="13700005555", assigned_at=cn(23, 9))
    await chat.handle_line("线索 2")  # lead #2 is the one in view
    await chat.handle_line("预算 1 80万")
    assert (await get_lead(services, 1)).budget_cny == 800_000
    assert (await get_lead(services, 2)).budget_cny is None
    assert "线索 #1" in transcript.last("rep01")["text"]
    await chat.handle_line("预算 1 5e7")
    assert "5000 万元 超出常见范围" in transcript.last("rep01")["title"]
    await chat.handle_line("电话 1 13700008888")
    assert (await get_lead(services, 1)).phone == "13700008888"


async def test_key_facts_are_told_in_one_line_and_the_flag_goes(chat: ChatSession, transcript: Transcript,
                                                                 services: Services) -> None:
    """At 方案演示 the 🟡 says decision chain / next step / objection are unknown; the rep can tell them directly
    (there was no command for them: the flag could only be answered, never made untrue)."""
    await seed_lead(services, "rep01", customer_name="邵凯", phone="13700005555", needs=["排班"], stage="demo",
                    assigned_at=cn(23, 9))
    await chat.handle_line("跟进 1 演示完了，客户反馈不错")
    assert "决策链" in transcript.last("rep01")["text"] and "可回复「决策链 …」补充" in transcript.last("rep01")["text"]
    await chat.handle_line("决策链 副总拍板，信息部经理推动")
    assert "已更新线索 #1 的决策链" in transcript.last("rep01")["text"]
    await chat.handle_line("异议 担心上线后的培训跟不上")
    await chat.handle_line("下一步 下周安排试用账号")
    assert await lead_flags(services, 1, rule="key_fields_unknown", status="open") == []
    await chat.handle_line("线索 1")
    card = transcript.last("rep01")["text"]
    assert "副总拍板" in card and "培训跟不上" in card and "试用账号" in card


async def test_an_objection_word_with_no_lead_in_view_is_a_question(chat: ChatSession,
                                                                     transcript: Transcript) -> None:
    await chat.handle_line("异议 价格太贵了")
    assert "已更新" not in transcript.last("rep01")["text"] and "要改哪条线索" not in transcript.last("rep01")["text"]


async def test_digest_keeps_a_reps_red_flag_after_the_lead_is_frozen(chat: ChatSession, transcript: Transcript,
                                                                    services: Services, clock: ManualClock) -> None:
    """The 🔴 flag counts for the rep who caused it, also once the lead was frozen into the pool."""
    await chat.handle_line("新线索 孙立 云杉教育 校长 13700001111")
    await chat.handle_line("/click 确认")
    await chat.handle_line("阶段 1 4")  # 🔴 a jump without the skipped stages' proof
    for step in ("3h", "1d", "1d"):  # no first contact: frozen into the pool
        await chat.handle_line(f"/advance {step}")
    lead = await get_lead(services, 1)
    assert lead.status == "frozen" and lead.owner_id is None
    now = clock.now()
    async with services.db.session() as s:
        report = await compute_report(s, "manager01", now.replace(day=16), now, services.settings.reminders)
    text_ = "\n".join(report_lines(report)).replace(OPEN, "").replace(CLOSE, "")
    assert "张伟: 资料齐全的线索 未知 · 🔴 未处理 1 条" in text_
    assert "  - 线索 #1 🔴 从 1.线索获取 直接跳到 4.方案演示" in text_


async def test_a_drafts_flag_is_shown_and_goes_with_the_draft(
        services_both: Services, clock: ManualClock, transcript: Transcript) -> None:
    """A 🟡 same-phone flag raised on a draft is listed in 「我的标记」 while the draft waits, and resolved when the
    draft is dropped: no hidden open flag."""
    services, chat = services_both, console_chat(services_both, clock, transcript)  # SQLite and PostgreSQL
    await seed_lead(services, "rep02", customer_name="郑远", company="远山物流", phone="13700008888",
                    assigned_at=cn(23, 9))
    await chat.handle_line("新线索 郑总 远山物流 13700008888")
    assert "同事在跟进（线索 #1）" in transcript.last("rep01")["text"]
    (flag,) = await lead_flags(services, 2, rule="shared_contact")
    assert flag.status == "open"
    await chat.handle_line("我的标记")
    assert "线索 #2 🟡" in transcript.last("rep01")["text"]
    await chat.handle_line("1")  # the draft card is no longer the last thing sent: no number presses its 确认
    assert (await get_lead(services, 2)).status == "draft"
    await chat.handle_line("放弃")  # its button said in words still does
    (flag,) = await lead_flags(services, 2, rule="shared_contact")
    assert flag.status == "resolved"
    await chat.handle_line("我的标记")
    assert "目前没有待处理的标记" in transcript.last("rep01")["text"]
    assert (await verify(services.db)).ok


@pytest.mark.parametrize("spelling", ["5千万", "50000000", "5e7", "5000万元"])
async def test_a_new_drafts_budget_in_every_spelling_is_asked_about(chat: ChatSession, transcript: Transcript,
                                                                   services: Services, spelling: str) -> None:
    await chat.handle_line(f"新线索 孙立 云杉教育 校长 13700001111 预算{spelling}")
    said = transcript.texts("rep01")
    assert any("🔴" in t and "5000 万元" in t and "预算是不是写错了" in t for t in said), said
    assert (await get_lead(services, 1)).budget_cny == 50_000_000


async def test_a_planned_demo_is_no_proof_of_one(chat: ChatSession, transcript: Transcript,
                                                 services: Services) -> None:
    """「下周安排演示」 in a follow-up and in a confirmed evidence note leaves 方案演示 asking for its proof; a demo
    that was done counts."""
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业", phone="13700004444",
                    needs=["排班"], stage="discover", assigned_at=cn(23, 9))
    await chat.handle_line("跟进 1 客户说下周安排演示")
    await chat.handle_line("证据 1 已和客户约好，下周安排演示")
    await chat.handle_line("/as manager01")
    await chat.handle_line("/click 确认")
    await chat.handle_line("/as rep01")
    await chat.handle_line("阶段 1 4")
    assert "需要：演示记录或文件" in transcript.last("rep01")["text"], transcript.last("rep01")["text"]
    await chat.handle_line("跟进 1 今天给客户演示了，反馈不错")
    await chat.handle_line("阶段 1 3")
    await chat.handle_line("阶段 1 4")
    assert "需要：" not in transcript.last("rep01")["text"], transcript.last("rep01")["text"]


async def test_a_bare_red_circle_is_no_contract_page(chat: ChatSession, transcript: Transcript,
                                                    services: Services, tmp_path: Path) -> None:
    """A picture of a red seal-like circle and nothing else is kept as evidence but proves no contract: 赢单 is
    still refused."""
    await seed_lead(services, "rep01", customer_name="韩梅", company="青禾农业", stage="demo", assigned_at=cn(23, 9))
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {save(tmp_path, 'seal.png', page([], seal=True))}")
    reply = transcript.last("rep01")["text"]
    assert "已保存线索 #1 的证据" in reply and "合同页" not in reply, reply
    await chat.handle_line("赢单 1 客户签了")
    assert "需要证据" in transcript.last("rep01")["text"]


@pytest.mark.parametrize("settings", [_anchor_at_nine], indirect=True, ids=["anchor_0900"])
async def test_advancing_the_clock_sends_each_days_anchor_at_its_time(chat: ChatSession, transcript: Transcript,
                                                                     services: Services) -> None:
    """/advance over two nights: the admins get one anchor a day, sent at 09:00 of that day by the service clock,
    each naming the head of the record as it was then."""
    await seed_lead(services, "rep01", customer_name="吕航", phone="13700006666", assigned_at=cn(23, 9))
    await chat.handle_line("阶段 1 2")  # Monday 10:00: past today's anchor time
    await chat.handle_line("/advance 20h")  # Tuesday 06:00
    await chat.handle_line("阶段 1 3")
    await chat.handle_line("/advance 2d")  # Thursday 06:00
    anchors = [m["text"] for m in transcript.to("admin01") if "存证锚点" in m["text"]]
    assert [a.split("（")[1].split("）")[0] for a in anchors] == ["11-23 10:00", "11-24 09:00", "11-25 09:00"], anchors
    heads = [int(a.split("最新指纹 ")[1].split(":")[0]) for a in anchors]
    assert heads[0] < heads[1] == heads[2], anchors


async def test_a_typed_lead_gets_its_industry_from_the_company_or_a_bare_industry_word(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """The budget check compares within an industry, so a typed lead needs one: 「康宁医疗」 names 医疗; 「医疗」 alone
    is the industry, not a company; a company naming no industry leaves it unknown."""
    for line in ("新线索 王总 康宁医疗 院长 13700001111", "新线索 李总 医疗 13700001112",
                 "新线索 刘总 青禾农业 13700001113"):
        await chat.handle_line(line)
        await chat.handle_line("/click 确认")
    leads = [await get_lead(services, i) for i in (1, 2, 3)]
    assert [(lead.company, lead.industry) for lead in leads] == [("康宁医疗", "医疗"), (None, "医疗"),
                                                                 ("青禾农业", None)]


async def test_absurd_budgets_left_open_do_not_become_the_teams_normal(
        services_both: Services, clock: ManualClock, transcript: Transcript) -> None:
    """Five 5000万 budgets flagged 🔴 and left open made the sixth pass silently and a normal 30万 look 「远低于」
    (the median was 5000万): a budget under an open 🔴 is no history; one the rep confirmed in a line counts."""
    services, chat = services_both, console_chat(services_both, clock, transcript)  # SQLite and PostgreSQL
    for n in range(1, 8):
        await seed_lead(services, "rep01", customer_name=f"客户{n}", phone=f"1370000{n:04d}", industry="医疗",
                        company=f"第{n}人民医院", assigned_at=cn(23, 9))
    for n in range(1, 6):
        await chat.handle_line(f"线索 {n} 预算 5000万")
        await chat.handle_line("确认")
        assert [f.status for f in await lead_flags(services, n, rule="budget_outlier")] == ["open"], n
    await chat.handle_line("线索 6 预算 5000万")
    assert "超出常见范围" in transcript.last("rep01")["title"]  # the sixth is asked about
    await chat.handle_line("确认")
    assert [f.status for f in await lead_flags(services, 6, rule="budget_outlier")] == ["open"]
    await chat.handle_line("线索 7 预算 30万")
    assert not any("远低于" in t for t in transcript.texts("rep01"))  # near: a normal budget is not doubted
    assert (await get_lead(services, 7)).budget_cny == 300_000
    assert await lead_flags(services, 7, rule="budget_outlier") == []
    for n in range(1, 7):  # near: confirmed by the rep, the big budgets are the team's history after all
        await chat.handle_line(f"预算 确认 {n} 集团统一采购")
    await chat.handle_line("线索 7 预算 40万")
    assert "远低于" in transcript.last("rep01")["title"] + transcript.last("rep01")["text"]


async def test_contract_buyer_only_from_its_label(services_both: Services, clock: ManualClock, transcript: Transcript,
                                                 tmp_path: Path) -> None:
    """OCR lost the 「甲」 of 「甲方：…」 and the check took the clause 「甲方向乙方采购…」 as the buyer (a false 🟡 on
    the customer's own contract), while another customer's contract passed silently (real tesseract). A page whose
    buyer cannot be read at all is a 🟡 to confirm, not a silent pass, and 「我的标记」 gives the contract answer's
    example."""
    services, chat = services_both, console_chat(services_both, clock, transcript)  # SQLite and PostgreSQL
    for company in ("远东钢铁集团有限公司", "青禾农业发展有限公司", "松涛酒店管理有限公司"):
        await seed_lead(services, "rep01", customer_name="吕航", company=company, stage="discover",
                        assigned_at=cn(23, 9))
    cropped = save(tmp_path, "cropped.png", cropped_contract_png("远东钢铁集团有限公司"))
    await chat.handle_line("证据 1")
    await chat.handle_line(f"/image {cropped}")
    out = transcript.last("rep01")["text"]
    assert "合同页" in out and "🟡" not in out and "向乙方" not in out  # near: the customer's own contract
    assert "没认出甲方" not in out  # its company is on the page
    await chat.handle_line("证据 2")
    await chat.handle_line(f"/image {cropped}")
    out = transcript.last("rep01")["text"]
    assert "🟡" in out and "远东钢铁集团有限公司" in out and "青禾农业发展有限公司" in out  # another customer's
    assert "contract_mismatch" in {f.rule for f in await lead_flags(services, 2)}
    await chat.handle_line("证据 3")
    await chat.handle_line(f"/image {save(tmp_path, 'clause.png', clause_contract_png())}")
    out = transcript.last("rep01")["text"]
    assert "合同页" in out and "🟡" in out and "没认出甲方" in out  # not checked: said, and a 🟡 to confirm
    assert [(f.rule, f.status) for f in await lead_flags(services, 3)] == [("contract_unread", "open")]
    await chat.handle_line("我的标记")  # the example answers the flags there are, not a budget one
    assert "「合同 确认 <线索编号> <原因>」" in transcript.last("rep01")["text"], transcript.last("rep01")["text"]


async def test_a_flag_answer_without_its_explanation_asks_for_it(chat: ChatSession, transcript: Transcript,
                                                                 services: Services) -> None:
    """「预算 确认 2」 got 「例如「预算 确认 2 2」」; 「预算 确认 999 乱写」 did not say lead #999 has no such
    flag."""
    for n in (1, 2):
        await seed_lead(services, "rep01", customer_name=f"客户{n}", phone=f"1370000{n:04d}", assigned_at=cn(23, 9))
        await chat.handle_line(f"线索 {n} 预算 5000万")
        await chat.handle_line("确认")
    await chat.handle_line("预算 确认 2")
    out = transcript.last("rep01")["text"]
    assert "写上说明" in out and "预算 确认 2 客户集团总预算" in out
    assert [f.status for f in await lead_flags(services, 2, rule="budget_outlier")] == ["open"]  # nothing kept
    await chat.handle_line("预算 确认 999 乱写")
    assert "线索 #999 上没有找到" in transcript.last("rep01")["text"]
