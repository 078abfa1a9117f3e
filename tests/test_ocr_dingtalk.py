"""DingTalk phone screenshots (issue 14) drawn by tests/synth_dingtalk.py, a hand other than tests/synth.py's: the
「外部」 badge in a frame and the call glyph beside the title, the organisation line under it, name avatars, blue
rep bubbles with 已读 under them, replies quoting inside the bubble, low JPEG quality. Invented people."""

from __future__ import annotations

import random
from datetime import datetime

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.clock import CN_TZ
from bot.config import OcrSettings
from ocr.engine import ChatText, TextRegion, _without_badges
from ocr.extract import extract, find_budget
from ocr.layout import LEFT, RIGHT, analyse
from ocr.people import NAMES as NAMES_ENGINE
from ocr.pipeline import read_image, validate
from tests.conftest import ENGINES
from tests.synth_dingtalk import BLUES, DARK_BLUES, FONTS, Case, Look, Msg, draw

NOW = datetime(2026, 6, 9, 17, 30, tzinfo=CN_TZ)
COMPANY = "衡阳青禾智能装备有限公司"
CATALOG = "自动喷涂线\n激光切割机\n"


def _case(*msgs: Msg) -> Case:
    return Case("祁若兰", COMPANY, ["青禾智能", COMPANY], "温子航", list(msgs), NOW)


def _read(case: Case, look: Look, tmp_path) -> object:  # type: ignore[no-untyped-def]
    data, _ = draw(case, look, random.Random(3))
    catalog = tmp_path / "catalog.txt"
    catalog.write_text(CATALOG, "utf-8")
    settings = OcrSettings(catalog=str(catalog))
    return read_image(validate(data, settings), NOW, settings, engines=ENGINES)


CHAT = (Msg("time", "14:02"), Msg("left", "你好，我想了解一下自动喷涂线"),
        Msg("right", "好的，方便留个电话吗？"), Msg("left", "我手机 139 2046 7751"),
        Msg("right", "收到，明天上午10点给您打电话"))


@pytest.mark.parametrize(("size", "dark", "quality"), [((720, 1280), False, 60), ((540, 960), True, 45),
                                                       ((1080, 2340), False, 80)])
def test_the_framed_badge_and_the_call_glyph_stay_out_of_the_name_and_the_company(size, dark, quality,
                                                                                    tmp_path) -> None:
    """Read whole, the title bar's framed 「外部」 came out as two odd characters joined to the name (祁若 + 兰xx as
    the company) and the call ring beside it tied the name and the organisation line into one line."""
    look = Look(size, dark, FONTS[0], 16, 38, (DARK_BLUES if dark else BLUES)[0], quality)
    lead = _read(_case(*CHAT), look, tmp_path)
    assert (lead.customer_name, lead.company, lead.phone) == ("祁若兰", COMPANY, "13920467751")
    assert lead.needs == ("自动喷涂线",)
    assert lead.follow_up == datetime(2026, 6, 10, 10, 0, tzinfo=CN_TZ)


def test_every_bubble_is_found_beside_name_avatars_at_jpeg_quality_35() -> None:
    """Ringing round a blue bubble at low quality bridged it to the rep's avatar and made that avatar look too tall;
    a coloured round avatar's rim broke off as a sliver that passed for the avatar: bubbles were lost."""
    look = Look((720, 1280), False, FONTS[0], 17, 38, BLUES[1], 35)
    data, shown = draw(_case(*CHAT), look, random.Random(5))
    layout = analyse(validate(data, OcrSettings()))
    sides = [r.kind for r in layout.regions if r.kind in (LEFT, RIGHT)]
    assert sides == [m.side for m in shown if m.side != "time"]


def test_the_read_mark_under_a_rep_bubble_is_not_its_text() -> None:
    look = Look((1080, 2340), False, FONTS[0], 16, 38, BLUES[0], 85)
    data, _ = draw(_case(*CHAT), look, random.Random(5))
    img = validate(data, OcrSettings())
    layout = analyse(img)
    rgb = np.asarray(img.convert("RGB"), dtype=int)
    rights = [r.box for r in layout.regions if r.kind == RIGHT]
    assert len(rights) == 2
    for box in rights:  # the box ends with the bubble's blue fill, above the grey 已读 / blue 未读 under it
        x = (box.x0 + box.x1) // 2
        blue = rgb[:, x, 2] - rgb[:, x, 0]
        assert blue[box.y1 - 5] > 60 and blue[box.y1 + 3] < 30  # (its last rows: the soft edge)


def test_a_reply_quoting_the_customer_inside_the_rep_bubble_is_the_customer_s_words(tmp_path) -> None:
    quote = Msg("right", "收到，后天下午3点我带样品过来", kind="quote", quoted=("祁若兰", "需要激光切割机"))
    lead = _read(_case(Msg("left", "我手机 139 2046 7751"), quote), Look((1080, 2340), False, FONTS[0], 16, 38,
                                                                          BLUES[2], 80), tmp_path)
    assert lead.needs == ("激光切割机",)


def test_reply_lines_split_into_the_quoted_words_and_the_bubble_s_own() -> None:
    regions = (TextRegion("title", "祁若兰\n" + COMPANY), TextRegion("left", "我手机13920467751"),
               TextRegion("right", "|回复 祁若兰;预算30万左右\n好的，明天上午10点联系您"))
    lead = extract(ChatText(regions, True), NOW, names=ENGINES.get(NAMES_ENGINE))
    assert lead.budget_cny == 300_000
    assert lead.follow_up == datetime(2026, 6, 10, 10, 0, tzinfo=CN_TZ)


def _line(text: str, framed: str | None) -> Image.Image:
    f = ImageFont.truetype(FONTS[0][0], 32, index=FONTS[0][1])
    img = Image.new("L", (360, 48), 255)
    d = ImageDraw.Draw(img)
    d.text((8, 6), text, font=f, fill=0)
    if framed:
        x = 16 + f.getlength(text)
        small = ImageFont.truetype(FONTS[0][0], 20, index=FONTS[0][1])
        d.rounded_rectangle((x, 10, x + small.getlength(framed) + 12, 40), radius=5, outline=0, width=2)
        d.text((x + 6, 13), framed, font=small, fill=0)
    return img


def test_a_framed_badge_is_whited_out_but_boxy_characters_are_not() -> None:
    badge = np.asarray(_without_badges(_line("祁若兰", "外部"))) < 128
    assert badge[:, 130:].sum() == 0 and badge[:, :110].sum() > 100
    for text in ("吕回国", "品田", "日日图"):
        plain = _line(text, None)
        assert np.array_equal(np.asarray(_without_badges(plain)), np.asarray(plain))


def test_a_misread_yuan_sign_before_grouped_digits_is_still_money() -> None:
    assert find_budget("预算大概半150,000") == 150_000
    assert find_budget("预算这块大概y280 ,000，领导已经批了") == 280_000
    assert find_budget("预算y2") is None
