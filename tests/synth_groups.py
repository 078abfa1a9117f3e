"""Screenshots of who-is-the-lead cases, drawn with tests/synth.py's renderer and invented people: customer
project groups (the customer-side contact introduces themself among the vendor's colleagues), a colleague handing
a customer over, a meeting notice (a document, not a chat) and a PC client chat whose facts are spread over
several bubbles. Same seed → same bytes; the ground truth is what the generator chose."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from tests.synth import (
    REP_COMPANY,
    SIZES,
    SURNAMES,
    Chat,
    Item,
    Sample,
    Truth,
    _jpeg,
    _name,
    _now,
    _stamp,
    font,
    render_chat,
)
from tests.synth import _phone as _phone_number
from tests.synth_styles import _desktop

# (short name, full name) of invented customers; products they buy, not in the default catalog
CUSTOMERS = [("青川新能源", "青川新能源科技有限公司"), ("澄溪食品", "江西澄溪食品有限公司"),
             ("岭南精机", "佛山岭南精机制造有限公司"), ("北辰物流", "天津北辰物流有限公司")]
PRODUCTS = [("升降桌", "张"), ("工业相机", "台"), ("冷柜", "台"), ("叉车电池", "组")]
ROLES = ["设备部经理", "采购主管", "行政总监", "信息中心主任"]
VENDOR_ROLES = ["技术支持", "售前工程师", "实施顾问"]


def _start(rng: random.Random, now: datetime) -> datetime:
    start = (now - timedelta(days=rng.choice([0, 1]))).replace(hour=rng.randint(9, 11), minute=rng.randint(0, 59),
                                                               second=0, microsecond=0)
    return start if start < now else now - timedelta(minutes=rng.randint(30, 90))


def project_group(seed: int, *, desktop: bool = False) -> Sample:
    """「<客户><产品>采购项目群(N)」: the vendor's colleague (labelled 「<我们>-技术支持<姓名>」) posts a unit price and
    a PDF; the customer's contact greets everyone with name, company and title, gives a mobile 「微信同号」, the
    need, the budget and a delivery deadline; the rep proposes a visit nobody answers. Lead: the contact, no
    follow-up."""
    rng = random.Random(seed)
    now = _now(rng)
    (short, full), (product, unit), role = rng.choice(CUSTOMERS), rng.choice(PRODUCTS), rng.choice(ROLES)
    name, colleague, other = _name(rng), _name(rng), _name(rng)
    phone, budget = _phone_number(rng), rng.choice([30, 45, 80, 120])
    start = _start(rng, now)
    shown = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    items = [Item("time", _stamp(rng, start, now), when=start),
             Item("right", f"欢迎各位，我是{REP_COMPANY}的小周，{product}项目由我负责"),
             Item("left", f"各位好，{name}，{full}{role}", sender=name),
             Item("left", f"我手机 {shown}，微信同号", sender=name),
             Item("left", f"我们需要一批{product}，预算{budget}万左右，年底前要到货", sender=name),
             Item("left", f"{product}单价{rng.randint(12, 60) * 100}元/{unit}，含税，规格见附件",
                  sender=f"{REP_COMPANY}-{rng.choice(VENDOR_ROLES)}{colleague}"),
             Item("left", f"{product}规格说明V2.pdf\n{rng.randint(2, 9)}00KB\n{REP_COMPANY}", style="link",
                  sender=f"{REP_COMPANY}-{rng.choice(VENDOR_ROLES)}{colleague}"),
             Item("right", f"{name}经理，周四下午3点过来当面聊？"),
             Item("left", "收到", sender=other)]
    chat = Chat(rng.choice(["wechat", "wecom"]), f"{short}{product}采购项目群({rng.randint(5, 9)})", None, items)
    truth = Truth(True, "lead", customer_name=name, company=full, title=role, phone=phone,
                  budget_cny=budget * 10_000, needs=(product,))
    return _sample(f"{seed}-project-group", chat, rng, now, truth, desktop)


def handover(seed: int) -> Sample:
    """A colleague (title 「<X>经理-<我们>」) hands a customer over: the number and budget are the customer's, but
    the chat is between colleagues — no lead."""
    rng = random.Random(seed)
    now = _now(rng)
    (_short, full), name, phone = rng.choice(CUSTOMERS), _name(rng), _phone_number(rng)
    start = _start(rng, now)
    items = [Item("time", _stamp(rng, start, now), when=start),
             Item("left", f"那个单子你接一下，对接人{name}，{full}的，电话{phone}，预算{rng.choice([20, 50, 90])}万"),
             Item("left", "他们比较急，明天上午记得联系一下"),
             Item("right", "好的，收到")]
    chat = Chat(rng.choice(["wechat", "wecom"]), f"{rng.choice(SURNAMES)}经理-{REP_COMPANY}", None, items)
    return _sample(f"{seed}-handover", chat, rng, now, Truth(False, "colleague"), False)


def meeting_notice(seed: int) -> Sample:
    """A meeting notice photographed or captured as an image: time, place and a contact with a number are
    fields of a document — no lead, no follow-up."""
    rng = random.Random(seed)
    now = _now(rng)
    w, h = rng.choice(SIZES[:4])
    s = w / 375
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    day = now + timedelta(days=rng.randint(2, 9))
    contact, phone = _name(rng), _phone_number(rng)
    lines = [f"关于召开{rng.choice(['年度供应商', '数字化改造', '安全生产'])}工作会议的通知",
             "各相关单位：", "经研究，定于下列时间召开工作会议，具体安排如下：",
             f"会议时间：{day.month}月{day.day}日下午2:30", f"会议地点：{rng.choice(['行政楼三楼', '二号会议室'])}",
             "参会人员：各部门负责人", f"联系人：{contact} {phone}", "请准时出席。"]
    y = int(80 * s)
    for i, line in enumerate(lines):
        f = font(int((19 if i == 0 else 15) * s))
        d.text((int(20 * s), y), line, font=f, fill=(30, 30, 30))
        y += int(34 * s)
    text = "".join(lines)
    return Sample(f"{seed}-meeting-notice", _jpeg(img, rng.randint(70, 90)), now, Truth(False, "notice"), text, {})


def desktop_contact(seed: int) -> Sample:
    """A PC client at 125–150 %: the introduction split over two bubbles (「您好，我是<姓名>」 then
    「<公司>的<职务>」), contact details as a two-line message (「电话：… / 邮箱：…」), the budget, and a time the
    rep proposes and the customer accepts."""
    rng = random.Random(seed)
    now = _now(rng)
    (_short, full), (product, _unit), role = rng.choice(CUSTOMERS), rng.choice(PRODUCTS), rng.choice(ROLES)
    name, phone, budget = _name(rng), _phone_number(rng), rng.choice([15, 25, 60])
    mail = f"{rng.choice(['lu', 'qin', 'mo', 'shen'])}{rng.randint(10, 99)}@example.cn"
    start = _start(rng, now)
    items = [Item("time", _stamp(rng, start, now), when=start),
             Item("left", f"您好，我是{name}"), Item("left", f"{full}的{role}"),
             Item("left", f"电话：{phone}\n邮箱：{mail}"),
             Item("left", f"我们想采购{product}，预算{budget}万"),
             Item("right", "明天下午3点给您打电话详细聊，方便吗？"), Item("left", "可以")]
    chat = Chat(rng.choice(["wechat", "wecom"]), name, None, items)
    follow = (start + timedelta(days=1)).replace(hour=15, minute=0)
    truth = Truth(True, "lead", customer_name=name, company=full, title=role, phone=phone, email=mail,
                  budget_cny=budget * 10_000, needs=(product,), follow_up=follow)
    return _sample(f"{seed}-desktop-contact", chat, rng, now, truth, True)


def _sample(name: str, chat: Chat, rng: random.Random, now: datetime, truth: Truth, desktop: bool) -> Sample:
    if desktop:
        img, _visible, quality, meta = _desktop(chat, rng, False, "desktop")
    else:
        size = rng.choice(SIZES)
        long_h = int(size[0] * 2.8) if len(chat.items) > 6 else None  # a long screenshot holds the whole group
        img, _visible = render_chat(chat, rng, size, False, long_h)
        quality, meta = rng.randint(70, 90), {"size": size}
    text = chat.title + "".join(it.text for it in chat.items)
    return Sample(name, _jpeg(img, quality), now, truth, text, meta)


CATALOG_TEXT = "\n".join(p for p, _ in PRODUCTS)  # the products these customers ask for, as an `[ocr] catalog`
