"""Photos of a PC client on a monitor (tests/synth_photo.py, "photopc": invented people, moiré sampled from the
screen's own sub-pixel grid, ~10-px text): the screen's outline, the moiré, the chat laid out from its text
lines, and the fields read through the same extractor as a screenshot."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bot.config import OcrSettings
from ocr.layout import LEFT, RIGHT, TITLE
from ocr.monitor import TextLine, chat_layout, demoire, screen_quad
from ocr.pipeline import read_image, validate
from ocr.screen import PHOTO, locate
from tests.conftest import ENGINES
from tests.synth_styles import make_styled

SETTINGS = OcrSettings()


@pytest.mark.parametrize("seed", [3, 4, 6])
def test_the_screen_is_outlined_within_a_few_pixels_of_its_corners(seed: int) -> None:
    """A dark or light bezel on a wall, a window's reflection, moiré: the four corners found are the screen's."""
    sample = make_styled(seed, "photopc")
    img = validate(sample.image, SETTINGS)
    quad = screen_quad(np.asarray(img), cv2)
    assert quad is not None
    truth = np.array(sample.meta["quad"], dtype=np.float64)
    assert np.abs(quad - truth).max() < 0.02 * img.width


def test_moire_fringes_are_taken_out_and_text_is_kept() -> None:
    """Sub-pixel stripes a third of a pixel apart per channel beat into coloured fringes: gone after demoire,
    while a dark stroke keeps its contrast."""
    h, w = 120, 240
    x = np.arange(w, dtype=np.float64)[None, :] * 0.77  # the camera's pitch against the screen's
    rgb = np.empty((h, w, 3), dtype=np.float64)
    for ch in range(3):
        rgb[..., ch] = 230 * (0.8 + 0.4 * (0.5 + 0.5 * np.cos(2 * np.pi * (x - ch / 3))))
    rgb[50:53, 40:200] = 30  # a stroke
    img = rgb.clip(0, 255).astype(np.uint8)
    out = demoire(img, cv2)
    flat_before = float(img[5:40, 20:220].astype(np.float64).std(axis=(0, 1)).max())
    flat_after = float(out[5:40, 20:220].astype(np.float64).std(axis=(0, 1)).max())
    assert flat_before > 15 and flat_after < flat_before / 3
    assert float(out[5:40, 20:220].mean()) - float(out[51, 60:180].mean()) > 120


def test_a_chat_is_laid_out_from_text_lines_beside_a_session_list() -> None:
    """The session list's names start at one column too, but each has its time on the same row; the customer's
    lines have nothing beside them; the rep's end at the right; the title sits above the messages."""
    size = 12.0
    lines = []
    for i in range(8):  # session list: name + time on the row, preview under it
        y = 80 + i * 60
        lines += [TextLine(70, y, 130, y + 12), TextLine(260, y, 300, y + 10), TextLine(70, y + 20, 220, y + 32)]
    lines.append(TextLine(400, 20, 520, 34))  # the title
    lines += [TextLine(460, 100, 900, 114), TextLine(460, 118, 600, 132),  # customer, two lines
              TextLine(1000, 170, 1400, 184),  # rep
              TextLine(460, 240, 780, 254), TextLine(1200, 300, 1400, 314)]
    found = chat_layout(sorted(lines, key=lambda ln: (ln.y0, ln.x0)), size, 1500, 900)
    assert found is not None
    box, regions = found
    assert 300 < box.x0 < 460
    assert [r.kind for r in regions] == [TITLE, LEFT, RIGHT, LEFT, RIGHT]
    assert regions[1].box.y1 - regions[1].box.y0 > 30  # the customer's two lines are one message


@pytest.mark.parametrize(("seed", "fields"), [(9, ("phone", "budget_cny"))])
def test_fields_are_read_from_a_photographed_monitor(seed: int, fields: tuple[str, ...]) -> None:
    """Before: the photo was read as a page and nothing came out (the styles set's photopc F1 was 0.00)."""
    sample = make_styled(seed, "photopc")
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO and found.quad is not None
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert lead.is_lead
    for field in fields:
        assert getattr(lead, field) == getattr(sample.truth, field), field


@pytest.mark.parametrize(("text", "trap"), [("是林涛介绍我来的，仙电话13512340987", True),
                                            ("是林涛介绍我来的，我电话13512340987", False),
                                            ("是林涛介绍我来的，电话13512340987", False)])
def test_a_referrer_number_stays_his_when_the_pronoun_is_misread(text: str, trap: bool) -> None:
    """A blurred photo turns 他 into another character: the number after 「…介绍我来的，?电话」 is still the
    referrer's; 「我电话」 or a bare 「电话」 is the speaker's own."""
    from ocr.extract import find_phones

    assert find_phones(text) == [("13512340987", trap)]
