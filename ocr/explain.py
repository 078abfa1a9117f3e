"""`salesbot ocr --explain OUT.png IMAGE`: what the layout found, drawn over the image — the chat pane or the
photographed screen, the title bar, each bubble by speaker side, timestamps. For admins and developers looking
into a misread screenshot."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ocr.layout import LEFT, RIGHT, TIME, TITLE
from ocr.screen import Located

COLOURS = {TITLE: (230, 180, 0), LEFT: (0, 170, 80), RIGHT: (230, 110, 0), TIME: (140, 140, 140)}
PANE_COLOUR = (30, 110, 230)


def explain(original: Image.Image, found: Located) -> Image.Image:
    """The chat as read (pane crop or rectified photo) with its regions outlined; beside it, for a pane or a
    photo, the original with the pane box or the screen's outline."""
    chat = found.image.convert("RGB").copy()
    d = ImageDraw.Draw(chat)
    width = max(2, chat.width // 300)
    for r in found.layout.regions:
        b = r.box
        d.rectangle((b.x0, b.y0, b.x1, b.y1), outline=COLOURS.get(r.kind, (255, 0, 0)), width=width)
    d.line((0, found.layout.chat_top, chat.width, found.layout.chat_top), fill=PANE_COLOUR, width=width)
    d.line((0, found.layout.chat_bottom, chat.width, found.layout.chat_bottom), fill=PANE_COLOUR, width=width)
    if found.pane is None and found.quad is None:
        return chat
    whole = original.convert("RGB").copy()
    dw = ImageDraw.Draw(whole)
    if found.pane is not None:
        p = found.pane
        dw.rectangle((p.x0, p.y0, p.x1 - 1, p.y1 - 1), outline=PANE_COLOUR, width=max(3, whole.width // 300))
    if found.quad is not None:
        dw.polygon([tuple(map(int, q)) for q in found.quad], outline=PANE_COLOUR, width=max(3, whole.width // 300))
    scale = chat.height / whole.height
    whole = whole.resize((max(1, round(whole.width * scale)), chat.height))
    out = Image.new("RGB", (whole.width + chat.width + 20, chat.height), (255, 255, 255))
    out.paste(whole, (0, 0))
    out.paste(chat, (whole.width + 20, 0))
    return out
