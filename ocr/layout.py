"""Chat screenshot layout with Pillow + numpy: title bar, bubbles by colour, speaker side, timestamps.

Status bar and input bar are ignored; bubbles cut by the title bar or the input bar (scrolled
screenshots) are dropped as partial. Works for light and dark mode because everything is measured
as distance from the chat background colour, never as absolute brightness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

LEFT, RIGHT, TIME, TITLE = "left", "right", "time", "title"
CARD = "card"  # a message holding a picture: red packet, transfer, shared link, file, image — not typed words


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True)
class Region:
    kind: str  # "title" | "time" (centred timestamp / notice) | "left" (customer) | "right" (rep) | "card"
    box: Box


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    bg: tuple[int, int, int]
    dark: bool
    chat_top: int
    chat_bottom: int
    regions: tuple[Region, ...]  # title first (if found), then top to bottom

    @property
    def is_chat(self) -> bool:
        """Customer bubbles on the left, and either a reply or a chat title bar (one bubble under a title is a
        chat too: "我是飞鸿物流的马丽，手机139…")."""
        sides = [r for r in self.regions if r.kind in (LEFT, RIGHT)]
        enough = len(sides) >= 2 or (len(sides) == 1 and self.title is not None)
        return enough and any(r.kind == LEFT for r in sides)

    @property
    def title(self) -> Region | None:
        return next((r for r in self.regions if r.kind == TITLE), None)


INK = 10  # max channel distance from the background that counts as "something is drawn here"


def analyse(img: Image.Image, *, desktop: bool = False, ink: int | None = None, floor: bool = False) -> Layout:
    """`desktop`: a PC client's or tablet's chat pane, whose title sits on the left and whose point size is
    measured from the avatars rather than assumed from the width of a phone. `ink`: the most colour distance
    that may be needed to count as drawn (the background's own noise sets it up to there; higher for a photo,
    whose light is never quite even); a photo's single noisy pixels are ignored. `floor`: raise the threshold
    over the background's own noise, up to `ink` (False: exactly `ink`, or for a clean screenshot whose bubbles are
    a few levels off white, the background's own threshold)."""
    rgb = np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.uint8)
    h, w, _ = rgb.shape
    bg = _background(rgb)
    edge = PANE_EDGE if desktop else None
    if ink is not None:  # a photo: a pane's cut blurs avatars into its edge columns; a phone's edges keep glare
        edge = WHOLE_ROW if desktop else FULL_ROW
    top = _header_bottom(rgb, bg, edge)
    bottom = _footer_top(rgb, bg, edge, PANE_FOOTER_SHARE if desktop else FOOTER_SHARE)
    regions: list[Region] = []
    title = _title_box(rgb, top, left_aligned=desktop)
    if title is not None:
        regions.append(Region(TITLE, title))
    if bottom - top > h * 0.2:
        pt = avatar_point_size(rgb, bg, top, bottom) if desktop else w / 375
        ink_at = max(ink_threshold(bg), noise_floor(rgb[top:bottom], bg, ink or NOISE_CAP, photo=ink is not None)) \
            if floor else ink or ink_threshold(bg)
        # a phone's avatar is known in points; a pane's point size is measured from its avatars (no floor then)
        regions.extend(_chat_regions(rgb, bg, top, bottom, pt or w / 375, ink_at, speckle=ink is not None,
                                     min_avatar=0 if desktop else AVATAR_MIN_PT * w / 375))
    dark = sum(bg) / 3 < 100
    return Layout(w, h, bg, dark, top, bottom, tuple(regions))


def distance(rgb: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Per pixel, the largest channel difference from `colour`, as uint8 (no wide temporaries)."""
    out = np.zeros(rgb.shape[:2], dtype=np.uint8)
    for ch, value in enumerate(colour):
        plane, v = rgb[..., ch], np.uint8(value)
        np.maximum(out, np.maximum(plane, v) - np.minimum(plane, v), out=out)
    return out


def inked(rgb: np.ndarray, bg: tuple[int, int, int], ink: int) -> np.ndarray:
    """Pixels drawn on the background: brightness off by more than `ink`, or a colour off by more than twice it.
    A compressed JPEG stores colour at half resolution and blurs it a few rows and columns past a coloured bubble
    (a blue bubble tints the chat background by ~6 levels around it) while brightness stays sharp: counting colour
    at the brightness threshold joined rows of background into the bubbles above and below."""
    luma = rgb[..., 0].astype(np.uint16) * np.uint16(77)  # 77 + 150 + 29 = 256: the sum fits 16 bits
    luma += rgb[..., 1].astype(np.uint16) * np.uint16(150)
    luma += rgb[..., 2].astype(np.uint16) * np.uint16(29)
    luma >>= 8
    bg_luma = (bg[0] * 77 + bg[1] * 150 + bg[2] * 29) >> 8
    off = (luma > bg_luma + ink) | (luma + ink < bg_luma)
    del luma
    return off | (distance(rgb, bg) > 2 * ink)


def _background(rgb: np.ndarray) -> tuple[int, int, int]:
    h = rgb.shape[0]
    band = rgb[int(h * 0.25) : int(h * 0.75) : 3, ::3].reshape(-1, 3).astype(np.int32) // 4
    keys = band[:, 0] * 4096 + band[:, 1] * 64 + band[:, 2]
    vals, counts = np.unique(keys, return_counts=True)
    k = int(vals[counts.argmax()])
    full = rgb[int(h * 0.25) : int(h * 0.75) : 3, ::3].reshape(-1, 3)
    med = np.median(full[keys == k], axis=0)
    return (int(med[0]), int(med[1]), int(med[2]))


WHOLE_ROW = -1  # `_edge_off` on a row's median over its width instead of its edge columns
FULL_ROW = -2  # `_edge_off` on rows off the background, one way, almost all the way across (a bar, its rule)


def _edge_off(rows: np.ndarray, bg: tuple[int, int, int], edge: int | None = None) -> np.ndarray:
    """Per row: does the colour at both screen edges differ from the chat background?

    Bars and their border lines span the full width; chat content never reaches the outer 2 %,
    so looking only at the edges is immune to bubbles and to JPEG colour bleeding from them. With `edge`
    WHOLE_ROW, the row's median across its width tells (a desktop pane's messages fill less than half a row);
    FULL_ROW, rows off the background almost all the way across (a phone's bubbles never are) and at the edges.
    """
    if edge == WHOLE_ROW:
        med = np.median(rows[:, rows.shape[1] // 20 : -rows.shape[1] // 20 : 2], axis=1)
        return np.abs(med - np.array(bg)).max(axis=1) > 4
    if edge == FULL_ROW:
        inner = rows[:, rows.shape[1] // 30 : -rows.shape[1] // 30 : 2].astype(np.int16) - np.array(bg, np.int16)
        luma = inner.mean(axis=2)
        across = ((luma > 6).mean(axis=1) > 0.85) | ((luma < -6).mean(axis=1) > 0.85)
        return across & _edge_off(rows, bg)  # and at the edges: neither a glare patch nor a vignette alone
    k = edge or max(3, rows.shape[1] // 50)
    edges = np.concatenate((rows[:, :k], rows[:, -k:]), axis=1)
    med = np.median(edges, axis=1)
    return np.abs(med - np.array(bg)).max(axis=1) > 5


def _header_bottom(rgb: np.ndarray, bg: tuple[int, int, int], edge: int | None = None) -> int:
    """Last row of the status + title bar (or its bottom line) in the top band."""
    h, w = rgb.shape[:2]
    lim = int(h * 0.16) if h < w * 2.4 else int(w * 0.35)
    ys = np.nonzero(_edge_off(rgb[:lim], bg, edge))[0]
    if len(ys):
        return int(ys.max()) + 1
    guess = int(lim * 0.6)  # a title bar of the chat's own colour with no rule under it ends about here
    cut = edge in (None, PANE_EDGE) and _chat_at(rgb[:guess], bg, top=True, desktop=edge == PANE_EDGE)
    return 0 if _cropped(rgb, edge) or cut else guess


PANE_EDGE = 4  # a pane's avatars sit ~10 px from its edge: bars are told by its outermost columns only
FOOTER_SHARE = 0.16  # a phone's input bar (and home indicator) lies in this share of the height
PANE_FOOTER_SHARE = 0.3  # a PC client's input area with its toolbar is up to a fifth of the window, or more


def _footer_top(rgb: np.ndarray, bg: tuple[int, int, int], edge: int | None = None,
                share: float = FOOTER_SHARE) -> int:
    h, w = rgb.shape[:2]
    start = h - (int(h * share) if h < w * 2.4 else int(w * 0.4))
    ys = np.nonzero(_edge_off(rgb[start:], bg, edge))[0]
    if len(ys):
        return start + int(ys.min())
    # a pane cut at its input area's top line shows no footer: its messages run to the cut
    guess = int(h * 0.93)
    if _cropped(rgb, edge) or edge == PANE_EDGE or (edge is None and _chat_at(rgb[guess:], bg, top=False)):
        return h
    return guess


def _cropped(rgb: np.ndarray, edge: int | None) -> bool:
    """A part of a phone chat cut out (no status, title or input bar drawn at that edge): no phone screen is this
    short for its width, so where no bar is seen there is none."""
    h, w = rgb.shape[:2]
    return edge is None and h < w * CROP_RATIO


CROP_RATIO = 1.45  # the squattest phone screens are 3:2


def _chat_at(band: np.ndarray, bg: tuple[int, int, int], *, top: bool, desktop: bool = False) -> bool:
    """The band where a phone's title bar (`top`) or input bar would be, with no bar seen, shows chat instead: a
    part of a chat cut out of a taller screenshot. Told by a message cut at the image's edge (a run of ink wider
    than 20 points in its outermost rows, clear of the screen's edges, where a bar of the chat's own colour keeps
    a margin above its status text) or an avatar (a filled square of at least AVATAR_MIN_PT at the left or right
    margin, where a bar shows thin glyphs: a back arrow, a battery's outline). `desktop`: a PC pane's band, its
    avatars 24 px or more, its margins a fixed few pixels."""
    h, w = band.shape[:2]
    if h < 4:
        return False
    s = 1.0 if desktop else w / 375
    least = 24 if desktop else AVATAR_MIN_PT * s
    ink = distance(band, bg) > ink_threshold(bg)
    edge_rows = ink[:2] if top else ink[-2:]
    inner = edge_rows[:, int(w * 0.03) : int(w * 0.97)]
    if any(20 * s < b - a < 0.9 * inner.shape[1] for row in inner for a, b in _runs(row, 1)):  # not a rule
        return True
    side = min(int(w * 0.14), 90) if desktop else int(w * 0.14)
    first = int(np.argmax(ink.any(axis=1)))
    for strip in (ink[:, :side], ink[:, w - side :]):
        for y0, y1 in _runs(np.asarray(strip.any(axis=1)), 1):
            cols = _runs(np.asarray(strip[y0:y1].mean(axis=0) > 0.6), 1)
            if y1 - y0 >= least and any(b - a >= least for a, b in cols) \
                    and 0 < y0 and y1 < h and (not top or y0 <= first + 4):
                return True  # a whole square in the band, not one cut by it, with nothing drawn above it (a
                # bar of the chat's colour shows its title there)
    return False


def _runs(mask: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """[start, end) runs of True allowing gaps shorter than min_gap."""
    idx = np.nonzero(mask)[0]
    if not len(idx):
        return []
    splits = np.nonzero(np.diff(idx) > min_gap)[0]
    starts = np.concatenate(([idx[0]], idx[splits + 1]))
    ends = np.concatenate((idx[splits], [idx[-1]])) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _title_box(rgb: np.ndarray, top: int, *, left_aligned: bool = False) -> Box | None:
    w = rgb.shape[1]
    x_from = 0.01 if left_aligned else 0.12
    band = rgb[: max(top - max(4, w // 120), 1), int(w * x_from) : int(w * 0.85 if left_aligned else w * 0.88)]
    if band.shape[0] < 10:
        return None
    med = np.median(band[:, ::4].reshape(-1, 3), axis=0)
    ink = np.zeros(band.shape[:2], dtype=bool)
    for ch in range(3):  # a channel at a time: a float copy of the whole band is ~9 MB on a large phone shot
        np.logical_or(ink, np.abs(band[..., ch] - med[ch]) > 40, out=ink)
    rows = _runs(ink.sum(axis=1) > max(2, band.shape[1] // 200), max(2, w // 150))
    if rows:  # the top of a message the bar cuts (in a photo, blurred over its rule) is a sliver, never the title
        tallest = max(b - a for a, b in rows)
        rows = [r for r in rows if r[1] - r[0] >= 0.5 * tallest]
    if not rows or rows[-1][0] == 0:  # a message cut by the image's top edge: a crop has no title bar
        return None
    y0, y1 = rows[-1]
    if len(rows) >= 2 and rows[-1][0] - rows[-2][1] < 0.5 * (rows[-2][1] - rows[-2][0]):
        y0 = rows[-2][0]  # a subtitle right under the name (DingTalk shows the contact's company there)
    # A phone's title is centred; the call and menu glyphs beside it stand a wide gap away and are not its text
    # (a ring spanning the name and the company line under it also joins the two lines into one).
    cols = _runs(np.asarray(ink[y0:y1].any(axis=0)), w if left_aligned else max(4, int(0.6 * (y1 - y0))))
    if not cols:
        return None
    if not left_aligned:
        centre = w / 2 - int(w * x_from)
        cols = [min(cols, key=lambda c: 0 if c[0] <= centre <= c[1] else min(abs(c[0] - centre), abs(c[1] - centre)))]
    x0, x1 = cols[0][0] + int(w * x_from), cols[-1][1] + int(w * x_from)
    pad = max(4, (y1 - y0) // 4)
    return Box(max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(top, y1 + pad))


def avatar_point_size(rgb: np.ndarray, bg: tuple[int, int, int], top: int, bottom: int) -> float | None:
    """Pixels per phone point, from the avatars (40 pt squares) at the pane's edges; None when none is seen."""
    w = rgb.shape[1]
    k = max(4, int(w * 0.08))
    sizes = []
    for band in (rgb[top:bottom, :k], rgb[top:bottom, w - k :][:, ::-1]):  # the right band read from its edge
        ink = distance(band, bg) > ink_threshold(bg)
        for y0, y1 in _runs(ink.sum(axis=1) > 2, 2):
            cols = _runs(ink[y0:y1].mean(axis=0) > 0.5, 1)  # a bubble's tail in the gap is not a solid column
            if not cols:
                continue
            width = cols[0][1] - cols[0][0]  # the run nearest the edge: the avatar, not the bubble beside it
            height = int(np.count_nonzero(ink[y0:y1, cols[0][0] : cols[0][1]].any(axis=1)))
            if 0.7 <= height / max(1, width) <= 1.4 and height >= 16:
                sizes.append(height)
    return float(np.median(sizes)) / 40 if sizes else None


def _chat_regions(rgb: np.ndarray, bg: tuple[int, int, int], top: int, bottom: int, s: float,
                  ink: int, *, speckle: bool = False, min_avatar: float = 0) -> list[Region]:
    """`speckle`: the image is noisy (a photo): a pixel counts only with an inked neighbour to its right or
    below, so sensor noise does not join every row into one run."""
    w = rgb.shape[1]
    area = rgb[top + 2 : bottom - 1]
    # Rows split at the strict mask (a JPEG's colour smear joins the rows between bubbles); each message is then
    # measured on every pixel off the background, so its box holds the bubble's anti-aliased rim and whole tail.
    mask = _despeckled(distance(area, bg) > ink, speckle)
    strict = _despeckled(inked(area, bg, ink), speckle)
    if speckle and min_avatar:  # a rectified phone photo's outermost columns may keep a sliver of bezel or a
        # vignette's dark edge (a monitor's pane is cut from inside the screen, its avatars close to the cut)
        rim = max(1, w // 40)  # avatars start 12 points (3 % of a phone's width) in
        for m in (mask, strict):
            m[:, :rim] = False
            m[:, -rim:] = False
    if not min_avatar and not speckle:  # a pane: its scrollbar is no avatar beside every row it passes
        _clear_edge_strips(mask, strict, s)
    # A photo's glare leaves a few stray pixels in a row; a pane's JPEG ringing around saturated bubbles and
    # avatars a few more than a phone's (a pane is read at full resolution, its ink threshold is a few levels;
    # a pane is the one read without a floor under its avatars' size).
    stray = max(2, w // 50) if speckle else max(2, w // 150) if not min_avatar else 2
    runs = _runs(strict.sum(axis=1) > stray, max(3, int(4 * s)))
    del strict
    out: list[Region] = []
    for y0, y1 in _with_rims(runs, mask.sum(axis=1) > stray):
        if y0 <= 1 or y1 >= mask.shape[0] - 1 or y1 - y0 < 6 * s:
            continue  # cut by a bar: partial bubble of a scrolled screenshot, or speckle
        seg = mask[y0:y1]
        counts = seg.sum(axis=0)
        col_has = counts > max(2, (y1 - y0) // 10)  # JPEG chroma ringing leaves faint columns; ignore them
        if _bridged(col_has, s):  # ringing half filled the gap between bubble and avatar: split at the gap
            col_has &= ~_valleys(counts, max(4, int(12 * s)))
        xs = np.nonzero(col_has if col_has.any() else counts > 0)[0]
        x_min, x_max = int(xs.min()), int(xs.max()) + 1
        near_l, near_r = x_min < 0.08 * w, x_max > 0.92 * w
        gy0, gy1 = y0 + top + 2, y1 + top + 2
        if near_l != near_r:
            box = _bubble(seg, col_has, left=near_l, s=s, min_avatar=min_avatar)
            found = Box(box[0], gy0 + box[1], box[2], gy0 + box[3]) if box else None
            card = found is not None and has_picture(rgb[found.y0 : found.y1, found.x0 : found.x1], s)
            # A phone's avatars have a known least size a page's characters stay under, and a white bubble may be
            # as white as its background (or washed out in a photo): there the avatar alone tells. A pane's point
            # size is measured from whatever stands at its edge, so there the bubble must show too.
            # (a PC group's sender-and-time line sits in the message's box: the padding test is not asked there)
            if box and found and (card or speckle or min_avatar or seg[box[1] : box[3], box[0] : box[2]].any()):
                out.append(Region(CARD if card else LEFT if near_l else RIGHT, found))
        elif out and _attached(out[-1], x_min, x_max, gy0, s) and seg[:, x_min:x_max].mean() > 0.5 \
                and _background_between(rgb, bg, out[-1].box.y1, gy0, x_min, x_max, ink):
            # A block with its own fill right under a bubble, flush with its speaker-side edge: the 转文字 text
            # of a voice message or the 引用 block of a quoted reply. Its own region, of the same side.
            rows = np.nonzero(seg[:, x_min:x_max].any(axis=1))[0]
            out.append(Region(out[-1].kind, Box(x_min, gy0 + int(rows.min()), x_max, gy0 + int(rows.max()) + 1)))
        elif out and _continues(out[-1], x_min, x_max, gy0, s):
            # A line of a bubble whose fill barely differs from the background: it sits right under the
            # bubble above, aligned with its text, but the avatar is not beside it. Same message.
            prev = out[-1].box
            out[-1] = Region(out[-1].kind, Box(min(prev.x0, x_min), prev.y0, max(prev.x1, x_max), gy1))
        elif not near_l and not near_r and abs((x_min + x_max) / 2 - w / 2) < 0.06 * w:
            xs = np.nonzero(counts > 0)[0]
            x_min, x_max = int(xs.min()), int(xs.max()) + 1
            pad = int(3 * s)
            out.append(Region(TIME, Box(max(0, x_min - pad), gy0 - pad, min(w, x_max + pad), gy1 + pad)))
    return out


SCROLL_BAND_PT = 16  # a pane's scrollbar lies this close to its edge; its avatars start further in (≥ 20 points)
SCROLL_WIDTH_PT = 10  # and it is at most this wide (an avatar is 40 points)


def _clear_edge_strips(mask: np.ndarray, strict: np.ndarray, s: float) -> None:
    """Wipe a thin column strip close to a pane's left or right edge from both masks (in place): the message
    list's scrollbar (or a window's border left inside the cut). Beside every row it passes it stood as ink at
    the pane's other edge too, and a message with ink near both edges is read as no one's."""
    w = mask.shape[1]
    band = min(int(SCROLL_BAND_PT * s), w // 10)
    inked_cols = mask.sum(axis=0) > 3  # not a bar's border line running across the pane
    for x0, x1 in _runs(inked_cols, 1):
        inside = x1 <= band or x0 >= w - band
        if inside and x1 - x0 <= SCROLL_WIDTH_PT * s:
            mask[:, x0:x1] = False
            strict[:, x0:x1] = False


def _with_rims(runs: list[tuple[int, int]], loose_rows: np.ndarray) -> list[tuple[int, int]]:
    """Each run of rows grown over the adjacent rows with any ink (a bubble's anti-aliased edge, the tip of its
    tail), never past halfway to the next run, so a smear between two bubbles still splits them."""
    out = []
    for i, (y0, y1) in enumerate(runs):
        floor = (runs[i - 1][1] + y0) // 2 if i else 0
        ceiling = (y1 + runs[i + 1][0] + 1) // 2 if i + 1 < len(runs) else len(loose_rows)
        while y0 - 1 >= floor and loose_rows[y0 - 1]:
            y0 -= 1
        while y1 < ceiling and loose_rows[y1]:
            y1 += 1
        out.append((y0, y1))
    return out


def _despeckled(mask: np.ndarray, speckle: bool) -> np.ndarray:
    """With `speckle`, only pixels with an inked neighbour to their right or below (sensor noise is single)."""
    if speckle:
        near = np.zeros_like(mask)
        near[:, :-1] |= mask[:, 1:]
        near[:-1] |= mask[1:]
        mask &= near
    return mask


AVATAR_PT = 40  # an avatar's side in phone points


def _bridged(col_has: np.ndarray, s: float) -> bool:
    """The run of columns at a screen edge is wider than an avatar: the avatar and the bubble beside it were
    joined (a JPEG's ringing filled the gap between them). Only then are faint columns looked for as a gap: a
    bubble's tail, a pale stripe in an avatar or the space between two characters is as faint as a gap, and
    cutting there clipped the tail off every bubble and split avatars."""
    w = len(col_has)
    edge_runs = [(a, b) for a, b in _runs(col_has, 1) if a < 0.08 * w or b > 0.92 * w]
    return any(b - a > 1.5 * AVATAR_PT * s for a, b in edge_runs)


def _valleys(counts: np.ndarray, reach: int) -> np.ndarray:
    """Columns far fainter than the strongest column within `reach` on either side: the gap between a bubble and
    its avatar that a compressed JPEG's ringing half fills (a saturated bubble on a bright background rings a
    few levels into every gap column; the ink threshold there is only a few levels)."""
    padded = np.concatenate((np.zeros(reach, counts.dtype), counts, np.zeros(reach, counts.dtype)))
    window = np.lib.stride_tricks.sliding_window_view(padded, reach)
    left, right = window[: len(counts)].max(axis=1), window[reach + 1 : reach + 1 + len(counts)].max(axis=1)
    return np.asarray(counts < 0.35 * np.minimum(left, right))


NOISE_CAP = 8  # a screenshot's ink threshold at most: white bubbles on a near-white background still show


def noise_floor(rgb: np.ndarray, bg: tuple[int, int, int], cap: int = NOISE_CAP, *, photo: bool = False) -> int:
    """One level above how far the chat background's own pixels stray from its colour: a lower ink threshold
    would count the background itself as drawn. At most `cap`.

    A screenshot's JPEG strays in blocks and rings round saturated bubbles: the spread of the pixels near the
    background colour tells it. A photo's light and grain stray as far as a white bubble on a light-grey chat is
    off the background (that spread would hide the bubbles): there the steps between neighbouring background
    pixels tell the grain, plus how far the measured background is off its pixels' typical colour."""
    sample = rgb[::3]
    dist = distance(sample, bg)
    if not photo:
        quiet = dist[dist < 2 * cap]
        return int(min(cap, np.percentile(quiet, 99) + 1)) if quiet.size else 0
    near = dist < cap
    both = near[:, 1:] & near[:, :-1]
    step = np.zeros(both.shape, dtype=np.uint8)
    for ch in range(3):
        plane = sample[..., ch]
        np.maximum(step, np.maximum(plane[:, 1:], plane[:, :-1]) - np.minimum(plane[:, 1:], plane[:, :-1]),
                   out=step)
    quiet = step[both]
    if not quiet.size:
        return 0
    return int(min(cap, np.percentile(quiet, 99) + float(np.median(dist[near])) + 1))


def ink_threshold(bg: tuple[int, int, int]) -> int:
    """INK, or lower on a very bright background where white bubbles differ from it by only a few levels
    (e.g. (255,255,255) bubbles on (245,245,245))."""
    headroom = 255 - max(bg)
    return INK if headroom >= INK + 2 else max(3, headroom // 2)


def _attached(prev: Region, x_min: int, x_max: int, y0: int, s: float) -> bool:
    """A block that starts a small gap under the bubble above and lines up with its speaker-side edge (the bubble's
    box starts at its tail on the left, so the block may start up to a tail's width inside it)."""
    if prev.kind not in (LEFT, RIGHT) or not 0 <= y0 - prev.box.y1 <= 12 * s:
        return False
    if prev.kind == LEFT:
        return -2 * s <= x_min - prev.box.x0 <= 10 * s
    return -2 * s <= prev.box.x1 - x_max <= 10 * s


def _background_between(rgb: np.ndarray, bg: tuple[int, int, int], y0: int, y1: int, x0: int, x1: int,
                        ink: int) -> bool:
    """The rows between a bubble and the block under it show the chat background (a separate block), not a
    bubble fill too faint to pass the ink threshold (a photographed bubble's next line)."""
    gap = rgb[y0 + 1 : max(y0 + 2, y1 - 1), x0:x1]
    return bool(gap.size) and float(np.median(distance(gap, bg))) < ink / 2


PICTURE_PT = 24  # a solid square at least this many points wide inside a bubble is a picture, never text


def has_picture(rgb: np.ndarray, s: float) -> bool:
    """A solid block of colour unlike the bubble's fill, at least PICTURE_PT points square: a red packet's or
    transfer's icon, a link card's thumbnail, a file icon, a photo. Text strokes never fill such a square
    (cells of 4 pt, each at least 85 % off the fill; an emoji is smaller)."""
    cell = max(2, int(4 * s))
    h, w = rgb.shape[:2]
    gh, gw = h // cell, w // cell
    need = max(2, round(PICTURE_PT / 4))
    if gh < need or gw < need:
        return False
    fill = np.median(rgb[::4, ::4].reshape(-1, 3), axis=0).astype(np.int16)
    off = np.abs(rgb[: gh * cell, : gw * cell].astype(np.int16) - fill).max(axis=2) > 24
    solid = off.reshape(gh, cell, gw, cell).mean(axis=(1, 3)) > 0.85
    # a need × need square of solid cells: running sums over rows, then over columns
    rows = np.lib.stride_tricks.sliding_window_view(solid, need, axis=1).all(axis=2)
    return bool(np.lib.stride_tricks.sliding_window_view(rows, need, axis=0).all(axis=2).any())


def _continues(prev: Region, x_min: int, x_max: int, y0: int, s: float) -> bool:
    """A run that starts where the text of the bubble just above starts, a line gap below it."""
    if prev.kind not in (LEFT, RIGHT):
        return False
    return abs(x_min - prev.box.x0) <= 4 * s and y0 - prev.box.y1 <= 10 * s and x_max <= prev.box.x1 + 40 * s


def _filled(columns: np.ndarray) -> bool:
    """The run of columns is a filled shape (a bubble with its own colour), not strokes of text on the background."""
    rows = np.nonzero(columns.any(axis=1))[0]
    return bool(len(rows)) and float(columns[rows.min() : rows.max() + 1].mean()) > 0.7


AVATAR_FILL = 0.5  # share of an avatar's box that is drawn: a photo or a coloured tile, round or square


AVATAR_MIN_PT = 28  # avatars are 34–44 phone points wide; a body character of a page about 14–20


def is_avatar(columns: np.ndarray, min_side: float = 0) -> bool:
    """The ink at a message's speaker edge is an avatar: a roughly square, mostly filled tile at the top of the
    message. The first character of a line in a receipt, a price list or a notice stands at the page's margin as
    an avatar would, but is made of strokes (a quarter to a half of its box) and has no bubble of its own."""
    # rows a quarter drawn: a low-quality JPEG's ringing beside a bubble leaves a thin column over the bubble's
    # whole height, which is not the avatar's
    rows = _runs(np.asarray(columns.mean(axis=1) > 0.25), 1)
    if not rows:
        return False
    y0, y1 = max(rows, key=lambda r: r[1] - r[0])  # not a row or two of a neighbour's JPEG rim
    height, width = y1 - y0, columns.shape[1]
    return width >= min_side and 0.7 <= height / max(1, width) <= 1.45 and float(columns[y0:y1].mean()) >= AVATAR_FILL


def _slivers_joined(runs: list[tuple[int, int]], *, left: bool, s: float) -> list[tuple[int, int]]:
    """A sliver at the speaker's edge a column or two from the next run is the avatar's own rim (JPEG ringing round
    a coloured round avatar breaks its thin outer columns off): joined to it, it does not pass for the avatar."""
    runs = runs if left else [(-b, -a) for a, b in reversed(runs)]  # from the speaker's edge inwards
    while len(runs) >= 2 and runs[0][1] - runs[0][0] < AVATAR_MIN_PT * s / 3 and runs[1][0] - runs[0][1] <= 2:
        runs = [(runs[0][0], runs[1][1]), *runs[2:]]
    return runs if left else [(-b, -a) for a, b in reversed(runs)]


def _run_on(cols: np.ndarray, x0: int, x1: int, reach: int, *, left: bool) -> tuple[int, int]:
    """[x0, x1) grown away from the speaker's side over inked `cols` no more than `reach` apart."""
    if left:
        while True:
            ahead = np.nonzero(cols[x1 : x1 + reach])[0]
            if not len(ahead):
                return x0, x1
            x1 += int(ahead[-1]) + 1
    while True:
        behind = np.nonzero(cols[max(0, x0 - reach) : x0])[0]
        if not len(behind):
            return x0, x1
        x0 = max(0, x0 - reach) + int(behind[0])


BUBBLE_MIN_PT = 30  # a bubble is at least one character and its padding wide (~40 points)


def _bubble(seg: np.ndarray, col_has: np.ndarray, *, left: bool, s: float,
            min_avatar: float = 0) -> tuple[int, int, int, int] | None:
    """The bubble next to the avatar: skip the first column run (the avatar) from the speaker's side.

    Runs narrower than 2 points (a stray column of JPEG ringing at the screen edge) are neither avatar nor bubble.
    """
    min_w = max(3, int(2 * s))
    runs = [(a, b) for a, b in _slivers_joined(_runs(col_has, 1), left=left, s=s) if b - a >= min_w]
    if len(runs) < 2:  # a bubble's tail bridging a narrow gap to the avatar (PC clients): split at solid columns
        runs = [(a, b) for a, b in _runs(seg.mean(axis=0) > 0.5, 1) if b - a >= min_w]
    if len(runs) < 2 or not is_avatar(seg[:, slice(*(runs[0] if left else runs[-1]))], min_avatar):
        return None
    body = runs[1:] if left else runs[:-1][::-1]  # from the avatar outwards
    first = body[0]
    filled = first[1] - first[0] >= BUBBLE_MIN_PT * s and _filled(seg[:, first[0] : first[1]])
    if filled:
        # a bubble with its own fill is one run: what stands beyond it is not its text (WeCom's 「已读」 beside the
        # rep's bubble). A photo's washed-out fill breaks a bubble into character-wide runs, none that wide.
        body = [first]
    x0, x1 = min(r[0] for r in body), max(r[1] for r in body)
    if not filled:  # text on the background: its last line's thin glyphs may stand in too few rows of a tall
        # message to pass the column test (「…2220 8043」 under three lines): taken while they run on closely
        x0, x1 = _run_on(seg.sum(axis=0) >= 2, x0, x1, max(3, int(6 * s)), left=left)
    rows = np.nonzero(seg[:, x0:x1].any(axis=1))[0]
    if not len(rows) or x1 - x0 < 10:
        return None
    # a filled bubble ends where its fill does: DingTalk's 「已读」 right under it is not its text (a group member's
    # name above it is)
    end = np.nonzero(seg[:, x0:x1].mean(axis=1) > 0.5)[0] if filled else rows
    return x0, int(rows.min()), x1, int(end.max() if len(end) else rows.max()) + 1
