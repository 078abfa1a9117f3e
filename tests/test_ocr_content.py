"""Messages that are not typed text, drawn by tests/synth_styles.py (invented people): voice messages with their
转文字 block, red packets and transfers, shared link cards, recalled-message notices, quoted replies and customer
project groups."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import OcrSettings
from ocr.extract import extract
from ocr.layout import CARD, has_picture
from ocr.people import NAMES as NAMES_ENGINE
from ocr.pipeline import read_image, validate
from ocr.screen import locate
from tests.conftest import ENGINES  # this test process's (no services here)
from tests.synth_styles import make_styled
from tests.test_ocr_people import NOW, chat

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

SETTINGS = OcrSettings()



def read(seed: int):  # type: ignore[no-untyped-def]
    sample = make_styled(seed, "content")
    img = validate(sample.image, SETTINGS)
    return sample, img, read_image(img, sample.now, SETTINGS, engines=ENGINES)


def test_a_voice_messages_text_is_what_the_customer_said_and_a_link_card_is_not() -> None:
    # A voice bubble with its 转文字 block carries the introduction and the need; a shared article card names
    # another company; a red packet says 恭喜发财. Only the customer's own words count.
    sample, img, lead = read(1)
    t = sample.truth
    assert (lead.customer_name, lead.company, lead.phone, lead.needs) == (t.customer_name, t.company, t.phone, t.needs)
    kinds = [r.kind for r in locate(img).layout.regions]
    assert kinds.count(CARD) == 2  # the article and the red packet


def test_an_investment_in_a_shared_article_is_no_budget() -> None:
    sample, _img, lead = read(9)  # the card: 「…签约新一代智能工厂项目 / 项目总投资约3亿元」, then a transfer
    assert lead.budget_cny is None and lead.company == sample.truth.company
    assert lead.phone == sample.truth.phone  # the rep's number in the customer's quote block is the rep's


def test_the_rep_quoting_the_customer_gives_the_customers_number() -> None:
    sample, _img, lead = read(6)  # the number appears only in the 引用 block under the rep's 「号码我存一下」
    assert lead.phone == sample.truth.phone and lead.customer_name == sample.truth.customer_name


def test_a_customer_project_group_drawn_with_sender_names() -> None:
    sample = make_styled(2, "content")  # title ends in the member count; a colleague and the customer both write
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    t = sample.truth
    assert lead.is_lead
    assert (lead.customer_name, lead.company, lead.title, lead.phone) == (t.customer_name, t.company, t.title, t.phone)


def test_a_recalled_message_notice_is_no_one_speaking() -> None:
    lead = extract(chat("Leo", ("left", "你好，我是澄湖检测的柏子衿"), ("time", "“柏子衿”撤回了一条消息"),
                        ("left", "电话13566667777")), NOW, names=NAMES)
    assert (lead.customer_name, lead.phone) == ("柏子衿", "13566667777")


def test_a_quote_names_who_said_it_whatever_the_title_bar_shows() -> None:
    # The title bar is a nickname: the rep's quote of 「柏子衿」 is the customer; the customer's quote of the rep
    # (「小郑」, no surname) is the rep, so the rep's number is not the customer's.
    lead = extract(chat("静待花开", ("left", "小郑：我的电话13900001111"), ("right", "柏子衿：我手机13566667777")),
                   NOW, names=NAMES)
    assert (lead.customer_name, lead.phone) == ("柏子衿", "13566667777")


def test_a_rank_whose_department_was_misread_still_gives_the_name() -> None:
    said = "大家好，我是常州禾丰包装有限公司的上总监苗语桐，电话13566667777"  # 「上」: a misread department
    lead = extract(chat("禾丰包装对接群(8)", ("left", said)), NOW, names=NAMES)
    assert lead.is_lead and (lead.customer_name, lead.phone) == ("苗语桐", "13566667777")


@pytest.mark.parametrize(("square", "want"), [(30, True), (16, False)])
def test_a_picture_is_a_solid_square_text_never_fills(square: int, want: bool) -> None:
    bubble = np.full((80, 240, 3), 255, dtype=np.uint8)
    bubble[10:18, 10:200] = 20  # a text-like stroke band, long but thin
    bubble[20 : 20 + square, 100 : 100 + square] = (230, 80, 60)
    assert has_picture(bubble, 1.0) is want
