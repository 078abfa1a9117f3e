"""A PC client's chat on a monitor, photographed with a phone — drawn differently from tests/synth_wild.py's
"photomon" so the reader is not tuned to one camera model ("photopc" style):

- the screen is a vendor-drawn client (tests/synth_pc.py: WeCom at 2560×1440 125–150 %, WeChat at 1920×1080) or
  the generic one (tests/synth_wild.pc), shrunk so that its message text is 9–12 px tall in the photo;
- moiré comes from the screen's own pixel grid: every camera pixel is mapped back onto the screen and the
  RGB sub-pixel stripes and the dark rows between pixels are sampled there, so the grid aliases into the curved,
  coloured fringes a real camera records (not a pattern painted over the photo);
- perspective (yaw, pitch, roll), a monitor bezel and a stand in front of a wall or an office, a window's
  reflection and a glare spot, defocus blur, white balance, sensor noise, the phone's sharpening and a JPEG.

Every person, company and number is invented (the chats of tests/synth.py).
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.synth_pc import wechat_pc, wecom_pc
from tests.synth_wild import pc

CAMERA_ASPECTS = (4 / 3, 16 / 9, 3 / 2)


def photo_pc(chat, rng: random.Random, dark: bool, style: str):  # type: ignore[no-untyped-def]
    kind = rng.choice(("wecom", "wechat", "generic"))
    if kind == "wecom":
        screen, visible, _q, meta = wecom_pc(chat, rng, False, style)
    elif kind == "wechat":
        screen, visible, _q, meta = wechat_pc(chat, rng, False, style)
    else:
        screen, visible, _q, meta = pc(chat, rng, dark, style)
    text_px = 14 * meta.get("scaling", 1.0)  # the clients draw 14-pt text at their scaling
    img, photo_meta = photograph_screen(screen, rng, text_px)
    return img, visible, rng.randint(70, 88), {**meta, "client": kind, "size": img.size, **photo_meta}


def photograph_screen(screen: Image.Image, rng: random.Random, text_px: float) -> tuple[Image.Image, dict]:
    """`screen` on a monitor photographed from in front, a little off-axis."""
    sw, sh = screen.size
    shown_text = rng.uniform(9.0, 12.0)
    k = shown_text / text_px  # photo pixels per screen pixel
    fill = rng.uniform(0.72, 0.9)  # the share of the photo's width the screen takes
    out_w = int(sw * k / fill)
    out_h = int(out_w / rng.choice(CAMERA_ASPECTS))
    out_h = max(out_h, int(sh * k / 0.85))
    bezel = rng.uniform(8, 22) / k  # in screen pixels
    yaw, pitch = rng.uniform(-0.12, 0.12), rng.uniform(-0.1, 0.1)
    roll = np.radians(rng.uniform(-5, 5))
    cx = out_w / 2 + rng.uniform(-0.04, 0.04) * out_w
    cy = out_h / 2 + rng.uniform(-0.05, 0.03) * out_h

    def corners(grow: float) -> list[tuple[float, float]]:
        pts = []
        for px, py in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            x, y = px * (sw / 2 + grow) * k, py * (sh / 2 + grow) * k
            x, y = x * (1 + pitch * py), y * (1 + yaw * px)  # the far edge looks shorter
            pts.append((cx + x * np.cos(roll) - y * np.sin(roll), cy + x * np.sin(roll) + y * np.cos(roll)))
        return pts

    quad = corners(0)
    coeffs = _coeffs(quad, (sw, sh))
    room = _room(rng, (out_w, out_h), corners(bezel), quad)
    warped = screen.transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC,
                              fillcolor=(0, 0, 0))
    mask = Image.new("L", (out_w, out_h), 0)
    ImageDraw.Draw(mask).polygon(quad, fill=255)
    room.paste(warped, mask=mask)
    del warped
    arr = np.asarray(room, dtype=np.float32)
    inside = np.asarray(mask, dtype=np.float32) / 255
    arr = _pixel_grid(arr, inside, coeffs, rng)
    arr = _light(arr, inside, rng)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    del arr
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))  # defocus and the lens
    img = img.filter(ImageFilter.UnsharpMask(radius=2, percent=rng.randint(40, 120), threshold=2))  # the phone's
    return img, {"quad": [(round(x), round(y)) for x, y in quad], "text_px": round(shown_text, 1),
                 "yaw": round(yaw, 2), "pitch": round(pitch, 2),
                 "roll": round(float(np.degrees(roll)), 1)}


def _coeffs(quad: list[tuple[float, float]], size: tuple[int, int]) -> list[float]:
    """PIL perspective coefficients: photo pixel → screen pixel."""
    w, h = size
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    rows, rhs = [], []
    for (x, y), (u, v) in zip(quad, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows), np.array(rhs))]


def _pixel_grid(arr: np.ndarray, inside: np.ndarray, coeffs: list[float], rng: random.Random) -> np.ndarray:
    """The screen's sub-pixel stripes (R, G, B side by side) and the dark gap between pixel rows, sampled at
    each camera pixel's point on the screen: where the camera's pitch beats against the screen's, fringes."""
    a, b, c, d, e, f, g, h = coeffs
    out_h, out_w = arr.shape[:2]
    strength = rng.uniform(0.12, 0.3)
    gap = rng.uniform(0.1, 0.3)
    for y0 in range(0, out_h, 256):  # a band at a time: whole-photo float planes are large
        yy, xx = np.mgrid[y0 : min(out_h, y0 + 256), 0:out_w].astype(np.float64)
        den = g * xx + h * yy + 1
        u, v = (a * xx + b * yy + c) / den, (d * xx + e * yy + f) / den
        rows = 1 - gap * (0.5 + 0.5 * np.cos(2 * np.pi * v))
        band = arr[y0 : y0 + yy.shape[0]]
        m = inside[y0 : y0 + yy.shape[0]]
        for ch in range(3):
            stripe = 0.5 + 0.5 * np.cos(2 * np.pi * (u - ch / 3))
            grid = (1 - strength) + strength * 2 * stripe * rows  # mean ~1 over a pixel
            band[..., ch] *= (1 - m) + m * grid.astype(np.float32)
    return arr


def _light(arr: np.ndarray, inside: np.ndarray, rng: random.Random) -> np.ndarray:
    """Exposure and white balance of the screen, a window's reflection, a glare spot, vignetting, noise."""
    out_h, out_w = arr.shape[:2]
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    balance = np.array([rng.uniform(0.85, 0.98), rng.uniform(0.92, 1.0), 1.0], dtype=np.float32)
    exposure = rng.uniform(0.78, 1.0)
    m = inside[..., None]
    arr *= (1 - m) + m * (balance * exposure)
    if rng.random() < 0.6:  # a window behind the photographer: a soft bright band across the screen
        slope = rng.uniform(-0.6, 0.6)
        x0 = rng.uniform(0.1, 0.8) * out_w
        dist = xx - (x0 + slope * yy)
        arr += (rng.uniform(10, 35) * np.exp(-((dist / (rng.uniform(0.06, 0.18) * out_w)) ** 2)))[..., None]
        del dist
    gx, gy = rng.uniform(0.2, 0.8) * out_w, rng.uniform(0.2, 0.8) * out_h
    arr += (rng.uniform(10, 45) * np.exp(-(((xx - gx) / (rng.uniform(0.1, 0.3) * out_w)) ** 2
                                           + ((yy - gy) / (rng.uniform(0.1, 0.3) * out_h)) ** 2)))[..., None]
    arr *= (1 - 0.35 * rng.random() * (((xx - out_w / 2) / out_w) ** 2 + ((yy - out_h / 2) / out_h) ** 2) * 4)[
        ..., None]
    del xx, yy
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 7), arr.shape[:2])
    return arr + noise.astype(np.float32)[..., None]


def _room(rng: random.Random, size: tuple[int, int], body: list[tuple[float, float]],
          screen: list[tuple[float, float]]) -> Image.Image:
    """A wall or an office behind the monitor, its stand, a desk at the bottom, the bezel."""
    w, h = size
    wall = tuple(rng.randint(90, 215) for _ in range(3))
    room = Image.new("RGB", size, wall)  # type: ignore[arg-type]
    d = ImageDraw.Draw(room)
    for _ in range(rng.randint(0, 4)):  # shelves, a poster, a window frame
        x, y = rng.randint(0, w), rng.randint(0, h // 2)
        d.rectangle((x, y, x + rng.randint(40, w // 4), y + rng.randint(20, h // 5)),
                    fill=tuple(rng.randint(40, 230) for _ in range(3)))  # type: ignore[arg-type]
    desk_y = min(h - 1, int(max(p[1] for p in body)) + rng.randint(-10, 60))
    d.rectangle((0, desk_y, w, h), fill=tuple(rng.randint(60, 200) for _ in range(3)))  # type: ignore[arg-type]
    mid = (body[2][0] + body[3][0]) / 2
    d.rectangle((mid - w * 0.04, desk_y - h * 0.1, mid + w * 0.04, desk_y + 8), fill=(40, 40, 44))
    bezel = rng.choice([(14, 14, 16), (30, 30, 33), (55, 56, 60), (205, 206, 210)])
    d.polygon(body, fill=bezel)
    return room
