"""Where a PC client's chat pane starts when nothing is drawn between it and the session list: the list in the
pane's own colour, no line. The two are then told apart by their text columns: the list's names, previews and
right-aligned times end a little before the pane's avatars begin, and no row of either crosses that empty column
band (a gutter). A selected session's highlight does cross it, but its fill is a few levels off the background,
far less than text, avatars or bubbles are.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ocr.layout import Box, _background, _runs, distance

STRONG_INK = 40  # text, avatars and bubbles are this far off the background; a selected row's highlight is not
EMPTY_SHARE = 0.02  # a gutter column has ink in at most this share of the message rows (a stray JPEG smudge)
GUTTER_MIN = 8  # px: narrower empty bands are the gaps between characters or between an avatar and its bubble
LIST_SHARE = 0.45  # a session list is less than this share of the span it shares with the chat pane
BAND = (0.12, 0.85)  # the rows read: the message area, below the title bar and above the input area
EDGE_KEEP = 6  # px of the gutter kept before the pane's avatars (the list's highlight ends further left)


def gutter_starts(img: Image.Image, box: Box) -> list[int]:
    """x positions (in `img`) where a chat pane may start inside `box`, right to left: a few pixels before the end
    of each empty column band in the left part of the span, past the span's own edge."""
    h = box.y1 - box.y0
    rgb = np.asarray(img.crop((box.x0, box.y0 + int(h * BAND[0]), box.x1, box.y0 + int(h * BAND[1]))).convert("RGB"))
    rgb = rgb[::3]
    if rgb.size == 0:
        return []
    ink = distance(rgb, _background(rgb)) > STRONG_INK
    empty = ink.mean(axis=0) <= EMPTY_SHARE
    width = box.x1 - box.x0
    starts = []
    for a, b in _runs(empty, 1):
        if b - a >= GUTTER_MIN and a > 0 and b < LIST_SHARE * width:
            starts.append(box.x0 + max(a, b - EDGE_KEEP))
    return starts[::-1]
