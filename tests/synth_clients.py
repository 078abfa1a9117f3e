"""Screenshots drawn by other hands: PC clients, cropped phone chats and long scrolling screenshots, in a domain
the reader never saw (a dental-equipment vendor selling to clinics).

Written apart from tests/synth.py, tests/synth_desk.py and tests/synth_pc.py on purpose — its own people,
clinics, products, wording, geometry and palettes — so the reader is tried on what it was not tuned to. Only the
spoken-time conventions (`_follow_up`, `follow_up_meaning`, `_stamp`) and the phone-number formats are shared:
they are the meaning of the words, not a drawing. Styles:

- "wxwin": a WeChat PC window — 1920×1080 / 2560×1440 at 100–150 %, a narrow icon rail, a session list of its
  own width with a search box and unread badges, window buttons in the title bar, quote blocks and file cards,
  time separators, sometimes a chat-info panel on the right, sometimes not maximised on a wallpaper; JPEG.
- "wwwin": a WeCom PC window — 「名字 @微信」 / 「名字 @公司」 titles, a people panel open on the right (members
  with their names), the sender's name and time over some messages, 已读 marks beside the rep's bubbles.
- "crop": a part of a phone chat cut out, no title or input bar, starting (and often ending) mid-bubble.
- "long": a long scrolling phone screenshot, 1080 × 4000–6500, several days of time separators.
- "smallwin": either client in a small window (0.36–0.5 of the screen's width) on the wallpaper (added with
  pccrop, scored first on main's code).
- "pccrop": a part of a PC client's chat pane cut out (added after the first four were scored): no title bar,
  input area or session list, 14-px desktop text, starting mid-message.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from tests.synth import Truth, _fmt_phone, _follow_up, _now, _phone, _stamp, follow_up_meaning

CLIENT_STYLES = ("wxwin", "wwwin", "crop", "long", "pccrop", "smallwin")
NOTO = "/usr/share/fonts/opentype/noto/"
RGB = tuple[int, int, int]

# ---------------------------------------------------------------- vocabulary (a dental-equipment vendor)

SURNAMES = "范方石孔邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺龚施陶洪严温季俞章葛韦聂岳齐庄"
GIVEN = [
    "晓东",
    "春燕",
    "立新",
    "志远",
    "海燕",
    "凤霞",
    "国庆",
    "文静",
    "嘉怡",
    "子豪",
    "雨桐",
    "建国",
    "秀梅",
    "振华",
    "思远",
    "慧敏",
    "一鸣",
    "佳琪",
    "德明",
    "玉洁",
    "颖",
    "琦",
    "菲",
    "锐",
    "婕",
    "航",
    "蕾",
]
CLINICS = [
    ("齿悦口腔", "杭州齿悦口腔门诊部有限公司"),
    ("皓白口腔", "成都皓白口腔医院有限公司"),
    ("贝美齿科", "南京贝美齿科诊所有限公司"),
    ("德馨口腔", "济南德馨口腔医院"),
    ("微笑牙科", "厦门微笑牙科诊所"),
    ("康植口腔", "武汉康植口腔连锁有限公司"),
    ("仁爱口腔", "长沙仁爱口腔医院有限公司"),
    ("佳齿医疗", "宁波佳齿医疗管理有限公司"),
    ("博雅口腔", "西安博雅口腔门诊部"),
    ("瑞齿口腔", "昆明瑞齿口腔医院"),
]
ROLES = ["院长", "副院长", "采购主管", "护士长", "运营总监", "门诊主任", "设备科科长", "总经理", "采购经理", "医务主任"]
# The vendor's catalog: the first word of a line is what a need is reported as
CATALOG = """# a dental-equipment vendor's products
牙椅: 综合治疗台, 牙科椅
口腔CBCT: CBCT, 锥形束CT
口内扫描仪: 口扫, 口内扫描
种植机: 种植马达
根管马达
光固化灯
牙片机: 口腔X光机
灭菌器: 高压蒸汽灭菌器
根管显微镜: 口腔显微镜
"""
PRODUCTS = [
    ("牙椅", ["牙椅", "综合治疗台"]),
    ("口腔CBCT", ["口腔CBCT", "CBCT"]),
    ("口内扫描仪", ["口内扫描仪", "口扫"]),
    ("种植机", ["种植机"]),
    ("根管马达", ["根管马达"]),
    ("光固化灯", ["光固化灯"]),
    ("牙片机", ["牙片机"]),
    ("灭菌器", ["灭菌器", "高压蒸汽灭菌器"]),
    ("根管显微镜", ["根管显微镜"]),
]
VENDOR = "洁齿医械"
REPS = ["小范", "小温", "小俞"]
NICKS = ["向日葵", "Grace", "清风徐来", "Tony", "一路向北", "Mia"]
FILLER_THEIRS = [
    "上次那个型号还有现货吗",
    "好的收到",
    "我先和院里商量一下",
    "片子我晚点发你",
    "嗯嗯",
    "麻烦了",
    "我们这周比较忙",
    "装机大概要多久",
    "售后是你们自己做吗",
    "好的，我看看",
]
FILLER_MINE = [
    "有的，仓库这周能发",
    "没问题，随时联系",
    "好的，您先忙",
    "装机一般两天",
    "售后我们本地有工程师",
    "资料已经整理好了",
    "收到，谢谢您",
    "我跟技术确认一下",
]
COLLEAGUE = [
    "下午例会改到三点",
    "这个月的报销单记得交",
    "样机明天回仓库",
    "好的",
    "展会的物料谁在跟",
    "我来吧",
    "周报发群里了",
    "收到",
]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _budget_words(rng: random.Random) -> tuple[str, int]:
    n = rng.choice([15, 20, 30, 45, 60, 80, 120])
    form = rng.choice(["万", "w", "万块", "cn"])
    if form == "cn":
        words = {15: "十五", 20: "二十", 30: "三十", 45: "四十五", 60: "六十", 80: "八十", 120: "一百二十"}[n]
        return f"{words}万", n * 10_000
    return f"{n}{form}", n * 10_000


# ---------------------------------------------------------------- the conversation


@dataclass
class Msg:
    kind: str  # "time" | "left" | "right"
    text: str = ""
    facts: dict[str, object] = field(default_factory=dict)
    when: datetime | None = None
    quote: tuple[str, str] | None = None  # (speaker, words) shown under the bubble
    file: tuple[str, str] | None = None  # (file name, size): a file card instead of text


@dataclass
class Talk:
    title: str
    tag: str | None  # 「@微信」 / 「@齿悦口腔」 after the title (WeCom)
    title_facts: dict[str, object]
    msgs: list[Msg]
    rep: str
    kind: str = "lead"


def _lead_talk(rng: random.Random, now: datetime, days: int) -> Talk:
    """A clinic's buyer and the vendor's rep over `days` days (the substance on the last day)."""
    name = _person(rng)
    short, full = rng.choice(CLINICS)
    role = rng.choice(ROLES) if rng.random() < 0.7 else None
    form = rng.choice(["name", "name_co", "co_name", "name_co_role", "nick", "wecom"])
    title, tag = name, None
    tf: dict[str, object] = {"customer_name": name}
    if form == "name_co":
        title, tf = f"{name}-{short}", {"customer_name": name, "company": short}
    elif form == "co_name":
        title, tf = f"{short}-{name}", {"customer_name": name, "company": short}
    elif form == "name_co_role" and role:
        title, tf = f"{name}-{short}-{role}", {"customer_name": name, "company": short, "title": role}
    elif form == "nick":
        title, tf = rng.choice(NICKS), {}
    elif form == "wecom":
        tag = rng.choice(["@微信", f"@{short}"])
        tf = {"customer_name": name, **({"company": short} if tag != "@微信" else {})}
    rep = rng.choice(REPS)
    msgs: list[Msg] = []
    start = now - timedelta(days=days)
    for d in range(days):  # earlier days: small talk about deliveries and service
        when = (start + timedelta(days=d)).replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59))
        msgs.append(Msg("time", _stamp(rng, when, now), when=when))
        for _ in range(rng.randint(2, 4)):
            side = rng.choice(["left", "right"])
            msgs.append(Msg(side, rng.choice(FILLER_THEIRS if side == "left" else FILLER_MINE)))
    last = now - timedelta(minutes=rng.randint(30, 300))
    if last.date() != now.date():
        last = now.replace(hour=max(8, now.hour - 1), minute=0)
    msgs.append(Msg("time", _stamp(rng, last, now), when=last))
    msgs.append(Msg("right", f"{rng.choice(['您好', '院长好', '您好呀'])}，我是{VENDOR}的{rep}，负责咱们这边的设备"))
    company = full if rng.random() < 0.5 else short
    phone = _phone(rng)
    intro = rng.choice(["sentence", "sentence", "card", "role_first"])
    facts: dict[str, object] = {"customer_name": name, "company": company}
    if role:
        facts["title"] = role
    if intro == "card":
        lines = (
            [name] + ([role] if role else []) + [company, f"{rng.choice(['手机', '电话'])}：{_fmt_phone(rng, phone)}"]
        )
        msgs.append(Msg("left", "\n".join(lines), facts | {"phone": phone}))
    else:
        if intro == "role_first" and role:
            said = f"你好，我是{company}的{role}，我叫{name}"
        else:
            said = f"你好，我是{company}的{name}" + (f"，目前是{role}" if role else "")
        msgs.append(Msg("left", said, facts))
        msgs.append(
            Msg(
                "left",
                f"{rng.choice(['我手机', '电话', '手机号'])}{rng.choice(['：', ' '])}{_fmt_phone(rng, phone)}",
                {"phone": phone},
            )
        )
    picks = rng.sample(PRODUCTS, rng.choice([1, 1, 2]))
    words = "和".join(rng.choice(syn) for _, syn in picks)
    need = rng.choice(
        [f"我们新院区想采购{words}", f"想了解一下你们的{words}", f"{words}麻烦报个价", f"需要{words}，有资料吗"]
    )
    msgs.append(Msg("left", need, {"needs": tuple(p for p, _ in picks)}))
    if rng.random() < 0.5:  # the rep answers quoting the request
        msgs.append(Msg("right", "好的，资料马上发您", quote=(title if form != "wecom" else name, need)))
    if rng.random() < 0.5:
        product = picks[0][0]
        msgs.append(Msg("right", file=(f"{product}产品手册2024版.pdf", f"{rng.randint(2, 18)}.{rng.randint(1, 9)}M")))
    if rng.random() < 0.35:
        msgs.append(Msg("right", f"这款标准配置单价{rng.choice(['8.6万', '12万', '3.2万'])}，量大可以再谈"))
    if rng.random() < 0.8:
        words_, value = _budget_words(rng)
        said = rng.choice([f"院里给的预算{words_}左右", f"预算大概{words_}", f"总预算控制在{words_}以内"])
        msgs.append(Msg("left", said, {"budget_cny": value}))
    if rng.random() < 0.85:
        phrase, spec = _follow_up(rng, last)
        if rng.random() < 0.5:
            msgs.append(Msg("right", f"那我{phrase}带样机过去给您演示？", {"follow_up": spec}))
            msgs.append(Msg("left", rng.choice(["可以", "行", "好的，过来前打我电话"])))
        else:
            msgs.append(Msg("left", f"{phrase}你来诊所细聊吧", {"follow_up": spec}))
            msgs.append(Msg("right", "好的，准时到"))
    if rng.random() < 0.4:
        msgs.append(Msg("left", rng.choice(FILLER_THEIRS[:3])))
    return Talk(title, tag, tf, msgs, rep)


def _colleague_talk(rng: random.Random, now: datetime, days: int) -> Talk:
    name = _person(rng)
    msgs: list[Msg] = []
    for d in range(days + 1):
        when = (now - timedelta(days=days - d)).replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59))
        if when > now:
            when = now - timedelta(minutes=20)
        msgs.append(Msg("time", _stamp(rng, when, now), when=when))
        for _ in range(rng.randint(3, 5)):
            msgs.append(Msg(rng.choice(["left", "right"]), rng.choice(COLLEAGUE)))
    return Talk(name, None, {}, msgs, rng.choice(REPS), kind="colleague")


def truth_of(talk: Talk, shown: list[Msg], title_shown: bool, now: datetime) -> Truth:
    """The fields a reader can know from what is shown: the title's, then each fully visible message's; a
    follow-up is read from the last time separator shown above it (or the time the screenshot arrived)."""
    if talk.kind != "lead":
        return Truth(False, talk.kind)
    facts: dict[str, object] = dict(talk.title_facts) if title_shown else {}
    anchor, follow = now, None
    for m in shown:
        if m.kind == "time" and m.when is not None:
            anchor = m.when
        for k, v in m.facts.items():
            if k == "follow_up":
                follow = follow_up_meaning(v, anchor)  # type: ignore[arg-type]
            elif k == "company" and facts.get("company") and len(str(v)) <= len(str(facts["company"])):
                continue
            elif k == "title" and facts.get("title"):
                continue
            else:
                facts[k] = v
    got: dict[str, Any] = facts
    return Truth(
        True,
        "lead",
        customer_name=got.get("customer_name"),
        company=got.get("company"),
        title=got.get("title"),
        phone=got.get("phone"),
        budget_cny=got.get("budget_cny"),
        needs=tuple(got.get("needs", ())),
        follow_up=follow,
    )


# ---------------------------------------------------------------- drawing a thread


def _font(px: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        NOTO + ("NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"), max(8, round(px)), index=2
    )


@dataclass(frozen=True)
class Look:
    bg: RGB
    theirs: RGB
    mine: RGB
    ink: RGB
    faint: RGB
    quote: RGB
    card: RGB
    margin: float  # points from the edge to an avatar
    avatar: float  # points
    text: float  # points
    pill: bool  # time separators on a grey pill (older phones)
    names: bool  # the sender's name (and time) over a customer's message
    read: bool  # 已读 beside the rep's messages


def _wrap(d: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
    out: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for ch in para:
            if cur and d.textlength(cur + ch, font=f) > width:
                out.append(cur)
                cur = ch
            else:
                cur += ch
        out.append(cur)
    return out


def thread(
    msgs: list[Msg], width: int, s: float, lk: Look, rng: random.Random, names: dict[str, str]
) -> tuple[Image.Image, list[tuple[Msg, int, int]]]:
    """The messages drawn top down on a strip `width` wide (s px per point); each message's rows."""
    canvas = Image.new("RGB", (width, 400 + int(sum(len(m.text) + 60 for m in msgs) * 3 * s)), lk.bg)
    d = ImageDraw.Draw(canvas)
    f, fs = _font(lk.text * s), _font(11.5 * s)
    av, gap, pad = lk.avatar * s, 8 * s, 10 * s
    line = lk.text * s * 1.42
    widest = min(width - 2 * (lk.margin * s + av + gap) - 40 * s, 300 * s)
    faces = {
        "left": (rng.randint(60, 200), rng.randint(90, 200), rng.randint(90, 210)),
        "right": (rng.randint(120, 230), rng.randint(60, 160), 90),
    }
    y = 14 * s
    rows = []
    for m in msgs:
        top = y
        if m.kind == "time":
            tw = d.textlength(m.text, font=fs)
            if lk.pill:
                d.rounded_rectangle(
                    ((width - tw) / 2 - 6 * s, y, (width + tw) / 2 + 6 * s, y + 20 * s),
                    radius=int(4 * s),
                    fill=tuple(max(0, c - 22) for c in lk.bg),
                )
            d.text(((width - tw) / 2, y + 3 * s), m.text, font=fs, fill=lk.faint if not lk.pill else (255, 255, 255))
            y += 20 * s
            rows.append((m, int(top), int(y)))
            y += 14 * s
            continue
        left = m.kind == "left"
        ax = lk.margin * s if left else width - lk.margin * s - av
        d.rounded_rectangle((ax, y, ax + av, y + av), radius=int(4 * s), fill=faces[m.kind])
        if left and lk.names:
            stamp = f"{rng.randint(9, 18)}:{rng.randint(0, 59):02d}"
            d.text((ax + av + gap, y - 2 * s), f"{names['left']}  {stamp}", font=fs, fill=lk.faint)
            y += 18 * s
        if m.file:
            cw, ch = 230 * s, 84 * s
            bx = ax + av + gap if left else ax - gap - cw
            d.rectangle((bx, y, bx + cw, y + ch), fill=lk.card, outline=tuple(max(0, c - 30) for c in lk.bg))
            fname = _wrap(d, m.file[0], _font(13 * s), cw - 80 * s)[:2]
            for k, ln in enumerate(fname):
                d.text((bx + 12 * s, y + 10 * s + k * 19 * s), ln, font=_font(13 * s), fill=lk.ink)
            d.text((bx + 12 * s, y + 54 * s), m.file[1], font=fs, fill=lk.faint)
            d.rectangle((bx + cw - 56 * s, y + 14 * s, bx + cw - 14 * s, y + 58 * s), fill=(232, 76, 61))
            d.text((bx + cw - 35 * s, y + 36 * s), "PDF", font=_font(11 * s, True), fill=(255, 255, 255), anchor="mm")
            y += ch
        else:
            lines = _wrap(d, m.text, f, widest)
            bw = max(d.textlength(ln, font=f) for ln in lines) + 2 * pad
            bh = max(av, len(lines) * line + 2 * pad - (line - lk.text * s))
            bx = ax + av + gap if left else ax - gap - bw
            fill = lk.theirs if left else lk.mine
            d.rounded_rectangle((bx, y, bx + bw, y + bh), radius=int(5 * s), fill=fill)
            tip = bx if left else bx + bw
            sign = -1 if left else 1
            d.polygon([(tip, y + 12 * s), (tip + sign * 5 * s, y + 17 * s), (tip, y + 22 * s)], fill=fill)
            for k, ln in enumerate(lines):
                d.text((bx + pad, y + pad + k * line - 2 * s), ln, font=f, fill=lk.ink)
            if not left and lk.read:
                d.text(
                    (bx - 32 * s, y + bh - 16 * s),
                    rng.choice(["已读", "未读"]),
                    font=fs,
                    fill=(120, 150, 200) if rng.random() < 0.5 else lk.faint,
                )
            y += bh
        if m.quote:
            qf = _font(12 * s)
            said = f"{m.quote[0]}：{m.quote[1]}"
            qlines = _wrap(d, said, qf, widest - 20 * s)[:2]
            qw = max(d.textlength(ln, font=qf) for ln in qlines) + 16 * s
            qx = ax + av + gap if left else ax - gap - qw
            y += 6 * s
            d.rounded_rectangle((qx, y, qx + qw, y + len(qlines) * 18 * s + 10 * s), radius=int(3 * s), fill=lk.quote)
            for k, ln in enumerate(qlines):
                d.text((qx + 8 * s, y + 4 * s + k * 18 * s), ln, font=qf, fill=lk.faint)
            y += len(qlines) * 18 * s + 10 * s
        y = max(y, top + av)
        rows.append((m, int(top), int(y)))
        y += 16 * s
    return canvas.crop((0, 0, width, int(y + 10 * s))), rows


# ---------------------------------------------------------------- phone: cropped and long


def _phone_look(rng: random.Random, s: float) -> Look:
    dark = rng.random() < 0.2
    if dark:
        return Look(
            bg=(17, 17, 17),
            theirs=(44, 44, 44),
            mine=(60, 160, 90),
            ink=(220, 220, 220),
            faint=(125, 125, 125),
            quote=(36, 36, 36),
            card=(44, 44, 44),
            margin=12,
            avatar=40,
            text=17,
            pill=False,
            names=False,
            read=False,
        )
    return Look(
        bg=rng.choice([(237, 237, 237), (241, 241, 241), (245, 246, 247)]),
        theirs=(255, 255, 255),
        mine=rng.choice([(149, 236, 105), (158, 234, 106), (190, 220, 255)]),
        ink=(20, 20, 20),
        faint=(150, 150, 150),
        quote=(226, 226, 226),
        card=(255, 255, 255),
        margin=rng.choice([10, 12, 14]),
        avatar=rng.choice([38, 40, 42]),
        text=rng.choice([16, 17, 18]),
        pill=rng.random() < 0.3,
        names=False,
        read=rng.random() < 0.3,
    )


def _phone_bars(
    img: Image.Image, title: str, tag: str | None, s: float, lk: Look, rng: random.Random, top: int, foot: int
) -> None:
    d = ImageDraw.Draw(img)
    w = img.width
    bar = tuple(max(0, c - 4) for c in lk.bg) if lk.bg[0] > 100 else (25, 25, 25)
    d.rectangle((0, 0, w, top), fill=bar)
    d.text((24 * s, 12 * s), f"{rng.randint(8, 21)}:{rng.randint(0, 59):02d}", font=_font(14 * s, True), fill=lk.ink)
    d.rectangle((w - 40 * s, 16 * s, w - 16 * s, 27 * s), outline=lk.ink, width=max(1, int(s)))
    ft = _font(17 * s, True)
    full = title + (f" {tag}" if tag else "")
    tw = d.textlength(full, font=ft)
    d.text(((w - tw) / 2, top - 34 * s), full, font=ft, fill=lk.ink)
    d.text((14 * s, top - 36 * s), "<", font=_font(22 * s), fill=lk.ink)
    d.text((w - 40 * s, top - 36 * s), "···", font=_font(18 * s), fill=lk.ink)
    d.line((0, top, w, top), fill=tuple(max(0, c - 18) for c in bar), width=max(1, int(s / 2)))
    h = img.height
    d.rectangle((0, h - foot, w, h), fill=bar)
    d.line((0, h - foot, w, h - foot), fill=tuple(max(0, c - 18) for c in bar), width=max(1, int(s / 2)))
    d.ellipse((10 * s, h - foot + 12 * s, 38 * s, h - foot + 40 * s), outline=lk.ink, width=max(1, int(s)))
    d.rounded_rectangle(
        (46 * s, h - foot + 9 * s, w - 88 * s, h - foot + 43 * s),
        radius=int(5 * s),
        fill=(255, 255, 255) if lk.bg[0] > 100 else (45, 45, 45),
    )
    for k in range(2):
        x = w - (80 - 36 * k) * s
        d.ellipse((x, h - foot + 12 * s, x + 28 * s, h - foot + 40 * s), outline=lk.ink, width=max(1, int(s)))


def _long(talk: Talk, rng: random.Random, now: datetime) -> tuple[Image.Image, list[Msg], bool]:
    w = rng.choice([1080, 1080, 1170])
    s = w / 375
    lk = _phone_look(rng, s)
    body, rows = thread(talk.msgs, w, s, lk, rng, {"left": talk.title})
    top, foot = int(88 * s), int(56 * s)
    h = max(4000, body.height + top + foot)
    img = Image.new("RGB", (w, h), lk.bg)
    start = top + h - top - foot - body.height  # a short talk sits at the bottom, as a chat does
    cut = max(0, body.height - (h - top - foot))
    img.paste(body.crop((0, cut, w, body.height)), (0, start if cut == 0 else top))
    _phone_bars(img, talk.title, talk.tag, s, lk, rng, top, foot)
    shown = [m for m, y0, _ in rows if y0 >= cut + 4]
    return img, shown, True


def _crop(talk: Talk, rng: random.Random, now: datetime) -> tuple[Image.Image, list[Msg], bool]:
    w = rng.choice([750, 828, 1080, 1080, 1170])
    s = w / 375
    lk = _phone_look(rng, s)
    body, rows = thread(talk.msgs, w, s, lk, rng, {"left": talk.title})
    # start inside one of the early messages (mid-bubble), end mid-bubble or a little after the last one
    firsts = [(y0, y1) for m, y0, y1 in rows if m.kind != "time"][:3]
    y0, y1 = rng.choice(firsts)
    cut_top = rng.randint(y0 + (y1 - y0) // 4, max(y0 + (y1 - y0) // 4 + 1, y1 - 4))
    if rng.random() < 0.5:
        cut_bottom = body.height
    else:
        _, l0, l1 = rows[-1]
        cut_bottom = rng.randint(l0 + (l1 - l0) // 3, l1 - 2) if l1 - l0 > 20 else body.height
    if cut_bottom - cut_top < w // 2:  # a sliver is no screenshot anyone sends
        cut_bottom = body.height
    img = body.crop((0, cut_top, w, cut_bottom))
    shown = [m for m, a, b in rows if a >= cut_top and b <= cut_bottom]
    return img, shown, False


# ---------------------------------------------------------------- PC windows


@dataclass(frozen=True)
class Window:
    rail: RGB
    listing: RGB
    picked: RGB
    pane: RGB
    rule: RGB
    ink: RGB
    faint: RGB
    accent: RGB


SCREENS = [
    (1920, 1080, 1.0),
    (1920, 1080, 1.25),
    (1920, 1080, 1.5),
    (2560, 1440, 1.0),
    (2560, 1440, 1.25),
    (2560, 1440, 1.5),
]


def _wallpaper(w: int, h: int, rng: random.Random) -> Image.Image:
    a, b = [(rng.randint(20, 120), rng.randint(40, 140), rng.randint(80, 200)) for _ in range(2)]
    grad = Image.linear_gradient("L").resize((w, h))
    img = Image.composite(Image.new("RGB", (w, h), a), Image.new("RGB", (w, h), b), grad)
    d = ImageDraw.Draw(img)
    for k in range(rng.randint(3, 8)):  # desktop icons with their labels
        x, y = int(20 * (1 + (k // 6) * 5)), int(20 + (k % 6) * 110)
        d.rounded_rectangle((x, y, x + 56, y + 56), radius=8, fill=(rng.randint(100, 250), 200, 120))
        d.text((x, y + 62), rng.choice(["回收站", "报价单", "此电脑", "文档"]), font=_font(13), fill=(255, 255, 255))
    return img


def _sessions(
    d: ImageDraw.ImageDraw,
    rng: random.Random,
    box: tuple[float, float, float, float],
    s: float,
    win: Window,
    title: str,
) -> None:
    x0, y0, x1, y1 = box
    d.rounded_rectangle(
        (x0 + 10 * s, y0 + 18 * s, x1 - 46 * s, y0 + 44 * s),
        radius=int(5 * s),
        fill=tuple(max(0, c - 14) for c in win.listing),
    )
    d.text((x0 + 30 * s, y0 + 22 * s), "搜索", font=_font(12.5 * s), fill=win.faint)
    d.rounded_rectangle(
        (x1 - 38 * s, y0 + 18 * s, x1 - 12 * s, y0 + 44 * s),
        radius=int(5 * s),
        fill=tuple(max(0, c - 14) for c in win.listing),
    )
    d.text((x1 - 25 * s, y0 + 31 * s), "+", font=_font(16 * s), fill=win.faint, anchor="mm")
    row = rng.choice([64, 66, 70]) * s
    y = y0 + 58 * s
    chosen = rng.randint(0, 5)
    i = 0
    while y + row < y1:
        if i == chosen:
            d.rectangle((x0, y, x1, y + row), fill=win.picked)
        av = 40 * s
        ay = y + (row - av) / 2
        d.rounded_rectangle(
            (x0 + 12 * s, ay, x0 + 12 * s + av, ay + av),
            radius=int(4 * s),
            fill=(rng.randint(60, 230), rng.randint(60, 230), rng.randint(60, 230)),
        )
        name = (
            title
            if i == chosen
            else rng.choice(
                [_person(rng), rng.choice(NICKS), "订阅号消息", "文件传输助手", f"{rng.choice(CLINICS)[0]}采购群"]
            )
        )
        d.text((x0 + 62 * s, y + 12 * s), name[:10], font=_font(14 * s), fill=win.ink)
        when = rng.choice(["昨天", "星期三", f"{rng.randint(8, 18)}:{rng.randint(0, 59):02d}"])
        d.text((x1 - 46 * s, y + 13 * s), when, font=_font(11 * s), fill=win.faint)
        d.text(
            (x0 + 62 * s, y + 37 * s),
            rng.choice(["[图片]", "好的", "[文件]", "明天发货", "收到", "[语音]"]),
            font=_font(12 * s),
            fill=win.faint,
        )
        if rng.random() < 0.3:
            n = rng.randint(1, 120)
            label = "99+" if n > 99 else str(n)
            if rng.random() < 0.5:  # on the avatar's corner
                bx, by = x0 + 44 * s, ay - 6 * s
                d.rounded_rectangle(
                    (bx, by, bx + (10 + 7 * len(label)) * s, by + 17 * s), radius=int(8 * s), fill=(245, 74, 69)
                )
                d.text(
                    (bx + (5 + 3.5 * len(label)) * s, by + 8.5 * s),
                    label,
                    font=_font(10.5 * s),
                    fill=(255, 255, 255),
                    anchor="mm",
                )
            else:  # a pill at the row's right end
                bx, by = x1 - (22 + 7 * len(label)) * s, y + 36 * s
                d.rounded_rectangle(
                    (bx, by, bx + (10 + 7 * len(label)) * s, by + 17 * s), radius=int(8 * s), fill=(245, 74, 69)
                )
                d.text(
                    (bx + (5 + 3.5 * len(label)) * s, by + 8.5 * s),
                    label,
                    font=_font(10.5 * s),
                    fill=(255, 255, 255),
                    anchor="mm",
                )
        y += row
        i += 1


def _people(
    d: ImageDraw.ImageDraw,
    rng: random.Random,
    box: tuple[float, float, float, float],
    s: float,
    win: Window,
    talk: Talk,
) -> None:
    """A chat-info panel: the members with their names, then the chat's settings."""
    x0, y0, x1, _ = box
    d.text((x0 + 18 * s, y0 + 20 * s), "聊天信息", font=_font(14 * s, True), fill=win.ink)
    members = [talk.title_facts.get("customer_name") or talk.title, talk.rep] + [
        _person(rng) for _ in range(rng.randint(0, 3))
    ]
    cell = 62 * s
    per = max(1, int((x1 - x0 - 24 * s) // cell))
    for k, who in enumerate([*members, "添加"]):
        cx, cy = x0 + 14 * s + (k % per) * cell, y0 + 60 * s + (k // per) * (cell + 22 * s)
        if who == "添加":
            d.rounded_rectangle(
                (cx, cy, cx + 44 * s, cy + 44 * s), radius=int(4 * s), outline=win.faint, width=max(1, int(s))
            )
            d.text((cx + 22 * s, cy + 22 * s), "+", font=_font(20 * s), fill=win.faint, anchor="mm")
        else:
            d.rounded_rectangle(
                (cx, cy, cx + 44 * s, cy + 44 * s),
                radius=int(4 * s),
                fill=(rng.randint(60, 220), rng.randint(60, 220), rng.randint(60, 220)),
            )
        d.text((cx + 22 * s, cy + 56 * s), str(who)[:4], font=_font(11 * s), fill=win.faint, anchor="mm")
    y = y0 + 60 * s + ((len(members) + per) // per) * (cell + 22 * s) + 10 * s
    for label in ["备注", "消息免打扰", "置顶聊天", "查找聊天记录"]:
        d.line((x0 + 14 * s, y, x1 - 14 * s, y), fill=win.rule, width=max(1, int(s)))
        d.text((x0 + 18 * s, y + 14 * s), label, font=_font(13 * s), fill=win.ink)
        y += 46 * s


def _pc(
    talk: Talk, rng: random.Random, wecom: bool, crop: bool = False, narrow: bool = False
) -> tuple[Image.Image, list[Msg], bool]:
    w, h, s = rng.choice(SCREENS)
    if wecom:
        pane = rng.choice([(255, 255, 255), (246, 247, 249)])
        win = Window(
            rail=rng.choice([(39, 52, 77), (233, 236, 241)]),
            listing=rng.choice([(245, 246, 248), (255, 255, 255)]),
            picked=(220, 229, 243),
            pane=pane,
            rule=(226, 229, 234),
            ink=(33, 37, 43),
            faint=(146, 152, 162),
            accent=(52, 118, 240),
        )
        lk = Look(
            bg=pane,
            theirs=rng.choice([(240, 242, 245), (255, 255, 255)]) if pane != (255, 255, 255) else (240, 242, 245),
            mine=rng.choice([(200, 224, 255), (215, 232, 255)]),
            ink=(33, 37, 43),
            faint=(146, 152, 162),
            quote=(234, 236, 240),
            card=(255, 255, 255),
            margin=20,
            avatar=rng.choice([32, 36]),
            text=14,
            pill=False,
            names=rng.random() < 0.5,
            read=rng.random() < 0.6,
        )
    else:
        grey = rng.choice([(245, 245, 245), (240, 240, 240), (237, 237, 237)])
        win = Window(
            rail=rng.choice([(46, 46, 46), (226, 226, 226)]),
            listing=rng.choice([(230, 230, 230), (247, 247, 247), grey]),
            picked=rng.choice([(200, 200, 200), (222, 222, 222)]),
            pane=grey,
            rule=(218, 218, 218),
            ink=(25, 25, 25),
            faint=(155, 155, 155),
            accent=(7, 193, 96),
        )
        lk = Look(
            bg=grey,
            theirs=(255, 255, 255),
            mine=rng.choice([(149, 236, 105), (137, 217, 97)]),
            ink=(25, 25, 25),
            faint=(155, 155, 155),
            quote=(229, 229, 229),
            card=(255, 255, 255),
            margin=rng.choice([18, 24, 30]),
            avatar=rng.choice([34, 36, 40]),
            text=rng.choice([14, 15]),
            pill=False,
            names=False,
            read=False,
        )
    windowed = rng.random() < 0.45 or narrow
    screen = _wallpaper(w, h, rng)
    if windowed:  # `narrow`: a small window (its chat pane a sixth of the screen or so), the same draws
        ww, wh = int(w * rng.uniform(*((0.36, 0.5) if narrow else (0.6, 0.86)))), int(h * rng.uniform(0.72, 0.94))
        ox, oy = rng.randint(0, w - ww), rng.randint(0, h - wh)
    else:
        ww, wh, ox, oy = w, h - int(44 * s), 0, 0
        ImageDraw.Draw(screen).rectangle((0, h - 44 * s, w, h), fill=rng.choice([(32, 32, 36), (230, 234, 240)]))
    img = Image.new("RGB", (ww, wh), win.pane)
    d = ImageDraw.Draw(img)
    rail = rng.uniform(52, 68) * s
    lst = rng.uniform(230, 330) * s
    panel = rng.uniform(220, 270) * s if rng.random() < (0.6 if wecom else 0.2) and ww - rail - lst > 760 * s else 0
    d.rectangle((0, 0, rail, wh), fill=win.rail)
    for k in range(rng.randint(4, 7)):
        y = (90 + 50 * k) * s
        d.rounded_rectangle(
            (rail / 2 - 11 * s, y, rail / 2 + 11 * s, y + 22 * s),
            radius=int(5 * s),
            outline=(150, 150, 150),
            width=max(1, int(1.5 * s)),
        )
    d.rounded_rectangle((rail / 2 - 17 * s, 30 * s, rail / 2 + 17 * s, 64 * s), radius=int(4 * s), fill=(90, 140, 180))
    d.rectangle((rail, 0, rail + lst, wh), fill=win.listing)
    _sessions(d, rng, (rail, 0, rail + lst, wh), s, win, talk.title)
    if win.listing != win.pane or rng.random() < 0.5:
        d.line((rail + lst, 0, rail + lst, wh), fill=win.rule, width=max(1, int(s)))
    x0, x1 = int(rail + lst + 1), int(ww - panel)
    if panel:
        d.rectangle((x1, 0, ww, wh), fill=win.listing if win.listing != win.pane else (255, 255, 255))
        d.line((x1, 0, x1, wh), fill=win.rule, width=max(1, int(s)))
        _people(d, rng, (x1, 40 * s, ww, wh), s, win, talk)
    head = rng.uniform(54, 64) * s
    ft = _font(rng.choice([15, 16, 17]) * s)
    d.text((x0 + 20 * s, (head - ft.size) / 2), talk.title, font=ft, fill=win.ink)
    if talk.tag:
        tx = x0 + 20 * s + d.textlength(talk.title, font=ft) + 6 * s
        d.text(
            (tx, (head - ft.size) / 2 + 2 * s),
            talk.tag,
            font=_font(13 * s),
            fill=(30, 170, 90) if talk.tag == "@微信" else (230, 140, 30),
        )
    for k, glyph in enumerate(["✕", "□", "—"]):  # the window's buttons, top right
        d.text((ww - (22 + 40 * k) * s, 6 * s), glyph, font=_font(12 * s), fill=win.faint)
    d.text((x1 - 40 * s, head / 2 + 4 * s), "···", font=_font(16 * s), fill=win.faint)
    if rng.random() < 0.7:
        d.line((x0, head, x1, head), fill=win.rule, width=max(1, int(s)))
    foot = rng.uniform(140, 210) * s
    d.line((x0, wh - foot, x1, wh - foot), fill=win.rule, width=max(1, int(s)))
    for k in range(6):
        ix = x0 + (18 + 32 * k) * s
        d.ellipse((ix, wh - foot + 12 * s, ix + 18 * s, wh - foot + 30 * s), outline=win.faint, width=max(1, int(s)))
    d.rounded_rectangle(
        (x1 - 96 * s, wh - 46 * s, x1 - 20 * s, wh - 16 * s),
        radius=int(4 * s),
        fill=win.accent if wecom else (233, 233, 233),
    )
    d.text(
        (x1 - 58 * s, wh - 31 * s),
        "发送" if wecom else "发送(S)",
        font=_font(13 * s),
        fill=(255, 255, 255) if wecom else win.accent,
        anchor="mm",
    )
    body, rows = thread(talk.msgs, x1 - x0, s, lk, rng, {"left": talk.title})
    room = int(wh - foot - head - 2)
    cut = max(0, body.height - room)
    img.paste(body.crop((0, cut, body.width, body.height)), (x0, int(head + 1) + max(0, room - body.height)))
    d.line((x0, head, x1, head), fill=win.rule, width=max(1, int(s))) if cut else None
    screen.paste(img, (ox, oy))
    if windowed:  # the window's shadow edge
        ImageDraw.Draw(screen).rectangle((ox - 1, oy - 1, ox + ww, oy + wh), outline=(90, 90, 90))
    shown = [m for m, a, _ in rows if a >= cut + 2]
    if crop:  # a part of the pane's messages cut out: no title bar, no input area, no session list
        base = oy + int(head + 1) + max(0, room - body.height) - cut  # screen row of the thread's row 0
        placed = [(m, base + a, base + b) for m, a, b in rows if a >= cut + 2]
        firsts = [(a, b) for m, a, b in placed if m.kind != "time"][:2]
        a, b = rng.choice(firsts)
        y0 = rng.randint(a + (b - a) // 4, max(a + (b - a) // 4 + 1, b - 4))
        y1 = oy + int(wh - foot) - rng.randint(2, 30)
        left = ox + x0 + rng.randint(0, 12)
        right = ox + x1 - rng.randint(0, 12)
        shown = [m for m, a, b in placed if a >= y0 and b <= y1]
        return screen.crop((left, y0, right, y1)), shown, False
    return screen, shown, True


def make_client(
    seed: int, style: str, kind: str = "lead", *, narrow: bool = False
) -> tuple[bytes, datetime, Truth, dict[str, object]]:
    """One screenshot of `style` with its ground truth: (image bytes, time received, truth, meta). `narrow`: a PC
    client's window not maximised and small on its screen."""
    rng = random.Random(seed * 7 + CLIENT_STYLES.index(style))
    now = _now(rng)
    days = rng.randint(3, 5) if style == "long" else rng.choice([1, 1, 2] if style == "pccrop" else [0, 0, 1])
    talk = (_lead_talk if kind == "lead" else _colleague_talk)(rng, now, days)
    if style == "long":
        img, shown, titled = _long(talk, rng, now)
    elif style == "crop":
        img, shown, titled = _crop(talk, rng, now)
    elif style == "pccrop":
        img, shown, titled = _pc(talk, rng, wecom=rng.random() < 0.5, crop=True)
    else:
        small = style == "smallwin"  # a small window of either client
        img, shown, titled = _pc(talk, rng, wecom=style == "wwwin" or (small and seed % 2 == 1), narrow=narrow or small)
    out = io.BytesIO()
    if style == "crop" and rng.random() < 0.3:
        img.save(out, "PNG")
    else:
        img.save(out, "JPEG", quality=rng.randint(45, 92))
    return out.getvalue(), now, truth_of(talk, shown, titled, now), {"style": style, "kind": kind, "size": img.size}


def client_set(seed: int, per_style: int, negatives: int = 1) -> list[tuple[bytes, datetime, Truth, dict[str, object]]]:
    out = []
    for style in CLIENT_STYLES:
        for i in range(per_style + negatives):
            out.append(make_client(seed + 131 * i, style, "lead" if i < per_style else "colleague"))
    return out
