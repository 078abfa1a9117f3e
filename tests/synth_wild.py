"""Wider variety than tests/synth_styles.py for the styles other hands draw differently:

- "pc": PC clients of other proportions — 1366×768 to 2560×1440 at 100–150 %, windowed or full screen, with a
  taskbar, light or dark icon bar, session lists of other widths and shades (with or without a separator line),
  white / grey / dark chat panes, an optional right-side info panel, other fonts and text sizes;
- "photo2": phone screens photographed in the wild — tilt up to 20°, perspective, black / white / no bezel, dark,
  wooden, bright or patterned desks, strong glare, moiré, blur, noise, and close-ups whose screen leaves the frame;
- "docs": documents that carry a mobile number but are no chat — a supermarket receipt, a price list, a tender
  notice, an invoice, a bank SMS, an announcement — as a phone screenshot, a desktop window or a photo of paper.

Every person, company and number is invented (tests/synth.py vocabulary and random digits).
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.synth import (
    COMPANIES,
    NEEDS,
    NICKNAMES,
    SIZES,
    SURNAMES,
    Look,
    _name,
    font,
    render_chat,
)
from tests.synth import _phone as phone_number

NOTO = "/usr/share/fonts/opentype/noto/"
FONTS = [(NOTO + "NotoSansCJK-Regular.ttc", 2), (NOTO + "NotoSerifCJK-Regular.ttc", 2),
         (NOTO + "NotoSansCJK-Bold.ttc", 2), (NOTO + "NotoSansCJK-Regular.ttc", 0)]
PC_SCREENS = [(1920, 1080, 1.0), (1920, 1080, 1.25), (1920, 1080, 1.5), (2560, 1440, 1.0), (2560, 1440, 1.25),
              (2560, 1440, 1.5), (1366, 768, 1.0), (1600, 900, 1.0)]
PC_LIGHT = [  # chat pane colours of PC clients: classic grey, white, blue-grey
    dict(bg=(245, 245, 245), bar=(245, 245, 245), left=(255, 255, 255), right=(149, 236, 105), text=(25, 25, 25),
         rtext=(25, 25, 25), stamp=(170, 170, 170), line=(231, 231, 231), inbar=(245, 245, 245), box=(255, 255, 255),
         suffix=(250, 157, 59)),
    dict(bg=(255, 255, 255), bar=(255, 255, 255), left=(242, 243, 245), right=(205, 228, 255), text=(30, 30, 30),
         rtext=(30, 30, 30), stamp=(160, 160, 160), line=(236, 236, 236), inbar=(255, 255, 255),
         box=(248, 248, 248), suffix=(222, 130, 40)),
    dict(bg=(240, 242, 245), bar=(250, 251, 252), left=(255, 255, 255), right=(158, 234, 106), text=(30, 30, 30),
         rtext=(30, 30, 30), stamp=(150, 150, 150), line=(222, 224, 228), inbar=(250, 251, 252),
         box=(255, 255, 255), suffix=(222, 130, 40)),
    dict(bg=(244, 245, 247), bar=(255, 255, 255), left=(255, 255, 255), right=(0, 137, 255), text=(25, 31, 37),
         rtext=(255, 255, 255), stamp=(150, 155, 160), line=(226, 228, 232), inbar=(255, 255, 255),
         box=(244, 245, 247), suffix=(0, 137, 255)),
]
PC_DARK = [
    dict(bg=(25, 25, 25), bar=(25, 25, 25), left=(44, 44, 44), right=(62, 181, 117), text=(213, 213, 213),
         rtext=(15, 15, 15), stamp=(110, 110, 110), line=(40, 40, 40), inbar=(25, 25, 25), box=(44, 44, 44),
         suffix=(230, 140, 50)),
    dict(bg=(30, 31, 34), bar=(36, 37, 40), left=(52, 54, 58), right=(40, 90, 160), text=(222, 222, 222),
         rtext=(235, 235, 235), stamp=(120, 120, 125), line=(48, 49, 52), inbar=(36, 37, 40), box=(52, 54, 58),
         suffix=(230, 150, 60)),
]
PREVIEWS = ["好的，收到", "明天见", "[图片]", "方案我看了", "谢谢", "[文件]", "下午开会", "可以的", "稍等",
            "[语音]", "周五前发我", "合同已盖章"]
MEMBER_WORDS = ["查找聊天内容", "消息免打扰", "置顶聊天", "聊天背景", "清空聊天记录", "备注", "标签"]


def _f(size: float, pick: tuple[str, int] | None = None):  # type: ignore[no-untyped-def]
    path, index = pick or FONTS[0]
    return font(max(8, int(size)), path, index)


# ---------------------------------------------------------------- PC clients


def pc(chat, rng: random.Random, dark: bool, style: str):  # type: ignore[no-untyped-def]
    """"pcflat": the session list in the chat pane's own colour with no line between them (nothing but the text
    columns tells where the pane starts)."""
    flat = style == "pcflat"
    w, h, sc = rng.choice(PC_SCREENS)
    canvas = _wallpaper(rng, (w, h))
    taskbar = int(rng.choice([0, 40, 48]) * sc)
    if rng.random() < 0.3:  # a window on the desktop, not maximised
        ww, wh = int(w * rng.uniform(0.72, 0.92)), int((h - taskbar) * rng.uniform(0.8, 0.95))
        wx, wy = rng.randint(0, w - ww), rng.randint(0, h - taskbar - wh)
    else:
        ww, wh, wx, wy = w, h - taskbar, 0, 0
    pal = dict(rng.choice(PC_DARK if dark else PC_LIGHT))
    icon_w, list_w = int(rng.uniform(54, 72) * sc), int(rng.uniform(220, 330) * sc)
    info_w = int(rng.uniform(230, 300) * sc) if rng.random() < 0.3 else 0
    pane_w = ww - icon_w - list_w - info_w
    pick = rng.choice(FONTS)
    look = Look(font_path=pick[0], font_index=pick[1], text_pt=rng.choice([15, 16, 17, 18]),
                avatar_pt=rng.choice([36, 40, 42]), round_avatar=rng.random() < 0.3, tail=rng.random() < 0.6,
                radius_pt=rng.choice([3, 5, 8]))
    pane, visible = render_chat(chat, rng, (pane_w, wh), dark, scale=rng.uniform(0.72, 0.95) * sc, desktop=True,
                                look=look, pal=pal)
    window = Image.new("RGB", (ww, wh), pal["bg"])
    d = ImageDraw.Draw(window)
    bar_bg = rng.choice([(46, 46, 46), (40, 44, 52), (233, 233, 233), (246, 246, 246)] if not dark else
                        [(30, 30, 30), (20, 20, 22), (40, 40, 40)])
    d.rectangle((0, 0, icon_w, wh), fill=bar_bg)
    icon_ink = (120, 120, 120) if sum(bar_bg) < 384 else (150, 150, 150)
    d.rounded_rectangle((int(12 * sc), int(30 * sc), icon_w - int(12 * sc), int(30 * sc) + icon_w - int(24 * sc)),
                        radius=int(4 * sc), fill=(200, 120, 90))
    for i in range(rng.randint(4, 7)):
        y = int((110 + i * 52) * sc)
        d.rounded_rectangle((icon_w // 2 - int(12 * sc), y, icon_w // 2 + int(12 * sc), y + int(22 * sc)),
                            radius=int(4 * sc), outline=icon_ink, width=max(1, int(2 * sc)))
    list_bg = rng.choice([(230, 230, 230), (247, 247, 247), (255, 255, 255), (238, 240, 243)] if not dark else
                         [(38, 38, 38), (32, 33, 36), (28, 28, 28)])
    if flat:
        list_bg = pal["bg"]
    _session_list(window, rng, (icon_w, 0, icon_w + list_w, wh), sc, dark, list_bg, chat.title)
    window.paste(pane, (icon_w + list_w, 0))
    if not flat and (rng.random() < 0.7 or list_bg == pal["bg"]):
        d.line((icon_w + list_w, 0, icon_w + list_w, wh), fill=pal["line"], width=1)
    if info_w:
        _info_panel(window, rng, (ww - info_w, 0, ww, wh), sc, dark, pal)
    for i in range(3):  # minimise, maximise, close
        x = ww - int((30 + i * 34) * sc)
        d.line((x, int(14 * sc), x + int(10 * sc), int(14 * sc)), fill=pal["stamp"], width=max(1, int(sc)))
    canvas.paste(window, (wx, wy))
    if taskbar:
        dc = ImageDraw.Draw(canvas)
        dc.rectangle((0, h - taskbar, w, h), fill=(32, 32, 40) if rng.random() < 0.6 else (238, 240, 244))
        for i in range(8):
            x = w // 2 - int((4 - i) * 44 * sc)
            dc.rounded_rectangle((x, h - taskbar + int(8 * sc), x + int(28 * sc), h - int(8 * sc)),
                                 radius=int(4 * sc), fill=rng.choice([(90, 140, 200), (230, 180, 60), (80, 180, 90)]))
        dc.text((w - int(80 * sc), h - taskbar + int(10 * sc)), f"{rng.randint(8, 20)}:{rng.randint(0, 59):02d}",
                font=_f(12 * sc), fill=(200, 200, 200))
    return canvas, visible, rng.randint(70, 92), {"size": (w, h), "scaling": sc, "info": bool(info_w),
                                                  "pane_x": wx + icon_w + list_w, "window": (wx, wy, ww, wh)}


def _wallpaper(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    a, b = np.array([rng.randint(20, 200) for _ in range(3)]), np.array([rng.randint(20, 200) for _ in range(3)])
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    col = (a * (1 - t) + b * t).astype(np.uint8)
    return Image.fromarray(np.broadcast_to(col, (h, w, 3)).copy(), "RGB")


def _session_list(img: Image.Image, rng: random.Random, box: tuple[int, int, int, int], sc: float, dark: bool,
                  bg: tuple[int, int, int], current: str) -> None:
    """Other people's names and last messages (one of them a number: the list must never feed the lead)."""
    x0, y0, x1, y1 = box
    d = ImageDraw.Draw(img)
    d.rectangle(box, fill=bg)
    ink, grey = ((210, 210, 210), (120, 120, 120)) if dark else ((30, 30, 30), (150, 150, 150))
    d.rounded_rectangle((x0 + int(12 * sc), y0 + int(24 * sc), x1 - int(40 * sc), y0 + int(50 * sc)),
                        radius=int(4 * sc), fill=tuple(max(0, c - 12) for c in bg))
    d.text((x0 + int(40 * sc), y0 + int(29 * sc)), "搜索", font=_f(12 * sc), fill=grey)
    nf, sf = _f(14 * sc), _f(12 * sc)
    row = int(rng.choice([60, 64, 68]) * sc)
    selected = rng.randint(0, 4)
    for i, y in enumerate(range(y0 + int(64 * sc), y1 - row, row)):
        if i == selected:
            d.rectangle((x0, y, x1, y + row), fill=tuple(max(0, c - 22) if not dark else c + 18 for c in bg))
        a = int(40 * sc)
        top = y + (row - a) // 2
        d.rounded_rectangle((x0 + int(12 * sc), top, x0 + int(12 * sc) + a, top + a), radius=int(4 * sc),
                            fill=rng.choice([(90, 140, 200), (200, 120, 90), (120, 170, 110)]))
        who = current if i == selected else (_name(rng) if rng.random() < 0.7 else rng.choice(NICKNAMES))
        d.text((x0 + a + int(22 * sc), top), who, font=nf, fill=ink)
        last = f"我的电话{phone_number(rng)}" if rng.random() < 0.15 else rng.choice(PREVIEWS)
        d.text((x0 + a + int(22 * sc), top + int(22 * sc)), last, font=sf, fill=grey)
        d.text((x1 - int(44 * sc), top), f"{rng.randint(8, 18)}:{rng.randint(0, 59):02d}", font=sf, fill=grey)


def _info_panel(img: Image.Image, rng: random.Random, box: tuple[int, int, int, int], sc: float, dark: bool,
                pal: dict) -> None:
    x0, y0, _x1, y1 = box
    d = ImageDraw.Draw(img)
    d.rectangle(box, fill=pal["bar"] if rng.random() < 0.5 else pal["bg"])
    d.line((x0, y0, x0, y1), fill=pal["line"], width=1)
    f = _f(13 * sc)
    a = int(40 * sc)
    for i in range(rng.randint(3, 8)):  # members: avatar and name
        cx, cy = x0 + int(16 * sc) + (i % 4) * int(56 * sc), y0 + int(70 * sc) + (i // 4) * int(70 * sc)
        d.rounded_rectangle((cx, cy, cx + a, cy + a), radius=int(4 * sc),
                            fill=rng.choice([(90, 140, 200), (200, 120, 90), (160, 110, 180)]))
        d.text((cx, cy + a + int(4 * sc)), _name(rng), font=_f(11 * sc), fill=pal["stamp"])
    y = y0 + int(240 * sc)
    for word in rng.sample(MEMBER_WORDS, 4):
        d.text((x0 + int(16 * sc), y), word, font=f, fill=pal["text"])
        y += int(44 * sc)


# ---------------------------------------------------------------- photos of a screen or of paper


def photo2(chat, rng: random.Random, dark: bool, style: str):  # type: ignore[no-untyped-def]
    size = rng.choice(SIZES)
    look = Look()
    if rng.random() < 0.5:
        pick = rng.choice(FONTS)
        look = Look(font_path=pick[0], font_index=pick[1], text_pt=rng.choice([16, 17, 18, 19]),
                    round_avatar=rng.random() < 0.5, tail=rng.random() < 0.5)
    screen, visible = render_chat(chat, rng, size, dark, look=look)
    img, meta = photograph(screen, rng, screen_lit=True)
    return img, visible, rng.randint(60, 88), {"size": img.size, **meta}


def photo_monitor(chat, rng: random.Random, dark: bool, style: str):  # type: ignore[no-untyped-def]
    """A PC client on a monitor photographed with a phone: the screen at up to 20° of keystone and tilt, a thin
    black bezel, a wall or office behind it, strong moiré, glare, blur and noise, saved as a camera JPEG."""
    screen, visible, _quality, meta = pc(chat, rng, dark, style)
    img, photo_meta = photograph_monitor(screen, rng)
    return img, visible, rng.randint(55, 85), {**meta, "size": img.size, **photo_meta}


def photograph_monitor(screen: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    out_w, out_h = rng.choice([(2400, 1800), (2000, 1500), (2560, 1440)])
    sw, sh = screen.size
    bezel = int(sw * rng.uniform(0.008, 0.02))
    body = Image.new("RGB", (sw + 2 * bezel, sh + 2 * bezel), rng.choice([(12, 12, 14), (28, 28, 30), (200, 200, 204)]))
    body.paste(screen, (bezel, bezel))
    bw, bh = body.size
    k = min(out_w / bw, out_h / bh) * rng.uniform(0.7, 0.92)
    cx, cy = out_w / 2 + rng.uniform(-0.04, 0.04) * out_w, out_h / 2 + rng.uniform(-0.05, 0.05) * out_h
    yaw, pitch = rng.uniform(-0.18, 0.18), rng.uniform(-0.12, 0.12)  # the far side of the screen looks shorter
    roll = np.radians(rng.uniform(-6, 6))
    corners = []
    for px, py in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = px * bw * k / 2, py * bh * k / 2
        x, y = x * (1 + pitch * py), y * (1 + yaw * px)
        corners.append((cx + x * np.cos(roll) - y * np.sin(roll), cy + x * np.sin(roll) + y * np.cos(roll)))
    from tests.synth_styles import _perspective_coeffs

    quad = [(int(x), int(y)) for x, y in corners]
    warped = body.transform((out_w, out_h), Image.Transform.PERSPECTIVE, _perspective_coeffs(quad, body.size),
                            Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    mask = Image.new("L", (out_w, out_h), 0)
    ImageDraw.Draw(mask).polygon(quad, fill=255)
    room = _desk(rng, (out_w, out_h), rng.choice(("solid", "gradient", "bright")))
    room.paste(warped, mask=mask.filter(ImageFilter.GaussianBlur(1)))
    arr = np.asarray(room, dtype=np.float32)
    inside = np.asarray(mask, dtype=np.float32)[..., None] / 255
    arr = _camera(arr, inside, rng, moire=(6, 16))
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.4)))
    return img, {"yaw": round(yaw, 2), "pitch": round(pitch, 2), "roll": round(float(np.degrees(roll)), 1)}


def _camera(arr: np.ndarray, inside: np.ndarray, rng: random.Random, *, moire: tuple[float, float] = (3, 10),
            lit: bool = True) -> np.ndarray:
    """What a phone camera adds to a lit screen: exposure, moiré (the sensor grid beating against the screen's
    pixels), a soft glare patch, vignetting and sensor noise."""
    out_h, out_w = arr.shape[:2]
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    if lit:
        exposure = rng.uniform(0.8, 1.0)
        arr = arr * (1 - inside * (1 - exposure))
        if rng.random() < 0.7:
            f1, f2 = rng.uniform(0.08, 0.3), rng.uniform(0.08, 0.3)
            a1 = rng.uniform(0, np.pi)
            wave = np.sin(2 * np.pi * f1 * (xx * np.cos(a1) + yy * np.sin(a1))) * \
                np.sin(2 * np.pi * f2 * (xx * np.sin(a1) - yy * np.cos(a1)) * 0.3)
            arr += (rng.uniform(*moire) * wave)[..., None] * inside * np.array([1.0, 0.9, 1.1], dtype=np.float32)
            del wave
    gx, gy = rng.uniform(0.2, 0.8) * out_w, rng.uniform(0.2, 0.8) * out_h
    glare = rng.uniform(15, 55) * np.exp(-(((xx - gx) / (rng.uniform(0.15, 0.4) * out_w)) ** 2
                                           + ((yy - gy) / (rng.uniform(0.1, 0.3) * out_h)) ** 2))
    arr += glare[..., None]
    vignette = 1 - 0.25 * (((xx - out_w / 2) / out_w) ** 2 + ((yy - out_h / 2) / out_h) ** 2) * 4 * rng.random()
    arr *= vignette[..., None]
    del xx, yy, glare, vignette
    return arr + np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 6), arr.shape).astype(
        np.float32)


DESKS = ("solid", "gradient", "wood", "bright", "cloth")


def photograph(screen: Image.Image, rng: random.Random, *, screen_lit: bool) -> tuple[Image.Image, dict]:
    """`screen` (a phone screen, or a sheet of paper when not `screen_lit`) photographed on a desk."""
    out_w, out_h = rng.choice([(1500, 2000), (1200, 1600), (1536, 2048), (1800, 2400)])
    closeup = screen_lit and rng.random() < 0.2
    angle = rng.uniform(-5, 5) if closeup else rng.uniform(-20, 20)
    sw, sh = screen.size
    bezel_kind = "none" if closeup or not screen_lit else rng.choice(["black", "black", "white", "grey", "none"])
    bezel = 0 if bezel_kind == "none" else int(sw * rng.uniform(0.025, 0.06))
    body = Image.new("RGB", (sw + 2 * bezel, sh + 2 * bezel),
                     {"black": (12, 12, 14), "white": (236, 236, 232), "grey": (150, 152, 156)}.get(bezel_kind,
                                                                                                  (0, 0, 0)))
    body.paste(screen, (bezel, bezel))
    bw, bh = body.size
    th = abs(np.radians(angle))
    fit = min(out_w / (bw * np.cos(th) + bh * np.sin(th)), out_h / (bw * np.sin(th) + bh * np.cos(th)))
    k = fit * (rng.uniform(0.96, 1.0) if closeup else rng.uniform(0.6, 0.92))
    cx, cy = out_w / 2 + rng.uniform(-0.05, 0.05) * out_w, out_h / 2 + rng.uniform(-0.04, 0.04) * out_h
    corners = []
    for px, py in ((-bw / 2, -bh / 2), (bw / 2, -bh / 2), (bw / 2, bh / 2), (-bw / 2, bh / 2)):
        x, y = px * k, py * k
        jitter = 0.05 * bw * k
        corners.append((cx + x * np.cos(th * np.sign(angle)) - y * np.sin(th * np.sign(angle))
                        + rng.uniform(-jitter, jitter),
                        cy + x * np.sin(th * np.sign(angle)) + y * np.cos(th * np.sign(angle))
                        + rng.uniform(-jitter, jitter)))
    from tests.synth_styles import _perspective_coeffs

    quad = [(int(x), int(y)) for x, y in corners]
    warped = body.transform((out_w, out_h), Image.Transform.PERSPECTIVE, _perspective_coeffs(quad, body.size),
                            Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    mask = Image.new("L", (out_w, out_h), 0)
    ImageDraw.Draw(mask).polygon(quad, fill=255)
    desk_kind = rng.choice(DESKS)
    photo = _desk(rng, (out_w, out_h), desk_kind)
    photo.paste(warped, mask=mask.filter(ImageFilter.GaussianBlur(1)))
    arr = np.asarray(photo, dtype=np.float32)
    inside = np.asarray(mask, dtype=np.float32)[..., None] / 255
    arr = _camera(arr, inside, rng, lit=screen_lit)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.8)))
    return img, {"angle": round(angle, 1), "bezel": bezel_kind, "desk": desk_kind, "closeup": closeup}


def _desk(rng: random.Random, size: tuple[int, int], kind: str) -> Image.Image:
    w, h = size
    if kind == "solid":
        return Image.new("RGB", size, tuple(rng.randint(30, 160) for _ in range(3)))  # type: ignore[arg-type]
    if kind == "bright":  # a white desk or a sheet of paper under the phone
        v = rng.randint(200, 235)
        return Image.new("RGB", size, (v, v - rng.randint(0, 6), v - rng.randint(0, 10)))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "gradient":
        a, b = np.array([rng.randint(30, 200) for _ in range(3)]), np.array([rng.randint(30, 200) for _ in range(3)])
        t = ((xx / w + yy / h) / 2)[..., None]
        arr = a * (1 - t) + b * t
    elif kind == "wood":
        base = np.array([rng.randint(110, 170), rng.randint(70, 110), rng.randint(40, 70)], dtype=np.float32)
        grain = np.sin(yy / rng.uniform(6, 14) + 3 * np.sin(xx / rng.uniform(80, 200))) * 18
        arr = base + grain[..., None]
    else:  # cloth: a fine weave
        base = np.array([rng.randint(40, 180) for _ in range(3)], dtype=np.float32)
        arr = base + (8 * np.sin(xx / 2.3) * np.sin(yy / 2.1))[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


# ---------------------------------------------------------------- documents with a number, no chat


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _date(rng: random.Random) -> str:
    return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _receipt_lines(rng: random.Random) -> list[tuple[str, str]]:
    shop = rng.choice(["惠民", "家家乐", "万佳", "好又多", "佳美"]) + rng.choice(["超市", "便利店", "生鲜超市"])
    goods = ["牛奶", "面包", "鸡蛋", "大米5kg", "食用油", "矿泉水", "洗衣液", "苹果", "纸巾", "酸奶"]
    out = [("c", f"{shop}（{rng.choice(['东门', '滨江', '人民路', '新城'])}店）"), ("c", "购物小票"),
           ("l", f"门店电话：{phone_number(rng)}"),
           ("l", f"收银员：{rng.randint(1, 20):03d}  机号：{rng.randint(1, 9)}"),
           ("l", f"日期：{_date(rng)} {rng.randint(8, 21)}:{rng.randint(10, 59)}"), ("r", "品名  数量  单价  金额")]
    total = 0.0
    for g in rng.sample(goods, rng.randint(4, 7)):
        q, p = rng.randint(1, 3), rng.randint(3, 60) + rng.choice([0.5, 0.9, 0.0])
        total += q * p
        out.append(("l", f"{g}  {q}  {p:.2f}  {q * p:.2f}"))
    paid = (int(total) // 50 + 1) * 50
    out += [("l", f"合计：{total:.2f}"), ("l", f"实收：{paid:.2f}  找零：{paid - total:.2f}"),
            ("l", f"会员卡号：{_digits(rng, 10)}"), ("c", "多谢光顾，祝您生活愉快")]
    return out


def _price_list(rng: random.Random) -> list[tuple[str, str]]:
    _short, full, _ = rng.choice(COMPANIES)
    out = [("c", f"{full}"), ("c", f"{rng.choice(['2025年产品价格表', '产品报价单', '价目表'])}"),
           ("r", "序号  产品名称  规格  单价（元）")]
    for i, need in enumerate(rng.sample(NEEDS, rng.randint(4, 7)), 1):
        out.append(("l", f"{i}  {need}  {rng.choice(['标准版', '专业版', '企业版'])}  {rng.randint(2, 90) * 1000}"))
    out += [("l", "以上价格含税，有效期30天"),
            ("l", f"联系人：{rng.choice(SURNAMES)}经理  电话：{phone_number(rng)}")]
    return out


def _tender(rng: random.Random) -> list[tuple[str, str]]:
    _short, full, _ = rng.choice(COMPANIES)
    thing = rng.choice(NEEDS)
    return [("c", f"{full}{thing}采购项目"), ("c", rng.choice(["招标公告", "竞争性磋商公告", "询价公告"])),
            ("l", f"项目编号：{rng.choice(['ZB', 'CG', 'XJ'])}{_digits(rng, 8)}"),
            ("l", f"采购人：{full}"), ("l", f"预算金额：{rng.randint(20, 500)}万元"),
            ("l", "一、投标人资格要求：具有独立法人资格"),
            ("l", f"二、报名时间：{_date(rng)}至{_date(rng)}"),
            ("l", "三、获取招标文件方式：线上报名"),
            ("l", f"联系人：{_name(rng)}"), ("l", f"联系电话：{phone_number(rng)}"),
            ("r", f"{_date(rng)}")]


def _invoice(rng: random.Random) -> list[tuple[str, str]]:
    buyer, seller = rng.sample(COMPANIES, 2)
    amount = rng.randint(1000, 90000)
    return [("c", "增值税发票 · 开票信息"), ("r", f"发票号码：{_digits(rng, 20)}"),
            ("l", f"购买方名称：{buyer[1]}"), ("l", f"纳税人识别号：91{_digits(rng, 16)}"),
            ("l", f"地址、电话：{rng.choice(['中山路', '解放大道', '科技园'])}{rng.randint(1, 300)}号"
                  f" {phone_number(rng)}"),
            ("l", f"项目名称：{rng.choice(NEEDS)}  数量：1  金额：{amount}.00"),
            ("l", f"税率：{rng.choice([6, 13])}%  价税合计：¥{amount * 1.06:.2f}"),
            ("l", f"销售方名称：{seller[1]}"), ("l", f"开票人：{_name(rng)}")]


def _announcement(rng: random.Random) -> list[tuple[str, str]]:
    _short, full, _ = rng.choice(COMPANIES)
    topic = rng.choice(["停水", "消防演练", "年度体检", "办公室搬迁", "系统升级维护"])
    return [("c", f"关于{topic}的通知"), ("l", "各部门、各位员工："),
            ("l", f"因工作安排，{_date(rng)}将进行{topic}，请大家提前做好准备。"),
            ("l", "如有疑问请与行政部联系。"),
            ("l", f"联系人：{_name(rng)}  电话：{phone_number(rng)}"),
            ("r", full), ("r", _date(rng))]


DOCS = {"receipt": _receipt_lines, "price_list": _price_list, "tender": _tender, "invoice": _invoice,
        "announcement": _announcement, "bank_sms": None}


def _page(lines: list[tuple[str, str]], size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A white page with its lines: centred headings, left-aligned body, right-aligned dates."""
    w, h = size
    img = Image.new("RGB", size, (255, 255, 255) if rng.random() < 0.7 else (250, 248, 240))
    d = ImageDraw.Draw(img)
    margin = int(w * rng.uniform(0.04, 0.09))
    pick = rng.choice(FONTS)
    size_px = w / rng.uniform(20, 26)
    y = int(h * rng.uniform(0.06, 0.12))
    for align, text in lines:
        f = _f(size_px * (1.2 if align == "c" and y < h * 0.25 else 1.0), pick)
        while f.getlength(text) > w - 2 * margin and f.size > 10:
            f = _f(f.size - 2, pick)
        tw = f.getlength(text)
        x = {"c": (w - tw) / 2, "l": margin, "r": w - margin - tw}[align]
        d.text((x, y), text, font=f, fill=(20, 20, 20))
        y += int(f.size * rng.uniform(1.6, 2.1))
    return img


def _sms(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A messages app: grey bubbles from a bank's service number, no avatars."""
    w, h = size
    s = w / 375
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    bank = rng.choice(["工商", "农业", "招商", "建设", "城商"]) + "银行"
    d.text(((w - 120 * s) / 2, 60 * s), f"{rng.choice(['95', '106'])}{_digits(rng, 3)}", font=_f(17 * s),
           fill=(20, 20, 20))
    d.line((0, 100 * s, w, 100 * s), fill=(220, 220, 220), width=max(1, int(s)))
    f = _f(16 * s)
    y = 130 * s
    for _ in range(rng.randint(2, 4)):
        text = (f"【{bank}】您尾号{_digits(rng, 4)}的账户于{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
                f"{rng.choice(['支出', '收入'])}{rng.randint(10, 9000)}.00元，余额{rng.randint(100, 90000)}.52元。"
                f"如有疑问请致电客户经理{phone_number(rng)}")
        lines, cur = [], ""
        for ch in text:
            if f.getlength(cur + ch) > w * 0.66:
                lines.append(cur)
                cur = ""
            cur += ch
        lines.append(cur)
        bh = len(lines) * f.size * 1.4 + 20 * s
        d.rounded_rectangle((14 * s, y, 14 * s + w * 0.66 + 24 * s, y + bh), radius=int(14 * s), fill=(233, 233, 235))
        for i, ln in enumerate(lines):
            d.text((26 * s, y + 10 * s + i * f.size * 1.4), ln, font=f, fill=(20, 20, 20))
        y += bh + 26 * s
        if y > h * 0.8:
            break
    return img


def document(rng: random.Random) -> tuple[Image.Image, str, str]:
    """(image, kind, visible text) of a document with a mobile number in it, in one of three captures."""
    kind = rng.choice(sorted(DOCS))
    capture = rng.choice(["screen", "screen", "photo", "desktop"])
    if kind == "bank_sms":
        page = _sms(rng, rng.choice(SIZES))
        capture = "screen" if capture == "desktop" else capture
    else:
        lines = DOCS[kind](rng)  # type: ignore[misc]
        page_size = (1240, 1754) if capture != "screen" else rng.choice(SIZES)
        page = _page(lines, page_size, rng)
    if capture == "screen":
        img = page
        if kind != "bank_sms":  # a status bar over the document viewer
            d = ImageDraw.Draw(img)
            d.rectangle((0, 0, img.width, img.width // 10), fill=(248, 248, 248))
            d.text((img.width // 20, img.width // 40), f"{rng.randint(8, 22)}:{rng.randint(10, 59)}",
                   font=_f(img.width / 26), fill=(20, 20, 20))
    elif capture == "photo":
        img, _ = photograph(page, rng, screen_lit=kind == "bank_sms")
    else:
        w, h = rng.choice([(1920, 1080), (2560, 1440)])
        img = Image.new("RGB", (w, h), (60, 64, 72))
        view = page.resize((int(h * 0.9 * page.width / page.height), int(h * 0.9)), Image.Resampling.LANCZOS)
        img.paste(view, ((w - view.width) // 2, int(h * 0.05)))
    return img.convert("RGB"), kind, ""
