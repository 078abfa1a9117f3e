"""The optional rapidocr engine on screenshots rendered by ocr.synth (skipped when the extra is not installed)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

pytest.importorskip("rapidocr")

from ocr.engine import RapidOcrEngine
from ocr.extract import extract
from ocr.layout import analyse
from ocr.people import NAMES as NAMES_ENGINE
from tests.conftest import ENGINES
from tests.synth import edit_distance, make_sample, squash

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine()


def misread(ref: str, got: str) -> float:
    """Character error rate: edit distance over the reference length."""
    return edit_distance(ref, got) / max(len(ref), 1)


@pytest.mark.parametrize("seed", [3, 4])  # WeCom light; WeChat dark with green multi-line bubbles
def test_chat_is_read_line_by_line_without_text_detection(seed: int) -> None:
    """A chat screenshot is read in well under the time of detecting text over the whole image: the bubbles
    our layout found are split into lines and only recognised. Every line of every bubble is there."""
    fresh = RapidOcrEngine()
    sample = make_sample(seed)
    img = Image.open(io.BytesIO(sample.image)).convert("RGB")
    chat = fresh.read(img, analyse(img))
    assert chat.is_chat
    assert fresh._ocr.text_det is None  # the detection model was never even loaded
    assert misread(squash(sample.text), squash(chat.text)) < 0.02
    lead = extract(chat, sample.now, names=NAMES)
    assert (lead.phone, lead.customer_name, lead.company) == (
        sample.truth.phone, sample.truth.customer_name, sample.truth.company)


def test_page_that_is_not_a_chat_is_still_read(engine: RapidOcrEngine) -> None:
    sample = make_sample(5)  # a receipt or a price table
    img = Image.open(io.BytesIO(sample.image)).convert("RGB")
    chat = engine.read(img, analyse(img))
    assert not chat.is_chat
    assert misread(squash(sample.text), squash(chat.text)) < 0.1
