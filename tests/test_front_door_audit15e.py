"""A second new-user audit of the front door (issue 15), each test written from the user's complaint first,
through the chat use cases. Invented people, companies and phones only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from bot.usertext import plain
from storage.models import QueryLog
from tests.conftest import Transcript
from tests.leads_helpers import get_lead


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
