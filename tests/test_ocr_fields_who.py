"""Company and title as customers' remarks, subtitles and words give them (issue 14: unseen screenshot sets)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract, extract_from_text
from ocr.people import NAMES as NAMES_ENGINE
from tests.conftest import ENGINES

NAMES = ENGINES.get(NAMES_ENGINE)
NOW = datetime(2025, 3, 11, 10, 0, tzinfo=CN_TZ)


def chat(title: str, *items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", title), *(TextRegion(k, t) for k, t in items)), True)


def who(title: str, *items: tuple[str, str]) -> tuple[str | None, str | None, str | None]:
    lead = extract(chat(title, *items, ("left", "我手机15833445566")), NOW, names=NAMES)
    return lead.customer_name, lead.company, lead.title


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("鲍春生-柳湾第二小学-后勤处", ("鲍春生", "柳湾第二小学", "后勤处")),
        ("鲍春生-柳湾第二小学-保卫科科长", ("鲍春生", "柳湾第二小学", "保卫科科长")),
        ("鲍春生-锦园物业-物业经理", ("鲍春生", "锦园物业", "物业经理")),  # a rank after any trade's department
        ("鲍春生-柏川铸造厂-厂务经理", ("鲍春生", "柏川铸造厂", "厂务经理")),  # not cut to 经理
        ("鲍春生（柳湾第二小学）", ("鲍春生", "柳湾第二小学", None)),  # the brackets are no part of the name
        ("鲍春生-柳湾第二小学保卫处", ("鲍春生", "柳湾第二小学", "保卫处")),  # the department is the title's
        ("鲍春生\n柳湾第二小学｜总务主任", ("鲍春生", "柳湾第二小学", "总务主任")),  # DingTalk: 公司｜职务
    ],
)
def test_remarks_and_subtitles_split_into_company_and_title(
        title: str, want: tuple[str | None, str | None, str | None]) -> None:
    assert who(title) == want


def test_a_clause_before_a_noun_is_no_company() -> None:
    assert who("鲍春生", ("left", "预算的话学校那边还在走流程"))[1] is None
    assert who("鲍春生", ("left", "我们自己的厂在城东"))[1] is None


def test_a_company_said_twice_is_named_once() -> None:
    assert who("鲍春生", ("left", "我这边是锦园物业的物业，想把门禁换了"))[1] == "锦园物业"


@pytest.mark.parametrize(
    ("items", "want"),
    [
        ((("left", "我是柏川铸造厂EHS部经理，厂区要加几个点位"),), "EHS部经理"),  # company then role, no 的
        ((("left", "我是柏川铸造厂安环部的，姓鲍"), ("right", "鲍科长您好")), "安环部科长"),  # assembled
        ((("left", "我在采购部，这次招标我负责"), ("right", "好的鲍经理")), "采购部经理"),
        ((("left", "我在采购部，这次招标我负责"), ("right", "好的葛经理")), None),  # someone else's rank
        ((("left", "我是行政部主管"),), "行政部主管"),
    ],
)
def test_titles_kept_whole_or_assembled(items: tuple[tuple[str, str], ...], want: str | None) -> None:
    assert who("鲍春生", *items)[2] == want


def test_a_typed_lead_splits_a_remark_the_same_way() -> None:
    lead = extract_from_text("新线索 鲍春生-锦园物业-物业经理 15833445566", NOW, names=NAMES)
    assert (lead.customer_name, lead.company, lead.title) == ("鲍春生", "锦园物业", "物业经理")


@pytest.mark.parametrize(
    ("said", "want"),
    [
        ("区里批了180w，今年要用掉", 1_800_000),  # what is approved is the budget
        ("大修基金能动用的是两百四十万", 2_400_000),
        ("上面拨了95万专款", 950_000),
        ("预算两百万以内", 2_000_000),
        ("五十万左右吧", 500_000),
        ("你们那个大概2800元一套是吧", None),  # a unit price is no budget
    ],
)
def test_approved_and_available_amounts_are_budgets(said: str, want: int | None) -> None:
    assert extract(chat("鲍春生", ("left", said), ("left", "我手机15833445566")), NOW, names=NAMES).budget_cny == want


def test_a_reps_unit_price_is_no_budget() -> None:
    lead = extract(chat("鲍春生", ("left", "门禁想换一批，我手机15833445566"), ("right", "我们这款大概2800元一台")),
                   NOW, names=NAMES)
    assert lead.budget_cny is None


def test_a_project_group_is_a_lead_when_a_customer_member_gives_their_number_or_a_budget() -> None:
    group = "柳湾二小门禁项目群(6)"
    named = extract(chat(group, ("right", "各位好，我是安盾科技的小周"), ("left", "彭丽华\n有事打这个13877665544"),
                         ("left", "葛校长\n这边批了120万")), NOW, names=NAMES)
    assert named.is_lead and (named.customer_name, named.phone, named.budget_cny) == (
        "彭丽华", "13877665544", 1_200_000)
    notice = extract(chat(group, ("left", "彭丽华\n联系人张伟，电话13812345678")), NOW, names=NAMES)
    assert not notice.is_lead and notice.reject_reason == "group_chat"
