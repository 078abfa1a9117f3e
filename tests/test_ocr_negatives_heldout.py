"""The held-out hard negatives of tests/synth_negatives.py (a supplier pitching to us, notices with a number and a
date, a recruiter, a landlord, a driver, texts from a bank or an operator, an order page…) give no lead and name
what they looked like; the customers whose chats look like them (a quote asked for in a project group, a referral,
a dealer, a customer who describes their own business) stay leads. Transcripts for every case; a few drawn and
read by tesseract."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from bot.config import OcrSettings
from handlers.leads.screenshots import no_lead_reply
from ocr.catalog import parse_catalog_text
from ocr.engine import LEFT, RIGHT, ChatText, TextRegion
from ocr.extract import extract
from ocr.pipeline import read_image, validate
from ocr.selling import selling_to_us
from tests.conftest import ENGINES
from tests.synth_negatives import CASES, CASES_B, CASES_C, CATALOG_TEXT, draw, transcript
from tests.test_ocr_people import NAMES

NOW = datetime(2024, 12, 8, 15, 0, tzinfo=CN_TZ)
CATALOG = parse_catalog_text(CATALOG_TEXT)
ALL = {**CASES, **CASES_B, **CASES_C}
KIND = {"colleague": "colleague_chat"}  # the reason a colleague chat is given under
NOTICES = {"group_notice", "meeting_notice"}  # a meeting announced in a group is either


@pytest.mark.parametrize("key", sorted(ALL))
def test_each_case_read_from_its_transcript(key: str) -> None:
    case = ALL[key]
    lead = extract(transcript(case), NOW, CATALOG, names=NAMES)
    if case.lead:
        assert lead.is_lead and lead.phone, lead
        return
    assert not lead.is_lead and lead.phone is None
    assert lead.reject_reason == KIND.get(case.want, case.want) or {lead.reject_reason, case.want} == NOTICES
    assert no_lead_reply(lead.reject_reason) != no_lead_reply("no_details")  # the reply names the kind


@pytest.mark.parametrize("key", ["supplier-cartons", "supplier-software", "notice-power-cut", "notice-app-page",
                                 "landlord", "group-quote", "rep-pitches", "customer-describes-own-business"])
def test_drawn_cases_read_by_tesseract(key: str) -> None:
    case = ALL[key]
    settings = OcrSettings()
    lead = read_image(validate(draw(case, 31), settings), NOW, settings, engines=ENGINES, catalog=CATALOG)
    assert lead.is_lead == case.lead
    if not case.lead:
        assert lead.reject_reason == case.want


def _chat(*said: tuple[str, str]) -> tuple[TextRegion, ...]:
    return tuple(TextRegion(side, text) for side, text in said)


def test_the_side_that_offers_and_asks_for_nothing_is_the_seller() -> None:
    pitch = _chat((LEFT, "我们是源头厂家，出厂价直供，量大从优"), (RIGHT, "先不用了"))
    assert selling_to_us("某某-业务员", pitch)
    # our own rep offering on the right is the ordinary sale
    assert not selling_to_us("葛经理", _chat((RIGHT, "我们是源头厂家，出厂价直供，量大从优"), (LEFT, "那要20台")))
    # a customer describing their own business asks for our price
    assert not selling_to_us("甘雨", _chat((LEFT, "我们主营批发，现货充足"), (LEFT, "你们的储能柜报个价")))
    # one offer alone is not enough: a customer asking whether we are the maker
    assert not selling_to_us("蒋工", _chat((LEFT, "你们是厂家吗？"), (RIGHT, "是的")))


def test_one_offer_counts_beside_our_side_asking_for_their_price() -> None:
    assert selling_to_us("罗斌", _chat((LEFT, "我们的线缆现货"), (RIGHT, "发个报价单看看")))
    assert not selling_to_us("罗斌", _chat((LEFT, "我们的线缆坏了"), (RIGHT, "发个报价单看看")))


def test_a_number_with_nothing_bought_and_a_cue_is_no_lead_a_bare_number_still_is() -> None:
    """One cue of a kind is enough once nobody buys; a number and a time alone may be a customer's second
    screenshot, and a customer who says who they are keeps the lead."""
    friend = extract(_as_chat("阿杰", (LEFT, "我换了个手机号，13636170528"), (RIGHT, "好")), NOW, CATALOG, names=NAMES)
    assert (friend.is_lead, friend.reject_reason) == (False, "personal")
    bare = extract(_as_chat("阿杰", (LEFT, "电话13636170528，明天下午3点打给我"), (RIGHT, "好")), NOW, CATALOG,
                   names=NAMES)
    assert bare.is_lead
    said = extract(_as_chat("阿杰", (LEFT, "我是城西银行后勤处的阿杰，电话13636170528"), (RIGHT, "好")), NOW, CATALOG,
                   names=NAMES)
    assert said.is_lead


def _as_chat(title: str, *said: tuple[str, str]) -> ChatText:
    return ChatText((TextRegion("title", title), *_chat(*said)), True)
