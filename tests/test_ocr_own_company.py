"""`[ocr] own_company`: a chat whose title or other party names our own company is a colleague's, never a lead.
Screenshots drawn with tests/synth.py (invented people; 云启软件 is the invented rep company there)."""

from __future__ import annotations

import io
import random
from datetime import datetime

from bot.clock import CN_TZ
from bot.config import OcrSettings, load_settings
from ocr.extract import LeadFields
from ocr.pipeline import read_image, validate
from tests.conftest import ENGINES
from tests.synth import REP_COMPANY, Chat, Item, render_chat

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=CN_TZ)
OURS = OcrSettings(own_company=["云启软件有限公司", REP_COMPANY])


def _read(chat: Chat, settings: OcrSettings) -> LeadFields:
    img, _ = render_chat(chat, random.Random(7), (1080, 2340), False)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return read_image(validate(buf.getvalue(), settings), NOW, settings, engines=ENGINES)


def _asking_chat(title: str, suffix: str | None = None) -> Chat:
    """Someone asking the way a customer would (a colleague forwarding a request talks like this too)."""
    return Chat("wecom", title, suffix, [
        Item("time", "14:02"),
        Item("left", "你好，我是韩立，想了解一下你们的智能排班，预算80万左右"),
        Item("left", "电话13761520493"),
        Item("right", "好的，明天上午10点打给您"),
    ])


def test_a_chat_titled_with_our_company_is_a_colleagues() -> None:
    chat = _asking_chat(f"韩立-{REP_COMPANY}-售前")
    assert _read(chat, OcrSettings()).is_lead  # without the setting nothing tells it is ours
    lead = _read(chat, OURS)
    assert not lead.is_lead
    assert lead.reject_reason == "colleague_chat"


def test_a_wecom_title_naming_our_company_is_a_colleagues() -> None:
    lead = _read(_asking_chat("韩立", f"@{REP_COMPANY}"), OURS)
    assert (lead.is_lead, lead.reject_reason) == (False, "colleague_chat")


def test_a_customer_chat_stays_a_lead_with_the_setting() -> None:
    lead = _read(_asking_chat("韩立", "@星河纺织"), OURS)
    assert lead.is_lead
    assert (lead.customer_name, lead.phone) == ("韩立", "13761520493")


def test_the_setting_is_read_from_config_and_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text('[ocr]\nown_company = ["云启软件", "云启"]\n', encoding="utf-8")
    names = ["云启软件", "云启"]
    assert load_settings(path, env={}).ocr.own_company == names
    assert load_settings(path, env={"SALESBOT_OCR_OWN_COMPANY": "云启软件,云启"}).ocr.own_company == names
    assert load_settings(None, env={}).ocr.own_company == []
