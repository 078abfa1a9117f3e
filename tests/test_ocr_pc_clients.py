"""PC client screenshots as the vendors draw them (tests/synth_pc.py, invented people): the WeCom desktop client at
2560×1440 and 125–150 % with a session list a shade darker than the chat pane, 已读 beside the rep's bubbles and the
OS taskbar under the window; the WeChat desktop client at 1920×1080 in a window on the wallpaper. Then the hard
negatives such screenshots showed: a courier's chat, colleagues talking about a customer — and the near cases that
stay leads."""

from __future__ import annotations

import pytest

from bot.config import OcrSettings
from ocr.extract import LeadFields, extract
from ocr.layout import LEFT, RIGHT
from ocr.pipeline import read_image, validate
from ocr.screen import PANE, locate
from tests.conftest import ENGINES
from tests.synth_styles import make_styled
from tests.test_ocr_people import NAMES, NOW, chat

SETTINGS = OcrSettings()


def test_the_wecom_chat_pane_is_found_beside_a_session_list_of_another_shade() -> None:
    sample = make_styled(5000, "wecompc")  # the list 6 levels darker than the pane, no line between them
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PANE and found.pane is not None
    listing = sample.meta["size"][0] - found.pane.width  # type: ignore[index]
    assert 300 * 1.5 < listing < 360 * 1.5  # the icon column and the ~260-px session list are left out
    assert found.pane.y1 < img.height - 48  # and so is the taskbar under the window
    sides = [r.kind for r in found.layout.regions if r.kind in (LEFT, RIGHT)]
    assert sides.count(RIGHT) >= 2 and sides.count(LEFT) >= 3  # light-blue bubbles with 已读 beside: the rep's


@pytest.mark.parametrize(("style", "seed"), [("wecompc", 5000), ("wecompc", 5001), ("wechatpc", 5002)])
def test_pc_client_leads_are_read(style: str, seed: int) -> None:
    sample = make_styled(seed, style)
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    t = sample.truth
    assert (lead.customer_name, lead.phone, lead.needs) == (t.customer_name, t.phone, t.needs)
    assert "已读" not in lead.text  # the read mark is not read into the rep's words


def test_a_windowed_client_is_read_from_its_own_rows() -> None:
    sample = make_styled(5003, "wechatpc", "internal")  # a window on the wallpaper
    found = locate(validate(sample.image, SETTINGS))
    assert found.pane is not None and found.pane.y0 > 0  # the wallpaper above the window is not the title bar
    assert found.layout.title is not None


@pytest.mark.parametrize(("style", "seed", "kind"), [("wecompc", 5002, "courier"), ("wecompc", 5003, "internal"),
                                                     ("wechatpc", 5004, "courier")])
def test_pc_hard_negatives_are_no_lead(style: str, seed: int, kind: str) -> None:
    sample = make_styled(seed, style, kind)
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    assert not lead.is_lead
    assert lead.reject_reason == {"courier": "courier", "internal": "colleague_chat"}[kind]


@pytest.mark.parametrize(
    ("title", "lines", "reason"),
    [
        ("配送员@微信", ["你好，你有个件到了，我是捷达速运的", "电话13522223333，下午四点左右送到"], "courier"),
        ("外卖", ["你的外卖放前台了，送达了哈", "我手机13522223333"], "courier"),
        ("韩师傅", ["我是同城配送的师傅，你的货明天上午送到", "有事打13522223333"], "courier"),
    ],
)
def test_a_delivery_chat_with_a_number_and_a_time_is_no_lead(title: str, lines: list[str], reason: str) -> None:
    lead = extract_chat(title, *(("left", x) for x in lines), ("right", "好的，谢谢"))
    assert (lead.is_lead, lead.reject_reason) == (False, reason)


@pytest.mark.parametrize(
    ("title", "said"),
    [
        ("售后-邵文静", [("left", "禾丰包装说想上一套监控系统，这个客户你跟一下，电话13522223333"), ("right", "好的")]),
        ("项目部 程立", [("left", "禾丰包装的苗经理电话13522223333，你约一下"), ("right", "收到，我今天联系客户")]),
        ("程立（行政）", [("left", "苗经理要报价单，手机13522223333"), ("right", "好，我下午发给客户")]),
        ("程立", [("left", "禾丰包装那个客户想上监控系统，对接人苗语桐，电话13522223333"),
                  ("right", "客户预算多少"), ("left", "客户说40万以内")]),
    ],
)
def test_colleagues_talking_about_a_customer_is_no_lead(title: str, said: list[tuple[str, str]]) -> None:
    lead = extract_chat(title, *said)
    assert (lead.is_lead, lead.reject_reason) == (False, "colleague_chat")


@pytest.mark.parametrize(
    ("title", "said"),
    [
        # a customer's own admin staff under a department remark, buying for their company
        ("行政-苗语桐", [("left", "我们公司想采购一批监控系统，预算40万，电话13522223333"), ("right", "好的")]),
        # a reseller bringing the customer they serve
        ("程立", [("left", "我是禾丰科技的程立，我们有个客户想上监控系统，电话13522223333"),
                  ("right", "客户预算多少"), ("left", "客户说40万以内")]),
        # the customer asks whether the goods can be delivered
        ("苗语桐", [("left", "我是禾丰包装的苗语桐，需要一批监控摄像头，能送货上门吗"), ("left", "电话13522223333"),
                    ("right", "可以送到楼下")]),
        # a customer from a logistics company
        ("苗语桐@禾丰物流", [("left", "我们想了解一下你们的快递柜管理系统，电话13522223333"), ("right", "好的")]),
        # a customer whose remark names their company and a department of theirs
        ("禾丰包装-行政-苗语桐", [("left", "电话13522223333，我们需要监控系统"), ("right", "好的")]),
        # a supply or logistics customer talks of delivery in everyday words, no parcel in sight
        ("莫青禾", [("left", "我们做社区果蔬配送，想找一套冷链温度监测，准时送达很要紧"), ("left", "手机13522223333"),
                    ("right", "好的")]),
        ("莫青禾", [("left", "你们的货架能送货上门吗？送到我们仓库门卫就行，电话13522223333"), ("right", "可以")]),
        ("莫青禾", [("left", "我到你们楼下了，门卫不让进，电话13522223333"), ("right", "我下楼接您")]),
        # customer contacts saved under their buying department, with a budget or a need of their own
        ("技术部韩工", [("left", "能私有化部署吗？预算60万"), ("left", "电话13522223333"), ("right", "可以的")]),
        ("人事-贝佳", [("left", "我们想给新员工做线上培训，电话13522223333"), ("right", "好的，我跟客户成功同事说下")]),
        ("客服部 骆敏", [("left", "在看监控系统，手机13522223333"), ("right", "明天给您回电话")]),
        # a reseller bringing a customer without introducing themself; the rep only answers
        ("程立", [("left", "有个客户想上一套门禁系统，客户预算35万"), ("left", "客户电话13522223333，姓苗"),
                  ("right", "好的，收到")]),
    ],
)
def test_near_cases_stay_leads(title: str, said: list[tuple[str, str]]) -> None:
    lead = extract_chat(title, *said)
    assert lead.is_lead and lead.phone == "13522223333"


def extract_chat(title: str, *said: tuple[str, str]) -> LeadFields:
    return extract(chat(title, *said), NOW, names=NAMES)


OWN = ("澄溪数据有限公司", "澄溪数据", "澄溪")
ASKS = (("left", "想了解一下你们的监控系统，电话13522223333"), ("right", "好的"))


@pytest.mark.parametrize("title", ["澄溪物流-贝总", "澄溪 物流-贝总", "贝总@澄溪物流", "星澄溪-贝总",
                                   "贝总-澄溪物流有限公司", "澄溪数据科技-贝总"])
def test_a_customer_whose_name_starts_like_ours_stays_a_lead(title: str) -> None:
    lead = extract(chat(title, *ASKS), NOW, names=NAMES, own=OWN)
    assert lead.is_lead and lead.phone == "13522223333"


@pytest.mark.parametrize("title", ["澄溪", "贝佳-澄溪-售前", "贝佳@澄溪数据有限公司", "澄溪数据-技术部-贝工",
                                   "贝佳（澄溪）", "贝佳@深圳澄溪数据"])
def test_a_title_naming_our_company_as_a_whole_part_is_a_colleague(title: str) -> None:
    lead = extract(chat(title, *ASKS), NOW, names=NAMES, own=OWN)
    assert (lead.is_lead, lead.reject_reason) == (False, "colleague_chat")
