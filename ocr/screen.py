"""Where the chat is in an image: the whole phone screenshot, the chat pane of a PC client or iPad split view,
or a phone screen photographed at an angle (found and rectified with OpenCV).

`locate` returns the chat as an upright image at full resolution plus its layout, so the engine reads 14-px
desktop text from the original pixels instead of a shrunken page.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from PIL import Image

from ocr.gutters import gutter_starts
from ocr.layout import LEFT, RIGHT, TITLE, Box, Layout, Region, analyse
from ocr.monitor import LINES_WIDTH, chat_layout, demoire, phone_layout, screen_quad, text_lines

PHONE, PANE, PHOTO, PAGE = "phone", "pane", "photo", "page"
MIN_PANE_SHARE = 0.25  # a chat pane is at least a quarter of the screen wide (of a photographed screen: always)
# ... or, in a window not maximised on a large screen, a sixth, when a span that narrow is mostly one colour (a
# chat's background), not the desktop's wallpaper beside the window
MIN_WINDOW_PANE_SHARE, PANE_FLAT = 0.16, 0.35
MONITOR_WIDTH = 1920  # a photographed monitor is rectified this wide (its ~10-px text a desktop's 14 px)
PHOTO_INK = 16  # a photographed screen's background drifts by up to ~10 levels even after levelling
STRIP = 256  # rows levelled at a time


@dataclass(frozen=True)
class Located:
    image: Image.Image  # the chat, upright, at the resolution it will be read
    layout: Layout
    kind: str  # "phone" | "pane" | "photo" | "page" (no chat found)
    pane: Box | None = None  # the chat pane inside the original image
    quad: tuple[tuple[float, float], ...] | None = None  # the photographed screen's corners in the original


def locate(img: Image.Image) -> Located:
    """The first way of reading `img` that finds a chat: as a phone screenshot, as a pane of a wider screen,
    as a photo of a screen; otherwise the page as it is. A photo (its pixels grainy, `photographed`) is read as
    one first: laid out as a screenshot it only costs time (a monitor's photo took 5–6 s so)."""
    grainy = photographed(img)
    photo = rectify_photo(img) if grainy else None
    found = read_photo(photo) if photo is not None else None
    if found is not None:
        return found
    portrait = img.height >= img.width * 1.2
    first = analyse(img) if portrait else None  # a phone's own threshold: its boxes as always read
    if first is not None and not first.is_chat:
        first = analyse(img, floor=True)  # a noisy JPEG whose background strays past that threshold
    spans = chat_pane_candidates(img)
    if first is not None and first.is_chat:
        split = best_pane(img, spans=spans) if spans else None  # an iPad held upright in split view
        return split or Located(img, first, PHONE)
    # a part of a PC client's chat pane cut out: no panel boundaries, desktop-sized avatars and text (a phone's
    # least avatar size is far larger at this width)
    desk = _pane_at(img, Box(0, 0, img.width, img.height), photo=False) if not grainy and not spans else None
    if desk is not None and not any(r.kind == RIGHT for r in desk[1].layout.regions):
        desk = None  # the rep's side shows too: a page's title and first lines at its margin are no crop of a chat
    if not portrait and not grainy:  # a part of a phone chat cut out: no bar at either edge (layout._cropped)
        cut = analyse(img)
        if cut.is_chat and cut.chat_top == 0 and cut.chat_bottom == img.height \
                and (desk is None or _messages(cut) >= _messages(desk[1].layout)):
            return Located(img, cut, PHONE)
    pane = best_pane(img, spans=spans)
    if pane is not None:
        return pane
    if desk is not None:
        return desk[1]
    if not grainy:
        photo = rectify_photo(img)
        found = read_photo(photo) if photo is not None else None
        if found is not None:
            return found
    if portrait or photo is not None:  # a photo whose screen edges were not found: straightened by its text lines
        level = deskewed(img)
        if level is not None:
            layout = analyse_photo(level)
            if layout.is_chat:
                return Located(level, layout, PHOTO)
    return Located(img, first if first is not None else analyse(img), PAGE)


def _messages(layout: Layout) -> int:
    return sum(r.kind in (LEFT, RIGHT) for r in layout.regions)


FLAT_SHARE = 0.6  # a screenshot's neighbouring pixels are equal in most places (JPEG 35 too: ≥ 0.75), a photo's not


def photographed(img: Image.Image) -> bool:
    """A camera's photo rather than a screenshot: fewer than FLAT_SHARE of horizontally neighbouring pixels
    (every 4th row) are exactly equal — sensor grain and moiré leave no flat runs that a screen's drawing does."""
    rgb = rgb_array(img)[::4]
    same = np.ones((rgb.shape[0], rgb.shape[1] - 1), dtype=bool)
    for ch in range(3):
        same &= rgb[:, 1:, ch] == rgb[:, :-1, ch]
    return float(same.mean()) < FLAT_SHARE


def read_photo(photo: tuple[Image.Image, tuple[tuple[float, float], ...]]) -> Located | None:
    """A rectified screen's chat: a monitor's or tablet's pane, or a phone's whole screen; None when none shows."""
    screen, quad = photo
    if screen.width > screen.height:  # a monitor or a tablet photographed: its chat pane
        shown = best_pane(screen, photo=True) or monitor_pane(screen)
        if shown is not None:  # (its pane box is in the rectified screen's pixels: the outline tells where)
            return dataclasses.replace(shown, kind=PHOTO, pane=None, quad=quad)
    upright = levelled(screen, pane=screen.width > screen.height)
    layout = photo_layout(upright)
    return Located(upright, layout, PHOTO, quad=quad) if layout.is_chat else None



def analyse_photo(img: Image.Image, *, desktop: bool = False) -> Layout:
    """The layout of a rectified photo, found on a blurred copy: moiré (the camera's grid beating against the
    screen's pixels) and grain stray as far from the background as a white bubble on a light-grey chat does;
    a Gaussian of 2 px flattens both and leaves bubbles, avatars and text lines where they are. The engine
    still reads the sharper image."""
    import cv2

    smooth = Image.fromarray(cv2.GaussianBlur(rgb_array(img), (0, 0), 2.0), "RGB")
    layout = analyse(smooth, ink=PHOTO_INK, floor=True, desktop=desktop)  # the threshold just over the grain
    return layout if layout.is_chat else analyse(img, ink=PHOTO_INK, desktop=desktop)  # glare left uneven


def photo_layout(upright: Image.Image) -> Layout:
    """A levelled photo's layout. A phone's: the messages its colours show (bubble by bubble), and those only its
    text lines show (a glare patch washes a white bubble into its background, never the text in it)."""
    layout = analyse_photo(upright, desktop=upright.width > upright.height)
    if upright.width >= upright.height:
        return layout
    lined = phone_lines(upright)
    if lined is None or not layout.is_chat:
        return lined if lined is not None else layout
    title = layout.title or lined.title
    found = [r for r in layout.regions if r.kind != TITLE]
    extra = [r for r in lined.regions if r.kind != TITLE and not any(_overlap(r.box, o.box) for o in found)]
    regions = ([title] if title else []) + sorted(found + extra, key=lambda r: r.box.y0)
    sides = [r.box for r in regions if r.kind in (LEFT, RIGHT)]
    return dataclasses.replace(layout, regions=tuple(regions), chat_top=min(b.y0 for b in sides),
                               chat_bottom=max(b.y1 for b in sides))


def _overlap(a: Box, b: Box) -> bool:
    """The two boxes share rows (more than a third of the shorter one's)."""
    return min(a.y1, b.y1) - max(a.y0, b.y0) > min(a.height, b.height) / 3


def phone_lines(screen: Image.Image) -> Layout | None:
    """A rectified phone photo laid out from its text lines (`ocr.monitor.phone_layout`), in its own pixels."""
    import cv2

    k = LINES_WIDTH / screen.width
    small = cv2.resize(rgb_array(screen), (LINES_WIDTH, max(1, round(screen.height * k))),
                       interpolation=cv2.INTER_AREA)
    regions = phone_layout(np.asarray(cv2.transform(small, np.full((1, 3), 1 / 3))), cv2)
    if regions is None:
        return None
    bg = tuple(int(v) for v in np.median(small[::8, ::8].reshape(-1, 3), axis=0))
    del small
    scaled = tuple(Region(r.kind, Box(max(0, int(r.box.x0 / k)), max(0, int(r.box.y0 / k)),
                                      min(screen.width, int(r.box.x1 / k)), min(screen.height, int(r.box.y1 / k))))
                   for r in regions)
    sides = [r.box for r in scaled if r.kind in (LEFT, RIGHT)]
    return Layout(screen.width, screen.height, bg, sum(bg) / 3 < 100,  # type: ignore[arg-type]
                  min(b.y0 for b in sides), max(b.y1 for b in sides), scaled)


# ---------------------------------------------------------------- panes


def best_pane(img: Image.Image, *, photo: bool = False, spans: list[Box] | None = None) -> Located | None:
    """The column span that reads as the fullest chat: the chat pane. A session list also shows avatars beside
    text at its left edge, but never the other side's bubbles, so a span with both speakers wins, then the one
    with more messages; the session list's names never feed a lead when the pane is readable. `photo`: a
    rectified photo of a monitor (its grain and moiré measured as a photo's). `spans`: the candidates, when
    already found."""
    best: tuple[int, Located] | None = None
    boxes = chat_pane_candidates(img, photo=photo) if spans is None else spans
    for box in boxes:
        found = _pane_at(img, box, photo)
        if not photo:  # the span may hold a session list of the pane's own colour: the pane after it instead
            # (of two cuts reading alike, the wider: the narrower one fell in the gap between avatars and bubbles)
            found = max([*([found] if found else []), *_after_list(img, box, found[1] if found else None)],
                        key=lambda c: (c[0], c[1].image.width), default=None)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best[1] if best else None


def _pane_at(img: Image.Image, box: Box, photo: bool) -> tuple[int, Located] | None:
    """The chat in the column span `box` and how full it reads, or None when it reads as no chat pane."""
    crop = img.crop((box.x0, box.y0, box.x1, box.y1))
    if photo:  # levelled on its own: a session list's shade is no glare to take out of the pane
        crop = levelled(crop, pane=True)
        layout = analyse_photo(crop, desktop=True)
    else:
        layout = analyse(crop, desktop=True, floor=True)
        if not layout.is_chat:
            layout = analyse(crop, desktop=True)
    if not layout.is_chat or (layout.title is None and not any(r.kind == RIGHT for r in layout.regions)):
        return None  # a pane shows its chat's title bar, or the rep's side: a page in a viewer shows neither
    kinds = [r.kind for r in layout.regions]
    score = kinds.count(LEFT) + kinds.count(RIGHT) + (100 if RIGHT in kinds else 0)
    return score, Located(crop, layout, PANE, pane=box)


LIST_ROWS = 2 / 3  # this share of a span's customer-side regions ending before a gutter: they were a list's rows
LIST_END_SHARE, LIST_END_MIN = 0.05, 40  # a list's rows end this close before the gutter (their right-aligned
# times); a customer's short messages without a bubble fill end anywhere further left


def _after_list(img: Image.Image, box: Box, wide: Located | None) -> list[tuple[int, Located]]:
    """The chat pane cut from the span `box` at a gutter (`gutter_starts`), scored above the span as read
    (`wide`), when most of its customer-side regions end before the gutter: there they were a session list's
    rows (avatar, name, preview), never bubbles — a pane's own customer bubbles run past the gap between their
    avatars and them. When the span reads as no chat at all, or shows no rep's side (the list's rows, run into
    the pane's rows, hid it), any gutter may start the pane. The list's rows end together, just before the gutter
    (each row's time is right-aligned): a customer's short messages with no bubble fill end anywhere."""
    lefts = [r.box for r in wide.layout.regions if r.kind == LEFT] if wide else []
    rights = [r.box for r in wide.layout.regions if r.kind == RIGHT] if wide else []
    out = []
    near = max(LIST_END_MIN, int(LIST_END_SHARE * box.width))
    for x in gutter_starts(img, box):
        if rights and sum(x - near <= b.x1 + box.x0 <= x for b in lefts) < LIST_ROWS * len(lefts):
            continue
        if any(b.x0 + box.x0 < x - near and b.x1 + box.x0 > x + near for b in rights):
            continue  # a rep's bubble runs across it: the gutter is inside the pane (short bubbles ending alike)
        found = _pane_at(img, Box(x, box.y0, box.x1, box.y1), photo=False)
        if found is not None and any(r.kind == LEFT for r in found[1].layout.regions):
            out.append((found[0] + 50, found[1]))
    return out


PANE_STEP = 6  # a colour step between neighbouring columns this large, in most rows, is a boundary line
SHADE_STEP = 3  # two panels this many levels apart meet at a boundary without a line (the same step in most rows)
PHOTO_PANE_STEP = 2  # a boundary on a photographed monitor, measured on averaged columns (the camera blurs lines)
TRIM = 3  # a pane is read from a few columns inside its boundaries (a window's edge bleeds into them in a JPEG)
BAR_SHARE = 0.2  # a title bar or an input area is at most this share of the screen's height
ROW_SHARE = 0.85  # a bar's border line crosses this share of a span's columns (0.7 took a wide bubble's edge)


def chat_pane_candidates(img: Image.Image, *, photo: bool = False) -> list[Box]:
    """Column spans between full-height boundaries (sidebar | session list | chat pane | info panel; split-view
    divider; a window's edges on a desktop), widest first, each at least a quarter of the width, and each cut to
    its window's rows (`window_rows`). A phone screenshot has no such boundary: it is not split again."""
    w, h = img.size
    rows = sampled_rows(img, range(int(h * 0.1), int(h * 0.9), 4)).astype(np.int16)
    spans = []
    least = MIN_PANE_SHARE if photo else MIN_WINDOW_PANE_SHARE
    for a, b in _between(photo_boundaries(rows) if photo else boundaries(rows, 0.6), w):
        flat = photo or _one_colour(rows[:, a:b]) >= PANE_FLAT
        if b - a >= least * w and (a, b) != (0, w) and (flat or b - a >= MIN_PANE_SHARE * w):
            spans.append((flat, a, b))
    out = []
    for _, a, b in sorted(spans, key=lambda s: (s[0], s[2] - s[1]), reverse=True)[:3]:  # wallpaper last
        x0, x1 = a + TRIM if a else 0, b - TRIM if b < w else w
        y0, y1 = (0, h) if photo else window_rows(img, x0, x1)  # a photographed screen is its window
        out.append(Box(x0, y0, x1, y1))
    return out


def _one_colour(block: np.ndarray) -> float:
    """The share of `block`'s pixels (samples × positions × RGB) in its most common colour (to 4 levels)."""
    q = (block[:, ::2] // 4).reshape(-1, 3).astype(np.int32)
    keys = q[:, 0] * 4096 + q[:, 1] * 64 + q[:, 2]
    return float(np.unique(keys, return_counts=True)[1].max() / max(1, len(keys)))


def boundaries(lines: np.ndarray, share: float) -> list[tuple[int, int]]:
    """(first, last) position of each boundary along the second axis of `lines` (samples × positions × RGB,
    int16) where more than `share` of the samples change colour: a separator line, or two panels of different
    shades — a light session list beside a chat pane a few levels lighter, a dark theme's list and pane — where
    the samples step by the same few levels (measured over two positions: a JPEG spreads such a step over a pixel
    or two). Positions a few pixels apart (a line and the JPEG smear beside it) are one boundary."""
    step = np.zeros(lines.shape[1] - 1, dtype=bool)  # between x and x+1
    shade = np.ones(lines.shape[1] - 2, dtype=bool)  # from x to x+2, the same step everywhere
    big = np.zeros(lines.shape[1] - 2, dtype=bool)
    for ch in range(lines.shape[2]):  # a channel at a time: reductions over a last axis of 3 are slow
        plane = lines[..., ch]
        step |= (np.abs(plane[:, 1:] - plane[:, :-1]) > PANE_STEP).mean(axis=0) > share
        wide = plane[:, 2:] - plane[:, :-2]
        typical = np.median(wide[::2], axis=0).astype(np.int16)
        shade &= (np.abs(wide - typical) <= 1).mean(axis=0) > share
        big |= np.abs(typical) >= SHADE_STEP
    near = max(3, lines.shape[1] // 120)  # a strip this thin is never a panel or a bar: one boundary
    drawn = [int(x) + 1 for x in np.nonzero(step)[0]]
    # a line's JPEG ringing steps alike in every row too: shades are looked for away from lines only
    found = sorted({*drawn, *(int(x) + 1 for x in np.nonzero(shade & big)[0]
                              if not any(abs(x + 1 - d) <= near for d in drawn))})
    out: list[tuple[int, int]] = []
    for x in found:
        if out and x - out[-1][1] <= near:
            out[-1] = (out[-1][0], x)
        else:
            out.append((x, x))
    return out


def _between(cuts: list[tuple[int, int]], end: int) -> list[tuple[int, int]]:
    """The runs from 0 to `end` between the boundaries `cuts`."""
    edges = [(0, 0), *cuts, (end, end)]
    return [(a[1], b[0]) for a, b in itertools.pairwise(edges) if b[0] > a[1]]


def window_rows(img: Image.Image, x0: int, x1: int) -> tuple[int, int]:
    """The rows of the chat in the column span x0..x1: the tallest run between full-width horizontal boundaries
    (the message list), with the short run right above it (the title bar) and right below it (the input area) —
    not the desktop's wallpaper above or below a window, nor the taskbar."""
    h = img.height
    cols = np.asarray(img.crop((x0, 0, x1, h)).convert("RGB"))[:, ::6].astype(np.int16).transpose(1, 0, 2)
    runs = _between(boundaries(cols, ROW_SHARE), h)
    del cols
    i = max(range(len(runs)), key=lambda k: runs[k][1] - runs[k][0])
    top, bottom = runs[i]
    if i > 0 and runs[i - 1][1] - runs[i - 1][0] <= BAR_SHARE * h:
        top = runs[i - 1][0]
    if i + 1 < len(runs) and runs[i + 1][1] - runs[i + 1][0] <= BAR_SHARE * h:
        bottom = runs[i + 1][1]
    return top, bottom


def photo_boundaries(rows: np.ndarray) -> list[tuple[int, int]]:
    """`boundaries` on a photographed screen, whose grain and moiré step between neighbouring columns as much as
    a panel's edge: brightness over 3 columns on either side, and a step counts only in the direction most rows
    take (a boundary is darker on the same side all the way down; moiré's stripes alternate)."""
    luma = rows.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    kernel = np.ones(3, dtype=np.float32) / 3
    smooth = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, luma)
    diff = np.zeros_like(smooth)
    diff[:, 1:-3] = smooth[:, 3:-1] - smooth[:, :-4]  # columns x+2 against x-1: either side of the step at x
    up, down = (diff > PHOTO_PANE_STEP).mean(axis=0), (diff < -PHOTO_PANE_STEP).mean(axis=0)
    out: list[tuple[int, int]] = []
    for x in (int(x) + 1 for x in np.nonzero(np.maximum(up, down)[:-1] > 0.6)[0]):
        if out and x - out[-1][1] <= 3:
            out[-1] = (out[-1][0], x)
        else:
            out.append((x, x))
    return out


def sampled_rows(img: Image.Image, ys: range) -> np.ndarray:
    """The rows `ys` of `img` as an RGB array, without an array copy of the whole (a 2560×1440 page is 11 MB)."""
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    return np.stack([np.asarray(rgb.crop((0, y, rgb.width, y + 1)))[0] for y in ys])


def rgb_array(img: Image.Image) -> np.ndarray:
    """The image as an RGB array: one copy (an RGB image is not converted to itself first)."""
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))


# ---------------------------------------------------------------- photos of a screen


def monitor_pane(screen: Image.Image) -> Located | None:
    """A rectified monitor's chat pane laid out from its text lines (`ocr.monitor.chat_layout`): its bubbles,
    avatars and panel edges are too washed out by the camera to find as a screenshot's are."""
    import cv2

    rgb = rgb_array(screen)
    lines, size = text_lines(np.asarray(cv2.transform(rgb, np.full((1, 3), 1 / 3))), cv2)  # the plain mean
    found = chat_layout(lines, size, screen.width, screen.height) if lines else None
    if found is None:
        return None
    box, regions = found
    pane = screen.crop((box.x0, 0, box.x1, screen.height))
    sides = [r for r in regions if r.kind in (LEFT, RIGHT)]
    bg = tuple(int(v) for v in np.median(np.asarray(pane)[::8, ::8].reshape(-1, 3), axis=0))
    layout = Layout(pane.width, pane.height, bg, sum(bg) / 3 < 100,  # type: ignore[arg-type]
                    min(r.box.y0 for r in sides), max(r.box.y1 for r in sides), tuple(regions))
    return Located(pane, layout, PHOTO, pane=Box(box.x0, 0, box.x1, screen.height)) if layout.is_chat else None



def rectify_photo(img: Image.Image) -> tuple[Image.Image, tuple[tuple[float, float], ...]] | None:
    """The largest bright quadrilateral (a lit screen) warped upright, a phone's at phone-screenshot size, a
    monitor's at its own; None when the image holds no such quadrilateral. Its light is still uneven
    (`levelled` evens it)."""
    import cv2

    rgb = rgb_array(img)
    h, w = rgb.shape[:2]
    k = 800 / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    quad = _screen_quad(cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0), cv2,
                        neutral=_neutral(small, cv2))
    del small
    # a landscape photo whose screen is no bright blob: a monitor, outlined by its straight edges
    monitor = quad is None and w > h * 1.1
    quad = screen_quad(rgb, cv2) if monitor else None if quad is None else quad / k
    if quad is None:
        return None
    tl, tr, br, bl = quad
    width = float(np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = float(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    # a phone's screen at phone-screenshot size; a monitor's (wider than tall) at its own, so 14-px text stays
    out_w = int(min(1080, max(540, width))) if width < height * 1.15 else \
        MONITOR_WIDTH if monitor else int(min(2560, max(1080, width)))
    out_h = int(out_w * height / max(width, 1))
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    warped = cv2.warpPerspective(rgb, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC)
    del rgb
    # the outline runs on the bezel's edge: keep only the lit screen (a monitor's chat runs up to its edge)
    trim = max(2, out_w // (100 if width < height * 1.15 else 400))
    warped = np.ascontiguousarray(warped[trim:-trim, trim:-trim])
    if monitor:
        warped = demoire(warped, cv2)
    return Image.fromarray(warped, "RGB"), tuple((float(x), float(y)) for x, y in quad)


def levelled(img: Image.Image, *, pane: bool = False) -> Image.Image:
    """A photographed screen (or, `pane`, a monitor's chat pane) with glare and vignetting taken out."""
    import cv2

    return Image.fromarray(_even_light(rgb_array(img), cv2, local_glare=pane), "RGB")


def _even_light(rgb: np.ndarray, cv2: ModuleType, *, local_glare: bool = False) -> np.ndarray:
    """Glare and vignetting are smooth over the screen; the chat layout measures ink as distance from one
    background colour. Estimate the background per cell as its most common colour (bubbles and text are the
    minority; a cell they fill is voted down by its neighbours' median), and subtract the drift.

    Worked a row of cells and a colour channel at a time: whole-image float copies of a rectified 1080-px screen
    cost ~60 MB each, and two OCR workers may level photos at once."""
    h, w = rgb.shape[:2]
    cell = max(8, w // 24)
    gh, gw = h // cell, w // cell
    modes = np.zeros((gh, gw, 3), dtype=np.float32)
    for i in range(gh):
        slab = rgb[i * cell : (i + 1) * cell, : gw * cell].reshape(cell, gw, cell, 3).transpose(1, 0, 2, 3)
        cells = slab.reshape(gw, -1, 3)
        quant = cells // 4
        keys = quant[..., 0].astype(np.int32) * 4096 + quant[..., 1].astype(np.int32) * 64 + quant[..., 2]
        for j in range(gw):
            vals, counts = np.unique(keys[j], return_counts=True)
            modes[i, j] = cells[j][keys[j] == vals[counts.argmax()]].mean(axis=0)
    surface = _smooth_surface(modes, local_glare=local_glare)
    level = np.median(modes.reshape(-1, 3), axis=0)
    level = level - max(0.0, float(level.max()) - 232)  # leave the layout headroom above a bright background
    flat = np.empty_like(rgb)
    for ch in range(3):  # the subtraction a band of rows at a time: whole float64 planes took 16 bytes a pixel
        drift = cv2.resize(np.ascontiguousarray(surface[..., ch]), (w, h), interpolation=cv2.INTER_LINEAR)
        for y in range(0, h, STRIP):  # floor(v - d) == v - ceil(d) for whole v: as the float planes truncated
            band = rgb[y : y + STRIP, :, ch].astype(np.int16)
            band -= np.ceil(drift[y : y + STRIP].astype(np.float64) - level[ch]).astype(np.int16)
            flat[y : y + STRIP, :, ch] = band.clip(0, 255)
        del drift
    # sensor noise smoothed; a 3×3 median would also erase the 1-px line under the title bar
    return np.asarray(cv2.GaussianBlur(flat, (3, 3), 0))


def _smooth_surface(modes: np.ndarray, *, local_glare: bool = False) -> np.ndarray:
    """A quadratic surface per channel through the cells' background colours, refitted without the cells a
    bubble fills (more than 5 levels off the fit): light drifts smoothly, bubbles do not. `local_glare`: plus
    what the quadratic leaves of a glare patch (a monitor's chat pane, mostly background; a phone's bubbles
    fill too much of its screen to tell a glare patch from a bubble)."""
    gh, gw, _ = modes.shape
    yy, xx = np.mgrid[0:gh, 0:gw]
    y, x = yy.ravel() / gh, xx.ravel() / gw
    basis = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    out = np.zeros_like(modes)
    gray = modes.mean(axis=2).ravel()
    # The background is the most common cell colour in light mode. A dark-mode chat's grey bubbles can fill more
    # cells than its near-black background shows between them: there the darker cells are the background.
    ref = np.percentile(gray, 20) if np.median(gray) < 100 else np.median(gray)
    keep = np.abs(gray - ref) < 12
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(basis[keep], gray[keep], rcond=None)
        keep = np.abs(gray - basis @ coef) < 5
    local = _local_residual((gray - basis @ coef).reshape(gh, gw)) if local_glare else 0.0
    for ch in range(3):
        coef, *_ = np.linalg.lstsq(basis[keep], modes[..., ch].ravel()[keep], rcond=None)
        out[..., ch] = (basis @ coef).reshape(gh, gw) + local
    return out


def _local_residual(residual: np.ndarray, reach: int = 3) -> np.ndarray:
    """What a quadratic leaves of a glare patch or a vignette's corner: per cell, the median residual of the
    cells around it (7 × 7) that agree with their neighbourhood, so a bubble filling a few cells is not taken
    for light."""
    first = _window_median(residual, reach, np.ones(residual.shape, dtype=bool))
    return _window_median(residual, reach, np.abs(residual - first) < 6)


def _window_median(values: np.ndarray, reach: int, use: np.ndarray) -> np.ndarray:
    gh, gw = values.shape
    out = np.zeros_like(values)
    for i in range(gh):
        for j in range(gw):
            win = values[max(0, i - reach) : i + reach + 1, max(0, j - reach) : j + reach + 1]
            ok = use[max(0, i - reach) : i + reach + 1, max(0, j - reach) : j + reach + 1]
            out[i, j] = float(np.median(win[ok])) if ok.any() else 0.0
    return out


def _dark_screen(gray: np.ndarray, cv2: ModuleType) -> np.ndarray | None:
    """A dark-mode screen is darker than what surrounds it, and Otsu's threshold then falls between its text and
    its background instead of around it: the pixels darker than halfway between the photo's border and the
    screen's background, with the text holes closed. None when the screen is not darker than the border."""
    h, w = gray.shape
    bh, bw = max(1, h // 20), max(1, w // 20)
    border = np.concatenate((gray[:bh].ravel(), gray[-bh:].ravel(), gray[:, :bw].ravel(), gray[:, -bw:].ravel()))
    # the screen's own background: its darker pixels (bubbles and text fill much of the centre)
    outside, inside = float(np.median(border)), float(np.percentile(gray[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3], 25))
    if outside - inside < 20:
        return None
    mask = ((gray < (outside + inside) / 2) * 255).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 40), max(3, w // 40)))
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel))


def _neutral(small: np.ndarray, cv2: ModuleType) -> np.ndarray:
    """The lit, colourless pixels: a chat's light background, not a hand or a wooden desk as bright as it
    (skin and wood are saturated), with the text holes closed."""
    hsv = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_RGB2HSV)
    mask = (((hsv[..., 1] < 40) & (hsv[..., 2] > 150)) * 255).astype(np.uint8)
    k = max(3, small.shape[1] // 60)
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)))


MIN_SCREEN = 0.08  # a phone held at arm's length takes this share of its photo at least


def _screen_quad(gray: np.ndarray, cv2: ModuleType, *, neutral: np.ndarray | None = None) -> np.ndarray | None:
    """The lit screen's corners: the largest quadrilateral of the bright (or, dark mode, dark) pixels, the inner
    one when a bezel's outline holds it; else (`neutral`) of the lit colourless pixels, a hand or a desk as
    bright as the screen beside it."""
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = _dark_screen(gray, cv2)
    best = _largest_quad((mask, 255 - mask, *(() if dark is None else (dark,))), cv2)
    if best is None and neutral is not None:
        best = _largest_quad((neutral,), cv2)
    if best is None:
        best = _largest_quad((_outlined(gray, cv2),), cv2)
    if best is None:
        best = _lit_content(gray, cv2)
    return None if best is None else _order(best)


DIM_BORDER = 60  # a photo whose border is darker than this was taken in a dim room
LIT_STEP = 30  # the screen's text and bubbles stand this far above a dim room


def _lit_content(gray: np.ndarray, cv2: ModuleType) -> np.ndarray | None:
    """A dark-mode screen in a dim room: neither brighter nor darker than the room and its bezel lost in it — only
    its text, bubbles and bars are lit. Their joined extent (a closing as wide as a bubble's gap), as a turned
    rectangle grown by a margin, stands for the screen. None unless the room is dim."""
    h, w = gray.shape
    bh, bw = max(1, h // 20), max(1, w // 20)
    border = float(np.median(np.concatenate((gray[:bh].ravel(), gray[-bh:].ravel(),
                                             gray[:, :bw].ravel(), gray[:, -bw:].ravel()))))
    if border >= DIM_BORDER:
        return None
    mask = ((gray > border + LIT_STEP) * 255).astype(np.uint8)
    k = max(5, max(h, w) // 25)
    joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    joined = cv2.morphologyEx(joined, cv2.MORPH_OPEN, np.ones((k // 3, k // 3), np.uint8))  # specks of grain
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    blob = max(contours, key=cv2.contourArea)
    if cv2.contourArea(blob) < MIN_SCREEN * w * h:
        return None
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(blob)
    grow = 0.03 * max(rw, rh)
    return np.asarray(cv2.boxPoints(((cx, cy), (rw + grow, rh + grow), angle)), dtype=np.float64)


def _outlined(gray: np.ndarray, cv2: ModuleType) -> np.ndarray:
    """What the photo's edges enclose, without thin things touching it: a dark-mode screen under glare is neither
    brighter nor darker than a desk, but its phone's outline is an edge all round; a pen or a sheet's corner
    against it is thinner than a twentieth of the photo and an opening cuts it off."""
    edges = cv2.dilate(cv2.Canny(gray, 20, 60), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(edges)
    cv2.drawContours(filled, contours, -1, 255, -1)
    k = max(3, max(gray.shape) // 20)
    return np.asarray(cv2.morphologyEx(filled, cv2.MORPH_OPEN, np.ones((k, k), np.uint8)))


def _largest_quad(masks: tuple[np.ndarray, ...], cv2: ModuleType) -> np.ndarray | None:
    h, w = masks[0].shape
    quads: list[tuple[float, np.ndarray]] = []
    for candidate in masks:
        # every contour, holes too: a screen inside a black bezel on a desk as bright as the screen is the hole
        # in the bezel, inside the desk's own contour
        contours, _ = cv2.findContours(candidate, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for c in sorted(contours, key=cv2.contourArea, reverse=True)[:4]:
            area = cv2.contourArea(c)
            if not MIN_SCREEN * w * h <= area <= 0.97 * w * h:
                continue
            hull = cv2.convexHull(c)
            approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
            if len(approx) == 4 and area >= 0.85 * cv2.contourArea(approx) and not _frame(approx, w, h):
                quads.append((area, approx.reshape(4, 2).astype(np.float64)))  # a quadrilateral, not a blob
    if not quads:
        return None
    quads.sort(key=lambda q: -q[0])
    best_area, best = quads[0]
    for area, quad in quads[1:]:  # the lit screen inside the phone's or monitor's body outline: the inner one
        inside = all(cv2.pointPolygonTest(best.astype(np.float32), (float(x), float(y)), True) >= -2 for x, y in quad)
        if inside and area >= 0.6 * best_area:
            best_area, best = area, quad
    return best


def _frame(approx: np.ndarray, w: int, h: int) -> bool:
    """The quadrilateral is the photo's own frame (the background around a screen, whose contour runs along it)."""
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    pts = approx.reshape(4, 2).astype(np.float64)
    return all(np.min(np.abs(pts - c).max(axis=1)) < 0.03 * max(w, h) for c in corners)


def _order(pts: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[s.argmin()], pts[d.argmin()], pts[s.argmax()], pts[d.argmax()]])


# ---------------------------------------------------------------- photos without a screen outline


MAX_TILT = 20.0  # degrees a hand-held photo of a screen is turned at most


def deskewed(img: Image.Image) -> Image.Image | None:
    """A photo whose screen outline was not found (a close-up cutting the screen's corners, a desk as bright as
    the screen): turned upright by its text lines, cropped to the screen's columns and levelled. None when the
    text lines stand upright already and the photo shows nothing around the screen (no different reading)."""
    import cv2

    rgb = rgb_array(img)
    h, w = rgb.shape[:2]
    angle = text_angle(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2)
    if abs(angle) >= 0.3:
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rgb = cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    x0, y0, x1, y1 = _screen_box(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2)
    if abs(angle) < 0.3 and (x1 - x0) * (y1 - y0) > 0.95 * w * h:
        return None
    rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return Image.fromarray(_even_light(rgb, cv2), "RGB")


def text_angle(gray: np.ndarray, cv2: ModuleType) -> float:
    """The rotation (degrees, counter-clockwise) that makes the text lines horizontal: the angle whose row
    profile of edge pixels is the most uneven (lines and gaps between them), tried every degree, then every
    quarter degree around the best."""
    k = 600 / max(gray.shape)
    small = cv2.resize(gray, (max(1, round(gray.shape[1] * k)), max(1, round(gray.shape[0] * k))),
                       interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(cv2.GaussianBlur(small, (3, 3), 0), 40, 120)
    h, w = edges.shape
    centre = (w / 2, h / 2)

    def unevenness(a: float) -> float:
        turned = cv2.warpAffine(edges, cv2.getRotationMatrix2D(centre, a, 1.0), (w, h), flags=cv2.INTER_NEAREST)
        profile = turned.sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(profile)).sum())

    coarse = max(np.arange(-MAX_TILT, MAX_TILT + 0.5, 1.0), key=unevenness)
    return float(max(np.arange(coarse - 0.75, coarse + 0.8, 0.25), key=unevenness))


def _screen_box(gray: np.ndarray, cv2: ModuleType) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the screen in an upright photo: on each side, the outermost line of strong edges
    running along most of that side (the screen's border against a bezel or a desk), when there is one; the
    photo's own edge when the screen runs out of the frame. Lines inside the screen (the title bar's rule, an
    avatar column) are shorter or fainter than its border, and never outside it."""
    h, w = gray.shape
    smooth = cv2.GaussianBlur(gray, (0, 0), 1.5)
    # |gradient| as uint8 (saturated past 255: only "> 12" is asked), not float32 — a quarter of the memory
    gx = cv2.convertScaleAbs(cv2.Sobel(smooth, cv2.CV_16S, 1, 0, ksize=3))
    gy = cv2.convertScaleAbs(cv2.Sobel(smooth, cv2.CV_16S, 0, 1, ksize=3))
    del smooth
    # share of rows with an edge at (or a few pixels from) each column: a border left slanted by the perspective
    # counts whole; and the same for rows
    k = max(1, w // 80)
    ex = cv2.dilate(((gx[int(h * 0.2) : int(h * 0.8)] > 12) * 255).astype(np.uint8),
                    np.ones((1, 2 * k + 1), np.uint8))
    ey = cv2.dilate(((gy[:, int(w * 0.2) : int(w * 0.8)] > 12) * 255).astype(np.uint8),
                    np.ones((2 * k + 1, 1), np.uint8))
    cols, rows = (ex > 0).mean(axis=0), (ey > 0).mean(axis=1)

    def outer(profile: np.ndarray, lo: int, hi: int, first: bool) -> int | None:
        part = profile[lo:hi]
        strong = np.nonzero(part > max(0.6, 0.7 * float(part.max(initial=0))))[0]
        if not len(strong):
            return None
        return lo + int(strong[0] if first else strong[-1])

    x0, x1 = outer(cols, 0, int(w * 0.4), True), outer(cols, int(w * 0.6), w, False)
    y0, y1 = outer(rows, 0, int(h * 0.3), True), outer(rows, int(h * 0.7), h, False)
    pad = 2 * k + 2  # clear of the border's blur and of the slant the perspective leaves in it
    return ((x0 + pad) if x0 is not None else 0, (y0 + pad) if y0 is not None else 0,
            (x1 - pad) if x1 is not None else w, (y1 - pad) if y1 is not None else h)
