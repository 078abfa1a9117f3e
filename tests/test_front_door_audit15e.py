"""A second new-user audit of the front door (issue 15), each test written from the user's complaint first,
through the chat use cases. Invented people, companies and phones only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from bot.usertext import plain
from handlers.leads.assignment import offboard
from reminders.policies import NOTICE
from storage.models import Activity, QueryLog, Reminder, User
from tests.conftest import Transcript
from tests.leads_helpers import get_lead
from tests.test_reminders_support import make_lead


async def test_the_help_of_a_newcomer_without_a_display_name_does_not_show_their_id(
        chat: ChatSession, transcript: Transcript) -> None:
    """「你好，newguy（销售）」 headed the help of an auto-registered rep: the id where a name should be."""
    await chat.handle_line("/as xinren_007")
    await chat.handle_line("帮助")
    text = plain(transcript.last("xinren_007")["text"])
    assert "xinren_007" not in text and "你好" in text and "销售" in text, text
    await chat.handle_line("/as rep01")  # a rep with a name is still greeted by it
    await chat.handle_line("帮助")
    assert "张伟" in plain(transcript.last("rep01")["text"])


@pytest.mark.parametrize(("line", "person", "company"), [
    ("新客户 邱一鸣 南门物流 13922223333 预算40万", "邱一鸣", "南门物流"),  # a place-like word that is a surname too
    ("新线索 欧阳电子 贝小雨 13922224444", "贝小雨", "欧阳电子"),  # the company first
    ("新客户 邱一鸣 东门教育 13922225555", "邱一鸣", "东门教育"),
    ("新线索 贝小雨 金建设 13922226666", "贝小雨", "金建设"),  # the person named, then a name-like company
    ("新线索 韩建设 远帆科技 13922227777", "韩建设", "远帆科技"),  # a given name that is an industry word
])
async def test_a_typed_company_that_could_also_be_read_as_a_name_is_kept(
        chat: ChatSession, transcript: Transcript, services: Services, line: str, person: str, company: str) -> None:
    """「新客户 赵强 东方医疗 …」 lost 东方医疗 (东方 is also a compound surname, so the company was read as a second
    person and dropped), while 华东医疗 or 东方科技 worked."""
    await chat.handle_line(line)
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company) == (person, company), plain(transcript.last("rep01")["text"])


@pytest.mark.parametrize("verb", ["新客护", "新线素", "心客户"])
async def test_a_misspelt_lead_word_is_read_as_the_word_and_the_company_is_kept(
        chat: ChatSession, transcript: Transcript, services: Services, verb: str) -> None:
    """「新客护 孙丽 宏达教育 159…」 made a draft with 公司: 新客护 (the misspelt 新客户) and lost the company."""
    await chat.handle_line(f"{verb} 邹云飞 远航教育 13733334444")
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company, lead.phone) == ("邹云飞", "远航教育", "13733334444"), lead.company


async def test_a_misspelt_lead_word_without_a_phone_asks_before_a_draft(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await chat.handle_line("新客护 邹云飞 远航教育")
    ask = transcript.last("rep01")
    assert "你是想" in ask["title"] and "新线索 邹云飞 远航教育" in ask["title"], ask
    await chat.handle_line("/click 是的")
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company) == ("邹云飞", "远航教育")



async def _queries(services: Services) -> list[str]:
    async with services.db.session() as s:
        return list((await s.execute(select(QueryLog.query))).scalars())


async def _one_lead(chat: ChatSession) -> None:
    await chat.handle_line("新线索 柯总 青峦物流 13644445555")
    await chat.handle_line("1")  # 确认
    await chat.handle_line("谢谢")  # the lead's card is no longer the last thing said


@pytest.mark.parametrize("said", ["青峦物流", "13644445555", "136 4444 5555", "柯总"])
async def test_a_company_phone_or_name_of_ones_own_lead_alone_asks_about_that_lead(
        chat: ChatSession, transcript: Transcript, services: Services, said: str) -> None:
    """「蓝天医院」, the company of the rep's own lead, said alone: 「没找到合适的话术」 and a knowledge gap."""
    await _one_lead(chat)
    await chat.handle_line(said)
    ask = transcript.last("rep01")
    assert ask["title"].startswith("你是想") and "线索" in ask["title"], ask
    assert [b["text"] for b in ask["buttons"]] == ["查看线索", "记录跟进"]
    await chat.handle_line("/click 查看线索")
    assert "青峦物流" in plain(transcript.last("rep01")["text"]) and "13644445555" in transcript.last("rep01")["text"]
    assert await _queries(services) == []


async def test_a_bare_amount_with_a_lead_in_view_is_asked_as_its_budget(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    await _one_lead(chat)
    await chat.handle_line("线索 1")
    await chat.handle_line("80万")
    ask = transcript.last("rep01")
    assert ask["title"] == "你是想「线索 1 预算 80万」？", ask
    await chat.handle_line("/click 是的")
    assert (await get_lead(services, 1)).budget_cny == 800_000
    await chat.handle_line("1 六十万")  # a lead number, then an amount
    assert transcript.last("rep01")["title"] == "你是想「线索 1 预算 六十万」？", transcript.last("rep01")
    await chat.handle_line("新线索 祁冬 白沙电子 13655556666")  # a draft open: the amount is the draft's
    await chat.handle_line("45万")
    assert transcript.last("rep01")["title"] == "你是想「预算 45万」？", transcript.last("rep01")
    await chat.handle_line("/click 是的")
    assert (await get_lead(services, 2)).budget_cny == 450_000
    assert await _queries(services) == []


async def test_bare_values_nothing_matches_are_asked_about_and_not_knowledge_gaps(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「50万」, 「1 50万」, a phone or a person no lead has: 「没找到合适的话术」, then in 知识缺口."""
    for said, expect in (("50万", "预算"), ("13811112222", "新线索"), ("司徒乐", "新客户 司徒乐"),
                         ("翁经理", "翁经理")):
        await chat.handle_line(said)
        reply = plain(transcript.last("rep01")["text"])
        assert reply.startswith("你是想") and expect in reply and "话术 🤔" not in reply, (said, reply)
    assert await _queries(services) == []
    await chat.handle_line("/as admin01")
    await chat.handle_line("知识缺口")
    assert not any(w in plain(transcript.last("admin01")["text"]) for w in ("司徒乐", "50万", "13811112222"))


def _shape(text: str, lead_id: int) -> str:
    """A notice with its lead's own number taken out: what stays is the wording."""
    return plain(text).replace(f"#{lead_id}", "#N")


async def test_a_handover_is_told_in_one_wording_whether_the_lead_was_frozen_or_not(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """改派 of a frozen lead told the new owner 「【📌 你有一条改派的线索】…」 and of a live one 「【新分配线索 #4】…」;
    the old owner got 「…已由 王经理 改派给 刘洋。」 or 「线索 #4 已由主管改派给同事。」; 接手 two wordings too."""
    cold, cold2 = await make_lead(services, "rep01"), await make_lead(services, "rep01")  # same customer on all
    for _ in range(3):
        await chat.handle_line("/advance 2h")  # both frozen in the pool, not yet after hours
    live, live2 = await make_lead(services, "rep01"), await make_lead(services, "rep01")
    await chat.handle_line("/as manager01")
    seen: dict[str, list[tuple[str, str]]] = {"rep03": [], "rep01": []}
    for lead in (cold, live):
        marks = {who: len(transcript.to(who)) for who in seen}
        await chat.handle_line(f"改派 {lead} 刘洋")
        for who in seen:
            new = transcript.to(who)[marks[who]:]
            assert len(new) == 1, (who, new)
            seen[who].append((_shape(new[0].get("title", ""), lead), _shape(new[0]["text"], lead)))
    assert seen["rep03"][0] == seen["rep03"][1] and seen["rep01"][0] == seen["rep01"][1], seen
    assert "王经理" in seen["rep01"][0][1] and "刘洋" in seen["rep01"][0][1]
    taken = []
    for lead in (cold2, live2):
        await chat.handle_line("/as manager01")
        mark = len(transcript.to("rep01"))
        await chat.handle_line(f"接手 {lead}")
        taken += [_shape(m["text"], lead) for m in transcript.to("rep01")[mark:]]
    assert len(taken) == 2 and taken[0] == taken[1] and "王经理" in taken[0], taken


async def test_an_unreadable_value_with_no_draft_is_questioned_not_told_there_is_no_draft(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「预算 abc」 with a lead in the conversation: 「没有待确认的线索草稿」, as if the value were fine."""
    await _one_lead(chat)
    await chat.handle_line("线索 1")
    await chat.handle_line("预算 xyz")
    reply = plain(transcript.last("rep01")["text"])
    assert "xyz" in reply and "预算" in reply and "草稿" not in reply, reply
    assert (await get_lead(services, 1)).budget_cny is None


async def test_a_bare_date_asks_before_setting_a_reminder(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「下周三」 alone, a lead in view: 「好的，12月2日 09:00 提醒你跟进」 — it acted without asking."""
    await _one_lead(chat)
    await chat.handle_line("线索 1")
    await chat.handle_line("后天下午")
    ask = transcript.last("rep01")
    assert ask["title"] == "你是想「后天下午提醒我跟进 线索1」？", ask
    async with services.db.session() as s:
        assert (await s.execute(select(Reminder.id).where(Reminder.rule == NOTICE))).first() is None
    await chat.handle_line("/click 是的")
    assert "提醒你" in transcript.last("rep01")["text"]


async def test_the_only_admin_cannot_offboard_themself(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「离职 admin01 交给 rep02」 by the only admin: a confirm card 「确认让 赵管理 离职…」; after it, nobody could
    administer the team."""
    await chat.handle_line("/as admin01")
    await chat.handle_line("离职 赵管理 交给 李娜")
    reply = transcript.last("admin01")
    assert "管理员" in reply["text"] and not reply.get("buttons"), reply
    async with services.db.session() as s:
        assert (await s.get(User, "admin01")).active
    with pytest.raises(ValueError, match="管理员"):
        async with services.db.session() as s:
            await offboard(s, "admin01", "rep02", services.clock.now(), services.settings.reminders)


async def test_a_follow_up_and_a_new_lead_in_one_message_are_named_as_two(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「跟进 1 已打电话 新线索 李四 138…」: recorded as one note with the new customer in it, no lead, no word."""
    await _one_lead(chat)
    await chat.handle_line("跟进 1 已经电话沟通 新客户 钟小满 13977778888")
    assert "两个操作" in transcript.last("rep01")["text"], transcript.last("rep01")
    async with services.db.session() as s:
        assert (await s.execute(select(Activity.id).where(Activity.kind == "contact"))).first() is None
    await chat.handle_line("跟进 1 客户说想介绍个新客户给我们")  # one command: recorded
    assert "已记录" in transcript.last("rep01")["text"]


async def test_a_personal_reminder_keeps_the_callback_agreed_with_the_customer(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「30分钟后提醒我回电」 moved the customer's agreed 回访 (11-30 10:00 → today 10:30) without asking."""
    await _one_lead(chat)
    await chat.handle_line("跟进 1 电话聊过，约了大后天上午10点再谈")
    agreed = (await get_lead(services, 1)).next_follow_up_at
    assert agreed is not None
    await chat.handle_line("20分钟后提醒我回电")
    assert "照旧" in transcript.last("rep01")["text"], transcript.last("rep01")
    assert (await get_lead(services, 1)).next_follow_up_at == agreed
