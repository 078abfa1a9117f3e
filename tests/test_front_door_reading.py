"""The reader (handlers.intent.understand) on wording the earlier tables never used: greeting and help variants,
the day's follow-ups asked as 「待回访」, contacts and a customer's words told in passing, a manager's takeover and
team questions, an admin's knowledge-base upload and unanswered questions — and the how-to questions that look
like commands but go to the knowledge base (issue 15). Invented examples, pure and fast."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.intent import understand
from tests.utterances import STATE


def _read(text: str, role: str = "rep") -> tuple[str, dict[str, Any]]:
    got = understand(text, role, STATE)
    return got.name, {k: v for k, v in got.slots.items() if v not in (None, "", [], ())}


@pytest.mark.parametrize("text", ["哈罗", "在嘛 小助手", "哈咯 在没"])
def test_greeting_spelt_as_typed(text: str) -> None:
    assert _read(text)[0] == "greeting"


@pytest.mark.parametrize("text", ["有哪些指令可以用", "命令列表", "我能用什么命令"])
def test_asking_for_the_commands_is_help(text: str) -> None:
    assert _read(text, "admin")[0] == "help"


@pytest.mark.parametrize("text", ["今儿有啥待拜访的", "今日待联系的客户"])
def test_todays_pending_follow_ups(text: str) -> None:
    assert _read(text)[0] == "today"


def test_a_visit_or_a_coffee_told_in_passing_is_a_follow_up() -> None:
    assert _read("刚从马骁公司出来 他们还要比价") == (
        "follow_up", {"lead_id": 9, "note": "刚从马骁公司出来 他们还要比价"})
    assert _read("和周立喝了顿酒 关系近了不少") == ("follow_up", {"lead_id": 7, "note": "和周立喝了顿酒 关系近了不少"})
    assert _read("刚去客户那边应该怎么开场")[0] == "knowledge"


def test_what_a_named_customer_said_is_a_follow_up_but_asking_how_to_answer_it_is_not() -> None:
    assert _read("马骁今天回复说价格可以接受 等法务看合同") == (
        "follow_up", {"lead_id": 9, "note": "马骁今天回复说价格可以接受 等法务看合同"})
    assert _read("孙蕾说太贵了怎么回")[0] == "knowledge"
    assert _read("客户说想先试用再决定")[0] == "knowledge"  # no customer of mine named: a technique asked


def test_a_manager_taking_a_lead_himself() -> None:
    assert _read("88号我自己来跟吧", "manager") == ("takeover", {"lead_id": 88})


@pytest.mark.parametrize("text", ["超期的线索有哪些", "谁的客户超期没跟"])
def test_overdue_said_as_chaoqi(text: str) -> None:
    assert _read(text, "manager")[0] == "overdue"


def test_a_team_members_current_leads() -> None:
    assert _read("李娜正在跟的线索", "manager") == ("team_leads", {"filter": "李娜"})
    assert _read("张伟这周负责的客户都有哪些", "manager") == ("team_leads", {"filter": "张伟"})


def test_material_put_into_the_knowledge_base_is_an_import() -> None:
    assert _read("把这份价格说明传到知识库", "admin")[0] == "kb_import"
    assert _read("导入几份新的培训资料", "admin")[0] == "kb_import"


def test_unanswered_questions_listed_are_gaps_but_how_to_cope_is_knowledge() -> None:
    assert _read("这周有多少问题没找到答案", "admin")[0] == "kb_gaps"
    assert _read("客户的问题我答不上来怎么办")[0] == "knowledge"


@pytest.mark.parametrize("text", ["如何提醒客户按时付款", "怎样提醒老客户续费比较自然"])
def test_asking_how_to_remind_a_customer_is_knowledge(text: str) -> None:
    assert _read(text) == ("knowledge", {"query": text})
    assert _read("明天下午提醒我问问周立怎么安装")[0] == "reminder"
