"""Photos of a phone screen (tests/synth_phonephoto.py: invented people, a third hand's camera — tilt, perspective,
a hand or a desk, moiré, glare, JPEG 40–70) through the real pipeline and tesseract."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import OcrSettings
from ocr.pipeline import read_image, validate
from ocr.screen import PHOTO, locate, photographed
from tests.conftest import ENGINES  # this test process's (no services here)
from tests.synth_phonephoto import phone_photo
from tests.synth_styles import make_styled

SETTINGS = OcrSettings()
SIZE = (1200, 1600)  # the smallest camera frames: quick to draw and to read


@pytest.mark.parametrize("seed", [300, 311])  # a phone on a desk; one in a hand (a light bezel, glare)
def test_the_lead_is_read_from_a_photographed_phone(seed: int) -> None:
    """Before: the layout of the rectified screen lost the bubbles a glare patch washed out (300: nothing read;
    311: the title's name and company lost, the number missed)."""
    photo = phone_photo(seed, size=SIZE)
    img = validate(photo.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO and found.quad is not None
    k = img.width / SIZE[0]
    # the screen's corners, or (a light bezel lit as brightly) the phone's, its bezel ~8 % of the screen's height
    assert np.abs(np.array(found.quad) - np.array(photo.quad) * k).max() < 0.08 * img.height
    lead = read_image(img, photo.now, SETTINGS, engines=ENGINES)  # type: ignore[arg-type]
    t = photo.truth
    assert (lead.customer_name, lead.phone, lead.company) == (t.customer_name, t.phone, t.company)


def test_screenshots_are_never_taken_for_photos() -> None:
    """A screenshot's pixels repeat their neighbours (JPEG 35 forwarded twice too); a photo's grain does not."""
    for style in ("phone", "lowq", "small", "wecompc"):
        assert not photographed(validate(make_styled(21, style).image, SETTINGS)), style
    assert photographed(validate(phone_photo(302, size=SIZE).image, SETTINGS))
