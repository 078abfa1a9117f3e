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
    quad = _inside_bezel(best, horizontal, vertical, near, small)  # type: ignore[arg-type]
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
    tl, tr, br, bl = corners  # type: ignore[misc]
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
    best: tuple[float, tuple[_Line, _Line, _Line, _Line]] | None = None
    for top, bottom in itertools.permutations(horizontal, 2):
        if bottom.c / bottom.b - top.c / top.b < 0.3 * h:
            continue
        for left, right in itertools.permutations(vertical, 2):
            if right.c / right.a - left.c / left.a < 0.3 * w:
                continue
            quad = (top, bottom, left, right)
            area = _area(quad)
            if area < MIN_AREA * w * h or (best is not None and area <= best[0]):
                continue
            if _score(quad, near) >= SUPPORT - OVERSHOOT:
                best = (area, quad)
    return best[1] if best else None


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
            if _flat_strip(tuple(out), tuple(trial), i, gray) and (best is None or moved > best[0]):  # type: ignore[arg-type]
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
    (a median of 3 takes speckle and leaves strokes)."""
    f = rgb.astype(np.float32)
    mean = f.mean(axis=2)
    chroma = cv2.GaussianBlur(f - mean[..., None], (0, 0), 3.0)
    mean = cv2.medianBlur(np.clip(mean, 0, 255).astype(np.uint8), 3).astype(np.float32)
    return np.clip(chroma + mean[..., None], 0, 255).astype(np.uint8)
