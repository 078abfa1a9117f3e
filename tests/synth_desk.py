"""Desktop and iPad chat screenshots drawn from scratch, as a held-out check on pane finding.

Written apart from tests/synth.py's `render_chat` and tests/synth_pc.py on purpose: its own geometry and palettes,
so the reader is tried on layouts its own generator never drew. Only the conversation (people, facts, truth) comes
from tests/synth.py's vocabulary. Styles:

- "wxpc": WeChat PC (light grey panes, green own bubbles, a dark or light icon sidebar of 60–90 logical px);
- "wwpc": WeCom PC (white / blue-grey panes, blue accents, 「名字 @微信」 or 「名字 @公司」 titles);
- "darkpc": either client in its dark theme;
- "ipad": an iPad split view (status bar, session list left, chat right), 2388×1668 or 2048×1536.

Screens are 1920×1080 or 2560×1440 at 100 / 125 / 150 % scaling; a session list 220–320 logical px wide, a title
bar with the contact's name, the input box at the bottom, sometimes an info panel on the right, sometimes the
window not maximised on a wallpaper.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw, ImageFont

from tests.synth import (
    EMOJI,
    NICKNAMES,
    Chat,
    Item,
    Sample,
    Truth,
    _colleague_chat,
    _group_chat,
    _lead_chat,
    _name,
    _now,
    _truth_for_chat,
)

DESK_STYLES = ("wxpc", "wwpc", "darkpc", "ipad")
SCREENS = [(1920, 1080, 1.0), (1920, 1080, 1.25), (1920, 1080, 1.5), (2560, 1440, 1.0), (2560, 1440, 1.25),
           (2560, 1440, 1.5)]
IPADS = [(2388, 1668), (2048, 1536)]
NOTO = "/usr/share/fonts/opentype/noto/"
FONTS = [NOTO + "NotoSansCJK-Regular.ttc", NOTO + "NotoSansCJK-Bold.ttc"]
PREVIEWS = ["好的", "[图片]", "收到，谢谢", "明天上午过来", "合同已发", "[语音]", "报价单看下", "周五见", "[文件]"]

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Theme:
    rail: RGB  # the icon sidebar
    rail_icon: RGB
    listing: RGB  # the session list
    picked: RGB  # the open chat's row in it
    pane: RGB  # the chat pane
    head: RGB  # the chat's title bar
    theirs: RGB
    mine: RGB
    ink: RGB
    mine_ink: RGB
    faint: RGB
    rule: RGB  # separator lines
    entry: RGB  # the input box
    accent: RGB
    tag: RGB  # the 「@微信」 colour


def _wechat(rng: random.Random) -> Theme:
    dark_rail = rng.random() < 0.5
    grey = rng.choice([(245, 245, 245), (242, 242, 242), (237, 237, 237)])
    return Theme(rail=(46, 46, 46) if dark_rail else (231, 231, 231), rail_icon=(150, 150, 150),
                 listing=rng.choice([(230, 229, 229), (247, 247, 247), (238, 238, 238)]),
                 picked=(198, 198, 198), pane=grey, head=grey, theirs=(255, 255, 255),
                 mine=rng.choice([(149, 236, 105), (137, 217, 97), (169, 234, 122)]), ink=(25, 25, 25),
                 mine_ink=(25, 25, 25), faint=(160, 160, 160), rule=(220, 220, 220),
                 entry=rng.choice([grey, (255, 255, 255)]), accent=(7, 193, 96), tag=(7, 193, 96))


def _wecom(rng: random.Random) -> Theme:
    pane = rng.choice([(255, 255, 255), (248, 249, 251), (243, 245, 248)])
    return Theme(rail=rng.choice([(235, 238, 243), (44, 56, 79), (247, 248, 250)]), rail_icon=(120, 132, 152),
                 listing=rng.choice([(255, 255, 255), (245, 247, 250), (238, 241, 246)]),
                 picked=(222, 230, 242), pane=pane, head=pane, theirs=rng.choice([(255, 255, 255), (236, 239, 243)]),
                 mine=rng.choice([(206, 226, 253), (50, 120, 240), (222, 236, 255)]), ink=(30, 34, 40),
                 mine_ink=(30, 34, 40), faint=(150, 156, 166), rule=(225, 229, 235), entry=(255, 255, 255),
                 accent=(40, 110, 240), tag=(30, 170, 90))


def _dark(rng: random.Random) -> Theme:
    pane = rng.choice([(25, 25, 25), (32, 33, 36), (17, 17, 17)])
    return Theme(rail=(38, 38, 38), rail_icon=(110, 110, 110), listing=rng.choice([(41, 41, 41), (30, 31, 34)]),
                 picked=(60, 60, 60), pane=pane, head=pane, theirs=(50, 50, 52),
                 mine=rng.choice([(38, 150, 80), (46, 100, 190)]), ink=(215, 215, 215), mine_ink=(235, 235, 235),
                 faint=(120, 120, 120), rule=(55, 55, 55), entry=pane, accent=(60, 170, 90), tag=(60, 170, 90))


class _Random(random.Random):
    """The generator's random source, with the features a test asks for always drawn (`_chance`)."""

    def __init__(self, seed: int, always: frozenset[str]) -> None:
        super().__init__(seed)
        self.always = always


def _chance(rng: random.Random, p: float, feature: str) -> bool:
    """Draw `feature` with probability `p`, or always when the caller asked for it (the same draws either way)."""
    return rng.random() < p or feature in getattr(rng, "always", ())


def make_desk(seed: int, style: str, kind: str = "lead", *, always: frozenset[str] = frozenset()) -> Sample:
    """One screenshot of `style` ("wxpc", "wwpc", "darkpc", "ipad") with its ground truth; same seed → same bytes.
    `always`: features drawn whatever the seed says ("scrollbar", "named": the name over each customer bubble,
    "windowed": not maximised, "flatlist": the session list in the pane's colour with no line, "portrait")."""
    rng = _Random(seed * 11 + DESK_STYLES.index(style), always)
    now = _now(rng)
    chat_seed = rng.randint(0, 2**31)
    gen = {"lead": _lead_chat, "colleague": _colleague_chat, "group": _group_chat}[kind]
    chat = gen(random.Random(chat_seed), now)
    wecom = style == "wwpc" or (style != "wxpc" and rng.random() < 0.5)
    chat = _titled(chat, wecom)
    theme = _dark(rng) if style == "darkpc" else _wecom(rng) if wecom else _wechat(rng)
    if style != "darkpc" and rng.random() < 0.3:
        theme = replace(theme, head=(255, 255, 255))
    if _chance(rng, 0.2, "flatlist"):  # the session list in the pane's own colour (and no line: `_desktop`)
        theme = replace(theme, listing=theme.pane)
    if style == "ipad":
        img, visible = _ipad(chat, rng, theme)
    else:
        img, visible = _desktop(chat, rng, theme, wecom)
    out = io.BytesIO()
    if rng.random() < 0.5:
        img.save(out, "PNG")
    else:
        img.save(out, "JPEG", quality=rng.randint(80, 95))
    text = (chat.title + (chat.suffix or "") + "".join(it.text for it in visible)).replace(EMOJI, "")
    truth = _truth_for_chat(chat, visible, now, chat_seed) if kind == "lead" else Truth(False, kind)
    return Sample(f"{seed}-{style}-{kind}", out.getvalue(), now, truth, text,
                  {"style": style, "kind": kind, "size": img.size, "visible": visible})


def _titled(chat: Chat, wecom: bool) -> Chat:
    """WeChat shows the remark only; WeCom adds 「@公司」 for a customer's company account or 「@微信」."""
    if not wecom:
        return replace(chat, app="wechat", suffix=None, tag=None)
    if chat.suffix or chat.title.endswith(")"):
        return replace(chat, app="wecom")
    return replace(chat, app="wecom", tag="@微信")


def _font(px: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS[bold], max(8, round(px)), index=2)


def _desktop(chat: Chat, rng: random.Random, th: Theme, wecom: bool) -> tuple[Image.Image, list[Item]]:
    w, h, s = rng.choice(SCREENS)
    screen = Image.new("RGB", (w, h), rng.choice([(58, 96, 140), (30, 40, 52), (120, 150, 170)]))
    windowed = _chance(rng, 0.3, "windowed")
    if windowed:
        ww, wh = int(w * rng.uniform(0.62, 0.85)), int(h * rng.uniform(0.75, 0.92))
        ox, oy = rng.randint(0, w - ww), rng.randint(0, h - wh)
    else:
        ww, wh, ox, oy = w, h - int(40 * s), 0, 0
        _taskbar(screen, h - int(40 * s), s)
    win = Image.new("RGB", (ww, wh), th.pane)
    d = ImageDraw.Draw(win)
    rail = int(rng.uniform(60, 90) * s)
    lst = int(rng.uniform(220, 320) * s)
    info = int(rng.uniform(240, 300) * s) if rng.random() < 0.25 and ww - rail - lst > 900 * s else 0
    d.rectangle((0, 0, rail, wh), fill=th.rail)
    _rail_icons(d, rng, rail, s, th)
    d.rectangle((rail, 0, rail + lst, wh), fill=th.listing)
    _sessions(d, rng, (rail, 0, rail + lst, wh), s, th, chat.title)
    if rng.random() < 0.7 and "flatlist" not in getattr(rng, "always", ()):
        d.line((rail + lst, 0, rail + lst, wh), fill=th.rule, width=max(1, int(s)))
    x0, x1 = rail + lst + 1, ww - info
    if info:
        d.rectangle((x1, 0, ww, wh), fill=th.listing)
        d.line((x1, 0, x1, wh), fill=th.rule, width=max(1, int(s)))
        _info_panel(d, rng, (x1, 0, ww, wh), s, th, chat)
    visible = _pane(d, rng, (x0, 0, x1, wh), s, th, chat, wecom)
    screen.paste(win, (ox, oy))
    return screen, visible


def _taskbar(screen: Image.Image, top: int, s: float) -> None:
    d = ImageDraw.Draw(screen)
    d.rectangle((0, top, screen.width, screen.height), fill=(225, 230, 238))
    f = _font(12 * s)
    d.text((screen.width - 90 * s, top + 4 * s), "14:32", font=f, fill=(20, 20, 20))
    d.text((screen.width - 100 * s, top + 20 * s), "2025/3/18", font=f, fill=(20, 20, 20))


def _rail_icons(d: ImageDraw.ImageDraw, rng: random.Random, rail: int, s: float, th: Theme) -> None:
    side = int(34 * s)
    x = (rail - side) // 2
    d.rectangle((x, int(40 * s), x + side, int(40 * s) + side), fill=(rng.randint(80, 200), 120, 160))
    for i in range(rng.randint(4, 7)):
        y = int((100 + 52 * i) * s)
        d.rounded_rectangle((x + 6 * s, y, x + side - 6 * s, y + side - 12 * s), radius=int(4 * s),
                            outline=th.rail_icon, width=max(1, int(2 * s)))


def _sessions(d: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int], s: float, th: Theme,
              open_title: str) -> None:
    x0, _, x1, y1 = box
    d.rounded_rectangle((x0 + 12 * s, 24 * s, x1 - 44 * s, 50 * s), radius=int(4 * s), fill=th.rule)
    d.text((x0 + 34 * s, 29 * s), "搜索", font=_font(12 * s), fill=th.faint)
    row = int(rng.uniform(62, 72) * s)
    y = int(64 * s)
    chosen = rng.randint(0, 4)
    fn, fp = _font(14 * s), _font(12 * s)
    i = 0
    while y + row < y1:
        if i == chosen:
            d.rectangle((x0, y, x1, y + row), fill=th.picked)
        av = int(40 * s)
        d.rectangle((x0 + 12 * s, y + (row - av) // 2, x0 + 12 * s + av, y + (row + av) // 2),
                    fill=(rng.randint(60, 220), rng.randint(60, 220), rng.randint(60, 220)))
        name = open_title if i == chosen else rng.choice([_name(rng), rng.choice(NICKNAMES), "文件传输助手"])
        d.text((x0 + 62 * s, y + 12 * s), name[:9], font=fn, fill=th.ink)
        d.text((x1 - 48 * s, y + 14 * s), f"{rng.randint(8, 18)}:{rng.randint(0, 59):02d}", font=fp, fill=th.faint)
        d.text((x0 + 62 * s, y + 36 * s), rng.choice(PREVIEWS), font=fp, fill=th.faint)
        if rng.random() < 0.2:  # an unread count on the avatar's corner
            bx, by = x0 + 44 * s, y + (row - av) // 2 - 6 * s
            d.ellipse((bx, by, bx + 18 * s, by + 18 * s), fill=(250, 81, 81))
            d.text((bx + 9 * s, by + 9 * s), str(rng.randint(1, 9)), font=_font(11 * s), fill=(255, 255, 255),
                   anchor="mm")
        y += row
        i += 1


def _info_panel(d: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int], s: float, th: Theme,
                chat: Chat) -> None:
    x0 = box[0]
    f = _font(13 * s)
    d.rectangle((x0 + 20 * s, 30 * s, x0 + 72 * s, 82 * s), fill=(rng.randint(60, 200), 140, 120))
    for i, label in enumerate(["备注", "标签", "来源", "描述"]):
        d.text((x0 + 20 * s, (110 + 36 * i) * s), label, font=f, fill=th.faint)
    d.text((x0 + 90 * s, 110 * s), "添加备注", font=f, fill=th.faint)


def _pane(d: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int], s: float,
          th: Theme, chat: Chat, wecom: bool) -> list[Item]:
    x0, y0, x1, y1 = box
    head = int(rng.uniform(56, 64) * s)
    ft = _font(rng.choice([15, 16, 17]) * s)
    d.rectangle((x0, y0, x1, y0 + head), fill=th.head)
    d.line((x0, y0 + head, x1, y0 + head), fill=th.rule, width=max(1, int(s)))
    tx, ty = x0 + 22 * s, y0 + (head - ft.size) / 2 - 2 * s
    d.text((tx, ty), chat.title, font=ft, fill=th.ink)
    after = tx + d.textlength(chat.title, font=ft) + 6 * s
    if chat.suffix:
        d.text((after, ty), chat.suffix, font=ft, fill=th.tag)
    elif chat.tag:
        d.text((after, ty + 2 * s), chat.tag, font=_font(13 * s), fill=th.tag)
    d.text((x1 - 40 * s, ty), "···", font=ft, fill=th.faint)
    foot = int(rng.uniform(150, 200) * s)
    d.rectangle((x0, y1 - foot, x1, y1), fill=th.entry)
    d.line((x0, y1 - foot, x1, y1 - foot), fill=th.rule, width=max(1, int(s)))
    for i in range(5):
        ix = x0 + (20 + 34 * i) * s
        d.ellipse((ix, y1 - foot + 12 * s, ix + 18 * s, y1 - foot + 30 * s), outline=th.faint, width=max(1, int(s)))
    bw, bh = 70 * s, 30 * s
    d.rounded_rectangle((x1 - bw - 24 * s, y1 - bh - 18 * s, x1 - 24 * s, y1 - 18 * s), radius=int(4 * s),
                        fill=th.accent if wecom else th.rule)
    d.text((x1 - bw - 24 * s + 14 * s, y1 - bh - 14 * s), "发送(S)" if not wecom else "发送", font=_font(13 * s),
           fill=(255, 255, 255) if wecom else th.accent)
    if _chance(rng, 0.4, "scrollbar"):  # the message list's scrollbar
        top = y0 + head + rng.randint(10, 200) * s
        d.rounded_rectangle((x1 - 9 * s, top, x1 - 3 * s, top + 120 * s), radius=int(3 * s), fill=th.rule)
    return _messages(d, rng, chat, (x0, y0 + head + 1, x1 - 10 * s, y1 - foot - 1), s, th,
                     14 * rng.choice([1.0, 1.07]))


def _messages(d: ImageDraw.ImageDraw, rng: random.Random, chat: Chat, box: tuple[float, float, float, float],
              s: float, th: Theme, pt: float) -> list[Item]:
    """The bubbles bottom up (the newest at the bottom), as many as fit; returns the items shown, oldest first."""
    x0, y0, x1, y1 = box
    f, fs = _font(pt * s), _font(12 * s)
    av = int(rng.choice([34, 36, 40]) * s)
    pad = int(rng.uniform(9, 12) * s)
    wide = min((x1 - x0) * 0.62, 520 * s)
    gap = int(rng.uniform(14, 22) * s)
    line_h = int(pt * s * 1.45)
    faces = {side: (rng.randint(70, 210), rng.randint(70, 210), 150) for side in ("left", "right")}
    round_faces, letters, named = rng.random() < 0.5, rng.random() < 0.4, _chance(rng, 0.3, "named")
    items, speaker = chat.items, chat.title
    blocks: list[tuple[Item, list[str], int]] = []
    for it in items:
        lines = [it.text] if it.kind == "time" else _wrap(d, it.text, f, wide - 2 * pad)
        hgt = int(22 * s) if it.kind == "time" else max(av, len(lines) * line_h + 2 * pad)
        hgt += int(18 * s) if (named or it.sender) and it.kind == "left" else 0
        blocks.append((it, lines, hgt))
    y = y1 - gap
    shown: list[tuple[Item, list[str], int, int]] = []
    for it, lines, hgt in reversed(blocks):
        if y - hgt < y0 + gap:
            break
        y -= hgt
        shown.append((it, lines, y, hgt))
        y -= gap
    for it, lines, top, _ in shown:
        if it.kind == "time":
            tw = d.textlength(it.text, font=fs)
            d.text(((x0 + x1 - tw) / 2, top + 3 * s), it.text, font=fs, fill=th.faint)
            continue
        left = it.kind == "left"
        bw = max(d.textlength(ln, font=f) for ln in lines) + 2 * pad
        ax = x0 + 24 * s if left else x1 - 24 * s - av
        _face(d, (ax, top, ax + av), faces[it.kind], round_faces, speaker[0] if letters and left else "")
        if (named or it.sender) and left:  # the sender's name above the bubble (always in a group)
            d.text((ax + av + 10 * s, top - 2 * s), it.sender or speaker, font=fs, fill=th.faint)
            top += int(18 * s)
        bx = ax + av + 10 * s if left else ax - 10 * s - bw
        fill, ink = (th.theirs, th.ink) if left else (th.mine, th.mine_ink)
        d.rounded_rectangle((bx, top, bx + bw, top + len(lines) * line_h + 2 * pad), radius=int(4 * s), fill=fill)
        for k, ln in enumerate(lines):
            d.text((bx + pad, top + pad + k * line_h), ln, font=f, fill=ink)
    return [it for it, *_ in reversed(shown)]


def _face(d: ImageDraw.ImageDraw, at: tuple[float, float, float], colour: RGB, round_: bool, letter: str) -> None:
    """An avatar: a square or a disc, a photo's flat colour or the surname on a coloured disc (WeCom's default)."""
    x, y, side = at[0], at[1], at[2] - at[0]
    (d.ellipse if round_ else d.rectangle)((x, y, x + side, y + side), fill=colour)
    if letter:
        f = _font(side * 0.45)
        d.text((x + side / 2, y + side / 2), letter, font=f, fill=(255, 255, 255), anchor="mm")


def _wrap(d: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    for para in text.replace(EMOJI, "").split("\n"):
        cur = ""
        for ch in para:
            if d.textlength(cur + ch, font=f) > width and cur:
                lines.append(cur)
                cur = ch
            else:
                cur += ch
        lines.append(cur)
    return lines


def _ipad(chat: Chat, rng: random.Random, th: Theme) -> tuple[Image.Image, list[Item]]:
    w, h = rng.choice(IPADS)
    if _chance(rng, 0.3, "portrait"):
        w, h = h, w  # portrait: the split still shows both columns
    s = 2.0
    img = Image.new("RGB", (w, h), th.pane)
    d = ImageDraw.Draw(img)
    lst = int(w * rng.uniform(0.30, 0.38))
    bar = int(24 * s)
    d.rectangle((0, 0, lst, h), fill=th.listing)
    d.text((20 * s, 4 * s), f"{rng.randint(8, 20)}:{rng.randint(0, 59):02d}", font=_font(12 * s), fill=th.ink)
    d.text((w - 70 * s, 4 * s), "100%", font=_font(12 * s), fill=th.ink)
    _sessions(d, rng, (0, bar, lst, h), s, th, chat.title)
    d.line((lst, 0, lst, h), fill=th.rule, width=2)
    return img, _ipad_pane(d, rng, (lst + 1, bar, w, h), s, th, chat)


def _ipad_pane(d: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int],
               s: float, th: Theme, chat: Chat) -> list[Item]:
    x0, y0, x1, y1 = box
    head = int(44 * s)
    ft = _font(17 * s, bold=True)
    title = chat.title + (chat.suffix or "")
    tw = d.textlength(title, font=ft)
    d.text(((x0 + x1 - tw) / 2, y0 + (head - ft.size) / 2), title, font=ft, fill=th.ink)
    if chat.tag:
        d.text(((x0 + x1 + tw) / 2 + 6 * s, y0 + (head - 13 * s) / 2), chat.tag, font=_font(13 * s), fill=th.tag)
    d.line((x0, y0 + head, x1, y0 + head), fill=th.rule, width=2)
    foot = int(56 * s)
    d.rectangle((x0, y1 - foot, x1, y1), fill=th.listing)
    d.rounded_rectangle((x0 + 50 * s, y1 - foot + 9 * s, x1 - 90 * s, y1 - 9 * s), radius=int(6 * s), fill=th.entry)
    return _messages(d, rng, chat, (x0, y0 + head + 1, x1, y1 - foot - 1), s, th, 16)


def desk_set(seed: int, per_style: int, negatives: int = 1) -> list[Sample]:
    """`per_style` leads of every style plus `negatives` colleague / group chats per style."""
    out = []
    for style in DESK_STYLES:
        for i in range(per_style + negatives):
            kind = "lead" if i < per_style else ("colleague", "group")[i % 2]
            out.append(make_desk(seed + 101 * i, style, kind))
    return out
