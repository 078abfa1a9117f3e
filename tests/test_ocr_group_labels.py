"""Group chats: the small grey name label over a member's message is read, so the speaker is known. Drawn with
tests/synth.py (invented people and companies)."""

from __future__ import annotations

import io
import random
from datetime import datetime

from bot.clock import CN_TZ
from bot.config import OcrSettings
from ocr.engine import get_engine
from ocr.extract import LeadFields
from ocr.pipeline import read_image, validate
from ocr.screen import locate
from tests.conftest import ENGINES
from tests.synth import REP_COMPANY, Chat, Item, render_chat

NOW = datetime(2026, 4, 14, 16, 0, tzinfo=CN_TZ)
SETTINGS = OcrSettings()


def _image(chat: Chat, seed: int = 3) -> bytes:
    img, _ = render_chat(chat, random.Random(seed), (1080, 2340), False)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _group(intro: str) -> Chat:
    return Chat("wechat", "松岩建材招标项目群(6)", None, [
        Item("time", "14:20"),
        Item("right", f"各位好，我是{REP_COMPANY}的小周，项目由我对接"),
        Item("left", intro, sender="许慧"),
        Item("left", "收到", sender="莫凡"),
        Item("right", "好的，方案今天发群里"),
    ])


def test_the_name_label_over_a_members_message_is_read() -> None:
    img = validate(_image(_group("大家好，我是松岩建材的采购主管，电话13572046618")), SETTINGS)
    found = locate(img)
    chat = get_engine(ENGINES, "tesseract").read(found.image, found.layout)
    firsts = [r.text.split("\n")[0] for r in chat.regions if r.kind == "left"]
    assert firsts == ["许慧", "莫凡"]


def test_the_label_names_a_member_who_introduces_themself_without_a_name() -> None:
    lead: LeadFields = read_image(validate(_image(_group("大家好，我是松岩建材的采购主管，电话13572046618")),
                                           SETTINGS), NOW, SETTINGS, engines=ENGINES)
    assert lead.is_lead
    assert (lead.customer_name, lead.phone, lead.title) == ("许慧", "13572046618", "采购主管")


def test_a_label_never_runs_into_the_message() -> None:
    lead = read_image(validate(_image(_group("大家好，我是松岩建材的采购主管林宁，电话13572046618")), SETTINGS),
                      NOW, SETTINGS, engines=ENGINES)
    assert lead.customer_name == "林宁"  # the speaker's own words name them; the label is another reading
    assert all(not r[1].startswith(("许慧", "莫凡")) for r in lead.dialogue if r[0] == "left")
