"""新人通关 in chat: a rep on the ramp is refused 签约回款 with what is left, works through the path by buttons
and typed replies (a wrong answer shows the card), the manager confirms the shadowing, and the right unlocks."""

from __future__ import annotations

from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from handlers.ramp import service
from handlers.ramp.path import parse_path
from storage.models import KnowledgeCard, Lead, RampEnrollment, RampProgress
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead
from tests.ramp_helpers import seed_cards

PATH = """阅读 异议=价格 张数=2
测验 异议=价格 题数=1
测验 异议=交付 方式=自述 题数=1
跟岗 陪同主管拜访一次客户"""


async def _enrol(services: Services, text: str = PATH) -> None:
    async with services.db.session() as s:
        await service.set_path(s, parse_path(text), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")


async def _question(services: Services) -> dict[str, object]:
    async with services.db.session() as s:
        rows = (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01"))).all()
    return next(r.state["q"] for r in rows if r.state.get("q"))


async def test_a_new_rep_goes_through_the_path_and_unlocks_close(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services)
    lead = await seed_lead(services, "rep01", stage="demo", assigned_at=cn(20, 10), customer_name="甲")

    await chat.handle_line(f"阶段 {lead} 签约回款")
    refused = transcript.last("rep01")["text"]
    assert "新人通关" in refused and "0/4" in refused and "阅读 · 价格异议话术" in refused and "「通关」" in refused
    await chat.handle_line(f"赢单 {lead} 合同已签")
    assert "推进到「签约回款」或赢单要等通关后开通" in transcript.last("rep01")["text"]

    await chat.handle_line("通关")
    reading, card = transcript.to("rep01")[-2:]
    assert "先别只看首付价" in reading["text"] and "一条线停一小时" in reading["text"]  # the 价格 cards themselves
    assert card["title"] == "新人通关 · 第 1/4 关 · 阅读" and [b["text"] for b in card["buttons"]] == ["读完了"]
    before = len(transcript.to("rep01"))
    await chat.handle_line("/click 读完了")

    quiz = transcript.last("rep01")
    assert quiz["title"].startswith("新人通关 · 第 2/4 关 · 测验 · 价格异议") and "情境：" in quiz["text"]
    # one message per question (a new-user audit got the options as a second message before the card)
    assert [m["kind"] for m in transcript.to("rep01")[before:]] == ["card_update", "text", "card"]
    assert len(quiz["text"]) <= 160  # all of it fits the description a WeCom card shows
    q = await _question(services)
    # the 价格 cards all say 嫌贵, the situation's detail: only the key is a 价格 card (audit 18d #20, one fits)
    prices = {"R01", "R02", "R03"} & set(q["options"])  # type: ignore[arg-type]
    assert len(q["options"]) == 4 and prices == {q["card"]}  # type: ignore[arg-type]
    right = int(q["answer"])  # type: ignore[call-overload]
    wrong = 1 if right != 1 else 2
    await chat.handle_line(str(wrong))  # a typed 「2」 answers through the last card
    ref, shown = transcript.to("rep01")[-2:]
    assert shown["title"].startswith(f"❌ 不是第 {wrong} 条") and "来源：话术库" in ref["text"]
    async with services.db.session() as s:
        right_card = await s.get(KnowledgeCard, q["card"])
    assert right_card is not None and f"参考话术：{right_card.title}" in ref["title"]
    assert not any(str(q["card"]) in t for t in transcript.texts("rep01")[-2:])  # no card ids shown to people
    await chat.handle_line("/click 下一题")
    q2 = await _question(services)
    assert q2["serial"] == 2
    await chat.handle_line(f"选{q2['answer']}")
    assert any("通过" in t for t in transcript.texts("rep01")[-3:])
    async with services.db.session() as s:
        right_card = await s.get(KnowledgeCard, q2["card"])
    assert right_card is not None and any(f"完整话术：{right_card.talk_track}" in t  # in full once answered
                                          for t in transcript.texts("rep01")[-3:])

    written = transcript.last("rep01")
    assert "自述测验 · 交付异议" in written["title"] and "直接打字发给我" in written["text"]
    q3 = await _question(services)
    async with services.db.session() as s:
        written_card = await s.get(KnowledgeCard, q3["card"])
    assert written_card is not None
    await chat.handle_line(f"我会这样说：{written_card.talk_track}")  # checked against the card's key points
    assert any("答到了参考话术的要点" in t for t in transcript.texts("rep01")[-4:])

    shadow = transcript.last("rep01")
    assert "陪同主管拜访一次客户" in shadow["text"]
    await chat.handle_line("/click 请主管确认")
    ask = transcript.last("manager01")
    assert ask["title"] == "跟岗确认 · 张伟" and [b["text"] for b in ask["buttons"]] == ["确认完成", "还没有"]

    await chat.handle_line("/as manager01")
    await chat.handle_line("通关")
    assert "张伟：3/4" in transcript.last("manager01")["text"]
    await chat.handle_line("/click 确认完成")
    assert "恭喜通关" in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        assert (await s.get(RampEnrollment, "rep01")).completed_at is not None  # type: ignore[union-attr]

    await chat.handle_line("/as rep01")
    await chat.handle_line(f"阶段 {lead} 签约回款")
    assert "新人通关" not in transcript.last("rep01")["text"]  # now only the evidence gate speaks


async def test_reps_not_on_the_ramp_are_never_locked(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services)
    lead = await seed_lead(services, "rep02", stage="demo", assigned_at=cn(20, 10), customer_name="乙")
    await chat.handle_line("/as rep02")
    await chat.handle_line("通关")
    assert "不在新人通关名单" in transcript.last("rep02")["text"]
    await chat.handle_line(f"阶段 {lead} 签约回款")
    assert "新人通关" not in transcript.last("rep02")["text"]


async def test_a_pool_lead_is_not_handed_to_a_rep_on_the_ramp(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services)
    pool = await seed_lead(services, None, assigned_at=cn(20, 10), customer_name="池")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {pool} 张伟")
    said = transcript.last("manager01")["text"]
    assert "张伟还在新人通关中" in said and "接收线索池的线索" in said
    assert "没人负责或已冻结" in said and "仍可直接改派给张伟" in said  # the pool right is not every 改派
    await chat.handle_line(f"改派 {pool}")  # the engine's suggestions leave the rep out
    assert "张伟" not in transcript.last("manager01")["text"]
    async with services.db.session() as s:
        assert (await s.get(Lead, pool)).owner_id is None  # type: ignore[union-attr]


async def test_a_manager_may_still_hand_a_rep_on_the_ramp_a_colleagues_lead(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    """The pool right (receiving leads nobody owns) and a manager's 改派 of a lead a colleague owns are two things:
    the second is allowed, and the manager is told how they differ."""
    await seed_cards(services)
    await _enrol(services)
    owned = await seed_lead(services, "rep02", assigned_at=cn(20, 10), customer_name="丁")
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {owned} 张伟")
    said = transcript.last("manager01")["text"]
    assert f"线索 #{owned}" in said and "已改派给 张伟" in said
    assert "张伟还在新人通关中（已完成 0/4）：主管直接改派不受限制" in said and "线索池的线索" in said
    async with services.db.session() as s:
        assert (await s.get(Lead, owned)).owner_id == "rep01"  # type: ignore[union-attr]
    await chat.handle_line(f"改派 {owned} 李娜")  # a rep not on the ramp: no word about it
    assert "新人通关" not in transcript.last("manager01")["text"]


async def test_imported_pool_leads_skip_a_rep_on_the_ramp(services: Services) -> None:
    from handlers.leads.assignment import import_leads

    await seed_cards(services)
    await _enrol(services)
    rows = [(2, {"customer_name": "孙主任", "company": "东区医院", "phone": "13900000001", "region": "华东",
                 "industry": "医疗", "product_line": "CRM"})]  # rep01's region, industry and product line
    async with services.db.session() as s:
        results, _ = await import_leads(s, rows, cn(23, 10), services.settings.reminders, ramp=services.settings.ramp)
    assert results[0].status == "assigned" and results[0].owner_id not in (None, "rep01")


async def test_a_frozen_lead_is_not_reassigned_to_a_rep_on_the_ramp(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services)
    frozen = await seed_lead(services, None, status="frozen", assigned_at=cn(20, 10), customer_name="冻",
                             extra={"frozen": {"prev_owner": "rep02", "rule": "first_contact", "reminder_id": 1}})
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"改派 {frozen} 张伟")
    assert "张伟还在新人通关中" in transcript.last("manager01")["text"]
    async with services.db.session() as s:
        lead = await s.get(Lead, frozen)
    assert lead is not None and lead.owner_id is None and lead.status == "frozen"


async def test_enrolling_in_chat_is_for_the_reps_own_manager(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await chat.handle_line("/as manager01")
    await chat.handle_line("开始通关 张伟")  # no path and no cards yet: said plainly, nothing written
    assert "知识库里也还没有话术卡片" in transcript.last("manager01")["text"]
    await seed_cards(services)
    await chat.handle_line("/as manager02")
    await chat.handle_line("开始通关 张伟")
    assert "团队里没有「张伟」" in transcript.last("manager02")["text"]
    await chat.handle_line("/as rep02")
    await chat.handle_line("开始通关 张伟")
    assert "主管" in transcript.last("rep02")["text"]
    async with services.db.session() as s:
        assert await s.get(RampEnrollment, "rep01") is None
    await chat.handle_line("/as manager01")
    await chat.handle_line("开始通关 张伟")
    assert "张伟 已开始新人通关（共 12 关" in transcript.last("manager01")["text"]
    assert "发「通关」开始第一关" in transcript.last("rep01")["text"]


async def test_a_task_no_card_fits_stays_open_and_never_unlocks(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    """Audit 18 #8: a path whose tasks match no card (the knowledge base changed, or a console path) must not let a
    rep pass by doing nothing."""
    await seed_cards(services)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("测验 行业=能源 异议=价格\n阅读 异议=不存在的异议"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")
    await chat.handle_line("通关")
    await chat.handle_line("通关")
    texts = transcript.texts("rep01")
    assert not any("恭喜通关" in t for t in texts) and "不计入通关" in texts[-1]
    assert not any("新人通关" in t for t in transcript.texts("manager01"))
    async with services.db.session() as s:
        found = await service.progress(s, "rep01", services.settings.ramp)
    assert found is not None and found.done == 0 and not found.complete
