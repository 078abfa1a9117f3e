"""Customer project groups and phone-screen photos in the construction-materials domain (tests/synth_jiancai.py,
invented vendor 磐固建材 and its customers): a lead handed the purchase by their boss and silent in the group,
WeCom's 「姓名@微信」 labels, a site worker's own number under a lost label, and a dark-mode phone photographed in a
dim room with a thumb over the screen's edge."""

from __future__ import annotations

import io
import random
from datetime import datetime

import numpy as np
from PIL import Image

from bot.clock import CN_TZ
from ocr.extract import LeadFields
from ocr.pipeline import validate
from ocr.screen import PHOTO, locate
from tests.drawn import read_drawn, vendor_settings
from tests.synth import Chat, Item, render_chat
from tests.synth_jiancai import CATALOG_TEXT, VENDOR, photograph

NOW = datetime(2026, 5, 19, 17, 0, tzinfo=CN_TZ)
SETTINGS = vendor_settings(CATALOG_TEXT, VENDOR)


def _read(items: list[Item], title: str, app: str = "wecom") -> LeadFields:
    img, _ = render_chat(Chat(app, title, None, items), random.Random(5), (1080, 2340), False, 3600)
    return read_drawn(img, NOW, SETTINGS)


def test_the_colleague_the_boss_hands_the_purchase_to_is_the_lead_even_silent() -> None:
    lead = _read([
        Item("time", "09:20"),
        Item("right", "各位领导好，我是磐固建材的业务经理，防水卷材的事在群里沟通"),
        Item("left", "我是江西华垣建工集团有限公司项目经理邓志强，材料采购这块由我们材料部经理黄德明对接，"
                     "他电话13587264410", sender="邓志强@华垣建工"),
        Item("left", "需要防水卷材大概五千平方，麻烦出个报价", sender="邓志强@华垣建工"),
        Item("left", "收到", sender="刘春燕@微信"),
    ], "华垣建工防水卷材供货群(12)")
    assert lead.is_lead
    assert (lead.customer_name, lead.title, lead.phone) == ("黄德明", "材料部经理", "13587264410")
    assert lead.company == "江西华垣建工集团有限公司"


def test_a_site_workers_own_number_under_a_lost_label_is_not_the_leads() -> None:
    lead = _read([
        Item("time", "10:05"),
        Item("right", "拉个群，材料的事大家在这里说"),
        Item("left", "大家好，我是安徽德勤建设工程有限公司的王秋云，成本经理，这批材料我来对接", sender="王秋云@微信"),
        Item("left", "这次要采购一批保温板，先报个价", sender="王秋云@微信"),
        Item("left", "我是现场资料员张国栋，送货前打我电话17307934533"),  # drawn without its label
        Item("left", "预算控制在60万以内", sender="王秋云@微信"),
    ], "德勤建设×磐固(23)")
    assert lead.is_lead
    assert (lead.customer_name, lead.title, lead.budget_cny) == ("王秋云", "成本经理", 600_000)
    assert lead.phone is None


def test_a_dark_mode_phone_photographed_in_a_dim_room_is_read() -> None:
    items = [Item("time", "08:40"),
             Item("left", "你好，我是成都青川装饰工程有限公司的采购经理李文博"),
             Item("left", "工地要一批石膏板，能报个价吗"),
             Item("right", "可以，方便留个电话吗？"),
             Item("left", "13659871204"),
             Item("left", "这批预算30万")]
    screen, _ = render_chat(Chat("wechat", "李文博", None, items), random.Random(2), (1080, 2340), True)
    rng = random.Random(0)
    while True:  # the first draw of a dim room (the generator's own choice of scene)
        state = rng.getstate()
        photo, meta = photograph(np.asarray(screen), rng)
        if meta["dim"]:
            break
        rng.setstate(state)
        rng.random()
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=50)
    assert locate(validate(buf.getvalue(), SETTINGS)).kind == PHOTO
    lead = read_drawn(buf.getvalue(), NOW, SETTINGS)
    assert lead.is_lead
    assert (lead.customer_name, lead.title) == ("李文博", "采购经理")
