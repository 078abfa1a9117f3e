"""Chat layout on a bright theme: white bubbles on a (245,245,245) background, a 5-line customer message
whose last line (the phone number) is no longer beside the avatar."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.clock import CN_TZ
from bot.config import OcrSettings
from ocr.layout import LEFT, RIGHT, analyse
from ocr.pipeline import read_screenshot

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)
FIXTURE = Path(__file__).parent / "fixtures" / "ocr" / "bright_bg245.png"  # 1080×2340, rendered with Pillow


def white_on_white() -> Image.Image:
    """The same chat with the background as white as the bubbles: only the text shows where a message is."""
    rgb = np.asarray(Image.open(FIXTURE).convert("RGB")).copy()
    rgb[(rgb >= 245).all(axis=2)] = 255
    return Image.fromarray(rgb)


@pytest.mark.parametrize("variant", ["bg245", "white_on_white"])
async def test_whole_customer_message_found_on_a_bright_background(variant: str) -> None:
    img = Image.open(FIXTURE).convert("RGB") if variant == "bg245" else white_on_white()
    layout = analyse(img)
    bubbles = [r for r in layout.regions if r.kind in (LEFT, RIGHT)]
    assert [r.kind for r in bubbles] == [LEFT, RIGHT, LEFT]
    assert [r.kind for r in layout.regions].count("time") == 1  # wrapped lines are not timestamps
    buf = io.BytesIO()
    img.save(buf, "PNG")
    lead = await read_screenshot(buf.getvalue(), now=NOW, settings=OcrSettings())
    assert lead.is_lead and lead.phone == "13812345678"


def test_stray_column_at_the_screen_edge_does_not_pull_the_avatar_into_the_bubble() -> None:
    """JPEG ringing can leave a 1–2 px column beside the avatar; it must not be taken for the avatar."""
    rgb = np.asarray(Image.open(FIXTURE).convert("RGB")).copy()
    before = [r.box for r in analyse(Image.fromarray(rgb)).regions if r.kind == LEFT]
    rgb[415:779, 20:22] = (200, 200, 200)
    after = [r.box for r in analyse(Image.fromarray(rgb)).regions if r.kind == LEFT]
    assert after == before
    assert after[0].x0 == 184  # where the bubble starts, right of the avatar
