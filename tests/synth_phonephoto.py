"""A phone screen photographed with another phone, drawn by a third hand (not tests/synth_styles.py's "photo",
not tests/synth_wild.py's "photo2"): the screenshot comes from tests/synth_styles.py ("phone", "dingtalk",
"alt"), and the photo is made here the way a rep takes one —

- the camera's frame is 3:4, 1080×1440 up to 3000×4000; the phone takes 55–90 % of its height;
- the phone body (a dark bezel with round corners) lies on a desk (wood grain, fabric, a laminate sheen) or in a
  hand (a skin-coloured palm and fingers over the bezel's sides);
- the screen is turned up to ±8° and each corner moved 3–12 % of the screen's size (the camera not square on);
- the screen's pixel grid sampled by the camera's (moiré), uneven light across the screen, a glare blob,
  vignetting, defocus blur (σ 0.6–1.5), sensor noise, and a JPEG of quality 40–70.

Every person and company comes from the chats of tests/synth.py (invented).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from tests.synth import Truth
from tests.synth_styles import make_styled

SCREEN_STYLES = ("phone", "dingtalk", "alt")
PHOTO_SIZES = ((1080, 1440), (1200, 1600), (1536, 2048), (1800, 2400), (2250, 3000), (3000, 4000))


@dataclass(frozen=True)
class PhonePhoto:
    image: bytes  # the camera's JPEG
    now: object  # datetime the chat is dated against
    truth: Truth
    quad: tuple[tuple[float, float], ...]  # the screen's corners in the photo (tl, tr, br, bl)
    meta: dict


def phone_photo(seed: int, kind: str = "lead", *, size: tuple[int, int] | None = None) -> PhonePhoto:
    """One photographed phone screen; same seed → same bytes."""
    rng = random.Random(seed * 31 + 7)
    style = SCREEN_STYLES[seed % len(SCREEN_STYLES)]
    shot = make_styled(seed, style, kind)
    screen = np.asarray(Image.open(io.BytesIO(shot.image)).convert("RGB"))
    out_w, out_h = size or rng.choice(PHOTO_SIZES)
    photo, quad, meta = photograph_phone(screen, rng, (out_w, out_h))
    quality = rng.randint(40, 70)
    buf = io.BytesIO()
    Image.fromarray(photo, "RGB").save(buf, "JPEG", quality=quality)
    return PhonePhoto(
        buf.getvalue(), shot.now, shot.truth, quad, {**meta, "style": style, "quality": quality, "size": (out_w, out_h)}
    )


def photograph_phone(
    screen: np.ndarray, rng: random.Random, size: tuple[int, int]
) -> tuple[np.ndarray, tuple[tuple[float, float], ...], dict]:
    out_w, out_h = size
    sh, sw = screen.shape[:2]
    scene_hand = rng.random() < 0.4
    background = _hand_or_desk(rng, (out_w, out_h), scene_hand)
    # the upright screen's rectangle in the photo, before the tilt and the corners' shift
    height = out_h * rng.uniform(0.5, 0.75)
    width = height * sw / sh
    cx = out_w / 2 + rng.uniform(-0.06, 0.06) * out_w
    cy = out_h / 2 + rng.uniform(-0.05, 0.05) * out_h
    angle = np.radians(rng.uniform(-8, 8))
    corners = []
    for px, py in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = px * width / 2, py * height / 2
        shift = rng.uniform(0.03, 0.12)
        direction = rng.uniform(0, 2 * np.pi)
        x += np.cos(direction) * shift * width
        y += np.sin(direction) * shift * height * 0.5  # a corner moves less along the long side
        corners.append((cx + x * np.cos(angle) - y * np.sin(angle), cy + x * np.sin(angle) + y * np.cos(angle)))
    quad = np.array(corners, dtype=np.float32)
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
    to_photo = cv2.getPerspectiveTransform(src, quad)
    # the phone's body: the screen grown by a bezel (wider at top and bottom), with round corners
    bezel_side, bezel_end = rng.uniform(0.025, 0.05) * sw, rng.uniform(0.05, 0.09) * sh
    body_pts = np.array(
        [
            [-bezel_side, -bezel_end],
            [sw + bezel_side, -bezel_end],
            [sw + bezel_side, sh + bezel_end],
            [-bezel_side, sh + bezel_end],
        ],
        dtype=np.float32,
    )
    body = cv2.perspectiveTransform(body_pts[None], to_photo)[0]
    photo = background.astype(np.float32)
    body_mask = np.zeros((out_h, out_w), np.uint8)
    cv2.fillConvexPoly(body_mask, _rounded(body, 0.08 * width).astype(np.int32), 255)
    body_colour = np.array(rng.choice([(16, 16, 18), (28, 28, 32), (40, 38, 36), (200, 200, 205)]), np.float32)
    m = cv2.GaussianBlur(body_mask, (0, 0), 1.5).astype(np.float32)[..., None] / 255
    photo = photo * (1 - m) + body_colour * m
    # the screen, with its pixel grid beating against the camera's
    warped = cv2.warpPerspective(
        screen, to_photo, (out_w, out_h), flags=cv2.INTER_AREA if width < sw else cv2.INTER_LINEAR
    )
    screen_mask = np.zeros((out_h, out_w), np.uint8)
    cv2.fillConvexPoly(screen_mask, quad.astype(np.int32), 255)
    inside = cv2.GaussianBlur(screen_mask, (0, 0), 1.0).astype(np.float32)[..., None] / 255
    lit = warped.astype(np.float32) * _moire(to_photo, (out_w, out_h), sw, rng)[..., None]
    photo = photo * (1 - inside) + lit * inside
    del warped, lit
    if scene_hand:
        photo = _fingers(photo, body, rng)
    photo = _light(photo, inside, rng)
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.6, 1.5))
    photo += (
        np.random.default_rng(rng.randint(0, 2**31))
        .normal(0, rng.uniform(1.5, 4), photo.shape[:2])
        .astype(np.float32)[..., None]
    )
    out = np.clip(photo, 0, 255).astype(np.uint8)
    return (
        out,
        tuple((float(x), float(y)) for x, y in quad),
        {"angle": round(float(np.degrees(angle)), 1), "hand": scene_hand, "screen_h": round(height)},
    )


def _rounded(quad: np.ndarray, radius: float) -> np.ndarray:
    """The quadrilateral's outline with its corners cut round (a convex polygon)."""
    pts = []
    for i in range(4):
        prev, cur, nxt = quad[i - 1], quad[i], quad[(i + 1) % 4]
        a = cur + (prev - cur) / np.linalg.norm(prev - cur) * radius
        b = cur + (nxt - cur) / np.linalg.norm(nxt - cur) * radius
        for t in np.linspace(0, 1, 6):  # a quadratic Bézier through the corner
            pts.append((1 - t) ** 2 * a + 2 * (1 - t) * t * cur + t**2 * b)
    return np.array(pts)


def _moire(to_photo: np.ndarray, size: tuple[int, int], sw: int, rng: random.Random) -> np.ndarray:
    """Brightness of the screen's pixel grid at each camera pixel: the grid's rows and columns, sampled at the
    camera's pitch, alias into slow curved bands."""
    out_w, out_h = size
    back = np.linalg.inv(to_photo)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    den = back[2, 0] * xx + back[2, 1] * yy + back[2, 2]
    u = (back[0, 0] * xx + back[0, 1] * yy + back[0, 2]) / den
    v = (back[1, 0] * xx + back[1, 1] * yy + back[1, 2]) / den
    del xx, yy, den
    pitch = rng.choice((1.0, 1.5, 2.0, 3.0))  # screen pixels per grid cell (the panel's sub-pixel layout)
    strength = rng.uniform(0.03, 0.08)
    return (1 - strength * (0.5 + 0.5 * np.cos(2 * np.pi * u / pitch) * np.cos(2 * np.pi * v / pitch))).astype(
        np.float32
    )


def _hand_or_desk(rng: random.Random, size: tuple[int, int], hand: bool) -> np.ndarray:
    out_w, out_h = size
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    kind = "skin" if hand else rng.choice(("wood", "fabric", "laminate"))
    if kind == "wood":
        base = np.array([rng.randint(90, 160), rng.randint(60, 105), rng.randint(35, 70)], np.float32)
        wave = np.sin((yy + 25 * np.sin(xx / rng.uniform(90, 300))) / rng.uniform(4, 12) * out_w / 1500)
        arr = base + (14 * wave)[..., None]
    elif kind == "fabric":
        base = np.array([rng.randint(30, 110) for _ in range(3)], np.float32)
        arr = base + (6 * np.sin(xx / 1.9) * np.sin(yy / 2.2))[..., None]
    elif kind == "laminate":
        v = rng.randint(60, 170)
        base = np.array([v, v - rng.randint(0, 10), v - rng.randint(0, 20)], np.float32)
        arr = base + (30 * (xx / out_w - 0.5) + 20 * (yy / out_h - 0.5))[..., None]
    else:  # out of focus room behind a hand: a dim gradient
        a = np.array([rng.randint(30, 120) for _ in range(3)], np.float32)
        b = np.array([rng.randint(30, 120) for _ in range(3)], np.float32)
        t = (yy / out_h)[..., None]
        arr = a * (1 - t) + b * t
    noise = cv2.resize(
        np.random.default_rng(rng.randint(0, 2**31))
        .normal(0, 10, (out_h // 40 + 2, out_w // 40 + 2))
        .astype(np.float32),
        (out_w, out_h),
        interpolation=cv2.INTER_CUBIC,
    )
    return np.clip(arr + noise[..., None], 0, 255)


def _fingers(photo: np.ndarray, body: np.ndarray, rng: random.Random) -> np.ndarray:
    """A palm under the phone and fingers over its sides (on the bezel, short of the screen)."""
    skin = np.array([rng.randint(195, 230), rng.randint(145, 180), rng.randint(115, 150)], np.float32)
    mask = np.zeros(photo.shape[:2], np.uint8)
    tl, tr, br, bl = body
    bw = float(np.linalg.norm(tr - tl))
    palm_c = (bl + br) / 2 + (bl - tl) * 0.2  # its top just over the bottom bezel
    cv2.ellipse(mask, (int(palm_c[0]), int(palm_c[1])), (int(bw * 0.7), int(bw * 0.4)), 0, 0, 360, 255, -1)
    side_a, side_b = (tl, bl) if rng.random() < 0.5 else (tr, br)
    out = (side_a - (tr + tl) / 2) if side_a is tl else (side_a - (tl + tr) / 2)
    out = out / max(np.linalg.norm(out), 1)
    for t in rng.sample([0.45, 0.55, 0.65, 0.75, 0.85], rng.randint(2, 4)):
        p = side_a + (side_b - side_a) * t + out * bw * 0.09
        tilt = float(np.degrees(np.arctan2(out[1], out[0])))
        cv2.ellipse(mask, (int(p[0]), int(p[1])), (int(bw * 0.11), int(bw * 0.045)), tilt, 0, 360, 255, -1)
    m = cv2.GaussianBlur(mask, (0, 0), 3).astype(np.float32)[..., None] / 255
    shade = skin * (0.8 + 0.2 * rng.random())
    return photo * (1 - m) + shade * m


def _light(photo: np.ndarray, inside: np.ndarray, rng: random.Random) -> np.ndarray:
    """Exposure, a brightness slope across the screen, a glare blob and vignetting."""
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    slope = 1 + rng.uniform(-0.15, 0.15) * (xx / w - 0.5) + rng.uniform(-0.15, 0.15) * (yy / h - 0.5)
    photo = photo * (1 - inside * (1 - rng.uniform(0.8, 1.0) * slope[..., None]))
    gx, gy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.2, 0.8) * h
    blob = rng.uniform(25, 70) * np.exp(
        -(((xx - gx) / (rng.uniform(0.08, 0.22) * w)) ** 2 + ((yy - gy) / (rng.uniform(0.06, 0.18) * h)) ** 2)
    )
    photo = photo + blob[..., None]
    vignette = 1 - rng.uniform(0.15, 0.4) * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    return photo * vignette[..., None]
