"""A monitor photographed with a phone: its screen's outline found from straight edges, and the moiré taken out.

A monitor's screen is seldom the brightest blob of its photo (a dark wallpaper or sidebar inside it, a wall as
light as a white chat around it), so Otsu's threshold does not outline it. Its border is, however, four long
straight edges meeting at four corners: the line segments of the photo's edges are merged into lines, every
quadrilateral of two near-horizontal and two near-vertical lines is scored by how much of its four sides an edge
runs along, and the largest well-drawn one is the screen — moved inwards, side by side, past a bezel (a uniform
strip between two parallel edges).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ocr.layout import LEFT, RIGHT, TIME, TITLE, Box, Region

SMALL = 800  # the outline is looked for on the photo shrunk to this long side
MIN_AREA = 0.15  # the screen takes at least this share of the photo
SUPPORT = 0.6  # share of each side an edge must run along
OVERSHOOT = 0.2  # less the share of the stretch past a corner an edge runs on along
BEZEL_SHARE = 0.04  # a bezel's inner edge lies at most this share of the photo's size inside its outer edge
MAX_LINES = 8  # lines kept per direction (the longest)


@dataclass(frozen=True)
class _Line:
    """a·x + b·y = c with (a, b) a unit normal; `length` of the segments merged into it."""

    a: float
    b: float
    c: float
    length: float

    def at(self, other: _Line) -> tuple[float, float] | None:
        det = self.a * other.b - self.b * other.a
        if abs(det) < 1e-6:
            return None
        return ((self.c * other.b - self.b * other.c) / det, (self.a * other.c - self.c * other.a) / det)


def screen_quad(rgb: np.ndarray, cv2: ModuleType) -> np.ndarray | None:
    """The screen's corners (top-left, top-right, bottom-right, bottom-left) in `rgb`'s pixels, or None.
    Edges are found on the plain mean of R, G and B, where the sub-pixel moiré cancels (see `demoire`): its
    fringes would otherwise draw long straight lines of their own."""
    h, w = rgb.shape[:2]
    k = SMALL / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    small = small.mean(axis=2).astype(np.uint8)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    edges = cv2.Canny(small, 20, 50)
    near = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    horizontal, vertical = _lines(edges, cv2)
    best = _best_quad(horizontal, vertical, near)
    if best is None:
        return None
    quad = _inside_bezel(best, horizontal, vertical, near, small)
    return np.array([_corner(quad[i], quad[j]) for i, j in ((0, 2), (0, 3), (1, 3), (1, 2))]) / k


def _lines(edges: np.ndarray, cv2: ModuleType) -> tuple[list[_Line], list[_Line]]:
    """Near-horizontal and near-vertical lines through the long edge segments, each list longest first."""
    h, w = edges.shape
    segs = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=40, minLineLength=int(0.1 * min(h, w)),
                           maxLineGap=6)
    found: tuple[list[_Line], list[_Line]] = ([], [])
    for x1, y1, x2, y2 in ([] if segs is None else segs.reshape(-1, 4).astype(float)):
        dx, dy = x2 - x1, y2 - y1
        length = float(np.hypot(dx, dy))
        a, b = -dy / length, dx / length  # the normal
        if b < 0 or (b == 0 and a < 0):
            a, b = -a, -b
        flat = abs(dy) < abs(dx) * 0.5
        if not flat and abs(dx) > abs(dy) * 0.5:
            continue  # diagonal: no side of a screen photographed from in front
        group = found[0 if flat else 1]
        if not flat and a < 0:
            a, b = -a, -b
        c = a * x1 + b * y1
        for i, ln in enumerate(group):
            if abs(ln.a * b - ln.b * a) < 0.05 and abs(ln.c - c) < 4:
                total = ln.length + length
                group[i] = _Line((ln.a * ln.length + a * length) / total, (ln.b * ln.length + b * length) / total,
                                 (ln.c * ln.length + c * length) / total, total)
                break
        else:
            group.append(_Line(a, b, c, length))
    return (sorted(found[0], key=lambda ln: -ln.length)[:MAX_LINES],
            sorted(found[1], key=lambda ln: -ln.length)[:MAX_LINES])


def _corner(p: _Line, q: _Line) -> tuple[float, float]:
    return p.at(q) or (0.0, 0.0)


def _support(p: tuple[float, float], q: tuple[float, float], near: np.ndarray, *, partial: bool = False) -> float:
    """Share of the segment p–q an edge runs along (`partial`: of its part inside the photo)."""
    h, w = near.shape
    n = 60
    xs = np.linspace(p[0], q[0], n).round().astype(int)
    ys = np.linspace(p[1], q[1], n).round().astype(int)
    ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    if ok.sum() < (n * 0.3 if partial else n * 0.9):
        return 0.0
    return float((near[ys[ok], xs[ok]] > 0).mean())


def _sides(quad: tuple[_Line, _Line, _Line, _Line]) -> list[tuple[tuple[float, float], tuple[float, float]]] | None:
    top, bottom, left, right = quad
    corners = [top.at(left), top.at(right), bottom.at(right), bottom.at(left)]
    if any(c is None for c in corners):
        return None
    tl, tr, br, bl = corners
    return [(tl, tr), (bl, br), (tl, bl), (tr, br)]  # type: ignore[list-item]


def _score(quad: tuple[_Line, _Line, _Line, _Line], near: np.ndarray) -> float:
    """The least drawn side's support, less how far a side's edge runs on past a corner: a screen's border turns
    at its corners, a desk's edge or a shelf runs on past them."""
    sides = _sides(quad)
    if sides is None:
        return 0.0
    drawn = min(_support(p, q, near) for p, q in sides)
    if drawn < SUPPORT:
        return 0.0
    return drawn - max(max(_support(*_beyond(p, q), near, partial=True), _support(*_beyond(q, p), near, partial=True))
                       for p, q in sides)


def _beyond(p: tuple[float, float], q: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The stretch from 3 % to 10 % of the side's length past its end q."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    return (q[0] + 0.03 * dx, q[1] + 0.03 * dy), (q[0] + 0.1 * dx, q[1] + 0.1 * dy)


def _area(quad: tuple[_Line, _Line, _Line, _Line]) -> float:
    sides = _sides(quad)
    if sides is None:
        return 0.0
    (tl, tr), (bl, br), _, _ = sides
    pts = np.array([tl, tr, br, bl])
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def _best_quad(horizontal: list[_Line], vertical: list[_Line],
               near: np.ndarray) -> tuple[_Line, _Line, _Line, _Line] | None:
    """The largest quadrilateral whose four sides are all drawn."""
    h, w = near.shape
    quads = []
    for top, bottom in itertools.permutations(horizontal, 2):
        if bottom.c / bottom.b - top.c / top.b < 0.3 * h:
            continue
        for left, right in itertools.permutations(vertical, 2):
            if right.c / right.a - left.c / left.a >= 0.3 * w:
                quad = (top, bottom, left, right)
                area = _area(quad)
                if area >= MIN_AREA * w * h:
                    quads.append((area, quad))
    quads.sort(key=lambda q: -q[0])
    return next((quad for _, quad in quads if _score(quad, near) >= SUPPORT - OVERSHOOT), None)


def _inside_bezel(quad: tuple[_Line, _Line, _Line, _Line], horizontal: list[_Line], vertical: list[_Line],
                  near: np.ndarray, gray: np.ndarray) -> tuple[_Line, _Line, _Line, _Line]:
    """Each side moved to a parallel drawn line just inside it when the strip between is one flat colour: the
    outline found may be the monitor's outer edge, and the bezel is no part of the screen."""
    h, w = near.shape
    out = list(quad)
    for i in range(4):
        side = out[i]
        pool = horizontal if i < 2 else vertical
        span = h if i < 2 else w
        sign = 1 if i in (0, 2) else -1  # inwards: down from the top, up from the bottom, ...
        offset = side.c / (side.b if i < 2 else side.a)
        best = None
        for ln in pool:
            if abs(ln.a * side.b - ln.b * side.a) > 0.05:
                continue
            moved = (ln.c / (ln.b if i < 2 else ln.a) - offset) * sign
            if not 1 <= moved <= BEZEL_SHARE * span:
                continue
            trial = out.copy()
            trial[i] = ln
            if _score(tuple(trial), near) < SUPPORT - OVERSHOOT:  # type: ignore[arg-type]
                continue
            if _flat_strip(tuple(out), tuple(trial), i, gray) and (best is None or moved > best[0]):
                best = (moved, ln)
        if best is not None:
            out[i] = best[1]
    return tuple(out)  # type: ignore[return-value]


def _flat_strip(outer: tuple[_Line, ...], inner: tuple[_Line, ...], i: int, gray: np.ndarray) -> bool:
    """The strip between side `i` of `outer` and of `inner` is one flat colour (a bezel)."""
    so, si = _sides(outer), _sides(inner)  # type: ignore[arg-type]
    if so is None or si is None:
        return False
    (p0, q0), (p1, q1) = so[i], si[i]
    vals = []
    for t in np.linspace(0.1, 0.9, 40):
        a = (p0[0] + (q0[0] - p0[0]) * t, p0[1] + (q0[1] - p0[1]) * t)
        b = (p1[0] + (q1[0] - p1[0]) * t, p1[1] + (q1[1] - p1[1]) * t)
        for s in (0.3, 0.5, 0.7):
            x, y = round(a[0] + (b[0] - a[0]) * s), round(a[1] + (b[1] - a[1]) * s)
            if 0 <= y < gray.shape[0] and 0 <= x < gray.shape[1]:
                vals.append(float(gray[y, x]))
    return len(vals) > 30 and float(np.std(vals)) < 12


def demoire(rgb: np.ndarray, cv2: ModuleType) -> np.ndarray:
    """Moiré and grain out of a photographed screen, text kept: a screen's sub-pixel stripes beat against the
    camera's grid as coloured fringes, which cancel in the plain mean of R, G and B (each stripe a third of a
    pixel apart) — so the colour (each channel less that mean) is smoothed widely and the mean only lightly
    (a median of 3 takes speckle and leaves strokes). A channel at a time, in 16 bits: a 2560-px screen's
    float copies would cost ~40 MB each."""
    mean = np.asarray(cv2.transform(rgb, np.full((1, 3), 1 / 3)))
    plain = np.asarray(cv2.medianBlur(mean, 3)).astype(np.int16)
    out = np.empty_like(rgb)
    for ch in range(3):
        chroma = np.asarray(cv2.GaussianBlur(rgb[..., ch].astype(np.int16) - mean, (0, 0), 3.0))
        out[..., ch] = np.clip(chroma + plain, 0, 255)
    return out


# ---------------------------------------------------------------- a chat read from its text lines

HAT = 9  # a stroke of ~10–16 px text is thinner than this; a bubble, an avatar or a panel is wider
HAT_INK = 28  # levels a stroke stands off its own surroundings (moiré and grain stay under it)
HAT_INK_MIN, HAT_SHARE = 16, 0.45  # a blurred photo's: its strongest strokes' contrast times this, at least this
MIN_PANE = 0.25  # a chat pane is at least this share of the screen's width


@dataclass(frozen=True)
class TextLine:
    x0: int
    y0: int
    x1: int
    y1: int


def text_lines(gray: np.ndarray, cv2: ModuleType, *, tight: bool = False) -> tuple[list[TextLine], float]:
    """The text lines of a rectified screen and their typical height. Strokes are found as what a
    morphological closing (light screen) or opening (dark screen) of `HAT` px fills in: text, never a
    bubble's or a panel's edge, which are wider; then the characters of a line are joined (`tight`: only
    side by side, so the lines of a phone's bubble, a few pixels apart in a blurred photo, stay apart)."""
    dark = float(np.median(gray[::4, ::4])) < 100
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (HAT, HAT))
    hat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT if dark else cv2.MORPH_BLACKHAT, kernel)
    # a blurred photo's strokes stand off less: the threshold follows the strongest strokes down to half their
    # contrast (never under HAT_INK_MIN, where moiré and grain begin)
    ink = ((hat > min(HAT_INK, max(HAT_INK_MIN, HAT_SHARE * float(np.percentile(hat[::2, ::2], 99.5))))) * 255
           ).astype(np.uint8)
    del hat
    _, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink, np.ones((3, 3), np.uint8)))
    heights = stats[1:, cv2.CC_STAT_HEIGHT][(stats[1:, cv2.CC_STAT_HEIGHT] >= 6) & (stats[1:, cv2.CC_STAT_HEIGHT] <= 40)
                                             & (stats[1:, cv2.CC_STAT_WIDTH] >= 4)]
    if len(heights) < 10:
        return [], 0.0
    size = float(np.percentile(heights, 75))  # a character's height (a stroke's piece is shorter)
    rows = 1 if tight else max(3, round(size * 0.3))
    joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((rows, max(5, round(size * 1.4))), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    lines = []
    for x, y, w, h, area in stats[1:].tolist():
        if 0.6 * size <= h <= 2.6 * size and w >= 0.8 * size and area >= 0.2 * w * h:
            lines.append(TextLine(x, y, x + w, y + h))
    return sorted(lines, key=lambda ln: (ln.y0, ln.x0)), size


def chat_layout(lines: list[TextLine], size: float, width: int, height: int) -> tuple[Box, list[Region]] | None:
    """The chat pane (its box on the screen) and its messages by speaker side, from the text lines alone.

    The customer's lines start at one column (after their avatars), and nothing else is on their row to the
    right of them; a session list's names also start at one column, but each has its time on the same row.
    The rep's lines end at one column on the right. A line centred between is a timestamp or a notice; the
    first line above the messages, left of them, the chat's title."""
    x_left = _left_column(lines, size, width)
    if x_left is None:
        return None
    pane = [ln for ln in lines if ln.x0 >= x_left - 6 * size]
    starts = [ln for ln in pane if abs(ln.x0 - x_left) <= size]
    x_right = _right_end(pane, size)
    rights = [ln for ln in pane if ln.x1 >= x_right - 1.5 * size and ln.x0 > x_left + 2 * size]
    if len(rights) >= 1 and x_right - x_left < MIN_PANE * width:
        return None
    x0, x1 = max(0, int(x_left - 5 * size)), min(width, int(x_right + 5 * size))
    first = min(ln.y0 for ln in starts)
    title = [ln for ln in pane if ln.y1 < first - 0.8 * size and ln.x0 < x_left + 2 * size
             and ln.y0 > first - 12 * size]
    regions: list[Region] = []
    top = first - size
    if title:
        t = max(title, key=lambda ln: ln.y0)
        regions.append(Region(TITLE, _padded(t, size, x0)))
        top = t.y1 + 1
    kinds: list[tuple[str, TextLine]] = []
    for ln in pane:
        if ln.y0 < top:
            continue
        if ln in starts:
            kind = LEFT
        elif ln in rights:
            kind = RIGHT
        elif kinds and ln.y0 - kinds[-1][1].y1 < 0.9 * size and abs(ln.x0 - kinds[-1][1].x0) <= size:
            kind = kinds[-1][0]  # a bubble's next line
        elif abs((ln.x0 + ln.x1) / 2 - (x_left + x_right) / 2) < 3 * size:
            kind = TIME
        else:
            continue
        kinds.append((kind, ln))
    regions += _grouped(kinds, size, x0)
    if not any(r.kind == LEFT for r in regions):
        return None
    bottom = min(height, int(max(ln.y1 for _, ln in kinds) + 2 * size))
    return Box(x0, max(0, int(top - size) if not title else 0), x1, bottom), regions


def _right_end(lines: list[TextLine], size: float) -> float:
    """Where the rep's messages end: the rightmost end of a line of a few words (a taskbar's clock, an icon or
    a menu's dots is shorter)."""
    return max((ln.x1 for ln in lines if ln.x1 - ln.x0 >= 4 * size), default=max(ln.x1 for ln in lines))


def _left_column(lines: list[TextLine], size: float, width: int) -> float | None:
    """The customer's column: the rightmost column that at least two separate messages start at, one of them a
    full sentence, with nothing right of them on their rows, and far enough left of the rep's side. A session
    list's names start further left; a timestamp is short; a rep's wrapped bubble is one message."""
    x_right = _right_end(lines, size)
    alone = [ln for ln in lines if ln.x1 < x_right - 1.5 * size  # the rep's lines end at the right
             and not any(o is not ln and o.x0 > ln.x1 and o.x0 - ln.x1 < 0.25 * width
                        and min(o.y1, ln.y1) - max(o.y0, ln.y0) > 0.3 * size for o in lines)]
    best = None
    for x in sorted({ln.x0 for ln in alone}):
        if x > x_right - MIN_PANE * width:
            continue
        members = sorted((ln for ln in alone if abs(ln.x0 - x) <= size), key=lambda ln: ln.y0)
        groups = 1 + sum(b.y0 - a.y1 > 1.2 * size for a, b in itertools.pairwise(members))
        if groups >= 2 and any(ln.x1 - ln.x0 >= 5 * size for ln in members):
            best = x
    return best


def _padded(ln: TextLine, size: float, dx: int) -> Box:
    pad = int(0.4 * size)
    return Box(max(0, ln.x0 - pad - dx), max(0, ln.y0 - pad), ln.x1 + pad - dx, ln.y1 + pad)


def _grouped(kinds: list[tuple[str, TextLine]], size: float, dx: int) -> list[Region]:
    """Lines of one side, one under the other, as one message."""
    out: list[Region] = []
    last: TextLine | None = None
    for kind, ln in kinds:
        box = _padded(ln, size, dx)
        if out and last is not None and out[-1].kind == kind and ln.y0 - last.y1 < 0.9 * size and kind != TIME:
            b = out[-1].box
            out[-1] = Region(kind, Box(min(b.x0, box.x0), b.y0, max(b.x1, box.x1), box.y1))
        else:
            out.append(Region(kind, box))
        last = ln
    return out


# ---------------------------------------------------------------- a phone's chat read from its text lines

LINES_WIDTH = 540  # a rectified phone screen's text lines are looked for at this width (~23-px characters)
STATUS_SHARE = 0.04  # the status bar (clock, signal) ends about this share down a phone screen
TITLE_SHARE = 0.15  # the title starts above this share
INPUT_SHARE = 0.93  # the input bar starts below this share


def phone_layout(gray: np.ndarray, cv2: ModuleType) -> list[Region] | None:
    """A photographed phone's title and messages by speaker side, from its text lines alone (`gray`: the
    rectified screen at LINES_WIDTH): a glare patch washes a white bubble into its background, but never the
    text in it. The customer's lines start at one column after their avatars, the rep's end at one column
    before theirs; a line under another of a message, starting where it starts, is that message's next line;
    a centred line a timestamp or notice; centred lines in the title bar the title (and DingTalk's company)."""
    h, w = gray.shape
    lines, size = text_lines(gray, cv2, tight=True)
    if not lines:
        return None
    lines = _rows_joined(lines, size)
    top, bottom = STATUS_SHARE * h, INPUT_SHARE * h
    body = [ln for ln in lines if (ln.y0 + ln.y1) / 2 > top and ln.y1 < bottom and ln.x1 - ln.x0 >= 1.5 * size]
    x_left = _mode([ln.x0 for ln in body if ln.x0 < 0.45 * w], size)
    # the rep's lines end at one column; the customer's wrapped lines at another (their bubbles' widest), left
    # of it: the rep's column is measured on lines that start right of the customer's
    x_right = _mode([ln.x1 for ln in body if ln.x1 > 0.6 * w and (x_left is None or ln.x0 > x_left + size)], size)
    # the title: the topmost line centred in the title bar that is neither a customer's nor the rep's message
    # cut by the bar nor the status bar's clock (beside the carrier and the battery), with the line right under
    # it (DingTalk's company)
    title = [ln for ln in body if ln.y0 < TITLE_SHARE * h and abs((ln.x0 + ln.x1) / 2 - w / 2) < 0.08 * w
             and ln.x1 - ln.x0 < 0.7 * w and (x_left is None or abs(ln.x0 - x_left) > 0.6 * size)
             and (x_right is None or abs(ln.x1 - x_right) > 0.6 * size)
             and not any(o is not ln and min(o.y1, ln.y1) - max(o.y0, ln.y0) > 0.3 * size
                         and o.x1 - o.x0 >= 2.5 * (o.y1 - o.y0) for o in lines)]  # words, not the menu's dots
    if title:
        first = min(title, key=lambda ln: ln.y0)
        title = [ln for ln in title if ln.y0 - first.y1 < 0.5 * size]
    chat_top = max((ln.y1 for ln in title), default=top)
    body = [ln for ln in body if ln.y0 > chat_top]
    kinds: list[tuple[str, TextLine]] = []
    for ln in body:
        prev = kinds[-1][1] if kinds else None
        centre = (ln.x0 + ln.x1) / 2
        if prev is not None and ln.y0 - prev.y1 < 0.9 * size and abs(ln.x0 - prev.x0) <= 0.6 * size:
            kind = kinds[-1][0]  # a bubble's next line
        elif ln.x0 > (x_left or 0) + 1.5 * size and (abs(ln.x1 - x_right) <= 0.6 * size if x_right is not None
                                                     else ln.x1 > 0.6 * w):
            kind = RIGHT
        elif x_left is not None and abs(ln.x0 - x_left) <= 0.6 * size:
            kind = LEFT
        elif abs(centre - w / 2) < 0.06 * w:
            kind = TIME
        else:
            continue
        kinds.append((kind, ln))
    if title and kinds and kinds[0][1].y0 - chat_top < 1.2 * size:  # a message the title bar cuts: partial
        cut = 1
        while cut < len(kinds) and kinds[cut][0] == kinds[0][0] \
                and kinds[cut][1].y0 - kinds[cut - 1][1].y1 < 0.9 * size:
            cut += 1
        kinds = kinds[cut:]
    regions: list[Region] = []
    if title:
        x0, y0 = min(ln.x0 for ln in title), min(ln.y0 for ln in title)
        x1, y1 = max(ln.x1 for ln in title), max(ln.y1 for ln in title)
        regions.append(Region(TITLE, _padded(TextLine(x0, y0, x1, y1), size, 0)))
    regions += _grouped(kinds, size, 0)
    lefts = [r for r in regions if r.kind == LEFT]
    if x_left is None or not lefts or 2 * sum(_avatar_left(gray, r.box, x_left) for r in lefts) < len(lefts):
        return None  # a page's lines start at its margin, with no avatar beside them: no chat
    return regions


def _rows_joined(lines: list[TextLine], size: float) -> list[TextLine]:
    """Pieces of one line a blurred or faint character split (side by side, less than 1.5 characters apart) as
    one line: a message is counted once."""
    out: list[TextLine] = []
    for ln in sorted(lines, key=lambda ln: ln.x0):
        for i, o in enumerate(out):
            if min(o.y1, ln.y1) - max(o.y0, ln.y0) > 0.5 * size and ln.x0 - o.x1 < 1.5 * size:
                out[i] = TextLine(o.x0, min(o.y0, ln.y0), max(o.x1, ln.x1), max(o.y1, ln.y1))
                break
        else:
            out.append(ln)
    return sorted(out, key=lambda ln: (ln.y0, ln.x0))


AVATAR_SHARE = 0.107  # a phone's avatar is 40 of its 375 points wide


def _avatar_left(gray: np.ndarray, box: Box, x_left: float) -> bool:
    """Something drawn (an avatar: a photo or a coloured tile) in the avatar's place left of a customer's
    message, level with its top — not the blank margin a page's lines start at."""
    w = gray.shape[1]
    x0, x1 = max(0, int(x_left - 1.5 * AVATAR_SHARE * w)), int(x_left - 0.03 * w)
    if x1 - x0 < 4:
        return False
    patch = gray[box.y0 : box.y0 + int(AVATAR_SHARE * w), x0:x1].astype(np.float32)
    if not patch.size:
        return False
    bg = float(np.median(gray[::8, ::8]))
    return bool(np.mean(np.abs(patch - bg) > 30) > 0.2)


def _mode(xs: list[int], size: float) -> float | None:
    """The position most lines share (within 0.6 × the character size), when at least two do."""
    best = max(((sum(abs(o - x) <= 0.6 * size for o in xs), x) for x in xs), default=(0, 0))
    if best[0] < 2:
        return None
    return float(np.median([o for o in xs if abs(o - best[1]) <= 0.6 * size]))
