"""Customer project groups and phone-screen photos in the energy-management domain (tests/synth_energy.py, invented
vendor 绿岸能效 and its customers): who among several customer-side speakers is the lead, whose number is theirs,
and a dark-mode phone photographed under glare."""

from __future__ import annotations

import random
from datetime import datetime

from bot.clock import CN_TZ
from ocr.extract import LeadFields
from ocr.pipeline import validate
from ocr.screen import PHOTO, locate
from tests.drawn import read_drawn, vendor_settings
from tests.synth import Chat, Item, render_chat
from tests.synth_energy import CATALOG_TEXT, VENDOR, energy_photo

NOW = datetime(2026, 4, 14, 16, 0, tzinfo=CN_TZ)
SETTINGS = vendor_settings(CATALOG_TEXT, VENDOR)


def _read(items: list[Item], title: str, *, dark: bool = False) -> LeadFields:
    img, _ = render_chat(Chat("wechat", title, None, items), random.Random(3), (1080, 2340), dark, 3600)
    return read_drawn(img, NOW, SETTINGS)


def test_the_member_asking_for_the_quote_is_the_lead_not_the_one_giving_their_number() -> None:
    lead = _read([
        Item("time", "10:12"),
        Item("right", "各位好，我是绿岸能效的客户经理，能耗监测平台的事在这个群里沟通"),
        Item("left", "大家好，我是东港商务的何思远，工程部经理，这个项目我来对接", sender="何思远"),
        Item("left", "我们想上一套能耗监测平台，麻烦先出个报价", sender="何思远"),
        Item("left", "合同的事可以找我，我电话13912345678", sender="赵佩玲"),
        Item("left", "预算大概80万", sender="赵佩玲"),
    ], "东港商务能耗监测平台项目群(7)")
    assert lead.is_lead
    assert (lead.customer_name, lead.title, lead.budget_cny) == ("何思远", "工程部经理", 800_000)
    assert lead.phone is None  # the colleague's own number is not the lead's


def test_a_number_another_member_gives_as_the_leads_is_the_leads() -> None:
    lead = _read([
        Item("time", "09:40"),
        Item("right", "拉个群方便沟通，我是绿岸这边负责空调群控的"),
        Item("left", "大家好，我是绿岸能效的技术顾问柏立新，方案上有疑问尽管找我", sender="绿岸-柏立新"),
        Item("left", "各位好，我是明湖酒店的屈海宁，想了解一下你们的空调群控", sender="明湖酒店-屈海宁"),
        Item("left", "屈经理电话 186 2541 7774，方案直接和他对接", sender="明湖酒店-毕振东"),
    ], "明湖酒店×绿岸节能改造(7)", dark=True)
    assert lead.is_lead
    assert (lead.customer_name, lead.phone) == ("屈海宁", "18625417774")


def test_a_dark_mode_phone_photographed_under_glare_is_found_by_its_outline() -> None:
    sample = energy_photo(105)  # dark mode, glare over screen and desk alike, tilted 11°
    assert locate(validate(sample.image, SETTINGS)).kind == PHOTO
    lead = read_drawn(sample.image, sample.now, SETTINGS)
    assert (lead.phone, lead.budget_cny) == (sample.truth.phone, sample.truth.budget_cny)
