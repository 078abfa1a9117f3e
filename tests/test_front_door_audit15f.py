"""Re-audit of issue 15 (front door): free-text leads with a compound-surname company of an unknown trade, a
homophone of 录入, and bare company names or 「金额」 that went to 知识缺口. Invented people, companies and phones."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from bot.usertext import plain
from storage.models import QueryLog
from tests.conftest import Transcript
from tests.leads_helpers import get_lead


@pytest.mark.parametrize(("line", "person", "company"), [
    ("新客户 西门渔港 尤总 13911110001", "尤总", "西门渔港"),
    ("新客户 尤总 西门渔港 13911110001", "尤总", "西门渔港"),  # the other order
    ("新客户 令狐果业 巩总 13911110002", "巩总", "令狐果业"),
    ("新客户 皇甫车行 13911110003 庞老板", "庞老板", "皇甫车行"),
    ("录入 夏侯码头 景总 13911110004", "景总", "夏侯码头"),
    ("新线索 太史石材有限公司 13911110005 滕经理", "滕经理", "太史石材有限公司"),
])
async def test_a_compound_surname_company_of_an_unknown_trade_keeps_the_titled_contact(
        chat: ChatSession, transcript: Transcript, services: Services, line: str, person: str, company: str) -> None:
    """「新客户 东方港务 严总 …」: 客户 东方港务, 严总 lost (港务 is no industry word the bot knows)."""
    await chat.handle_line(line)
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company) == (person, company), plain(transcript.last("rep01")["text"])


async def test_a_department_glued_to_the_contact_is_not_a_need(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「采购部周主任」 without a space: no 客户 and 需求 「部周」."""
    await chat.handle_line("录入 13911110006 太史石材有限公司 技术部卓主任")
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company) == ("卓主任", "太史石材有限公司"), plain(
        transcript.last("rep01")["text"])
    assert "部" not in (lead.needs or ""), lead.needs


async def test_a_homophone_of_lu_ru_is_read_as_the_verb(
        chat: ChatSession, transcript: Transcript, services: Services) -> None:
    """「陆入 蓝海水产 许总 151…」: a draft with 客户 「陆入」 and 许总 lost."""
    await chat.handle_line("路入 青屿水产 柴总 13911110007")
    lead = await get_lead(services, 1)
    assert (lead.customer_name, lead.company, lead.phone) == ("柴总", "青屿水产", "13911110007"), plain(
        transcript.last("rep01")["text"])


async def _queries(services: Services) -> list[str]:
    async with services.db.session() as s:
        return list((await s.execute(select(QueryLog.query))).scalars())


@pytest.mark.parametrize("said", ["令狐集团", "西门纺织", "北辰明珠酒店", "2 金额", "金额"])
async def test_a_bare_company_or_the_word_amount_is_asked_about_not_a_gap(
        chat: ChatSession, transcript: Transcript, services: Services, said: str) -> None:
    """「慕容集团」, 「2 金额」, 「金额」 alone: 「没找到合适的话术」 and in 知识缺口."""
    await chat.handle_line(said)
    reply = plain(transcript.last("rep01")["text"]) + transcript.last("rep01").get("title", "")
    assert "话术 🤔" not in reply and ("你是想" in reply or "预算" in reply), reply
    assert await _queries(services) == []
