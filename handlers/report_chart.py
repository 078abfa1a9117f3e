"""The digest's chart drawn with Pillow: the funnel as horizontal bars on the left, each member's health index as
vertical bars on the right.

matplotlib drew the same chart in ~200 ms of CPU (layout passes over every tick label), which made 团队日报 the
one reply slower than 100 ms; two plain bar panels need none of that: this draws one in a few milliseconds.
`layout` is pure (the shapes and texts to draw), `draw_png` paints them.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from bot.engines import Engine, EnginePer, Engines

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 900, 400
FUNNEL_COLOUR, AXIS_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#4c8bf5", "#444444", "#dddddd", "#222222"
FONT_FAMILY = "Noto Sans CJK SC"
FALLBACK_FONTS = (("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
                  ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2))
TITLE, LABEL = 16, 12  # font sizes in px


@dataclass(frozen=True)
class Bar:
    name: str
    height: float  # 0–100
    colour: str
    label: str


@dataclass(frozen=True)
class Label:
    xy: tuple[float, float]
    text: str
    size: int
    anchor: str  # Pillow's text anchor, e.g. "mm" (centre), "rm" (right, middle)


@dataclass(frozen=True)
class Box:
    xy: tuple[float, float, float, float]
    colour: str


@dataclass(frozen=True)
class Layout:
    boxes: list[Box]
    labels: list[Label]


def layout(funnel: list[tuple[str, int]], bars: list[Bar], health_title: str) -> Layout:
    """Left panel: one bar per funnel step, count after the bar; right panel: one bar per member on a 0–100
    scale, its label above, its name below when there is room for it."""
    boxes: list[Box] = []
    labels = [Label((WIDTH / 4, 20), "漏斗", TITLE, "mm"), Label((WIDTH * 3 / 4, 20), health_title, TITLE, "mm")]
    left, right, top, bottom = 110.0, WIDTH / 2 - 40, 45.0, HEIGHT - 30.0
    most = max((v for _, v in funnel), default=0) or 1
    step = (bottom - top) / max(len(funnel), 1)
    for i, (name, value) in enumerate(funnel):
        y = top + i * step
        end = left + (right - left) * value / most
        boxes.append(Box((left, y + step * 0.15, max(end, left + 1), y + step * 0.85), FUNNEL_COLOUR))
        labels += [Label((left - 6, y + step / 2), name, LABEL, "rm"), Label((end + 4, y + step / 2), str(value),
                                                                            LABEL, "lm")]
    boxes.append(Box((left - 1, top, left, bottom), AXIS_COLOUR))
    x0, x1, y0, y1 = WIDTH / 2 + 40, WIDTH - 20.0, HEIGHT - 40.0, 45.0
    scale = (y0 - y1) / 105
    for tick in (0, 50, 100):
        y = y0 - tick * scale
        boxes.append(Box((x0, y, x1, y + 1), GRID_COLOUR))
        labels.append(Label((x0 - 6, y), str(tick), LABEL, "rm"))
    slot = (x1 - x0) / max(len(bars), 1)
    for i, bar in enumerate(bars):
        cx = x0 + slot * (i + 0.5)
        half = min(max(slot * 0.35, 0.5), 40.0)
        top_y = y0 - bar.height * scale
        boxes.append(Box((cx - half, min(top_y, y0 - 1), cx + half, y0), bar.colour))
        if slot >= LABEL * 2.5:  # a crowd of members: bars only, no overlapping names
            labels += [Label((cx, top_y - 4), bar.label, LABEL, "mb"), Label((cx, y0 + 6), bar.name, LABEL, "mt")]
    return Layout(boxes, labels)


def draw_png(shapes: Layout, engines: Engines) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    for box in shapes.boxes:
        pen.rectangle(box.xy, fill=box.colour)
    for label in shapes.labels:
        face = engines.get_for(FONT, (label.size, engines.get(FONT_FILE)))
        pen.text(label.xy, label.text, fill=TEXT_COLOUR, font=face, anchor=label.anchor)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=3)  # flat colours compress well even at a low level
    return buf.getvalue()


def font(key: tuple[int, tuple[str | None, int]]) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size, (path, index) = key
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size, index=index)


def font_file() -> tuple[str | None, int]:
    """A font with Simplified Chinese glyphs: fontconfig's choice, else the usual Noto paths; None → Pillow's own
    font (no Chinese glyphs: one warning)."""
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", f"{FONT_FAMILY}:lang=zh-cn"],
                                   capture_output=True, text=True, timeout=5, check=True).stdout.split("\n")
            if found[0].endswith((".ttc", ".otf", ".ttf")):
                return found[0], int(found[1] or 0)
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            pass
    for path, index in FALLBACK_FONTS:
        try:
            ImageFont.truetype(path, LABEL, index=index)
            return path, index
        except OSError:
            continue
    log.warning("no Chinese font found for the report chart; install fonts-noto-cjk")
    return None, 0


# the chart's fonts, kept by the services' engines (bot/engines.py): finding the file runs fc-match once
FONT_FILE: Engine[tuple[str | None, int]] = Engine("report chart font file", font_file)
FONT: EnginePer[tuple[int, tuple[str | None, int]], ImageFont.FreeTypeFont | ImageFont.ImageFont] = \
    EnginePer("report chart font", font)
