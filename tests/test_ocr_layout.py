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
from tests.conftest import ENGINES  # this test process's (no services here)

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
    lead = await read_screenshot(buf.getvalue(), now=NOW, settings=OcrSettings(), engines=ENGINES)
    assert lead.is_lead and lead.phone == "13812345678"


def test_stray_column_at_the_screen_edge_does_not_pull_the_avatar_into_the_bubble() -> None:
    """JPEG ringing can leave a 1–2 px column beside the avatar; it must not be taken for the avatar."""
    rgb = np.asarray(Image.open(FIXTURE).convert("RGB")).copy()
    before = [r.box for r in analyse(Image.fromarray(rgb)).regions if r.kind == LEFT]
    rgb[415:779, 20:22] = (200, 200, 200)
    after = [r.box for r in analyse(Image.fromarray(rgb)).regions if r.kind == LEFT]
    assert after == before
    assert after[0].x0 == 184  # where the bubble starts, right of the avatar


def _wecom_forwarded_shot(app: str, dark: bool) -> Image.Image:
    """A chat drawn at 720 px wide and saved as WeCom saves a forwarded screenshot (JPEG quality 88)."""
    import random

    from ocr.pipeline import validate
    from tests.synth import Chat, Item, _jpeg, render_chat

    chat = Chat(app, "苗嘉禾", None, [
        Item("left", "你好，我是北辰纸业的苗嘉禾"), Item("right", "您好苗经理，很高兴认识您"),
        Item("left", "我们想了解一下仓储管理系统"), Item("right", "好的，我们的仓储管理系统支持多仓库"),
        Item("left", "我手机15807316624"), Item("right", "收到，明天上午给您打电话"), Item("left", "好")])
    img, _ = render_chat(chat, random.Random(0), (720, 1560), dark)
    return validate(_jpeg(img, 88), OcrSettings())


@pytest.mark.parametrize(("app", "dark"), [("dingtalk", False), ("wecom", False), ("wechat", False),
                                           ("dingtalk", True)])
def test_every_rep_bubble_survives_a_720px_jpeg(app: str, dark: bool) -> None:
    """A saturated rep bubble on a bright background: JPEG keeps its colour at half resolution and smears it a few
    levels into the background around it, which is more than the ink threshold there. The smear once bridged the
    gap to the avatar (the bubble read as a picture card) and the gap to the next bubble (both dropped)."""
    layout = analyse(_wecom_forwarded_shot(app, dark))
    sides = [r.kind for r in layout.regions if r.kind in (LEFT, RIGHT, "card")]
    assert sides == [LEFT, RIGHT, LEFT, RIGHT, LEFT, RIGHT, LEFT]


@pytest.mark.parametrize(("app", "dark"), [("wechat", False), ("wecom", False), ("dingtalk", False)])
def test_a_bubble_box_keeps_its_tail(app: str, dark: bool) -> None:
    """A phone screenshot (1170 px wide, saved as a quality-95 JPEG): a bubble's tail is a small triangle, far
    fainter column by column than the avatar and the bubble on either side of it, exactly like the gap a JPEG's
    ringing half fills. Taking it for that gap clipped the tail off every bubble, which changed what tesseract read
    in the bubbles; the box runs from the tail's tip to the far edge of the bubble."""
    import random

    from ocr.pipeline import validate
    from tests.synth import Chat, Item, _jpeg, render_chat

    chat = Chat(app, "柏思远", None, [
        Item("left", "您好，我是青岚包装的柏思远"), Item("right", "柏总您好，请问有什么可以帮您"),
        Item("left", "想问问你们的恒温仓储怎么收费"), Item("right", "稍等，我把价目表发给您"),
        Item("left", "好的，谢谢")])
    w = 1170
    img, _ = render_chat(chat, random.Random(3), (w, 2532), dark)
    layout = analyse(validate(_jpeg(img, 95), OcrSettings()))
    s = w / 375
    body_left, body_right = 62 * s, w - 62 * s  # avatar margin 12 pt, avatar 40 pt, 10 pt to the bubble body
    lefts = [r.box for r in layout.regions if r.kind == LEFT]
    rights = [r.box for r in layout.regions if r.kind == RIGHT]
    assert len(lefts) == 3 and len(rights) == 2
    # the tail is 6 pt wide; its thin tip is as faint as JPEG ringing, the rest of it is the bubble
    assert all(b.x0 <= body_left - 2 * s for b in lefts), [b.x0 for b in lefts]
    assert all(b.x1 >= body_right + 2 * s for b in rights), [b.x1 for b in rights]
