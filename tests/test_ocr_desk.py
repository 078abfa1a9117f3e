"""PC-client and iPad screenshots drawn apart from the reader's own generator (tests/synth_desk.py, invented
people): the pane is found whatever the sidebar, list and theme, a scrollbar at the pane's edge hides no message,
a tall input area is not read as messages, and the contact's name a client writes over each bubble is not read
into what they said."""

from __future__ import annotations

import pytest

from bot.config import OcrSettings
from ocr.extract import extract
from ocr.layout import LEFT, RIGHT
from ocr.pipeline import read_image, validate
from ocr.screen import PANE, locate
from tests.conftest import ENGINES
from tests.synth_desk import make_desk
from tests.test_ocr_people import NAMES, NOW, chat

SETTINGS = OcrSettings()


@pytest.mark.parametrize(("style", "seed"), [("wxpc", 701), ("wwpc", 702), ("darkpc", 701)])
def test_a_scrollbar_at_the_pane_edge_hides_no_message(style: str, seed: int) -> None:
    sample = make_desk(seed, style, always=frozenset({"scrollbar"}))
    found = locate(validate(sample.image, SETTINGS))
    assert found.kind == PANE
    sides = [r for r in found.layout.regions if r.kind in (LEFT, RIGHT)]
    said = [it for it in sample.meta["visible"] if it.kind in (LEFT, RIGHT)]  # type: ignore[attr-defined]
    assert len(sides) == len(said)
    assert all(r.box.y1 <= found.layout.chat_bottom for r in sides)  # the input area's toolbar is no message


@pytest.mark.parametrize("seed", [720, 721])
def test_an_upright_ipad_split_view_is_read_from_its_pane(seed: int) -> None:
    sample = make_desk(seed, "ipad", always=frozenset({"portrait"}))
    img = validate(sample.image, SETTINGS)
    assert img.height > img.width
    found = locate(img)
    assert found.kind == PANE and found.pane is not None and found.pane.x0 > img.width // 4


@pytest.mark.parametrize(("style", "seed"), [("wxpc", 702), ("wwpc", 700), ("ipad", 701), ("darkpc", 700)])
def test_desk_leads_are_read(style: str, seed: int) -> None:
    sample = make_desk(seed, style, always=frozenset({"named"}))
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    t = sample.truth
    assert (lead.customer_name, lead.company, lead.title, lead.phone) == (t.customer_name, t.company, t.title,
                                                                          t.phone)


def test_the_contact_name_over_a_bubble_is_no_part_of_the_sentence() -> None:
    lead = extract(chat("贺明轩", ("left", "贺明轩\n你好，我是宁川纺织的贺明轩，负责\n采购，职位是采购部长")), NOW,
                   names=NAMES)
    assert (lead.customer_name, lead.company) == ("贺明轩", "宁川纺织")


def test_a_signature_keeps_its_own_name_line() -> None:
    lead = extract(chat("贺明轩@微信", ("left", "贺明轩\n采购部长\n宁川纺织有限公司\n电话 13905718823")), NOW,
                   names=NAMES)
    assert (lead.customer_name, lead.title, lead.company) == ("贺明轩", "采购部长", "宁川纺织有限公司")


def test_short_customer_bubbles_ending_alike_are_no_session_list() -> None:
    """A pane whose customer bubbles are short and end at nearly the same column (and a long one and the rep's
    bubbles running past it) is read whole: that column is no session list's edge to cut the pane at."""
    sample = make_desk(10007, "ipad")
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    t = sample.truth
    assert (lead.customer_name, lead.company, lead.phone, lead.budget_cny) == (t.customer_name, t.company, t.phone,
                                                                               t.budget_cny)
