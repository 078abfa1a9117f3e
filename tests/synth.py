"""Deterministic synthetic chat screenshots with ground truth, for tests and `bench/ocr.py`.

WeChat and WeCom look, light and dark mode, phone sizes, JPEG quality 60–90, status bar, title bar,
centred timestamps, left (customer) / right (rep) bubbles, wrapped lines, emoji, scrolled and long
screenshots; plus negatives (receipts, price tables, colleague chats, group chats, small talk).
The ground truth is built constructively from what the generator chose, never by parsing text.
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from bot.clock import CN_TZ

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_INDEX_SC = 2
EMOJI = "\ue000"  # drawn as a small face; not part of the text ground truth

SIZES = [(750, 1334), (828, 1792), (1080, 1920), (1080, 2340), (1125, 2436), (1170, 2532)]
WEEKDAYS = "一二三四五六日"
CN_DIGITS = "零一二三四五六七八九十"


@dataclass(frozen=True)
class Truth:
    is_lead: bool
    kind: str  # "lead" | "receipt" | "table" | "colleague" | "group" | "smalltalk"
    customer_name: str | None = None
    company: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat_id: str | None = None
    budget_cny: int | None = None
    needs: tuple[str, ...] = ()
    follow_up: datetime | None = None


@dataclass(frozen=True)
class Sample:
    name: str
    image: bytes  # JPEG
    now: datetime
    truth: Truth
    text: str  # all visible text (title, timestamps, bubbles), the CER reference
    meta: dict[str, object] = field(default_factory=dict)


@dataclass
class Item:
    kind: str  # "time" | "left" | "right"
    text: str
    facts: dict[str, object] = field(default_factory=dict)
    when: datetime | None = None  # real time of a "time" item
    sender: str | None = None  # group chats: name shown above a left bubble
    # What the bubble is, beyond text: "voice" (duration bubble, `text` is its 转文字 block underneath),
    # "redpacket" / "transfer" (orange card, `text` is what it shows), "link" (a shared article card: title,
    # description, source), "quote" (a reply; `quote` is (speaker, words) shown in a grey block under it).
    style: str | None = None
    quote: tuple[str, str] | None = None
    seconds: int = 0  # a voice message's length


@dataclass
class Chat:
    app: str  # "wechat" | "wecom"
    title: str
    suffix: str | None  # WeCom "@公司"
    items: list[Item]
    subtitle: str | None = None  # DingTalk: the contact's company under the name
    tag: str | None = None  # drawn after the title and naming no one (WeCom's 「@微信」: a contact on personal WeChat)


# ---------------------------------------------------------------- vocabulary

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢傅钟"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏宇浩凯晨欣雪琳斌亮峰婷"
COMPANIES = [
    ("华东医疗", "上海华东医疗器械有限公司", "huadongmed.com"),
    ("宏达科技", "深圳市宏达科技股份有限公司", "hongdatech.cn"),
    ("远洋物流", "青岛远洋物流集团有限公司", "yuanyang-log.com"),
    ("瑞丰制药", "浙江瑞丰制药有限公司", "ruifengpharma.com"),
    ("星辰教育", "北京星辰教育科技有限公司", "xingchenedu.cn"),
    ("金桥银行", "金桥农村商业银行股份有限公司", "jqbank.com"),
    ("恒信地产", "恒信置业发展有限公司", "hengxin.com.cn"),
    ("光明乳业", "成都光明乳业有限公司", "gmdairy.cn"),
    ("新锐汽车", "广州新锐汽车零部件有限公司", "xinrui-auto.com"),
    ("天合能源", "江苏天合能源科技有限公司", "tianheenergy.com"),
    ("市一医院", "苏州市第一人民医院", "sz1h.org.cn"),
    ("云帆软件", "杭州云帆软件有限公司", "yunfansoft.com"),
]
TITLES = [
    "采购经理",
    "IT总监",
    "信息科主任",
    "设备科科长",
    "运营总监",
    "总经理",
    "行政主管",
    "技术负责人",
    "财务经理",
    "副院长",
    "项目经理",
    "市场总监",
]
NEEDS = [
    "CRM系统",
    "数据中台",
    "私有化部署",
    "监护仪",
    "服务器",
    "视频会议",
    "OA系统",
    "电子签章",
    "员工培训",
    "数据安全",
    "移动办公",
    "客服系统",
    "智能排班",
    "财务软件",
]
PINYIN = ["zhang", "wang", "li", "liu", "chen", "yang", "zhao", "zhou", "wu", "xu", "sun", "ma", "hu", "lin"]
NICKNAMES = ["Leo", "阳光明媚", "Amy", "老K", "静待花开", "Kevin", "奋斗的蜗牛", "Jason"]
REP_COMPANY = "云启软件"
SMALLTALK = ["好的", "收到", "嗯嗯", "谢谢", "在吗", "好的，辛苦了", "明白", "稍等我看一下", "没问题"]


# ---------------------------------------------------------------- time expressions (constructive)


def _cn_num(n: int) -> str:
    if n <= 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n - 10] if n > 10 else "")
    return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")


def _hour_phrase(rng: random.Random, hour: int, minute: int) -> str:
    """Spoken clock time for a 24h hour; always unambiguous under the resolver's conventions."""
    if rng.random() < 0.15:
        return f"{hour}:{minute:02d}"
    h12 = hour - 12 if hour > 12 else hour
    num = _cn_num(h12) if rng.random() < 0.3 else str(h12)
    tail = "点半" if minute == 30 else "点"
    if hour >= 18:
        return f"晚上{num}{tail}"
    if hour >= 13:
        prefix = "下午" if rng.random() < 0.7 or h12 > 6 else ""
        return f"{prefix}{num}{tail}"
    if hour == 12:
        return f"中午{num}{tail}"
    prefix = "上午" if rng.random() < 0.6 or hour < 7 else ""
    return f"{prefix}{num}{tail}"


def _pick_time(rng: random.Random) -> tuple[str, int, int] | None:
    """(phrase, hour, minute) or None for a date-only expression (→ 09:00)."""
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.3:
        return ("上午", 9, 0)
    if r < 0.38:
        return ("下午", 14, 0)
    hour = rng.choice([9, 10, 11, 14, 15, 16, 17, 19])
    minute = rng.choice([0, 0, 30])
    return (_hour_phrase(rng, hour, minute), hour, minute)


FollowSpec = tuple[str, int, int, int, tuple[int, int] | None]  # kind, a, b, today_flag, (hour, minute)


def _follow_up(rng: random.Random, anchor: datetime) -> tuple[str, FollowSpec]:
    """A future time expression and the spec of its meaning (see `follow_up_meaning`)."""
    kind = rng.choice(["rel", "rel", "next_wd", "this_wd", "next_month", "abs_md", "time_only", "before"])
    t = _pick_time(rng)
    d0 = anchor.date()
    hm = None if t is None else (t[1], t[2])
    tp = "" if t is None else t[0]
    if kind == "time_only" and anchor.hour < 21:
        hour, minute = rng.randint(anchor.hour + 1, 22), rng.choice([0, 30])
        if hour < 13:
            phrase = f"上午{hour}点" + ("半" if minute else "")
        else:
            phrase = _hour_phrase(rng, hour, minute)
            if not phrase.startswith(("下午", "晚上", "中午")) and ":" not in phrase:
                phrase = "下午" + phrase
        today = rng.random() < 0.5
        return ("今天" if today else "") + phrase, ("time_only", 0, 0, int(today), (hour, minute))
    if kind == "next_wd":
        wd = rng.randint(0, 4)
        word = ("下周" if rng.random() < 0.6 else "下星期") + WEEKDAYS[wd]
        return word + tp, ("next_wd", wd, 0, 0, hm)
    if kind in ("this_wd", "before"):
        wd = rng.randint(0, 4)
        word = rng.choice(["周", "星期"]) + WEEKDAYS[wd]
        if kind == "before":
            return word + "之前", ("this_wd", wd, 0, 0, None)
        return word + tp, ("this_wd", wd, 0, 0, hm)
    if kind == "next_month":
        dom = rng.randint(1, 28)
        word = f"下个月{dom}号" if rng.random() < 0.7 else f"下月{dom}日"
        return word + tp, ("next_month", dom, 0, 0, hm)
    if kind == "abs_md":
        day = d0 + timedelta(days=rng.randint(3, 50))
        return f"{day.month}月{day.day}" + rng.choice(["日", "号"]) + tp, (
            "abs_md",
            day.month,
            day.day,
            0,
            hm,
        )
    n = rng.choice([1, 1, 2])
    return {1: "明天", 2: "后天"}[n] + tp, ("rel", n, 0, 0, hm)


def follow_up_meaning(spec: FollowSpec, anchor: datetime) -> datetime:
    """Conventions: date without clock → 09:00; 上午 → 09:00; 下午 → 14:00; a bare weekday is the next one
    strictly after the anchor's date; a clock time alone is today if still ahead of the anchor, else tomorrow."""
    kind, a, b, today, hm = spec
    d0 = anchor.date()
    if kind == "time_only":
        assert hm is not None
        day = d0
        if not today and (hm[0], hm[1]) <= (anchor.hour, anchor.minute):
            day = d0 + timedelta(days=1)
    elif kind == "rel":
        day = d0 + timedelta(days=a)
    elif kind == "next_wd":
        day = d0 - timedelta(days=d0.weekday()) + timedelta(days=7 + a)
    elif kind == "this_wd":
        day = d0 + timedelta(days=(a - d0.weekday()) % 7 or 7)
    elif kind == "next_month":
        y, m = (d0.year + 1, 1) if d0.month == 12 else (d0.year, d0.month + 1)
        day = date(y, m, a)
    else:
        day = date(d0.year, a, b)
        if day < d0:
            day = date(d0.year + 1, a, b)
    hour, minute = hm or (9, 0)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CN_TZ)


def _stamp(rng: random.Random, when: datetime, now: datetime) -> str:
    """How WeChat/WeCom show a message time relative to `now`."""
    days = (now.date() - when.date()).days
    if rng.random() < 0.35:
        half = "上午" if when.hour < 12 else "下午"
        h12 = when.hour if when.hour <= 12 else when.hour - 12
        clock = f"{half}{h12}:{when.minute:02d}"
    else:
        clock = f"{when.hour}:{when.minute:02d}"
    if days == 0:
        return clock
    if days == 1:
        return f"昨天 {clock}"
    if days < 7:
        return f"星期{WEEKDAYS[when.weekday()]} {clock}"
    if when.year == now.year:
        return f"{when.month}月{when.day}日 {clock}"
    return f"{when.year}年{when.month}月{when.day}日 {clock}"


# ---------------------------------------------------------------- conversation generators


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
    return rng.choice(SURNAMES) + given


def _phone(rng: random.Random) -> str:
    return (
        rng.choice(["13", "15", "17", "18", "19"])
        + str(rng.randint(0, 9))
        + f"{rng.randint(0, 99999999):08d}"
    )


def _fmt_phone(rng: random.Random, p: str) -> str:
    style = rng.choice(["plain", "plain", "space", "dash", "+86", "+86space", "+86paren"])
    return {
        "plain": p,
        "space": f"{p[:3]} {p[3:7]} {p[7:]}",
        "dash": f"{p[:3]}-{p[3:7]}-{p[7:]}",
        "+86": f"+86{p}",
        "+86space": f"+86 {p[:3]} {p[3:7]} {p[7:]}",
        "+86paren": f"(+86){p}",
    }[style]


def _budget(rng: random.Random) -> tuple[str, int]:
    kind = rng.choice(["wan", "w", "yi", "cn", "k", "wan"])
    if kind == "wan":
        n = rng.choice([20, 30, 50, 80, 120, 150, 200])
        return f"{n}万", n * 10_000
    if kind == "w":
        n = rng.choice([30, 50, 80, 60])
        return f"{n}{rng.choice('wW')}", n * 10_000
    if kind == "yi":
        n = rng.choice([1.2, 1.5, 2])
        return f"{n:g}亿", round(n * 100_000_000)
    if kind == "cn":
        n = rng.choice([20, 30, 50, 80, 100])
        word = {100: "一百"}.get(n, _cn_num(n))
        return f"{word}万", n * 10_000
    n = rng.choice([300, 500, 800])
    return f"{n}k", n * 1000


def _lead_chat(rng: random.Random, now: datetime) -> Chat:
    app = rng.choice(["wechat", "wecom"])
    name = _name(rng)
    short, full, domain = rng.choice(COMPANIES)
    facts: dict[str, object] = {}
    # title bar and what it tells
    suffix = None
    if app == "wecom":
        title, suffix = name, f"@{short}"
        facts.update(customer_name=name, company=short)
    else:
        style = rng.choice(["name", "name_co", "nick", "name"])
        title = {"name": name, "name_co": f"{name}-{short}", "nick": rng.choice(NICKNAMES)}[style]
        if style != "nick":
            facts["customer_name"] = name
        if style == "name_co":
            facts["company"] = short
    items: list[Item] = []
    gap_days = rng.choice([0, 0, 1, 1, 2, 3, 5, 9, 20, 40])
    start = now - timedelta(days=gap_days)
    start = start.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=0, microsecond=0)
    if start > now:
        start = now - timedelta(minutes=rng.randint(20, 90))
    items.append(Item("time", _stamp(rng, start, now), when=start))
    # filler before the substance (may scroll away)
    for _ in range(rng.choice([0, 0, 1, 2])):
        items.append(
            Item(rng.choice(["left", "right"]), rng.choice(SMALLTALK) + (EMOJI if rng.random() < 0.3 else ""))
        )
    rep_name = rng.choice(["小王", "小李", "小陈"])
    if rng.random() < 0.5:
        rep_phone = _phone(rng)
        items.append(
            Item(
                "right",
                f"您好，我是{REP_COMPANY}的{rep_name}，我的电话{_fmt_phone(rng, rep_phone)}，有事随时找我",
            )
        )
    else:
        items.append(Item("right", f"您好，我是{REP_COMPANY}的{rep_name}，很高兴认识您{EMOJI}"))
    phone = _phone(rng)
    intro = rng.choice(["card", "sentence", "sentence", "split"])
    title_ = rng.choice(TITLES) if rng.random() < 0.7 else None
    use_full = rng.random() < 0.6
    company_text = full if use_full else short
    if intro == "card":
        lines = [name]
        if title_:
            lines.append(title_)
        lines.append(company_text)
        lines.append(f"{rng.choice(['手机', '电话', 'Tel'])}：{_fmt_phone(rng, phone)}")
        f: dict[str, object] = {"customer_name": name, "company": company_text, "phone": phone}
        if rng.random() < 0.5:
            email = f"{rng.choice(PINYIN)}{rng.choice(['', '.', '_'])}{rng.choice(PINYIN)}@{domain}"
            lines.append(f"邮箱：{email}")
            f["email"] = email
        if title_:
            f["title"] = title_
        items.append(Item("left", "\n".join(lines), facts=f))
    else:
        who = f"我是{company_text}的{name}" if rng.random() < 0.6 else f"我叫{name}，在{company_text}"
        if title_:
            who += f"，负责{rng.choice(['采购', '信息化', '设备'])}，职位是{title_}"
        f = {"customer_name": name, "company": company_text}
        if title_:
            f["title"] = title_
        items.append(Item("left", f"你好，{who}" + (EMOJI if rng.random() < 0.3 else ""), facts=f))
        if rng.random() < 0.35:  # referrer trap before the own number
            ref = _name(rng)
            items.append(Item("left", f"是{ref}介绍我来的，他电话{_fmt_phone(rng, _phone(rng))}"))
        items.append(
            Item(
                "left",
                f"{rng.choice(['我的手机', '我电话', '手机号', '联系方式'])}：{_fmt_phone(rng, phone)}",
                facts={"phone": phone},
            )
        )
    if rng.random() < 0.4:
        wx = f"{rng.choice(PINYIN)}{rng.choice(['_', '-', ''])}{rng.randint(10, 2024)}"
        items.append(Item("left", f"{rng.choice(['微信号', '我微信', 'vx'])}：{wx}", facts={"wechat_id": wx}))
    needs = tuple(rng.sample(NEEDS, rng.choice([1, 1, 2])))
    needs_text = "和".join(needs)
    items.append(
        Item(
            "left",
            rng.choice(
                [
                    f"我们想了解一下{needs_text}",
                    f"主要是{needs_text}方面的需求",
                    f"最近在选型{needs_text}，想看看你们的方案",
                ]
            ),
            facts={"needs": needs},
        )
    )
    if rng.random() < 0.4:  # rep's price is a budget trap
        items.append(Item("right", f"我们标准版报价大概{rng.choice(['28万', '15万', '40w'])}，可以先试用"))
    if rng.random() < 0.8:
        btext, bval = _budget(rng)
        items.append(
            Item(
                "left",
                rng.choice([f"今年这块预算{btext}左右", f"预算大概{btext}", f"我们预算控制在{btext}以内"]),
                facts={"budget_cny": bval},
            )
        )
    # a second time anchor later in the chat, sometimes
    last = start
    if rng.random() < 0.4 and (now - start) > timedelta(hours=2):
        later = start + (now - start) * rng.uniform(0.3, 0.9)
        later = later.replace(second=0, microsecond=0)
        if later.date() != start.date() or later - start > timedelta(minutes=30):
            items.append(Item("time", _stamp(rng, later, now), when=later))
            last = later
    if rng.random() < 0.9:
        phrase, spec = _follow_up(rng, last)
        tag: dict[str, object] = {"follow_up": spec}
        if rng.random() < 0.5:
            items.append(Item("right", f"那我{phrase}给您回电详细聊？", facts=tag))
            items.append(
                Item(
                    "left", rng.choice(["好的", "可以", "行，没问题"]) + (EMOJI if rng.random() < 0.3 else "")
                )
            )
        else:
            items.append(
                Item(
                    "left",
                    rng.choice([f"{phrase}方便，你来公司聊吧", f"那{phrase}你再打给我", f"{phrase}我有空"]),
                    facts=tag,
                )
            )
            items.append(Item("right", "好的，到时候联系您"))
    for _ in range(rng.choice([0, 0, 1])):
        items.append(Item(rng.choice(["left", "right"]), rng.choice(SMALLTALK)))
    return Chat(app, title, suffix, items)


def _colleague_chat(rng: random.Random, now: datetime) -> Chat:
    app = rng.choice(["wechat", "wecom"])
    start = (now - timedelta(days=rng.choice([0, 1, 2]))).replace(
        hour=rng.randint(8, 12), minute=rng.randint(0, 59)
    )
    lines = [
        "下午的周会改到3点了",
        f"报销单我提交了，金额{rng.randint(300, 5000)}元",
        "明天上午9点部门例会别忘了",
        "客户资料我放共享盘了",
        "这个月的周报记得交",
        "收到，我晚点看",
        "季度目标还差30万，大家加油",
        "好的，谢谢领导",
        "方案我改完了，你帮忙看下",
        "下周二出差去杭州",
    ]
    items = [Item("time", _stamp(rng, start, now), when=start)]
    for line in rng.sample(lines, rng.randint(4, 7)):
        items.append(Item(rng.choice(["left", "right"]), line))
    return Chat(app, _name(rng) if rng.random() < 0.6 else f"{rng.choice(SURNAMES)}经理", None, items)


def _group_chat(rng: random.Random, now: datetime) -> Chat:
    app = rng.choice(["wechat", "wecom"])
    start = (now - timedelta(days=rng.choice([0, 1, 3]))).replace(
        hour=rng.randint(8, 12), minute=rng.randint(0, 59)
    )
    items = [Item("time", _stamp(rng, start, now), when=start)]
    lines = [
        "大家好，项目启动会定在下周二",
        f"联系人{_name(rng)}，电话{_phone(rng)}",
        "预算50万以内",
        "收到",
        "好的",
        "我这边没问题",
        "资料已上传群文件",
        "明天下午3点线上过一下方案",
    ]
    for line in rng.sample(lines, rng.randint(4, 6)):
        side = rng.choice(["left", "left", "right"])
        items.append(Item(side, line, sender=_name(rng) if side == "left" else None))
    title = rng.choice(["华东项目群", "销售一部", "宏达科技对接群", "客户交流群"]) + f"({rng.randint(3, 40)})"
    return Chat(app, title, None, items)


def _smalltalk_chat(rng: random.Random, now: datetime) -> Chat:
    start = (now - timedelta(days=rng.choice([0, 1, 2]))).replace(
        hour=rng.randint(9, 17), minute=rng.randint(0, 59)
    )
    items = [Item("time", _stamp(rng, start, now), when=start)]
    lines = [
        "在吗",
        "你好",
        "最近怎么样",
        "还行，挺忙的",
        "有空一起吃饭" + EMOJI,
        "好啊",
        "周末去爬山吗",
        "哈哈哈" + EMOJI,
        "晚安",
    ]
    for line in rng.sample(lines, rng.randint(3, 6)):
        items.append(Item(rng.choice(["left", "right"]), line))
    return Chat(rng.choice(["wechat", "wecom"]), rng.choice(NICKNAMES), None, items)


# ---------------------------------------------------------------- rendering


@lru_cache(maxsize=64)
def font(size: int, path: str = FONT_PATH, index: int = FONT_INDEX_SC) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


@dataclass(frozen=True)
class Look:
    """How an app draws, beyond its colours: another vendor's or another generator's hand. The default is the
    look every other sample of this module has (so their bytes do not change)."""

    font_path: str = FONT_PATH
    font_index: int = FONT_INDEX_SC
    text_pt: float = 17  # message text size (phones' "font size" setting: 15–21)
    avatar_pt: int = 40
    round_avatar: bool = False
    radius_pt: float = 5  # bubble corners
    tail: bool = True  # the little triangle pointing at the avatar
    pill_stamps: bool = False  # timestamps and system notices on a grey rounded pill
    carrier: str | None = None  # status bar: "中国移动 5G" and a battery percentage
    read_marks: bool = False  # WeCom: 「已读」 / 「未读」 in small grey / blue text beside each of the rep's bubbles

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        return font(int(size), self.font_path, self.font_index)


DEFAULT_LOOK = Look()


PALETTES = {
    ("dingtalk", False): dict(
        bg=(242, 243, 245), bar=(255, 255, 255), left=(255, 255, 255), right=(0, 137, 255), text=(25, 31, 37),
        rtext=(255, 255, 255), stamp=(150, 155, 160), line=(226, 228, 232), inbar=(255, 255, 255),
        box=(242, 243, 245), suffix=(0, 137, 255),
    ),
    ("dingtalk", True): dict(
        bg=(20, 20, 22), bar=(30, 30, 32), left=(44, 44, 46), right=(0, 110, 220), text=(220, 220, 222),
        rtext=(255, 255, 255), stamp=(110, 110, 115), line=(50, 50, 52), inbar=(30, 30, 32),
        box=(44, 44, 46), suffix=(60, 150, 255),
    ),
    ("wechat", False): dict(
        bg=(237, 237, 237),
        bar=(237, 237, 237),
        left=(255, 255, 255),
        right=(149, 236, 105),
        text=(25, 25, 25),
        rtext=(25, 25, 25),
        stamp=(160, 160, 160),
        line=(214, 214, 214),
        inbar=(247, 247, 247),
        box=(255, 255, 255),
        suffix=(250, 157, 59),
    ),
    ("wechat", True): dict(
        bg=(17, 17, 17),
        bar=(25, 25, 25),
        left=(44, 44, 44),
        right=(62, 181, 117),
        text=(213, 213, 213),
        rtext=(15, 15, 15),
        stamp=(110, 110, 110),
        line=(45, 45, 45),
        inbar=(30, 30, 30),
        box=(44, 44, 44),
        suffix=(230, 140, 50),
    ),
    ("wecom", False): dict(
        bg=(235, 236, 239),
        bar=(250, 250, 250),
        left=(255, 255, 255),
        right=(200, 222, 255),
        text=(30, 30, 30),
        rtext=(30, 30, 30),
        stamp=(150, 150, 150),
        line=(222, 222, 222),
        inbar=(250, 250, 250),
        box=(241, 242, 244),
        suffix=(222, 130, 40),
    ),
    ("wecom", True): dict(
        bg=(24, 24, 24),
        bar=(32, 32, 32),
        left=(46, 46, 46),
        right=(38, 78, 138),
        text=(222, 222, 222),
        rtext=(230, 230, 230),
        stamp=(115, 115, 115),
        line=(50, 50, 50),
        inbar=(32, 32, 32),
        box=(46, 46, 46),
        suffix=(230, 150, 60),
    ),
}


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    for ch in line:
        if out and ch.isascii() and ch not in " " and out[-1][-1:].isascii() and out[-1][-1:] != " ":
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _width(text: str, f: ImageFont.FreeTypeFont) -> float:
    return (
        sum(f.size if ch == EMOJI else f.getlength(ch) for ch in text) if EMOJI in text else f.getlength(text)
    )


def wrap(text: str, f: ImageFont.FreeTypeFont, max_w: float) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for tok in _tokens(para):
            if cur and _width(cur + tok, f) > max_w:
                lines.append(cur.rstrip())
                cur = tok.lstrip()
            else:
                cur += tok
        lines.append(cur)
    return lines


def _draw_text(
    d: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    f: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> None:
    x, y = xy
    parts = text.split(EMOJI)
    for i, part in enumerate(parts):
        if part:
            d.text((x, y), part, font=f, fill=fill)
            x += f.getlength(part)
        if i < len(parts) - 1:
            _draw_emoji(d, x, y, f.size)
            x += f.size


def _draw_emoji(d: ImageDraw.ImageDraw, x: float, y: float, s: int) -> None:
    cy = y + s * 0.62
    brown = (90, 60, 10)
    d.ellipse((x + 1, cy - s * 0.45, x + s - 1, cy + s * 0.45), fill=(255, 200, 40))
    d.ellipse((x + s * 0.3, cy - s * 0.15, x + s * 0.4, cy - s * 0.02), fill=brown)
    d.ellipse((x + s * 0.6, cy - s * 0.15, x + s * 0.7, cy - s * 0.02), fill=brown)
    d.arc((x + s * 0.28, cy - s * 0.1, x + s * 0.72, cy + s * 0.28), 20, 160, fill=brown, width=2)


@dataclass
class _Block:
    item: Item
    lines: list[str]
    height: int


@dataclass(frozen=True)
class _Geom:
    w: int
    h: int
    s: float
    status_h: int
    title_h: int
    input_h: int
    desktop: bool = False  # a PC client's chat pane: no status bar, title on the left, tall input area
    look: Look = DEFAULT_LOOK


def render_chat(
    chat: Chat, rng: random.Random, size: tuple[int, int], dark: bool, long_h: int | None = None,
    *, scale: float | None = None, desktop: bool = False, look: Look = DEFAULT_LOOK, pal: dict | None = None,
) -> tuple[Image.Image, list[Item]]:
    """Draw the chat; return the image and the items that are fully visible. `scale` is pixels per phone point
    (default: width / 375); `desktop` draws a PC client's chat pane; `pal` replaces the app's colours."""
    w, h = size[0], long_h or size[1]
    s = scale or w / 375
    notch = size[1] / size[0] > 2.0
    if desktop:
        g = _Geom(w, h, s, 0, int(52 * s), int(150 * s), desktop=True, look=look)
    else:
        g = _Geom(w, h, s, int((44 if notch else 20) * s), int(44 * s), int((56 + (34 if notch else 0)) * s),
                  look=look)
    pal = pal or PALETTES[(chat.app, dark)]
    img = Image.new("RGB", (w, h), pal["bg"])
    d = ImageDraw.Draw(img)
    visible = _draw_messages(d, chat, rng, g, pal)
    _draw_top(d, chat, rng, g, pal)
    _draw_input(d, g, pal)
    return img, visible


def _draw_top(d: ImageDraw.ImageDraw, chat: Chat, rng: random.Random, g: _Geom, pal: dict) -> None:
    w, s, status_h, title_h = g.w, g.s, g.status_h, g.title_h
    d.rectangle((0, 0, w, status_h + title_h), fill=pal["bar"])
    if g.desktop:
        tf = g.look.font(17 * s)
        _draw_text(d, (int(22 * s), (title_h - tf.size) / 2), chat.title, tf, pal["text"])
        after = chat.suffix or chat.tag
        if after:
            _draw_text(d, (int(22 * s) + _width(chat.title, tf), (title_h - tf.size) / 2), after, tf,
                       pal["suffix"])
        for i in range(3):
            x0 = w - int((40 - i * 7) * s)
            d.ellipse((x0, title_h / 2 - 2 * s, x0 + 4 * s, title_h / 2 + 2 * s), fill=pal["text"])
        d.line((0, title_h, w, title_h), fill=pal["line"], width=max(1, int(s)))
        return
    look = g.look
    sf = look.font(14 * s)
    clock = f"{rng.randint(8, 23)}:{rng.randint(0, 59):02d}"
    if look.carrier:  # carrier left, clock centred, battery percentage right
        d.text((int(8 * s), int(status_h * 0.25)), look.carrier, font=sf, fill=pal["text"])
        d.text(((w - _width(clock, sf)) / 2, int(status_h * 0.25)), clock, font=sf, fill=pal["text"])
        pct = f"{rng.randint(12, 99)}%"
        d.text((w - int(44 * s) - _width(pct, sf), int(status_h * 0.25)), pct, font=sf, fill=pal["text"])
    else:
        d.text((int(20 * s), int(status_h * 0.25)), clock, font=sf, fill=pal["text"])
    bx, by = w - int(40 * s), int(status_h * 0.35)
    d.rectangle((bx, by, bx + int(24 * s), by + int(11 * s)), outline=pal["text"], width=max(1, int(s)))
    d.rectangle((bx + 3, by + 3, bx + int(rng.uniform(8, 22) * s), by + int(11 * s) - 3), fill=pal["text"])
    for i in range(0 if look.carrier else 4):
        x0 = w - int((80 - i * 6) * s)
        d.rectangle((x0, by + int((8 - 2 * i) * s), x0 + int(3 * s), by + int(11 * s)), fill=pal["text"])
    ty = status_h + title_h / 2
    cx = int(18 * s)
    d.line(
        (cx + 8 * s, ty - 9 * s, cx, ty, cx + 8 * s, ty + 9 * s), fill=pal["text"], width=max(2, int(2 * s))
    )
    for i in range(3):
        x0 = w - int((30 - i * 7) * s)
        d.ellipse((x0, ty - 2 * s, x0 + 4 * s, ty + 2 * s), fill=pal["text"])
    tf = look.font(17 * s)
    tx = (w - _width(chat.title + (chat.suffix or ""), tf)) / 2
    if chat.subtitle:
        sub = look.font(11 * s)
        d.text(((w - _width(chat.subtitle, sub)) / 2, ty + 2 * s), chat.subtitle, font=sub, fill=pal["stamp"])
        ty -= 8 * s
    _draw_text(d, (tx, ty - tf.size * 0.72), chat.title, tf, pal["text"])
    if chat.suffix:
        _draw_text(d, (tx + _width(chat.title, tf), ty - tf.size * 0.72), chat.suffix, tf, pal["suffix"])
    d.line((0, status_h + title_h, w, status_h + title_h), fill=pal["line"], width=max(1, int(s / 2)))


def _draw_input(d: ImageDraw.ImageDraw, g: _Geom, pal: dict) -> None:
    w, h, s = g.w, g.h, g.s
    iy = h - g.input_h
    d.rectangle((0, iy, w, h), fill=pal["inbar"])
    d.line((0, iy, w, iy), fill=pal["line"], width=max(1, int(s / 2)))
    if g.desktop:
        for i in range(5):
            x0 = int((20 + i * 34) * s)
            d.rounded_rectangle((x0, iy + int(12 * s), x0 + int(20 * s), iy + int(32 * s)), radius=int(3 * s),
                                outline=pal["stamp"], width=max(1, int(s)))
        button = (w - int(110 * s), h - int(44 * s), w - int(20 * s), h - int(14 * s))
        if "send" in pal:  # a coloured 发送 button (WeCom's blue)
            d.rounded_rectangle(button, radius=int(4 * s), fill=pal["send"])
            bf = g.look.font(14 * s)
            d.text(((button[0] + button[2] - _width("发送", bf)) / 2, (button[1] + button[3] - bf.size) / 2 - 2 * s),
                   "发送", font=bf, fill=(255, 255, 255))
        else:
            d.rounded_rectangle(button, radius=int(4 * s), fill=pal["box"], outline=pal["line"])
        return
    d.rounded_rectangle(
        (int(45 * s), iy + int(9 * s), w - int(85 * s), iy + int(47 * s)), radius=int(5 * s), fill=pal["box"]
    )
    for x0 in (int(8 * s), w - int(78 * s), w - int(38 * s)):
        d.ellipse(
            (x0, iy + int(13 * s), x0 + int(30 * s), iy + int(43 * s)),
            outline=pal["text"],
            width=max(1, int(1.5 * s)),
        )


AVATAR_COLOURS = [(90, 140, 200), (200, 120, 90), (120, 170, 110), (160, 110, 180), (70, 70, 70)]


QUOTE_FILL = {False: (222, 222, 222), True: (40, 40, 40)}  # the 引用 block, a step off the chat background
PILL = {False: (218, 218, 218), True: (38, 38, 38)}  # the pill under a timestamp or system notice (Look.pill_stamps)
CARD_W = 240  # red packets, transfers and link cards are fixed-width cards (points)


@dataclass
class _Fonts:
    mf: ImageFont.FreeTypeFont  # message text
    stf: ImageFont.FreeTypeFont  # stamps, sender names
    qf: ImageFont.FreeTypeFont  # quote blocks, card captions
    line_h: int
    max_text_w: float


def _body_size(it: Item, lines: list[str], f: _Fonts, s: float) -> tuple[int, int, int]:
    """(bubble width, bubble height, height of the block attached under it) for a message item."""
    pad_x, pad_y = int(12 * s), int(10 * s)
    if it.style == "voice":
        trans = wrap(it.text, f.mf, f.max_text_w)
        return int((60 + min(it.seconds, 60) * 2.5) * s), int(40 * s), len(trans) * f.line_h + 2 * pad_y
    if it.style in ("redpacket", "transfer"):
        return int(CARD_W * s), int(92 * s), 0
    if it.style == "link":
        return int(CARD_W * s), int(118 * s), 0
    bw = int(max(_width(line, f.mf) for line in lines) + 2 * pad_x)
    attached = 0
    if it.quote:
        qlines = wrap(f"{it.quote[0]}：{it.quote[1]}", f.qf, f.max_text_w)[:2]
        attached = len(qlines) * int(f.qf.size * 1.45) + int(12 * s)
    return bw, len(lines) * f.line_h + 2 * pad_y, attached


def _draw_card(d: ImageDraw.ImageDraw, it: Item, box: tuple[int, int, int, int], f: _Fonts, s: float,
               pal: dict, rng: random.Random) -> None:
    """Red packet / transfer (orange, white text, caption strip) or a link card (white, title, description,
    thumbnail, source line)."""
    x0, y0, x1, y1 = box
    if it.style in ("redpacket", "transfer"):
        strip = int(24 * s)
        d.rounded_rectangle(box, radius=int(5 * s), fill=(250, 157, 59))
        d.rectangle((x0, y1 - strip, x1, y1), fill=(255, 255, 255) if not pal["bg"][0] < 100 else (60, 60, 60))
        icon = int(30 * s)
        d.rounded_rectangle((x0 + int(12 * s), y0 + int(16 * s), x0 + int(12 * s) + icon, y0 + int(16 * s) + icon),
                            radius=int(3 * s), fill=(230, 80, 60) if it.style == "redpacket" else (255, 200, 120))
        tx = x0 + int(52 * s)
        first, _, second = it.text.partition("\n")
        d.text((tx, y0 + int(12 * s)), first, font=f.mf, fill=(255, 255, 255))
        if second:
            d.text((tx, y0 + int(38 * s)), second, font=f.qf, fill=(255, 245, 230))
        caption = "微信红包" if it.style == "redpacket" else "微信转账"
        d.text((x0 + int(12 * s), y1 - strip + int(5 * s)), caption, font=f.stf, fill=pal["stamp"])
        return
    d.rounded_rectangle(box, radius=int(5 * s), fill=pal["left"])
    title, desc, source = [*it.text.split("\n"), "", "", ""][:3]
    pad = int(12 * s)
    tf = font(int(15 * s))
    for i, line in enumerate(wrap(title, tf, (x1 - x0) - 2 * pad)[:2]):
        d.text((x0 + pad, y0 + pad + i * int(20 * s)), line, font=tf, fill=pal["text"])
    thumb = int(40 * s)
    ty = y0 + pad + int(44 * s)
    d.rectangle((x1 - pad - thumb, ty, x1 - pad, ty + thumb), fill=rng.choice(AVATAR_COLOURS))
    for i, line in enumerate(wrap(desc, f.qf, (x1 - x0) - 3 * pad - thumb)[:2]):
        d.text((x0 + pad, ty + i * int(17 * s)), line, font=f.qf, fill=pal["stamp"])
    d.line((x0 + pad, y1 - int(22 * s), x1 - pad, y1 - int(22 * s)), fill=pal["line"], width=max(1, int(s / 2)))
    d.text((x0 + pad, y1 - int(19 * s)), source, font=f.stf, fill=pal["stamp"])


def _draw_messages(d: ImageDraw.ImageDraw, chat: Chat, rng: random.Random, g: _Geom, pal: dict) -> list[Item]:
    w, s, look = g.w, g.s, g.look
    mf, stf = look.font(look.text_pt * s), look.font(12 * s)
    avatar, margin = int(look.avatar_pt * s), int(12 * s)
    pad_x, pad_y = int(12 * s), int(10 * s)
    line_h = int(mf.size * 1.4)
    name_h = int(stf.size * 1.5)
    max_text_w = w - 2 * (margin + avatar + int(8 * s)) - int(50 * s) - 2 * pad_x
    if g.desktop:
        max_text_w = min(max_text_w, int(w * 0.55))
    f = _Fonts(mf, stf, look.font(13 * s), line_h, max_text_w)
    dark = pal["bg"][0] < 100
    attach_gap = int(6 * s)
    blocks: list[_Block] = []
    for it in chat.items:
        if it.kind == "time":
            blocks.append(_Block(it, [it.text], int(stf.size * 1.5)))
            continue
        lines = wrap(it.text, mf, max_text_w) if it.style is None or it.style == "quote" else [it.text]
        _bw, body_h, attached = _body_size(it, lines, f, s)
        bh = max(avatar, body_h) + (attach_gap + attached if attached else 0) + (name_h if it.sender else 0)
        blocks.append(_Block(it, lines, bh))
    gap = int(16 * s)
    top, bottom = g.status_h + g.title_h, g.h - g.input_h
    total = sum(b.height for b in blocks) + gap * (len(blocks) + 1)
    y = top + gap if total <= bottom - top else bottom - total + gap
    starts, acc = [], y
    for b in blocks:
        starts.append(acc)
        acc += b.height + gap
    if any(top - 2 * s <= st <= top + 6 * s for st in starts):
        y += int(8 * s)  # keep the scroll edge clear of a bubble's start: visible or not, never ambiguous
    visible: list[Item] = []
    for b in blocks:
        it = b.item
        if it.kind == "time":
            tx = (w - _width(it.text, stf)) / 2
            if look.pill_stamps:
                px, py = int(6 * s), int(2 * s)
                d.rounded_rectangle((tx - px, y - py, tx + _width(it.text, stf) + px, y + stf.size * 1.3 + py),
                                    radius=int(4 * s), fill=PILL[dark])
            d.text((tx, y), it.text, font=stf, fill=pal["stamp"])
        else:
            left = it.kind == "left"
            ax = margin if left else w - margin - avatar
            colour = rng.choice(AVATAR_COLOURS)
            if look.round_avatar:
                d.ellipse((ax, y, ax + avatar, y + avatar), fill=colour)
            else:
                d.rounded_rectangle((ax, y, ax + avatar, y + avatar), radius=int(4 * s), fill=colour)
            d.ellipse(
                (ax + avatar * 0.3, y + avatar * 0.2, ax + avatar * 0.7, y + avatar * 0.55),
                fill=(240, 240, 240),
            )
            by = y
            if it.sender:
                d.text((margin + avatar + int(10 * s), y), it.sender, font=stf, fill=pal["stamp"])
                by += name_h
            bw, bh, attached = _body_size(it, b.lines, f, s)
            bx0 = margin + avatar + int(10 * s) if left else w - margin - avatar - int(10 * s) - bw
            fill = pal["left"] if left else pal["right"]
            if it.style in ("redpacket", "transfer", "link"):
                _draw_card(d, it, (bx0, by, bx0 + bw, by + bh), f, s, pal, rng)
            else:
                d.rounded_rectangle((bx0, by, bx0 + bw, by + bh), radius=int(look.radius_pt * s), fill=fill)
                tip, dx, ty0 = (
                    (bx0, -int(6 * s), by + int(14 * s)) if left else (bx0 + bw, int(6 * s), by + int(14 * s))
                )
                if look.tail:
                    d.polygon([(tip, ty0), (tip + dx, ty0 + 6 * s), (tip, ty0 + 12 * s)], fill=fill)
            ink = pal["text"] if left else pal["rtext"]
            if look.read_marks and not left:
                read = rng.random() < 0.7
                mark = "已读" if read else "未读"
                d.text((bx0 - int(8 * s) - _width(mark, stf), by + bh - stf.size * 1.35), mark, font=stf,
                       fill=pal["stamp"] if read else (40, 120, 230))
            if it.style == "voice":
                d.text((bx0 + pad_x + (0 if left else bw - 2 * pad_x - int(40 * s)), by + pad_y),
                       f"{it.seconds}\"", font=mf, fill=ink)
                for k in range(3):  # the sound-wave mark
                    cx = bx0 + (bw - pad_x - int(6 * s) if left else pad_x + int(6 * s))
                    r = int((4 + 4 * k) * s)
                    d.arc((cx - r, by + bh / 2 - r, cx + r, by + bh / 2 + r), 300 if left else 120,
                          60 if left else 240, fill=ink, width=max(1, int(1.5 * s)))
                trans = wrap(it.text, mf, max_text_w)
                tw = int(max(_width(line, mf) for line in trans) + 2 * pad_x)
                tx0 = bx0 if left else bx0 + bw - tw
                ty = by + bh + attach_gap
                d.rounded_rectangle((tx0, ty, tx0 + tw, ty + attached), radius=int(5 * s), fill=fill)
                for i, line in enumerate(trans):
                    _draw_text(d, (tx0 + pad_x, ty + pad_y + i * line_h + (line_h - mf.size) * 0.3), line, mf, ink)
            elif it.style is None or it.style == "quote":
                for i, line in enumerate(b.lines):
                    _draw_text(d, (bx0 + pad_x, by + pad_y + i * line_h + (line_h - mf.size) * 0.3), line, mf, ink)
            if it.quote:
                qlines = wrap(f"{it.quote[0]}：{it.quote[1]}", f.qf, max_text_w)[:2]
                qw = int(max(_width(line, f.qf) for line in qlines) + 2 * int(8 * s))
                qx0 = bx0 if left else bx0 + bw - qw
                qy = by + bh + attach_gap
                d.rounded_rectangle((qx0, qy, qx0 + qw, qy + attached), radius=int(3 * s), fill=QUOTE_FILL[dark])
                for i, line in enumerate(qlines):
                    d.text((qx0 + int(8 * s), qy + int(6 * s) + i * int(f.qf.size * 1.45)), line, font=f.qf,
                           fill=pal["stamp"])
        if y >= top + 2 * s and y + b.height <= bottom:
            visible.append(it)
        y += b.height + gap
    return visible


# ---------------------------------------------------------------- negatives without chat layout


def _receipt(rng: random.Random, size: tuple[int, int], dark: bool) -> tuple[Image.Image, str]:
    w = size[0]
    s = w / 375
    bg, fg = ((25, 25, 25), (220, 220, 220)) if dark else ((255, 255, 255), (20, 20, 20))
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    texts: list[str] = []
    y = int(110 * s)
    d.ellipse((w / 2 - 30 * s, y, w / 2 + 30 * s, y + 60 * s), fill=(7, 193, 96))
    d.line(
        (w / 2 - 14 * s, y + 30 * s, w / 2 - 2 * s, y + 42 * s, w / 2 + 16 * s, y + 20 * s),
        fill=(255, 255, 255),
        width=int(5 * s),
    )
    y += int(80 * s)
    for text, size_pt in (("支付成功", 20), (f"¥{rng.randint(10, 99999)}.{rng.randint(0, 99):02d}", 32)):
        f = font(int(size_pt * s))
        d.text(((w - f.getlength(text)) / 2, y), text, font=f, fill=fg)
        texts.append(text)
        y += int(size_pt * 1.8 * s)
    rows = [
        ("收款方", rng.choice(["星巴克咖啡", "全家便利店", "滴滴出行", "华联超市"])),
        (
            "支付时间",
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(8, 22)}:{rng.randint(10, 59)}",
        ),
        ("支付方式", rng.choice(["零钱", "招商银行储蓄卡(1234)", "花呗"])),
        ("交易单号", f"4200{rng.randint(10**15, 10**16 - 1)}"),
        ("商户单号", f"{rng.randint(10**12, 10**13 - 1)}"),
    ]
    f = font(int(15 * s))
    y += int(20 * s)
    for label, value in rows:
        d.text((int(24 * s), y), label, font=f, fill=(130, 130, 130))
        d.text((w - int(24 * s) - f.getlength(value), y), value, font=f, fill=fg)
        texts += [label, value]
        y += int(36 * s)
    return img, "".join(texts)


def _table(rng: random.Random, size: tuple[int, int], dark: bool) -> tuple[Image.Image, str]:
    w = size[0]
    s = w / 375
    bg, fg = ((25, 25, 25), (220, 220, 220)) if dark else ((255, 255, 255), (20, 20, 20))
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    texts = [f"{REP_COMPANY}产品报价单"]
    f = font(int(18 * s))
    d.text(((w - f.getlength(texts[0])) / 2, int(90 * s)), texts[0], font=f, fill=fg)
    header = ["产品", "规格", "单价(元)", "数量"]
    rows = [header] + [
        [
            rng.choice(NEEDS),
            rng.choice(["标准版", "专业版", "旗舰版"]),
            f"{rng.randint(1, 99) * 1000}",
            str(rng.randint(1, 50)),
        ]
        for _ in range(rng.randint(5, 10))
    ]
    cf = font(int(13 * s))
    col_w = (w - 30 * s) / 4
    y = int(140 * s)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            x = 15 * s + c * col_w
            d.rectangle(
                (x, y, x + col_w, y + 36 * s),
                outline=(150, 150, 150),
                fill=(230, 240, 250) if r == 0 and not dark else None,
            )
            d.text((x + 6 * s, y + 9 * s), cell, font=cf, fill=fg)
            texts.append(cell)
        y += int(36 * s)
    return img, "".join(texts)


# ---------------------------------------------------------------- public API


def _now(rng: random.Random) -> datetime:
    day = date(2024, 1, 8) + timedelta(days=rng.randint(0, 600))
    return datetime(day.year, day.month, day.day, rng.randint(9, 20), rng.randint(0, 59), tzinfo=CN_TZ)


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def make_sample(seed: int, kind: str | None = None) -> Sample:
    """One screenshot with ground truth; same seed → same bytes."""
    rng = random.Random(seed)
    now = _now(rng)
    if kind is None:
        kind = rng.choices(
            ["lead", "receipt", "table", "colleague", "group", "smalltalk"], weights=[75, 5, 5, 5, 5, 5]
        )[0]
    size = rng.choice(SIZES)
    dark = rng.random() < 0.3
    quality = rng.randint(60, 90)
    meta: dict[str, object] = {"kind": kind, "size": size, "dark": dark, "quality": quality}
    if kind in ("receipt", "table"):
        img, text = (_receipt if kind == "receipt" else _table)(rng, size, dark)
        meta["app"] = "none"
        return Sample(f"{seed}-{kind}", _jpeg(img, quality), now, Truth(False, kind), text, meta)
    gen = {
        "lead": _lead_chat,
        "colleague": _colleague_chat,
        "group": _group_chat,
        "smalltalk": _smalltalk_chat,
    }[kind]
    chat_seed = rng.randint(0, 2**31)
    chat = gen(random.Random(chat_seed), now)
    long_h = None
    if rng.random() < 0.1:
        long_h = int(size[0] * rng.uniform(2.6, 3.4))
    img, visible = render_chat(chat, rng, size, dark, long_h)
    meta.update(app=chat.app, long=bool(long_h), scrolled=len(visible) < len(chat.items),
                kinds="".join(it.kind[0] for it in visible))
    text = chat.title + (chat.suffix or "") + "".join(it.text for it in visible)
    text = text.replace(EMOJI, "")
    if kind == "lead":
        truth = _truth_for_chat(chat, visible, now, chat_seed)
    else:
        truth = Truth(False, kind)
    return Sample(f"{seed}-{kind}", _jpeg(img, quality), now, truth, text, meta)


def _truth_for_chat(chat: Chat, visible: list[Item], now: datetime, chat_seed: int) -> Truth:
    facts: dict[str, object] = {}
    # title facts are attached to the first item by the generator: recompute them from the title
    if chat.subtitle:
        facts.update(customer_name=chat.title, company=chat.subtitle)
    elif chat.suffix:
        facts.update(customer_name=chat.title, company=chat.suffix[1:])
    elif "-" in chat.title:
        name, short = chat.title.split("-", 1)
        facts.update(customer_name=name, company=short)
    elif chat.title not in NICKNAMES and not re.search(r"\(\d+\)$", chat.title):  # a group: no one's name
        facts["customer_name"] = chat.title
    follow: datetime | None = None
    anchor = now
    for it in visible:
        if it.kind == "time" and it.when is not None:
            anchor = it.when
        for k, v in it.facts.items():
            if k == "follow_up":
                follow = follow_up_meaning(v, anchor)  # type: ignore[arg-type]
            elif k == "company" and facts.get("company") and len(str(v)) <= len(str(facts["company"])):
                continue
            else:
                facts[k] = v
    return Truth(
        True,
        "lead",
        customer_name=facts.get("customer_name"),
        company=facts.get("company"),  # type: ignore[arg-type]
        title=facts.get("title"),
        phone=facts.get("phone"),
        email=facts.get("email"),  # type: ignore[arg-type]
        wechat_id=facts.get("wechat_id"),
        budget_cny=facts.get("budget_cny"),  # type: ignore[arg-type]
        needs=tuple(facts.get("needs", ())),
        follow_up=follow,
    )  # type: ignore[arg-type]


def make_set(seed: int, n: int) -> list[Sample]:
    rng = random.Random(seed)
    return [make_sample(rng.randint(0, 2**31)) for _ in range(n)]


def squash(text: str) -> str:
    """Text without whitespace, as OCR output is compared with the rendered text."""
    return re.sub(r"\s+", "", text)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (character errors of `b` against the reference `a`)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
