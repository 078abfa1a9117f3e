"""Who-is-the-lead screenshots written for issue 14's remaining misses, drawn with tests/synth.py's renderer:

- "group": customer project groups (title ends in the member count), several customer-side speakers with their
  names over their bubbles, the rep on the right, sometimes a vendor colleague on the left. The lead is the
  customer-side member who introduces themself, gives their number or states the need; the other customer-side
  speakers' titles and companies are not the lead's. Budgets said colloquially (左右 / 上下 / 来, across two
  bubbles) beside a rep's unit price.
- "referral": one-to-one chats where the contact hands the rep on to the person responsible (that person is the
  lead and the number is theirs), and chats where a colleague's number is given in passing (not the customer's).
- "pcflat": WeCom / WeChat PC clients whose session list is in the chat pane's own colour with no line between
  them, 1920×1080 and 2560×1440 at 100–150 %.

Vendor: an invented weighing and humidity-control equipment maker; every person, company and number is invented.
Same seed → same bytes; the ground truth is what the generator chose.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from tests.synth import (
    NEEDS,
    Chat,
    Item,
    Look,
    Sample,
    Truth,
    _jpeg,
    _lead_chat,
    _name,
    _now,
    _stamp,
    _truth_for_chat,
    render_chat,
)
from tests.synth import _phone as phone_number
from tests.synth_pc import _icon_column, _taskbar
from tests.synth_wild import _session_list, _wallpaper

VENDOR = "衡远仪器"
# (short, full) invented customers
CUSTOMERS = [
    ("汇川纸塑", "湖州汇川纸塑制品有限公司"),
    ("蓝湾冷链", "厦门蓝湾冷链物流有限公司"),
    ("恒瑞泵业", "温州恒瑞泵业有限公司"),
    ("天穹光电", "成都天穹光电科技有限公司"),
    ("松岭食品", "黑龙江松岭食品有限公司"),
    ("锦程制药", "石家庄锦程制药有限公司"),
]
# the vendor's products (the fixtures' catalog) and their units
PRODUCTS = [
    ("电子地磅", "台"),
    ("恒温恒湿箱", "台"),
    ("工业除湿机", "台"),
    ("防爆电子秤", "台"),
    ("温湿度记录仪", "个"),
]
CATALOG = "\n".join([*(p for p, _ in PRODUCTS), *NEEDS]) + "\n"  # and tests/synth.py's, for the PC chats
LEAD_ROLES = ["设备部经理", "采购主管", "仓储部主任", "工程部经理", "设备科科长"]
OTHER_ROLES = [
    ("财务部", "合同和发票的事找我就行"),
    ("信息部", "系统对接这块我来看"),
    ("质检部", "验收标准我这边出"),
    ("行政部", "到厂参观我来安排"),
]
VENDOR_ROLES = ["售前工程师", "技术支持", "售后经理"]


def _cn_wan(n: int) -> str:
    if n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    digits = "零一二三四五六七八九"
    return (("" if tens == 1 else digits[tens]) + "十" if tens else "") + (digits[ones] if ones else "")


def _start(rng: random.Random, now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) - timedelta(minutes=rng.randint(40, 400))


def _lead_sample(seed: int, kind: str, image: bytes, now: datetime, truth: dict[str, object], form: int) -> Sample:
    """A drawn chat whose truth is a lead, named by its seed and kind."""
    lead = Truth(True, "lead", **truth)  # type: ignore[arg-type]
    return Sample(f"{seed}-{kind}", image, now, lead, "", {"kind": kind, "form": form})


def group_case(seed: int) -> Sample:
    """A customer project group with two or three customer-side speakers; who the lead is varies by seed."""
    rng = random.Random(seed * 31 + 7)
    now = _now(rng)
    (short, full), (product, unit) = rng.choice(CUSTOMERS), rng.choice(PRODUCTS)
    lead, other, colleague = _name(rng), _name(rng), _name(rng)
    role = rng.choice(LEAD_ROLES)
    dept, duty = rng.choice(OTHER_ROLES)
    phone = phone_number(rng)
    budget = rng.choice([30, 40, 60, 80, 120])
    qty = rng.choice([3, 4, 6, 10])
    price = rng.randint(18, 90) * 1000
    form = seed % 8
    start = _start(rng, now)
    items = [Item("time", _stamp(rng, start, now), when=start)]
    items.append(Item("right", f"欢迎各位，我是{VENDOR}的小{rng.choice('吴郑冯韩')}，{product}项目我来跟进"))
    if seed % 2:  # the other customer-side speaker introduces themself first, with a title of their own
        items.append(Item("left", f"大家好，我是{dept}的{other}，{duty}", sender=other))
    truth = dict(
        customer_name=lead, company=full, title=role, phone=phone, budget_cny=budget * 10_000, needs=(product,)
    )
    if form in (1, 4, 7):  # only the short name is said
        truth["company"] = short
    if form == 0:  # company, title and name in one introduction, number right after
        items += [
            Item("left", f"各位好，我是{full}的{role}{lead}，这个项目由我对接", sender=lead),
            Item("left", f"我手机{phone}，微信同号", sender=lead),
            Item("left", f"我们需要{qty}{unit}{product}，预算{_cn_wan(budget)}万左右", sender=lead),
        ]
    elif form == 1:  # the name only over the bubble; title said as a role; budget across two bubbles
        items += [
            Item("left", f"大家好，我是{short}这边的{role}，{product}采购由我负责", sender=lead),
            Item("left", f"有事打我电话{phone}", sender=lead),
            Item("right", f"好的{lead[0]}{role[-2:]}，方便说下预算吗？"),
            Item("left", "预算这块领导已经批了", sender=lead),
            Item("left", f"差不多{_cn_wan(budget)}来万吧", sender=lead),
        ]
    elif form == 2:  # the need first, introduction after; the rep quotes a unit price
        items += [
            Item("left", f"我们厂想采购一批{product}，麻烦先出个方案", sender=lead),
            Item("right", f"{product}标准款单价{price // 1000}千元一{unit}，{qty}{unit}以上有优惠"),
            Item("left", f"我是{full}{role}{lead}，电话{phone}", sender=lead),
            Item("left", f"总预算{budget}万上下，超了要重新走流程", sender=lead),
        ]
    elif form == 3:  # introduced by greeting, the number split by spaces
        shown = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
        items += [
            Item("left", f"各位好，{lead}，{full}{role}", sender=lead),
            Item("left", f"联系我打 {shown}", sender=lead),
            Item("left", f"这次要换{qty}{unit}{product}，预算大概{budget}万左右", sender=lead),
        ]
    elif form == 5:  # the customer's boss introduces themself and names the contact, who then speaks
        boss = _name(rng)
        items += [
            Item("left", f"我是{full}总经理{boss}，这个项目我们{role}{lead}具体对接", sender=boss),
            Item("left", f"大家好，我是{lead}，电话{phone}", sender=lead),
            Item("left", f"这批{product}要{qty}{unit}，预算{budget}万左右", sender=lead),
        ]
    elif form == 6:  # no company in the group's title; two customer-side members introduce themselves
        items += [
            Item("left", f"我是{full}的{lead}，{role}，{product}这块我负责", sender=lead),
            Item("left", f"需要{qty}{unit}{product}，预算{budget}万上下，我手机{phone}", sender=lead),
        ]
    elif form == 7:  # the contact's number and need first; their title only from how the rep greets them
        items += [
            Item("left", f"你好，我是{short}的{lead}，{role}，电话{phone}", sender=lead),
            Item("right", f"{lead[0]}{role[-2:]}好，{product}单价{price}元，{qty}{unit}一共{price * qty // 10000}万多"),
            Item("left", f"我们预算{budget}万左右，能不能再便宜点", sender=lead),
        ]
    else:  # a vendor colleague with a label posts a price; the contact introduces themself
        items += [
            Item(
                "left",
                f"{product}报价单已发邮箱，单价{price}元/{unit}",
                sender=f"{VENDOR}-{rng.choice(VENDOR_ROLES)}{colleague}",
            ),
            Item("left", f"你好，我是{short}{role}{lead}，电话{phone}", sender=lead),
            Item("left", f"{product}我们要{qty}{unit}，预算{budget}万以内", sender=lead),
        ]
    if not seed % 2:  # the other customer-side speaker speaks after the lead, with a title of their own
        items.append(Item("left", f"我是{dept}{other}，{duty}", sender=other))
    items.append(Item("left", "收到", sender=_name(rng)))
    topic = rng.choice(["项目对接群", "采购沟通群", "设备选型群"])
    title = f"{product}{topic}({rng.randint(5, 12)})" if form == 6 else f"{short}{topic}({rng.randint(5, 12)})"
    chat = Chat(rng.choice(["wechat", "wecom"]), title, None, items)
    size = rng.choice([(1080, 2340), (1170, 2532), (1080, 1920)])
    img, visible = render_chat(chat, rng, size, rng.random() < 0.2, long_h=int(size[0] * 2.9))
    missing = [it.text for it in items if it not in visible]
    assert not missing, missing  # the whole conversation is on the screenshot: the truth holds
    return _lead_sample(seed, "group", _jpeg(img, rng.randint(70, 90)), now, truth, form)


def referral_case(seed: int) -> Sample:
    """The contact passes the rep on: forms 0–2 to the person responsible (the lead, with their number); forms
    3–5 give a colleague's number in passing (the contact stays the lead, with their own number or none)."""
    rng = random.Random(seed * 37 + 11)
    now = _now(rng)
    (short, full), (product, unit) = rng.choice(CUSTOMERS), rng.choice(PRODUCTS)
    contact, referred = _name(rng), _name(rng)
    phone, own = phone_number(rng), phone_number(rng)
    form = seed % 6
    start = _start(rng, now)
    items = [
        Item("time", _stamp(rng, start, now), when=start),
        Item("right", f"您好，我是{VENDOR}的小{rng.choice('吴郑冯韩')}，看到贵司在了解{product}"),
    ]
    title = f"{contact}@{short}" if rng.random() < 0.5 else f"{contact}-{short}"
    truth: dict[str, object]
    if form == 0:
        items += [
            Item("left", f"{product}的事不归我管哈"),
            Item("left", f"我们采购部{referred}负责这块，他电话{phone}，你直接联系他"),
            Item("right", "好的，谢谢您"),
        ]
        truth = dict(customer_name=referred, company=short, title="采购部", phone=phone, needs=(product,))
    elif form == 1:
        hon = referred[0] + "工"
        items += [
            Item("left", f"{product}是设备科在管，{hon}负责"),
            Item("left", f"{hon}电话 {phone[:3]}-{phone[3:7]}-{phone[7:]}，你跟他约时间"),
            Item("right", "收到，我马上联系"),
        ]
        truth = dict(customer_name=hon, company=short, title="设备科", phone=phone, needs=(product,))
    elif form == 2:
        items += [
            Item("left", f"{product}具体对接人是我们仓储部经理{referred}，以后这个项目找她"),
            Item("left", f"她手机{phone}，微信同号"),
            Item("right", f"好的，我加一下{referred[0]}经理"),
        ]
        truth = dict(customer_name=referred, company=short, title="仓储部经理", phone=phone, needs=(product,))
    elif form == 3:
        items += [
            Item("left", f"我们想买{rng.choice([2, 3, 5])}{unit}{product}"),
            Item("left", f"技术参数你可以联系我们{referred[0]}工，电话{phone}"),
            Item("left", f"采购还是我来对接，我电话{own}"),
        ]
        truth = dict(customer_name=contact, company=short, phone=own, needs=(product,))
    elif form == 4:
        items += [
            Item("left", f"我是{full}的{contact}，我们要上一批{product}"),
            Item("left", f"安装的事你也可以找我同事{referred}，他电话{phone}"),
        ]
        truth = dict(customer_name=contact, company=full, needs=(product,))
    else:
        items += [
            Item("left", f"{product}我们在比价，预算{rng.choice([20, 35, 50])}万"),
            Item("left", f"你可以联系{referred[0]}经理，电话{phone}"),
            Item("left", f"我自己的手机是{own}"),
        ]
        truth = dict(customer_name=contact, company=short, phone=own, needs=(product,))
        truth["budget_cny"] = int(items[-3].text.split("预算")[1].split("万")[0]) * 10_000
    chat = Chat("wecom", title, None, items)
    size = rng.choice([(1080, 2340), (1170, 2532), (828, 1792)])
    img, visible = render_chat(chat, rng, size, rng.random() < 0.2)
    assert len(visible) == len(items)
    return _lead_sample(seed, "referral", _jpeg(img, rng.randint(70, 90)), now, truth, form)


PANES = [
    dict(
        bg=(245, 245, 245),
        bar=(245, 245, 245),
        left=(255, 255, 255),
        right=(149, 236, 105),
        text=(25, 25, 25),
        rtext=(25, 25, 25),
        stamp=(170, 170, 170),
        line=(231, 231, 231),
        inbar=(245, 245, 245),
        box=(233, 233, 233),
        suffix=(250, 157, 59),
    ),
    dict(
        bg=(244, 245, 247),
        bar=(244, 245, 247),
        left=(255, 255, 255),
        right=(205, 227, 255),
        text=(31, 35, 41),
        rtext=(31, 35, 41),
        stamp=(150, 154, 160),
        line=(226, 228, 232),
        inbar=(255, 255, 255),
        box=(255, 255, 255),
        suffix=(52, 178, 96),
    ),
]
SCREENS = [
    (1920, 1080, 1.0),
    (1920, 1080, 1.25),
    (2560, 1440, 1.25),
    (2560, 1440, 1.5),
    (1920, 1080, 1.5),
    (2560, 1440, 1.0),
]


def pcflat_case(seed: int) -> Sample:
    """A PC client maximised, its session list in the chat pane's colour with no line between them."""
    rng = random.Random(seed * 41 + 13)
    now = _now(rng)
    chat_seed = rng.randint(0, 2**31)
    chat = _lead_chat(random.Random(chat_seed), now)
    w, h, sc = SCREENS[seed % len(SCREENS)]
    pal = PANES[seed % 2]
    taskbar = int(rng.choice([40, 48]) * sc)
    wh = h - taskbar
    icon_w, list_w = int(rng.uniform(54, 68) * sc), int(rng.uniform(240, 300) * sc)
    look = Look(
        text_pt=14, avatar_pt=rng.choice([34, 36, 38]), radius_pt=4, tail=seed % 2 == 0, read_marks=seed % 2 == 1
    )
    pane, visible = render_chat(chat, rng, (w - icon_w - list_w, wh), False, scale=sc, desktop=True, look=look, pal=pal)
    canvas = _wallpaper(rng, (w, h))
    window = Image.new("RGB", (w, wh), pal["bg"])
    _icon_column(window, rng, icon_w, sc, rng.choice([(46, 46, 46), (233, 236, 241)]))
    _session_list(window, rng, (icon_w, 0, icon_w + list_w, wh), sc, False, pal["bg"], chat.title)
    window.paste(pane, (icon_w + list_w, 0))
    canvas.paste(window, (0, 0))
    _taskbar(canvas, rng, taskbar, sc)
    ImageDraw.Draw(canvas)
    truth = _truth_for_chat(chat, visible, now, chat_seed)
    return Sample(
        f"{seed}-pcflat",
        _jpeg(canvas, rng.randint(80, 92)),
        now,
        truth,
        "",
        {"kind": "pcflat", "size": (w, h), "scaling": sc, "pane_x": icon_w + list_w},
    )


KINDS = {"group": group_case, "referral": referral_case, "pcflat": pcflat_case}
