"""Who the lead is (issue 14): in a customer project group the member who gives their number and states the need,
not another customer-side member who introduces themself; in a referral the person the purchase is handed to,
unless the contact keeps it; and a PC client's chat pane found after a session list of its own colour. Invented
people and companies; the group and referral cases on the text extractor (the layout is not the point there)."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image

from bot.clock import CN_TZ
from ocr.engine import ChatText, TextRegion
from ocr.extract import extract
from ocr.people import NAMES as NAMES_ENGINE
from ocr.screen import PANE, locate
from tests.conftest import ENGINES
from tests.synth_cases import pcflat_case

NOW = datetime(2026, 5, 11, 15, 0, tzinfo=CN_TZ)
NAMES = ENGINES.get(NAMES_ENGINE)


def chat(title: str, *items: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", title), *(TextRegion(kind, text) for kind, text in items)), True)


COLLEAGUE = ("left", "蒋文斌\n我是财务部的蒋文斌，开票和付款的事找我")


def test_in_a_group_the_member_with_number_and_need_is_the_lead_not_a_colleague_who_introduces_themself() -> None:
    contact = [
        ("left", "苏晴\n各位好，我是梧桐包装的设备部经理苏晴，电话13712345670"),
        ("left", "苏晴\n预算这块领导已经批了"),
        ("right", "收到，我们的温控柜单价8千元一台"),
        ("left", "苏晴\n差不多四十来万吧"),
    ]
    for items in ([COLLEAGUE, *contact], [*contact, COLLEAGUE]):
        lead = extract(
            chat("梧桐包装设备采购群(8)", ("right", "欢迎各位，我是衡远仪器的小韩"), *items), NOW, names=NAMES
        )
        assert lead.is_lead
        assert (lead.customer_name, lead.company, lead.title, lead.phone, lead.budget_cny) == (
            "苏晴",
            "梧桐包装",
            "设备部经理",
            "13712345670",
            400_000,
        )


def test_a_pc_groups_sender_line_names_the_member() -> None:
    lead = extract(
        chat(
            "梧桐包装设备采购群(8)",
            ("right", "衡远仪器-小韩 10:02\n欢迎各位，我是衡远仪器的小韩"),
            ("left", "蒋文斌 10:05\n我是财务部的蒋文斌，开票和付款的事找我"),
            ("left", "苏晴 10:06\n大家好，我是苏晴，这批温控柜我负责采购，电话13712345670"),
            ("left", "衡远仪器-售前顾问周航 10:08\n温控柜单价8千元一台，规格见附件"),
        ),
        NOW,
        names=NAMES,
    )
    assert (lead.customer_name, lead.phone, lead.budget_cny) == ("苏晴", "13712345670", None)
    assert lead.title != "设备"  # the group's project word is nobody's department


def test_a_referral_to_the_person_responsible_makes_them_the_lead_with_their_number() -> None:
    lead = extract(
        chat(
            "邱雨桐@梧桐包装",
            ("right", "您好，我是衡远仪器的小韩"),
            ("left", "温控柜的事不归我管"),
            ("left", "我们采购部钱振宇负责这块，他电话13622223333，你直接联系他"),
        ),
        NOW,
        names=NAMES,
    )
    assert (lead.customer_name, lead.company, lead.title, lead.phone) == ("钱振宇", "梧桐包装", "采购部", "13622223333")


def test_a_colleague_named_in_passing_leaves_the_contact_the_lead() -> None:
    lead = extract(
        chat(
            "邱雨桐@梧桐包装",
            ("left", "我们想买三台温控柜"),
            ("left", "技术参数你可以联系我们钱工，电话13622223333"),
            ("left", "采购还是我来对接，我电话13811112222"),
        ),
        NOW,
        names=NAMES,
    )
    assert (lead.customer_name, lead.phone) == ("邱雨桐", "13811112222")


def test_a_pc_chat_pane_is_found_after_a_session_list_of_its_own_colour() -> None:
    sample = pcflat_case(0)  # 1920×1080, no line and no shade between the session list and the pane
    found = locate(Image.open(io.BytesIO(sample.image)).convert("RGB"))
    assert found.kind == PANE and found.pane is not None
    assert 0 <= found.pane.x0 - int(sample.meta["pane_x"]) <= 12  # type: ignore[call-overload]
    kinds = [r.kind for r in found.layout.regions]
    assert kinds.count("left") >= 3 and kinds.count("right") >= 1  # the pane's own customer, not the list's rows
