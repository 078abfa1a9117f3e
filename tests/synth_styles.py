"""More screenshot styles around the chats of tests/synth.py: PC clients (1920×1080 / 2560×1440 at 100–150 %
scaling, sidebar + session list + chat pane), iPad split view, photos of a phone screen, small phone sizes,
low-quality JPEGs forwarded twice, and "alt": phone shots as another hand would draw them (other fonts and text
sizes, round avatars, no bubble tails, timestamps and system notices on pills, a carrier in the status bar).
Ground truth as in tests/synth.py; every name and company is invented there.
"""

from __future__ import annotations

import dataclasses
import io
import random
from datetime import timedelta

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.synth import (
    COMPANIES,
    EMOJI,
    NEEDS,
    NICKNAMES,
    PALETTES,
    REP_COMPANY,
    SIZES,
    TITLES,
    Chat,
    Item,
    Look,
    Sample,
    Truth,
    _colleague_chat,
    _group_chat,
    _jpeg,
    _lead_chat,
    _name,
    _now,
    _smalltalk_chat,
    _stamp,
    _truth_for_chat,
    font,
    render_chat,
)
from tests.synth import (
    _phone as _phone_number,
)
from tests.synth_pc import courier_chat, internal_chat, new_number_chat, office_chat, recruit_chat, wechat_pc, wecom_pc
from tests.synth_photo import photo_pc
from tests.synth_wild import document, pc, photo2, photo_monitor

STYLES = ("phone", "dingtalk", "desktop", "ipad", "photo", "photodark", "small", "lowq", "content", "alt",
          "pc", "photo2", "docs", "wecompc", "wechatpc", "photomon", "pcflat", "photopc")
# stable seeds (photopc shares pcflat's salt: two branches landed the same day; its tests' seeds rely on it)
STYLE_SALT = {"phone": 0, "desktop": 1, "ipad": 2, "photo": 3, "small": 4, "lowq": 5, "dingtalk": 6, "content": 7,
              "alt": 8, "photodark": 9, "pc": 10, "photo2": 11, "docs": 12, "wecompc": 13, "wechatpc": 14,
              "photomon": 15, "pcflat": 16, "photopc": 16}
# the kinds of no-lead chat each style is benchmarked with (bench/ocr.py): the vendor-drawn PC clients also with
# the hard negatives such screenshots showed
NEGATIVES = {"wecompc": ("courier", "internal", "colleague", "group", "recruit", "office"),
             "wechatpc": ("courier", "internal", "smalltalk", "newnumber"),
             "phone": ("colleague", "group", "smalltalk", "courier", "recruit", "newnumber", "office")}
NOTO = "/usr/share/fonts/opentype/noto/"
# (file, index): serif, bold, monospace-Latin and the Japanese cut (a generator that takes the first face of the
# collection draws Chinese with Japanese glyph shapes)
ALT_FONTS = [(NOTO + "NotoSerifCJK-Regular.ttc", 2), (NOTO + "NotoSansCJK-Bold.ttc", 2),
             (NOTO + "NotoSansCJK-Regular.ttc", 7), (NOTO + "NotoSansCJK-Regular.ttc", 0)]
CARRIERS = ["中国移动 5G", "中国联通 4G", "中国电信", "CMCC 5G"]
DESKTOPS = [(1920, 1080, 1.0), (1920, 1080, 1.25), (2560, 1440, 1.0), (2560, 1440, 1.25), (2560, 1440, 1.5)]
SNIPPETS = ["好的，收到", "明天见", "[图片]", "方案我看了", "谢谢", "[文件]", "下午开会", "可以的", "稍等"]


def make_styled(seed: int, style: str, kind: str = "lead") -> Sample:
    """One screenshot of `style` with ground truth; same seed and style → same bytes."""
    rng = random.Random(seed * 7 + STYLE_SALT[style])
    now = _now(rng)
    if style == "docs":  # a document with a mobile number in it: never a lead, whatever `kind` asks
        img, doc, _ = document(rng)
        return Sample(f"{seed}-docs-{doc}", _jpeg(img, rng.randint(70, 90)), now, Truth(False, doc), "",
                      {"style": style, "kind": doc, "size": img.size})
    gen = {"lead": _lead_chat, "colleague": _colleague_chat, "group": _group_chat, "smalltalk": _smalltalk_chat,
           "courier": courier_chat, "internal": internal_chat, "recruit": recruit_chat,
           "newnumber": new_number_chat, "office": office_chat}[kind]
    if style == "content" and kind == "lead":  # phone shots of the message kinds beyond text, and project groups
        gen = _project_group if seed % 3 == 2 else _content_chat
    chat_seed = rng.randint(0, 2**31)
    chat = gen(random.Random(chat_seed), now)
    if style == "dingtalk":
        chat = _dingtalk(chat)
    dark = rng.random() < 0.3 or style == "photodark"  # photodark: a dark-mode phone screen photographed
    if style == "alt":
        chat = _with_notice(chat, rng)
    if style in ("wecompc", "wechatpc"):
        chat = _as_pc_client(chat, rng, style)
        dark = False
    draw = {"desktop": _desktop, "ipad": _ipad, "photo": _photo, "photodark": _photo, "alt": _alt, "pc": pc,
            "pcflat": pc,
            "photo2": photo2, "wecompc": wecom_pc, "wechatpc": wechat_pc, "photomon": photo_monitor,
            "photopc": photo_pc}.get(style, _phone)
    img, visible, quality, meta = draw(chat, rng, dark, style)
    data = _forwarded(img, rng) if style == "lowq" else _jpeg(img, quality)
    text = (chat.title + (chat.suffix or "") + "".join(it.text for it in visible)).replace(EMOJI, "")
    truth = _truth_for_chat(chat, visible, now, chat_seed) if kind == "lead" else Truth(False, kind)
    meta.update(style=style, kind=kind, dark=dark, app=chat.app)
    return Sample(f"{seed}-{style}-{kind}", data, now, truth, text, meta)


def _as_pc_client(chat, rng, style):  # type: ignore[no-untyped-def]
    """The chat as that client titles it: on WeCom most customers are on personal WeChat (「<name> @微信」: no
    company in the title); the WeChat client has no 「@公司」 at all."""
    if style == "wechatpc":
        return dataclasses.replace(chat, app="wechat", suffix=None, tag=None)
    if chat.suffix is None and chat.tag is None and any(it.facts for it in chat.items):
        return dataclasses.replace(chat, app="wecom", tag=" @微信")  # a customer added from WeChat
    if chat.suffix and rng.random() < 0.7:
        return dataclasses.replace(chat, app="wecom", suffix=None, tag=" @微信")
    return dataclasses.replace(chat, app="wecom")


def _dingtalk(chat):  # type: ignore[no-untyped-def]
    """DingTalk mobile: blue rep bubbles with white text, the 外部 tag after the name, the company underneath."""
    title, subtitle = chat.title, None
    if chat.suffix:  # "@公司" becomes the subtitle line
        subtitle = chat.suffix[1:]
    elif "-" in title:
        title, subtitle = title.split("-", 1)
    return dataclasses.replace(chat, app="dingtalk", title=title, suffix=" 外部" if subtitle else None,
                               subtitle=subtitle)


def _phone(chat, rng, dark, style):  # type: ignore[no-untyped-def]
    size = rng.choice([(540, 960), (720, 1280)]) if style == "small" else rng.choice(SIZES)
    img, visible = render_chat(chat, rng, size, dark)
    return img, visible, rng.randint(60, 90), {"size": size}


def _alt(chat, rng, dark, style):  # type: ignore[no-untyped-def]
    """A phone shot in another hand: font, text size, avatar shape, bubble corners, pills, status bar."""
    path, index = rng.choice(ALT_FONTS)
    look = Look(font_path=path, font_index=index, text_pt=rng.choice([15, 16, 18, 19, 20]),
                avatar_pt=rng.choice([34, 38, 42, 44]), round_avatar=rng.random() < 0.6,
                radius_pt=rng.choice([3, 8, 12]), tail=rng.random() < 0.4, pill_stamps=rng.random() < 0.6,
                carrier=rng.choice(CARRIERS) if rng.random() < 0.6 else None)
    size = rng.choice(SIZES)
    img, visible = render_chat(chat, rng, size, dark, look=look)
    return img, visible, rng.randint(60, 90), {"size": size, "look": look}


def _with_notice(chat, rng):  # type: ignore[no-untyped-def]
    """A new contact's chat opens with the app's system notices (never the customer's words)."""
    notices = [f"你已添加了{chat.title}，现在可以开始聊天了。", "以上是打招呼的内容",
               "对方已通过你的朋友验证请求，现在可以开始聊天了"]
    if rng.random() < 0.7:
        items = [Item("time", rng.choice(notices)), *chat.items]
        return dataclasses.replace(chat, items=items)
    return chat


def _forwarded(img: Image.Image, rng: random.Random) -> bytes:
    """Saved at JPEG 35–50, then forwarded again a little smaller and recompressed."""
    first = Image.open(io.BytesIO(_jpeg(img, rng.randint(35, 50))))
    smaller = first.resize((int(first.width * 0.85), int(first.height * 0.85)), Image.BILINEAR)
    return _jpeg(smaller, rng.randint(40, 55))


def _desktop(chat, rng, dark, style):  # type: ignore[no-untyped-def]
    w, h, sc = rng.choice(DESKTOPS)
    side, listing = int(64 * sc), int(280 * sc)
    canvas = Image.new("RGB", (w, h), (30, 30, 30) if dark else (46, 46, 46))
    _session_list(canvas, rng, (side, 0, side + listing, h), sc, dark)
    pane, visible = render_chat(chat, rng, (w - side - listing, h), dark, scale=0.82 * sc, desktop=True)
    canvas.paste(pane, (side + listing, 0))
    d = ImageDraw.Draw(canvas)
    for i in range(5):  # sidebar icons
        y = int((80 + i * 56) * sc)
        d.rounded_rectangle((int(18 * sc), y, int(46 * sc), y + int(28 * sc)), radius=int(4 * sc),
                            fill=(90, 90, 90))
    d.line((side + listing, 0, side + listing, h), fill=(60, 60, 60) if dark else (214, 214, 214), width=1)
    return canvas, visible, rng.randint(75, 92), {"size": (w, h), "scaling": sc}


def _session_list(canvas: Image.Image, rng: random.Random, box: tuple[int, int, int, int], sc: float,
                  dark: bool) -> None:
    x0, y0, x1, y1 = box
    d = ImageDraw.Draw(canvas)
    d.rectangle(box, fill=(38, 38, 38) if dark else (231, 231, 231))
    nf, sf = font(int(14 * sc)), font(int(12 * sc))
    ink, grey = ((210, 210, 210), (120, 120, 120)) if dark else ((30, 30, 30), (150, 150, 150))
    row = int(64 * sc)
    selected = rng.randint(0, 5)
    for i, y in enumerate(range(y0 + int(60 * sc), y1 - row, row)):
        if i == selected:
            d.rectangle((x0, y, x1, y + row), fill=(60, 60, 60) if dark else (201, 201, 201))
        d.rounded_rectangle((x0 + int(12 * sc), y + int(12 * sc), x0 + int(52 * sc), y + int(52 * sc)),
                            radius=int(4 * sc), fill=rng.choice([(90, 140, 200), (200, 120, 90), (120, 170, 110)]))
        who = _name(rng) if rng.random() < 0.7 else rng.choice(NICKNAMES)
        d.text((x0 + int(62 * sc), y + int(12 * sc)), who, font=nf, fill=ink)
        d.text((x0 + int(62 * sc), y + int(36 * sc)), rng.choice(SNIPPETS), font=sf, fill=grey)


def _ipad(chat, rng, dark, style):  # type: ignore[no-untyped-def]
    w, h = rng.choice([(2388, 1668), (2048, 1536)])
    chat_w = int(w * rng.choice([0.5, 0.62]))
    canvas = Image.new("RGB", (w, h), (0, 0, 0))
    pane, visible = render_chat(chat, rng, (chat_w, h), dark, scale=2.0)
    canvas.paste(pane, (0, 0))
    other = Image.new("RGB", (w - chat_w - 12, h), (255, 255, 255))
    d = ImageDraw.Draw(other)
    f = font(34)
    for i, y in enumerate(range(160, h - 100, 60)):
        d.text((50, y), rng.choice(["会议纪要", "待办事项", "第三季度计划", "周末采购清单", "读书笔记"]) + f" {i + 1}",
               font=f, fill=(40, 40, 40))
    canvas.paste(other, (chat_w + 12, 0))
    _ = PALETTES
    return canvas, visible, rng.randint(75, 90), {"size": (w, h)}


def _photo(chat, rng, dark, style):  # type: ignore[no-untyped-def]
    """A phone screen photographed at an angle: perspective, a darker surround, soft focus, glare, noise."""
    screen, visible = render_chat(chat, rng, (1080, 2340), dark)
    screen = screen.resize((720, 1560), Image.BILINEAR)
    w, h = 1500, 2000
    margin_x, margin_y = rng.randint(150, 260), rng.randint(120, 200)
    quad = [(margin_x + rng.randint(-40, 40), margin_y + rng.randint(-30, 30)),
            (w - margin_x + rng.randint(-40, 40), margin_y + rng.randint(-30, 30)),
            (w - margin_x + rng.randint(-60, 60), h - margin_y + rng.randint(-30, 30)),
            (margin_x + rng.randint(-60, 60), h - margin_y + rng.randint(-30, 30))]
    warped = screen.transform((w, h), Image.Transform.PERSPECTIVE, _perspective_coeffs(quad, screen.size),
                              Image.BICUBIC, fillcolor=(0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(quad, fill=255)
    surround = Image.new("RGB", (w, h), tuple(rng.randint(60, 120) for _ in range(3)))  # type: ignore[arg-type]
    bezel = Image.new("L", (w, h), 0)
    ImageDraw.Draw(bezel).polygon(_grow(quad, 30), fill=255)
    surround.paste((15, 15, 15), mask=bezel)
    surround.paste(warped, mask=mask)
    arr = np.asarray(surround.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2))), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    gx, gy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    glare = rng.uniform(12, 25) * np.exp(-(((xx - gx) / (0.35 * w)) ** 2 + ((yy - gy) / (0.3 * h)) ** 2))
    arr = arr + glare[..., None] + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 4, arr.shape)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    return img, visible, rng.randint(70, 88), {"size": (w, h)}


def _grow(quad: list[tuple[int, int]], by: int) -> list[tuple[int, int]]:
    cx, cy = sum(p[0] for p in quad) / 4, sum(p[1] for p in quad) / 4
    return [(int(x + by * np.sign(x - cx)), int(y + by * np.sign(y - cy))) for x, y in quad]


def _perspective_coeffs(quad: list[tuple[int, int]], size: tuple[int, int]) -> list[float]:
    """Coefficients mapping output pixels (the photo) back to the upright screen of `size`."""
    w, h = size
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    rows = []
    for (x, y), (u, v) in zip(quad, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for p in src for c in p], dtype=np.float64)
    return list(np.linalg.solve(a, b))


# ---------------------------------------------------------------- message kinds beyond text

ARTICLES = [("{co}：2025年数字化转型白皮书", "头部企业的实践与经验，一文读懂", "公众号"),
            ("{co}签约新一代智能工厂项目", "项目总投资约3亿元，预计明年投产", "网页"),
            ("行业观察｜{co}如何把成本降了三成", "一线管理者的复盘", "公众号")]


def _content_chat(rng: random.Random, now):  # type: ignore[no-untyped-def]
    """A customer chat that uses voice messages with their 转文字 text, red packets or transfers, a shared link
    card naming another company, a recalled message and quoted replies. Facts sit only where the customer said
    them; the card's company, the transfer's amount and the rep's own number are traps."""
    name, (short, _full, _domain) = _name(rng), rng.choice(COMPANIES)
    other = rng.choice([c for c in COMPANIES if c[0] != short])[1]
    wecom = rng.random() < 0.5
    title, suffix = (name, f"@{short}") if wecom else (name, None)
    start = (now - timedelta(days=rng.choice([0, 1, 2]))).replace(hour=rng.randint(9, 11), minute=rng.randint(0, 59),
                                                                  second=0, microsecond=0)
    if start > now:
        start = now - timedelta(minutes=rng.randint(30, 90))
    phone, rep_phone = _phone_number(rng), _phone_number(rng)
    need = rng.choice(NEEDS)
    items = [Item("time", _stamp(rng, start, now), when=start),
             Item("right", f"您好，我是{REP_COMPANY}的小周，我的电话{rep_phone}")]
    intro = f"你好，我是{short}的{name}，我们想了解一下{need}"
    if rng.random() < 0.6:  # said by voice: the words are in the 转文字 block under the voice bubble
        items.append(Item("left", intro, facts={"customer_name": name, "company": short, "needs": (need,)},
                          style="voice", seconds=rng.randint(4, 15)))
    else:
        items.append(Item("left", intro, facts={"customer_name": name, "company": short, "needs": (need,)}))
    art = rng.choice(ARTICLES)
    items.append(Item("left", "\n".join((art[0].format(co=other), art[1], art[2])), style="link"))
    items.append(Item("time", rng.choice(["对方撤回了一条消息", f"“{name}”撤回了一条消息"])))
    if rng.random() < 0.5:  # the rep quotes the customer: the number is the customer's
        items.append(Item("right", "好的，号码我存一下", quote=(name, f"我手机{phone}"), facts={"phone": phone}))
    else:  # the customer quotes the rep: the rep's number is not the customer's
        items.append(Item("left", f"好的，我的是{phone}", quote=("小周", f"我的电话{rep_phone}"),
                          facts={"phone": phone}))
    pay = rng.choice(["redpacket", "transfer"])
    amount = rng.choice(["2,000.00", "5,000.00", "800.00"])
    text = "恭喜发财，大吉大利" if pay == "redpacket" else f"¥{amount}\n{rng.choice(['已收款', '请收款'])}"
    items.append(Item(rng.choice(["left", "right"]), text, style=pay))
    if rng.random() < 0.5:
        items.append(Item("left", "下周我们开会定一下", style="voice", seconds=rng.randint(2, 6)))
    return Chat("wecom" if wecom else "wechat", title, suffix, items)


def _project_group(rng: random.Random, now):  # type: ignore[no-untyped-def]
    """A customer project group (title ends in the member count): the rep's colleagues and the customer's people
    talk; the customer-side contact who introduces themself with their number is the lead."""
    name, (short, full, _domain) = _name(rng), rng.choice(COMPANIES)
    title_ = rng.choice(TITLES)
    phone = _phone_number(rng)
    start = (now - timedelta(days=rng.choice([0, 1]))).replace(hour=rng.randint(9, 11), minute=rng.randint(0, 59),
                                                               second=0, microsecond=0)
    if start > now:
        start = now - timedelta(minutes=rng.randint(30, 90))
    colleague, other = _name(rng), _name(rng)
    items = [Item("time", _stamp(rng, start, now), when=start),
             Item("left", f"大家好，我是{REP_COMPANY}的实施顾问，后续对接找我", sender=colleague),
             Item("left", f"大家好，我是{full}的{title_}{name}，电话{phone}，有事随时联系",
                  sender=name, facts={"customer_name": name, "company": full, "title": title_, "phone": phone}),
             Item("left", "收到", sender=other),
             Item("right", "欢迎各位，方案今天发群里")]
    if rng.random() < 0.5:
        items.append(Item("left", "好的，辛苦", sender=name))
    group = f"{short}{rng.choice(['项目对接群', '采购沟通群', '合作群'])}({rng.randint(5, 12)})"
    return Chat(rng.choice(["wechat", "wecom"]), group, None, items)
