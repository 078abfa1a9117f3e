"""The front door through the console: small talk, free-text leads and edits, times in follow-ups and reminder
requests, managers and admins by text, bare 「1」 picking a button, and bad input that changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.services import Services
from handlers import intent
from knowledge.query import SIMPLIFIER
from storage.models import Activity, KnowledgeFeedback, QueryLog, Reminder, User
from tests.conftest import ENGINES, Transcript
from tests.leads_helpers import cn, get_lead, seed_lead

T2S = ENGINES.get(SIMPLIFIER)  # OpenCC's tables of this test process (no services here)


async def _count(services: Services, model: type, **where: object) -> int:
    async with services.db.session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return int((await s.execute(stmt)).scalar_one())


def _no_english(text: str) -> bool:
    import re

    return re.search(r"[A-Za-z]{3,}", re.sub(r"CSV|XLSX|salesbot", "", text)) is None


async def test_small_talk_is_answered_and_never_asked_of_the_knowledge_base(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    for line in ("你好", "谢谢！", "怎么用", "好的", "😂😂", "\u200b\u202e"):
        await chat.handle_line(line)
    texts = transcript.texts("rep01")
    assert texts[0].startswith("\n你好，张伟！") and "截图" in texts[0]
    assert "不客气" in texts[1] and "能帮你做什么" in texts[2] and "👌" in texts[3]
    assert all("没看明白" in t for t in texts[4:6])
    assert all(_no_english(t) and "rep01" not in t for t in texts)
    await chat.handle_line("/as manager01")
    await chat.handle_line("在吗")
    assert "谁超时了" in transcript.last("manager01")["text"]
    assert await _count(services, QueryLog) == 0 and await _count(services, KnowledgeFeedback) == 0


async def test_free_text_lead_edit_follow_up_with_a_time_and_the_reminder_fires(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    await chat.handle_line("新客户 钱总 青松医院 13900001234")
    draft = transcript.last("rep01")
    assert draft["kind"] == "card" and "13900001234" in draft["text"]
    await chat.handle_line("行业 医疗")  # an edit of the open draft
    assert (await get_lead(services, 1)).industry == "医疗"
    await chat.handle_line("1")  # the first button of the card just shown: 确认
    lead = await get_lead(services, 1)
    assert (lead.status, lead.owner_id) == ("active", "rep01")
    await chat.handle_line("预算 80万")  # the lead this conversation is about
    assert (await get_lead(services, 1)).budget_cny == 800_000
    assert "已更新线索 #1 的预算：80万" in transcript.last("rep01")["text"]

    await chat.handle_line("跟进 1 电话沟通，约了后天下午3点再打")
    assert transcript.last("rep01")["text"] == "✅ 已记录；后天 15:00 提醒你回访线索 #1。"
    assert (await get_lead(services, 1)).next_follow_up_at == cn(25, 15)
    clock.set(cn(25, 14, 40))
    await chat.settle()
    assert not any("约定回访" in t for t in transcript.texts("rep01")[-1:])
    clock.set(cn(25, 14, 46))
    await chat.settle()
    assert any("约定回访提醒" in t and "15:00" in t for t in transcript.texts("rep01"))


async def test_a_reminder_request_is_tied_to_the_customers_lead(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    lead_id = await seed_lead(services, "rep01", customer_name="周立", assigned_at=cn(23, 9))
    await chat.handle_line("明天下午三点提醒我给周立打电话")
    assert transcript.last("rep01")["text"] == f"⏰ 好的，明天 15:00 提醒你给周立打电话（线索 #{lead_id} 周立）。"
    clock.set(cn(24, 15, 0))
    await chat.settle()
    assert "给周立打电话" in transcript.texts("rep01")[-1]
    await chat.handle_line("提醒我给周立打电话")
    assert "什么时候提醒你" in transcript.last("rep01")["text"]


async def test_a_second_lead_with_that_customer_is_asked_about(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await seed_lead(services, "rep01", customer_name="周立", assigned_at=cn(23, 9))
    await seed_lead(services, "rep01", customer_name="周立", assigned_at=cn(23, 9), company="另一家")
    await chat.handle_line("明天提醒我给周立打电话")
    assert "#2、#1" in transcript.last("rep01")["text"] or "#1、#2" in transcript.last("rep01")["text"]
    assert await _count(services, Reminder, rule="follow_up") == 0


async def test_friday_before_work_ends_is_today(chat: ChatSession, transcript: Transcript, services: Services,
                                                 clock: ManualClock) -> None:
    lead_id = await seed_lead(services, "rep01", customer_name="孙蕾", assigned_at=cn(23, 9))
    clock.set(cn(27, 17, 30))  # a Friday
    await chat.handle_line(f"周五下班前提醒我给线索{lead_id}发报价")
    assert "今天 18:00" in transcript.last("rep01")["text"]


async def test_managers_act_by_text(chat: ChatSession, transcript: Transcript, services: Services) -> None:
    first = await seed_lead(services, "rep01", customer_name="甲客户", assigned_at=cn(23, 9), region="华东")
    await chat.handle_line("/click x")  # nothing: no card yet
    await chat.handle_line("/as manager01")
    await chat.handle_line(f"分配 {first} 李娜 客户在她片区")
    lead = await get_lead(services, first)
    assert lead.owner_id == "rep02" and lead.assign_reason == "客户在她片区"
    await chat.handle_line("团队线索 李娜")
    assert "甲客户" in transcript.last("manager01")["text"]
    await chat.handle_line("团队线索 刘洋")
    assert "没有符合" in transcript.last("manager01")["text"]
    await chat.handle_line(f"接手 {first}")
    assert (await get_lead(services, first)).owner_id == "manager01"
    assert "已由你接手" in transcript.last("manager01")["text"]
    assert any("王经理 接手" in t for t in transcript.texts("rep02"))

    await chat.handle_line(f"改派 {first} 张伟")
    await chat.handle_line(f"延期 {first} 2天 客户出差")
    reply = transcript.last("manager01")["text"]
    assert "延期 2 个工作日" in reply and "新的期限" in reply
    async with services.db.session() as s:
        kinds = list((await s.execute(select(Activity.kind).where(Activity.lead_id == first))).scalars())
    assert "extend" in kinds


async def test_who_is_overdue_agrees_with_the_digest(chat: ChatSession, transcript: Transcript,
                                                    services: Services) -> None:
    late = await seed_lead(services, "rep01", customer_name="迟到", assigned_at=cn(20, 9))  # no contact since Friday
    await chat.handle_line("/as manager01")
    await chat.handle_line("谁超时了")
    card = transcript.last("manager01")
    assert card["title"] == "⏰ 超时线索（1 条）" and f"#{late} 迟到（张伟）首次联系" in card["text"]
    await chat.handle_line("/as rep01")
    await chat.handle_line("谁超时了")
    assert "主管" in transcript.last("rep01")["text"]


async def test_admin_offboards_by_text_after_one_confirm_click(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    lead_id = await seed_lead(services, "rep03", customer_name="交接客户", assigned_at=cn(23, 9))
    await chat.handle_line("/as admin01")
    await chat.handle_line("导入话术")
    assert "CSV" in transcript.last("admin01")["text"]
    await chat.handle_line("离职 rep03 交给 rep02")
    ask = transcript.last("admin01")
    assert ask["title"] == "确认让 刘洋 离职，并把 1 条线索交给 李娜 吗？"
    assert (await get_lead(services, lead_id)).owner_id == "rep03"  # nothing yet
    await chat.handle_line("1")
    assert (await get_lead(services, lead_id)).owner_id == "rep02"
    async with services.db.session() as s:
        assert (await s.get(User, "rep03")).active is False  # type: ignore[union-attr]
    assert "刘洋 已离职" in transcript.texts("admin01")[-1]
    handover = transcript.last("rep02")
    assert handover["title"] == "📋 线索交接清单" and "刘洋 的 1 条线索已转给你" in handover["text"]
    assert "rep03" not in handover["text"] and "交接客户" in handover["text"]


async def test_bad_input_gets_a_short_answer_and_changes_nothing(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    lead_id = await seed_lead(services, "rep01", customer_name="不动", assigned_at=cn(23, 9))
    await chat.handle_line("好" * 100_000)
    assert "太长" in transcript.last("rep01")["text"]
    await chat.handle_line(f"改派 {lead_id} 李娜")  # a rep
    assert "主管" in transcript.last("rep01")["text"]
    await chat.handle_line(f"跟进 {lead_id} 已打电话 改派 {lead_id} 李娜")
    assert "分开发" in transcript.last("rep01")["text"]
    await chat.handle_line("/as manager01")
    await chat.handle_line("改派 999 张伟")
    assert "999" in transcript.last("manager01")["text"]
    await chat.handle_line(f"延期 {lead_id} 999天")
    assert "720" in transcript.last("manager01")["text"]
    lead = await get_lead(services, lead_id)
    assert lead.owner_id == "rep01" and lead.first_contact_at is None
    async with services.db.session() as s:
        kinds = list((await s.execute(select(Activity.kind).where(Activity.lead_id == lead_id))).scalars())
    assert kinds == []
    assert all(len(t) < 200 for t in transcript.texts())


async def test_an_implausible_budget_is_asked_about(chat: ChatSession, transcript: Transcript,
                                                    services: Services, clock: ManualClock) -> None:
    await seed_lead(services, "rep02", customer_name="大单", assigned_at=cn(23, 9), budget_cny=2_000_000)
    lead_id = await seed_lead(services, "rep01", customer_name="小单", assigned_at=cn(23, 9))
    await chat.handle_line(f"线索 {lead_id} 预算 5000万")
    assert "超出常见范围" in transcript.last("rep01")["title"]  # the cross-check rule's own words
    assert (await get_lead(services, lead_id)).budget_cny is None
    await chat.handle_line("确认")
    assert (await get_lead(services, lead_id)).budget_cny == 50_000_000
    await chat.handle_line(f"线索 {lead_id} 电话 1390000123")
    assert "10 位" in transcript.last("rep01")["text"]
    clock.advance(timedelta(minutes=1))


async def test_advance_fires_each_reminder_at_its_own_moment(chat: ChatSession, transcript: Transcript,
                                                              services: Services, clock: ManualClock) -> None:
    """Two reminders at 16:00 and 17:00 fall inside one /advance 3h from 15:00: each fires at its own time."""
    a = await seed_lead(services, "rep01", customer_name="甲", assigned_at=cn(23, 9))
    b = await seed_lead(services, "rep01", customer_name="乙", assigned_at=cn(23, 9))
    clock.set(cn(23, 15))
    await chat.handle_line(f"16点提醒我跟进线索{a}")
    await chat.handle_line(f"17点提醒我跟进线索{b}")
    seen: list[tuple[str, object]] = []
    original = chat.settle

    async def settle() -> None:
        before = len(transcript)
        await original()
        seen.extend((m["text"], clock.now()) for m in transcript[before:] if m["to"] == "rep01")

    chat.settle = settle  # type: ignore[method-assign]
    await chat.handle_line("/advance 3h")
    fired = {text: at for text, at in seen if "跟进" in text and ("甲" in text or "乙" in text)}
    assert sorted(fired.values()) == [cn(23, 16), cn(23, 17)]
    assert clock.now() == cn(23, 18)


async def test_a_typed_lead_puts_each_value_in_its_field_and_the_card_stays_short(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await chat.handle_line("录入 青禾物流 吴经理 预算30万 13700001234")
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company, lead.phone, lead.budget_cny) == (
        "吴经理", "青禾物流", "13700001234", 300_000)
    card = transcript.last("rep01")
    assert "未知" not in card["text"] and "待补充：" in card["text"] and "置信度" not in card["text"]
    assert len(card["text"].splitlines()) <= 8


async def test_a_button_word_without_a_card_is_not_a_knowledge_question(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await chat.handle_line("确认")
    assert "没有发给你的卡片" in transcript.last("rep01")["text"]
    assert await _count(services, QueryLog) == 0


async def test_a_reminder_naming_no_lead_is_the_persons_own(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「明天提醒我给张三打电话」 with no lead of that name (and a draft card just shown): the person is reminded at
    the time they chose, even after working hours; no lead is touched."""
    await chat.handle_line("新客户 钱总 青松医院 13900001234")  # a draft card: not what the reminder is about
    activities = await _count(services, Activity)
    await chat.handle_line("明天提醒我给张三打电话")
    assert transcript.last("rep01")["text"] == "⏰ 好的，明天 09:00 提醒你给张三打电话。"
    await chat.handle_line("明天晚上八点提醒我交周报")
    assert transcript.last("rep01")["text"] == "⏰ 好的，明天 20:00 提醒你交周报。"
    assert await _count(services, Reminder, rule="follow_up") == 0
    assert await _count(services, Activity) == activities
    clock.set(cn(24, 8, 59))
    await chat.settle()
    assert not any("张三" in t for t in transcript.texts("rep01")[-1:])
    clock.set(cn(24, 9, 0))
    await chat.settle()
    assert transcript.last("rep01")["text"] == "⏰ 提醒：给张三打电话（11-24 09:00）"
    clock.set(cn(24, 20, 0))
    await chat.settle()
    assert transcript.last("rep01")["text"] == "⏰ 提醒：交周报（11-24 20:00）"


def test_every_phrase_keeps_chinese_punctuation() -> None:
    """One voice: no ASCII comma, colon or question mark next to Chinese in any of the bot's phrases."""
    from bot import phrases as P

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, tuple | list):
            return [s for v in value for s in strings(v)]
        return []

    every = [s for name, v in vars(P).items() if name.isupper() for s in strings(v)]
    assert P.FAILED in every and len(every) > 50
    assert [s for s in every if P.cn_punct(s) != s] == []


async def test_a_typed_budget_is_read_once_in_every_spelling(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「预算 50000000」, 「预算5e7」, 「预算5000万」 are one amount; a year after 预算 is not a budget (the old second
    reading stored 「预算 2027年再批」 as 2027 元); an odd budget on the draft is asked about."""
    for n, spelling in enumerate(("50000000", "5e7", "5000万"), 1):
        await chat.handle_line(f"新线索 刘总 蓝天医院 1390000{n:04d} 预算{spelling}")
        lead = await get_lead(services, n)
        assert (lead.customer_name, lead.company, lead.budget_cny) == ("刘总", "蓝天医院", 50_000_000), spelling
        said = transcript.texts("rep01")
        assert any("是不是写错了" in t for t in said[-2:]), said[-2:]
    await chat.handle_line("新线索 王总 青松医院 13900005555 预算 2027年再批")
    assert (await get_lead(services, 4)).budget_cny is None


async def test_a_near_miss_is_asked_about_not_declined(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """A pinyin-keyboard homophone of a command word (「跟尽」) asks 「你是想…？」 and acts only on 「是的」; a customer
    named with a few words offers the lead or a follow-up; none of it reaches the knowledge base."""
    lead_id = await seed_lead(services, "rep01", customer_name="周立", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟尽 {lead_id} 已回电 下周见面")
    card = transcript.last("rep01")
    assert card["title"] == f"你是想「跟进 {lead_id} 已回电 下周见面」？"
    assert await _count(services, Activity, kind="contact") == 0  # nothing yet
    await chat.handle_line("/click 是的")
    assert await _count(services, Activity, kind="contact") == 1
    await chat.handle_line("周立那个单子")
    card = transcript.last("rep01")
    assert card["title"].startswith("你是想查看周立的线索") and [b["text"] for b in card["buttons"]] == [
        "查看线索", "记录跟进"]
    await chat.handle_line(f"{lead_id}号电话多少")
    assert "周立" in transcript.last("rep01")["text"]  # the lead's card
    assert await _count(services, QueryLog) == 0


async def test_a_named_customer_is_the_lead_and_a_lost_deal_is_asked_about(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「跟进 张三 …」 went to the lead on the last card shown (another customer's) without a word; 「X那边黄了」
    became a knowledge question and a gap for the admins."""
    first = await seed_lead(services, "rep01", customer_name="章海", assigned_at=cn(23, 9))
    second = await seed_lead(services, "rep01", customer_name="柯岚", assigned_at=cn(23, 9))
    await chat.handle_line(f"线索 {second}")  # the last card shown is 柯岚's
    await chat.handle_line("跟进 章海 发了报价单")
    assert f"线索 #{first}" in transcript.last("rep01")["text"]
    await chat.handle_line("柯岚那边黄了，客户不做了")
    card = transcript.last("rep01")
    assert card["title"].startswith(f"你是想「输单 {second}")
    assert (await get_lead(services, second)).status == "active"  # nothing closed before 是的
    await chat.handle_line("/click 是的")
    assert (await get_lead(services, second)).status == "lost"
    assert await _count(services, QueryLog) == 0


async def test_a_dropped_draft_is_said_to_be_dropped_and_an_absurd_budget_is_written_out(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """New-user audit: a manager's 「接手 N」 on a dropped draft said 「已输单」, the budget check compared with the
    dropped draft's budget, and 「预算 99999999999万」 was shown as 「1e+07亿」."""
    await chat.handle_line("新线索 尹总 沧澜贸易 13900007777 预算5000万")
    await chat.handle_line("/click 放弃")
    lead_id = await seed_lead(services, "rep01", customer_name="曾宁", budget_cny=300_000, assigned_at=cn(23, 9))
    await chat.handle_line("/as manager01")
    await chat.handle_line("接手 1")
    assert "已放弃的草稿" in transcript.last("manager01")["text"]
    await chat.handle_line("/as rep01")
    await chat.handle_line(f"线索 {lead_id} 预算 99999999999万")
    asked = transcript.last("rep01")
    text = asked["title"] + asked["text"]
    assert "e+" not in text and "99999999999 万元" in text and "5000万" not in text


async def test_a_new_time_on_a_lead_says_which_reminder_it_replaced(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """A lead has one agreed next follow-up; a later time replaced the earlier reminder without a word."""
    lead_id = await seed_lead(services, "rep01", customer_name="骆晨", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead_id} 电话聊了，约了后天下午3点再打")
    assert "提醒你回访" in transcript.last("rep01")["text"]
    await chat.handle_line(f"跟进 {lead_id} 又发了资料，客户说下周三上午再聊")
    said = transcript.last("rep01")["text"]
    assert "原定" in said and "15:00" in said and "已改到这个时间" in said


async def test_a_mistyped_mobile_on_a_new_lead_is_asked_about(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("新线索 车总 南湖纺织 电话 1391234567")
    said = transcript.texts("rep01")[-2]
    assert "「1391234567」是 10 位" in said and "电话 …" in said


async def test_the_timeline_says_each_step_once(chat: ChatSession, transcript: Transcript,
                                                services: Services) -> None:
    lead_id = await seed_lead(services, "rep01", customer_name="房越", assigned_at=cn(23, 9))
    await chat.handle_line(f"跟进 {lead_id} 电话聊了，约了后天下午3点再打")
    await chat.handle_line(f"线索 {lead_id}")
    card = transcript.last("rep01")["text"]
    assert "张伟 约定 11月25日 15:00 回访" in card and "约定回访：约定回访" not in card


async def test_the_other_modules_lists_in_other_words_reach_their_commands_not_the_knowledge_base(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「有几个合同快到期了」 was a knowledge question (and a knowledge gap): it is the 续约 list; so are the 通关
    progress, the 标记 list and the console link asked in a rep's own words."""
    for line in ("有几个合同快到期了", "看下我的通关进度", "我有被标记的吗", "后台入口"):
        await chat.handle_line(line)
    texts = [t.strip() for t in transcript.texts("rep01")]
    assert texts[0] == "没有待处理的续约预警 👍"
    assert "通关" in texts[1] and "话术" not in texts[1]
    assert texts[2] == "目前没有待处理的标记 👍"
    assert texts[3].startswith("网页后台供主管和管理员使用")  # a rep: the route's own refusal
    await chat.handle_line("/as manager01")
    await chat.handle_line("怎么登录管理后台")
    assert "管理后台登录链接" in transcript.last("manager01")["text"]
    assert await _count(services, QueryLog) == 0


def test_a_lead_number_before_a_budget_or_phone_is_the_lead() -> None:
    """「预算 12 80万」 is lead #12's budget, not 1280万; one value written in groups stays one value."""
    for text, lead_id, value in (("预算 12 80万", 12, "80万"), ("预算 3 5e7", 3, "5e7"), ("电话 7 13700008888", 7,
                                 "13700008888"), ("预算 1 800 000", None, "1 800 000"),
                                 ("电话 137 0000 6666", None, "137 0000 6666"), ("预算 5 千万", None, "5 千万")):
        got = intent.understand(text, t2s=T2S)
        assert (got.name, got.slots.get("lead_id"), got.slots.get("value")) == ("edit", lead_id, value), text


async def test_a_lead_typed_in_english_or_traditional_keeps_the_users_words(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「new lead … budget 30w」 was stored with 预算 written in and the name in lower case; 繁體 commands were
    knowledge questions. The fields are read from the words, the draft keeps the script they were typed in."""
    await chat.handle_line("New lead: Vivian 郑, 云杉咨询, 13611112222, budget 30w")
    lead = await get_lead(services, 1)
    assert (lead.phone, lead.budget_cny) == ("13611112222", 300_000)
    assert (lead.extra or {}).get("text") == "Vivian 郑, 云杉咨询, 13611112222, budget 30w"
    await chat.handle_line("放弃")
    await chat.handle_line("新增客戶 鄒經理 東昇機電 13722223333")
    lead = await get_lead(services, 2)
    assert (lead.customer_name, lead.company, lead.phone) == ("鄒經理", "東昇機電", "13722223333")
    await chat.handle_line("預算 調到 八十萬")  # an edit of the open draft, 繁體 and with its verb glue
    assert (await get_lead(services, 2)).budget_cny == 800_000
    await chat.handle_line("好的 那就按这个确认吧")
    assert (await get_lead(services, 2)).status == "active"
    assert await _count(services, QueryLog) == 0


async def test_the_holiday_calendar_asked_in_other_words_is_the_calendar(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await chat.handle_line("/as admin01")
    await chat.handle_line("节假日安排看看")
    assert transcript.last("admin01")["title"] == "📅 公司日历调整"
    assert await _count(services, QueryLog) == 0


async def test_a_reminder_said_in_english_chat_words_fires_at_that_time(
        chat: ChatSession, transcript: Transcript, clock: ManualClock) -> None:
    """The time kept as typed (「tmr 3pm」, 「30min后」, 「EOD」) is read in the time grammar's words when the
    reminder is set: Monday 10:00 → tomorrow 15:00, 10:30, and the end of today's working hours."""
    await chat.handle_line("remind me tmr 3pm 交周报")
    assert transcript.last("rep01")["text"] == "⏰ 好的，明天 15:00 提醒你交周报。"
    await chat.handle_line("30min后提醒我开周会")
    assert "10:30" in transcript.last("rep01")["text"] and "开周会" in transcript.last("rep01")["text"]
    await chat.handle_line("EOD ping我 更新CRM")
    assert "18:00" in transcript.last("rep01")["text"] and "更新CRM" in transcript.last("rep01")["text"]
    clock.set(cn(23, 10, 30))
    await chat.settle()
    assert transcript.last("rep01")["text"] == "⏰ 提醒：开周会（11-23 10:30）"
    clock.set(cn(24, 15, 0))
    await chat.settle()
    assert transcript.last("rep01")["text"] == "⏰ 提醒：交周报（11-24 15:00）"


def _letters_besides(text: str, *names: str) -> list[str]:
    import re

    return [w for w in re.findall(r"[A-Za-z]+", text) if w not in names]


async def test_a_task_typed_with_english_sales_verbs_is_said_back_in_chinese(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock) -> None:
    """「tmr 3pm call 周立」 was echoed as 「…提醒你call 周立」 and fired the same way: the reply, the lead's
    timeline and the reminder say the task in Chinese; product names and unknown words stay as typed."""
    lead_id = await seed_lead(services, "rep01", customer_name="周立", assigned_at=cn(23, 9))
    await chat.handle_line("tmr 3pm call 周立")
    said = transcript.last("rep01")["text"]
    assert said == f"⏰ 好的，明天 15:00 提醒你给周立打电话（线索 #{lead_id} 周立）。"
    async with services.db.session() as s:
        summaries = (await s.scalars(select(Activity.summary).where(Activity.lead_id == lead_id))).all()
    assert any("给周立打电话" in x for x in summaries) and not any("call" in (x or "") for x in summaries)
    expected = {"明天提醒我FU 王总": "跟进王总", "remind me tmr 10am send 孙蕾 the quote": "给孙蕾发报价",
                "明天下午提醒我email 赵经理": "给赵经理发邮件", "明天上午提醒我 follow up with 钱总": "跟进钱总",
                "明天下午4点提醒我demo CRM 给吴总": "演示 CRM 给吴总", "明天提醒我 visit 青松医院": "拜访青松医院",
                "明天提醒我ping李姐": "联系李姐", "明天提醒我meet with 孙总 send the proposal to 孙总": "见孙总"}
    for line, task in expected.items():
        await chat.handle_line(line)
        reply = transcript.last("rep01")["text"]
        assert task in reply and _letters_besides(reply, "CRM") == [], (line, reply)
    before = len(transcript.texts("rep01"))
    clock.set(cn(24, 15, 0))
    await chat.settle()
    fired = " ".join(transcript.texts("rep01")[before:])
    assert "给周立打电话" in fired and "给孙蕾发报价" in fired and "给孙总发方案" in fired and "跟进王总" in fired
    assert _letters_besides(fired, "CRM") == [], fired
