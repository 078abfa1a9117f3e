"""A second new-user audit of the front door (issue 15), each test written from the user's complaint first,
through the chat use cases. Invented people, companies and phones only."""

from __future__ import annotations

import pytest

from app.chat import ChatSession
from bot.services import Services
from bot.usertext import plain
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

