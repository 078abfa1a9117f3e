"""DingTalk phone screenshots from a hand of their own, not tests/synth.py's drawing (bench/ocr_dingtalk.py scores
them; tests/test_ocr_dingtalk.py draws its fixtures with it).

Round avatars carrying the last two characters of the person's name, the rep's bubbles in one of several blues
with white text, 「外部」 as a small framed badge after the title name, the customer's organisation as a grey line
under it, 已读 / 未读 under the rep's bubbles, time separators, quoted replies drawn inside the bubble
(「回复 X：」), voice messages with their 转文字 text in the same bubble, light and dark mode; 540×960, 720×1280,
1080×2340 and 1080×1920; JPEG 35–90. The people, companies and products (solar, cold chain, lab and farm
equipment) are invented here.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from PIL import Image, ImageDraw, ImageFont

from bot.clock import CN_TZ

NOTO = "/usr/share/fonts/opentype/noto/"
FONTS = [(NOTO + "NotoSansCJK-Regular.ttc", 2), (NOTO + "NotoSansCJK-Bold.ttc", 2),
         (NOTO + "NotoSansCJK-Regular.ttc", 7)]  # sans SC, bold SC, mono SC
SIZES = [(540, 960), (720, 1280), (1080, 2340), (1080, 1920)]
BLUES = [(50, 130, 251), (22, 119, 255), (61, 142, 255), (0, 122, 235)]
DARK_BLUES = [(28, 96, 200), (20, 88, 186), (40, 110, 215)]
AVATARS = [(52, 120, 246), (255, 148, 62), (40, 190, 160), (130, 100, 230), (235, 90, 110), (90, 160, 60)]
CATALOG = """# products of the invented vendors of this bench
光伏组件 | 太阳能板
储能柜
逆变器
充电桩
冷库 | 冷藏库
冷藏车
温湿度记录仪
离心机
超净工作台
植保无人机
滴灌设备
"""
PRODUCTS = ["光伏组件", "储能柜", "逆变器", "充电桩", "冷库", "冷藏车", "温湿度记录仪", "离心机", "超净工作台",
            "植保无人机", "滴灌设备"]
SURNAMES = "欧江房卞柏甘龚韦尹邱聂骆毛邵严覃阮霍莫钱崔郝孔祁"
GIVEN = ["晓东", "锦程", "雨桐", "立新", "佳怡", "振宇", "海燕", "思远", "春生", "若兰", "继勇", "明轩", "慧敏",
         "国栋", "一帆"]
REPS = ["柳承泽", "简书瑶", "温子航", "蓝可欣", "晏志刚"]
PLACES = ["南昌", "柳州", "绵阳", "包头", "湛江", "临沂", "宜宾", "赣州"]
CORES = [("晨曦新能源", "科技"), ("北极冷链", "物流"), ("禾丰农业", "发展"), ("科睿检测", "技术"),
         ("蓝湾水产", "食品"), ("启明生物", "医药")]
JOB_TITLES = ["采购部经理", "设备处处长", "后勤主管", "实验室主任", "生产副总", "运营经理", "厂长", "基地负责人"]
RELATIVE = {"明天": 1, "后天": 2}


@dataclass
class Msg:
    side: str  # "left" (customer) | "right" (rep) | "time"
    text: str
    kind: str = "text"  # "text" | "voice" | "quote"
    quoted: tuple[str, str] | None = None  # (speaker, words) shown inside a quote bubble
    facts: dict[str, object] = field(default_factory=dict)


@dataclass
class Case:
    name: str
    company: str
    aliases: list[str]
    rep: str
    msgs: list[Msg]
    now: datetime


def _cn_money(rng: random.Random) -> tuple[str, int]:
    wan = rng.choice([15, 28, 40, 60, 85, 120, 150, 300])
    form = rng.randrange(4)
    if form == 0:
        return f"{wan}万", wan * 10_000
    if form == 1:
        return f"{wan}w", wan * 10_000
    if form == 2:
        return f"¥{wan * 10_000:,}", wan * 10_000
    return f"{wan}万元左右", wan * 10_000


def _phone(rng: random.Random) -> tuple[str, str]:
    digits = rng.choice("3578") + "".join(str(rng.randrange(10)) for _ in range(9))
    number = "1" + digits
    shown = rng.choice([number, f"{number[:3]} {number[3:7]} {number[7:]}", f"{number[:3]}-{number[3:7]}-{number[7:]}"])
    return shown, number


def make_case(seed: int) -> Case:
    rng = random.Random(seed)
    now = datetime(2026, rng.randint(3, 11), rng.randint(1, 27), rng.randint(15, 20), rng.randint(0, 59),
                   tzinfo=CN_TZ)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    core, trade = rng.choice(CORES)
    place = rng.choice(PLACES)
    company = f"{place}{core}{trade}有限公司"
    aliases = [core, f"{place}{core}", f"{core}{trade}", f"{place}{core}{trade}", company]
    rep = rng.choice(REPS)
    surname = name[0]
    job = rng.choice(JOB_TITLES)
    needs = rng.sample(PRODUCTS, rng.choice([1, 1, 2]))
    money, budget = _cn_money(rng)
    shown_phone, phone = _phone(rng)
    msgs: list[Msg] = [Msg("time", f"昨天 {rng.randint(9, 17)}:{rng.randint(0, 59):02d}")]
    msgs.append(Msg("right", rng.choice([f"{surname}总您好，我是{rep[0]}工，咱们展会上加的好友",
                                         "您好，感谢关注我们的产品，有什么可以帮您？"])))
    intro = rng.randrange(3)
    if intro == 0:
        msgs.append(Msg("left", f"你好，我是{core}的{name}，目前是{job}", facts={"title": job}))
    elif intro == 1:
        msgs.append(Msg("left", f"我叫{name}，在{place}{core}负责设备采购，职务是{job}", facts={"title": job}))
    else:
        msgs.append(Msg("left", f"您好，我是{job}{name}", facts={"title": job}))
    need_text = "和".join(needs)
    msgs.append(Msg("left", rng.choice([f"我们今年想上一批{need_text}，想了解下你们的方案",
                                        f"需要{need_text}，能报个价吗"]), facts={"needs": needs}))
    budget_msg = Msg("left", f"预算大概{money}", facts={"budget_cny": budget})
    if rng.random() < 0.35:  # said as a voice message, its 转文字 text in the bubble
        budget_msg = Msg("left", f"预算这块大概{money}，领导已经批了", kind="voice", facts={"budget_cny": budget})
    msgs.append(budget_msg)
    msgs.append(Msg("time", f"{rng.randint(9, 12)}:{rng.randint(0, 59):02d}"))
    msgs.append(Msg("right", "好的，方便留个电话吗？我让技术同事跟您对接"))
    msgs.append(Msg("left", rng.choice([f"我手机{shown_phone}", f"电话：{shown_phone}，随时打"]),
                    facts={"phone": phone}))
    day = rng.choice(list(RELATIVE))
    hour = rng.choice([9, 10, 14, 15, 16])
    minute = rng.choice([0, 0, 30])
    said = f"{day}{'上午' if hour < 12 else '下午'}{hour if hour <= 12 else hour - 12}点{'半' if minute else ''}"
    follow = (now + timedelta(days=RELATIVE[day])).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if rng.random() < 0.5:  # the rep answers by quoting the customer's question (the customer's words)
        asked = len(need_text) < 9
        msgs.append(Msg("right", f"收到，{said}我带资料上门", kind="quote",
                        quoted=(name, "需要" + need_text if asked else "能报个价吗"),
                        facts={"follow_up": follow} | ({"needs": needs} if asked else {})))
    else:
        msgs.append(Msg("right", f"那我{said}给您打电话详细聊", facts={"follow_up": follow}))
    msgs.append(Msg("left", rng.choice(["好的", "可以，到时再约", "行"])))
    return Case(name, company, aliases, rep, msgs, now)


# ---------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Look:
    size: tuple[int, int]
    dark: bool
    font: tuple[str, int]
    text_pt: float  # message text in points (phone font-size setting)
    avatar_pt: float
    blue: tuple[int, int, int]
    quality: int

    @property
    def s(self) -> float:
        return self.size[0] / 360

    def f(self, pt: float) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.font[0], max(8, int(pt * self.s)), index=self.font[1])


def pick_look(rng: random.Random) -> Look:
    dark = rng.random() < 0.35
    return Look(rng.choice(SIZES), dark, rng.choice(FONTS), rng.choice([15, 16, 17, 18]), rng.choice([36, 38, 42]),
                rng.choice(DARK_BLUES if dark else BLUES), rng.randint(35, 90))


def colours(look: Look) -> dict[str, tuple[int, int, int]]:
    if look.dark:
        return dict(bg=(18, 18, 20), bar=(28, 28, 30), left=(48, 48, 52), text=(226, 226, 230), grey=(125, 125, 132),
                    line=(44, 44, 48), tag=(70, 140, 240), unread=(80, 150, 255))
    return dict(bg=(245, 246, 248), bar=(250, 250, 252), left=(255, 255, 255), text=(23, 26, 29),
                grey=(140, 145, 152), line=(230, 232, 235), tag=(255, 140, 30), unread=(30, 120, 240))


def wrap(text: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines, cur = [], ""
    for ch in text:
        if cur and f.getlength(cur + ch) > width:
            lines.append(cur)
            cur = ""
        cur += ch
    return [*lines, cur]


def draw(case: Case, look: Look, rng: random.Random) -> tuple[bytes, list[Msg]]:
    w, h = look.size
    s, c = look.s, colours(look)
    img = Image.new("RGB", (w, h), c["bg"])
    d = ImageDraw.Draw(img)
    status_h, bar_h = int(30 * s), int(52 * s)
    top = status_h + bar_h
    input_h = int(58 * s)
    bottom = h - input_h
    blocks = [_measure(m, look, case) for m in case.msgs]
    gap = int(14 * s)
    total = sum(b[1] + gap for b in blocks) + gap
    # a scrolled screenshot: the newest message sits on the input bar, the oldest ones go under the title bar
    y = top + gap if total <= bottom - top else bottom - total + gap
    shown = []
    for msg, height, lines in blocks:
        _draw_msg(d, msg, lines, look, c, case, y, rng)
        if y >= top:
            shown.append(msg)
        y += height + gap
    _draw_bars(d, case, look, c, rng, status_h, bar_h, bottom)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=look.quality)
    return buf.getvalue(), shown


def _geometry(look: Look) -> tuple[int, int, int, float]:
    s = look.s
    avatar, margin, pad = int(look.avatar_pt * s), int(10 * s), int(11 * s)
    max_w = look.size[0] - 2 * (margin + avatar + int(8 * s)) - int(40 * s) - 2 * pad
    return avatar, margin, pad, max_w


def _measure(m: Msg, look: Look, case: Case) -> tuple[Msg, int, list[str]]:
    s = look.s
    if m.side == "time":
        return m, int(18 * s), [m.text]
    avatar, _, pad, max_w = _geometry(look)
    mf = look.f(look.text_pt)
    line_h = int(mf.size * 1.45)
    lines = wrap(m.text, mf, max_w)
    body = len(lines) * line_h + 2 * pad
    if m.kind == "voice":
        body += int(34 * s)  # the duration row above the text
    if m.kind == "quote" and m.quoted:
        body += int(look.f(12).size * 1.5) + int(8 * s)
    marks = int(16 * s) if m.side == "right" else 0
    return m, max(avatar, body) + marks, lines


def _avatar(d: ImageDraw.ImageDraw, x: int, y: int, size: int, who: str, look: Look, rng: random.Random) -> None:
    d.ellipse((x, y, x + size, y + size), fill=AVATARS[sum(map(ord, who)) % len(AVATARS)])
    f = look.f(size / look.s * 0.34)
    label = who[-2:]
    d.text((x + (size - f.getlength(label)) / 2, y + (size - f.size) / 2 - f.size * 0.1), label, font=f,
           fill=(255, 255, 255))


def _draw_msg(d: ImageDraw.ImageDraw, m: Msg, lines: list[str], look: Look, c: dict, case: Case, y: int,
              rng: random.Random) -> None:
    s, w = look.s, look.size[0]
    if m.side == "time":
        f = look.f(12)
        d.text(((w - f.getlength(m.text)) / 2, y), m.text, font=f, fill=c["grey"])
        return
    avatar, margin, pad, _ = _geometry(look)
    mf = look.f(look.text_pt)
    line_h = int(mf.size * 1.45)
    left = m.side == "left"
    who = case.name if left else case.rep
    ax = margin if left else w - margin - avatar
    _avatar(d, ax, y, avatar, who, look, rng)
    text_w = max(mf.getlength(x) for x in lines)
    qf = look.f(12)
    quote = f"回复 {m.quoted[0]}：{m.quoted[1]}" if m.kind == "quote" and m.quoted else ""
    if quote:
        text_w = max(text_w, qf.getlength(quote))
    voice_h = int(34 * s) if m.kind == "voice" else 0
    quote_h = int(qf.size * 1.5) + int(8 * s) if quote else 0
    bw = int(max(text_w, 80 * s if voice_h else 0) + 2 * pad)
    bh = len(lines) * line_h + 2 * pad + voice_h + quote_h
    bx = ax + avatar + int(8 * s) if left else ax - int(8 * s) - bw
    fill = c["left"] if left else look.blue
    ink = c["text"] if left else (255, 255, 255)
    d.rounded_rectangle((bx, y, bx + bw, y + bh), radius=int(8 * s), fill=fill)
    ty = y + pad
    if voice_h:
        d.text((bx + pad, ty), f"{rng.randint(3, 14)}''", font=look.f(14), fill=ink)
        for k in range(3):
            r = int((3 + 3 * k) * s)
            cx, cy = bx + bw - pad - int(4 * s), ty + int(10 * s)
            d.arc((cx - r, cy - r, cx + r, cy + r), 135, 225, fill=ink, width=max(1, int(1.5 * s)))
        d.line((bx + pad, ty + voice_h - int(8 * s), bx + bw - pad, ty + voice_h - int(8 * s)),
               fill=c["grey"] if left else (150, 190, 250), width=max(1, int(s / 2)))
        ty += voice_h
    if quote:
        qink = c["grey"] if left else (205, 225, 255)
        d.line((bx + pad, ty, bx + pad, ty + qf.size * 1.3), fill=qink, width=max(2, int(2 * s)))
        d.text((bx + pad + int(6 * s), ty), quote, font=qf, fill=qink)
        ty += quote_h
    for i, line in enumerate(lines):
        d.text((bx + pad, ty + i * line_h), line, font=mf, fill=ink)
    if not left:  # 已读 / 未读 under the bubble, at its left end
        read = rng.random() < 0.75
        mark = "已读" if read else "未读"
        d.text((bx, y + bh + int(2 * s)), mark, font=look.f(11), fill=c["grey"] if read else c["unread"])


def _draw_bars(d: ImageDraw.ImageDraw, case: Case, look: Look, c: dict, rng: random.Random, status_h: int,
               bar_h: int, bottom: int) -> None:
    w, h = look.size
    s = look.s
    d.rectangle((0, 0, w, status_h + bar_h), fill=c["bar"])
    sf = look.f(12)
    d.text((int(16 * s), int(7 * s)), f"{rng.randint(9, 22)}:{rng.randint(0, 59):02d}", font=sf, fill=c["text"])
    d.rounded_rectangle((w - int(36 * s), int(9 * s), w - int(14 * s), int(20 * s)), radius=int(2 * s),
                        outline=c["text"], width=max(1, int(s)))
    # back chevron, title name + 外部 tag, organisation underneath, phone and menu glyphs on the right
    cy = status_h + bar_h // 2
    d.line((int(24 * s), cy - int(8 * s), int(16 * s), cy, int(24 * s), cy + int(8 * s)), fill=c["text"],
           width=max(2, int(2 * s)))
    tf, tag_f, sub_f = look.f(16), look.f(10), look.f(11)
    tag_w = tag_f.getlength("外部") + int(8 * s)
    total = tf.getlength(case.name) + int(5 * s) + tag_w
    tx = (w - total) / 2
    ty = cy - tf.size - int(1 * s)
    d.text((tx, ty), case.name, font=tf, fill=c["text"])
    gx, gy = tx + tf.getlength(case.name) + int(5 * s), ty + (tf.size - tag_f.size) / 2
    d.rounded_rectangle((gx, gy, gx + tag_w, gy + tag_f.size + int(4 * s)), radius=int(3 * s), outline=c["tag"],
                        width=max(1, int(s)))
    d.text((gx + int(4 * s), gy + int(1 * s)), "外部", font=tag_f, fill=c["tag"])
    d.text(((w - sub_f.getlength(case.company)) / 2, cy + int(3 * s)), case.company, font=sub_f, fill=c["grey"])
    d.ellipse((w - int(66 * s), cy - int(8 * s), w - int(50 * s), cy + int(8 * s)), outline=c["text"],
              width=max(1, int(1.5 * s)))
    for i in range(3):
        x0 = w - int((30 - 6 * i) * s)
        d.ellipse((x0, cy - int(2 * s), x0 + int(3 * s), cy + int(1 * s)), fill=c["text"])
    d.line((0, status_h + bar_h, w, status_h + bar_h), fill=c["line"], width=max(1, int(s / 2)))
    d.rectangle((0, bottom, w, h), fill=c["bar"])
    d.line((0, bottom, w, bottom), fill=c["line"], width=max(1, int(s / 2)))
    d.rounded_rectangle((int(48 * s), bottom + int(10 * s), w - int(90 * s), bottom + int(44 * s)),
                        radius=int(17 * s), fill=c["bg"])
    for x0 in (int(12 * s), w - int(80 * s), w - int(42 * s)):
        d.ellipse((x0, bottom + int(12 * s), x0 + int(28 * s), bottom + int(40 * s)), outline=c["grey"],
                  width=max(1, int(1.5 * s)))


# ---------------------------------------------------------------- labels and scoring


def label(case: Case, shown: list[Msg]) -> dict[str, object]:
    facts: dict[str, object] = {}
    for m in shown:
        facts.update(m.facts)
    title = facts.get("title")
    follow = facts.get("follow_up")
    return {"customer_name": case.name, "company": case.company, "company_aliases": case.aliases,
            "title": title, "title_aliases": [title] if title else [], "phone": facts.get("phone"),
            "email": None, "wechat_id": None, "budget_cny": facts.get("budget_cny"),
            "needs": list(facts.get("needs", [])),  # type: ignore[call-overload]
            "follow_up": follow.strftime("%Y-%m-%dT%H:%M") if isinstance(follow, datetime) else None}
