"""Who is the lead: customer project groups, colleagues handing a customer over, documents that are no chat, and
follow-ups only when agreed. Invented people; screenshots drawn by tests/synth_groups.py."""

from __future__ import annotations

import pytest

from bot.config import OcrSettings
from ocr.catalog import parse_catalog_text
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract
from ocr.people import group_company, person_in, role_in
from ocr.pipeline import read_image, validate
from tests.conftest import ENGINES
from tests.synth_groups import CATALOG_TEXT, desktop_contact, handover, meeting_notice, project_group
from tests.test_ocr_people import NAMES, NOW, chat

CATALOG = parse_catalog_text(CATALOG_TEXT)
SETTINGS = OcrSettings()


def test_a_customer_introducing_themself_in_a_project_group_is_the_lead() -> None:
    group = chat("松岩环保除尘器采购项目群(7)",
                 ("right", "欢迎各位，我是启明仪器的小周，本次对接由我跟进"),
                 ("left", "各位好，骆清远，松岩环保科技有限公司设备部经理"),
                 ("left", "我手机 139-2233-4455，微信同号"),
                 ("left", "我们需要一批除尘器，预算80万左右，年底前要到货"),
                 ("left", "启明仪器-技术支持魏然\n除尘器单价6800元/台，含税"),
                 ("right", "骆清远经理，周四下午3点过来当面聊？"),
                 ("left", "收到"))
    lead = extract(group, NOW, parse_catalog_text("除尘器"), names=NAMES)
    assert lead.is_lead and lead.reject_reason is None
    assert (lead.customer_name, lead.company, lead.title, lead.phone) == \
        ("骆清远", "松岩环保科技有限公司", "设备部经理", "13922334455")
    assert lead.budget_cny == 800_000 and lead.needs == ("除尘器",)
    assert lead.follow_up is None  # a delivery deadline and a visit nobody answered are not an agreed time


def test_a_group_member_giving_their_own_number_is_a_lead_a_contact_notice_is_not() -> None:
    own = extract(chat("松岩环保项目群(5)", ("left", "我手机13922334455，有事找我"), ("left", "需要除尘器")), NOW,
                  names=NAMES)
    assert own.is_lead and own.phone == "13922334455" and own.company == "松岩环保"
    notice = extract(chat("松岩环保项目群(5)", ("left", "联系人骆清远，电话13922334455")), NOW, names=NAMES)
    assert not notice.is_lead and notice.reject_reason == "group_chat"


@pytest.mark.parametrize(("title", "want"), [
    ("松岩环保除尘器采购项目群(7)", "松岩环保"),  # the product is not part of the company, catalog or not
    ("松岩环保-项目对接群(12)", "松岩环保"),
    ("梧桐医疗数据中台项目群(4)", "梧桐医疗"),
    ("销售一部(8)", None),
])
def test_a_group_title_gives_the_company_without_project_words(title: str, want: str | None) -> None:
    assert group_company(title, parse_catalog_text("除尘器\n数据中台")) == want


def test_introductions_without_wo_shi_and_split_over_bubbles() -> None:
    p = person_in("大家好，骆清远，松岩环保科技有限公司设备部经理")
    assert (p.name, p.company, p.title) == ("骆清远", "松岩环保科技有限公司", "设备部经理")
    assert role_in("松岩环保科技有限公司的设备部经理") == "设备部经理"
    assert person_in("您好，王总，方案发您了").name is None


def test_a_colleague_handing_a_customer_over_is_no_lead() -> None:
    handed = chat("李经理-启明仪器", ("left", "那个单子你接一下，对接人骆清远，电话13922334455，预算30万"),
                  ("right", "好的"))
    lead = extract(handed, NOW, names=NAMES)
    assert not lead.is_lead and lead.reject_reason == "colleague_chat" and lead.phone is None
    # the other party's company is the one the rep says they are from
    ours = chat("王磊-启明仪器", ("right", "我是启明仪器的小周"), ("left", "客户电话13922334455，预算30万"))
    assert extract(ours, NOW, names=NAMES).reject_reason == "colleague_chat"


def test_an_accepted_proposal_is_the_follow_up_an_unanswered_one_is_not() -> None:
    asked = ("right", "明天下午3点给您打电话，方便吗？")
    taken = extract(chat("骆清远", ("left", "我手机13922334455"), asked, ("left", "可以")), NOW, names=NAMES)
    assert taken.follow_up is not None and (taken.follow_up.day, taken.follow_up.hour) == (25, 15)
    # the screenshot ends on the question: the answer is below it
    last = extract(chat("骆清远", ("left", "我手机13922334455"), asked), NOW, names=NAMES)
    assert last.follow_up is not None
    other = extract(chat("骆清远", ("left", "我手机13922334455"), asked, ("left", "我先看看资料再说")), NOW,
                    names=NAMES)
    assert other.follow_up is None
    stated = extract(chat("骆清远", ("left", "我手机13922334455"), ("right", "好的，明天下午3点给您打电话")), NOW,
                     names=NAMES)
    assert stated.follow_up is not None


def read(sample):  # type: ignore[no-untyped-def]
    return read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES, catalog=CATALOG)


@pytest.mark.parametrize("sample", [project_group(4), project_group(2, desktop=True), desktop_contact(2)],
                         ids=["phone-group", "desktop-group", "desktop-contact"])
def test_drawn_leads(sample) -> None:  # type: ignore[no-untyped-def]
    lead, t = read(sample), sample.truth
    assert lead.is_lead
    got = (lead.customer_name, lead.company, lead.title, lead.phone, lead.budget_cny, lead.needs, lead.follow_up)
    assert got == (t.customer_name, t.company, t.title, t.phone, t.budget_cny, t.needs, t.follow_up)


@pytest.mark.parametrize(("sample", "reason"), [(handover(3), "colleague_chat"), (meeting_notice(1), "meeting_notice")],
                         ids=["handover", "meeting-notice"])
def test_drawn_negatives(sample, reason: str) -> None:  # type: ignore[no-untyped-def]
    lead = read(sample)
    assert not lead.is_lead and lead.reject_reason == reason
    assert (lead.phone, lead.follow_up, lead.budget_cny) == (None, None, None)


def test_a_customer_whose_company_name_is_close_to_ours_is_still_a_customer() -> None:
    near = chat("骆清远@启华仪器", ("right", "您好，我是启明仪器的小周"), ("left", "我手机13922334455"))
    lead = extract(near, NOW, names=NAMES)
    assert lead.is_lead and lead.company == "启华仪器"


def test_a_pc_clients_sender_and_time_line_is_no_follow_up() -> None:
    pc = ChatText((TextRegion("title", "骆清远"), TextRegion("time", "昨天 09:10"),
                   TextRegion("left", "骆清远 09:12\n您好，我是松岩环保科技有限公司的骆清远，电话13922334455"),
                   TextRegion("left", "骆清远 09:20\n明天下午3点我有空"),
                   TextRegion("left", "骆清远 09:40\n好的，到时见")), True)
    lead = extract(pc, NOW, names=NAMES)
    assert lead.company == "松岩环保科技有限公司" and lead.phone == "13922334455"
    assert lead.follow_up is not None and (lead.follow_up.day, lead.follow_up.hour) == (24, 15)
