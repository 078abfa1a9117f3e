"""A held-out set in a domain no other generator uses: a vendor of office-building energy management (绿岸能效,
invented) and the property companies, hospitals and parks that buy from it. Two kinds of image:

- `energy_group(seed)`: a customer project group, title 「…(7)」, several customer-side speakers whose names are
  drawn above their bubbles, the rep (right) and sometimes the rep's colleague (left, a label or a self-introduction
  naming the vendor). The lead is the customer-side member who introduces themself / asks for the quote; a colleague
  of theirs may give the budget, the meeting time, or a phone (their own, or one they say is the lead's).
- `energy_photo(seed)`: a one-to-one chat in the same domain, shown on a phone screen photographed at 5–20°
  perspective, turned, with a glare gradient, blur, sensor noise, clutter around it and a JPEG of quality 40–80.

Only tests/synth.py's renderer (`render_chat`) and fonts are reused; every text here is this module's own.
Same seed → same bytes; the ground truth is what the generator chose.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

import cv2
import numpy as np
from PIL import Image

from tests.synth import Chat, Item, Sample, Truth, _jpeg, _now, render_chat

VENDOR = ("绿岸能效", "绿岸")  # the rep's company as `[ocr] own_company` names it
CATALOG_TEXT = "能耗监测平台\n楼宇自控系统\n智能电表\n空调群控\n光伏储能\n照明节能改造"
PRODUCTS = ("能耗监测平台", "楼宇自控系统", "智能电表", "空调群控", "光伏储能", "照明节能改造")
CLIENTS = [
    ("恒泰物业", "上海恒泰物业管理有限公司"), ("嘉禾置地", "嘉禾置地集团有限公司"),
    ("鹿城中心医院", "温州鹿城中心医院"), ("汇川产业园", "苏州汇川产业园运营有限公司"),
    ("东港商务", "宁波东港商务楼宇管理有限公司"), ("明湖酒店", "杭州明湖酒店管理有限公司"),
]
ROLES = ["工程部经理", "物业总监", "后勤处处长", "设施主管", "运维经理", "基建科科长"]
OTHER_ROLES = ["财务", "采购专员", "行政", "工程部主管"]
FAMILY = "岑屈柏卜韦阎裴洪邱骆毕邵祁严覃闵贺倪"
GIVEN2 = ["思远", "晓琳", "嘉伟", "若曦", "振东", "海宁", "俊峰", "雨桐", "子涵", "立新", "佩玲", "建平"]
SIZES = [(1080, 2340), (720, 1280)]


def _person(rng: random.Random, used: set[str]) -> str:
    while True:
        n = rng.choice(FAMILY) + rng.choice(GIVEN2)
        if n[0] not in {u[0] for u in used} and n[1:] not in {u[1:] for u in used}:  # no two alike
            used.add(n)
            return n


def _mobile(rng: random.Random) -> str:
    return rng.choice(["139", "186", "137", "158", "177", "150"]) + "".join(str(rng.randint(0, 9)) for _ in range(8))


def _shown(rng: random.Random, p: str) -> str:
    return rng.choice([p, f"{p[:3]} {p[3:7]} {p[7:]}", f"{p[:3]}-{p[3:7]}-{p[7:]}"])


def _label(rng: random.Random, name: str, short: str) -> str:
    return rng.choice([name, name, f"{short}-{name}", f"{name}({short})"])


def energy_group(seed: int) -> Sample:
    rng = random.Random(seed * 13 + 5)
    now = _now(rng).replace(hour=rng.randint(15, 20))
    short, full = rng.choice(CLIENTS)
    product = rng.choice(PRODUCTS)
    used: set[str] = set()
    lead, mate, third = _person(rng, used), _person(rng, used), _person(rng, used)
    role = rng.choice(ROLES)
    phone, budget = _mobile(rng), rng.choice([35, 60, 85, 120, 200])
    start = now.replace(hour=rng.randint(9, 11), minute=rng.randint(0, 59))
    lead_l, mate_l, third_l = _label(rng, lead, short), _label(rng, mate, short), _label(rng, third, short)
    items = [Item("time", f"{start.hour:02d}:{start.minute:02d}", when=start)]
    items.append(Item("right", rng.choice([
        f"各位好，我是{VENDOR[0]}的客户经理，{product}的事情在这个群里沟通",
        f"拉个群方便沟通，我是{VENDOR[0]}这边负责{product}的",
    ])))
    if rng.random() < 0.6:  # the rep's colleague, on our side
        eng = _person(rng, used)
        items.append(Item("left", rng.choice([
            f"大家好，我是{VENDOR[0]}的技术顾问{eng}，方案上有疑问尽管找我",
            f"我是{VENDOR[1]}售前{eng}，我们做过不少写字楼的项目，电话 {_shown(rng, _mobile(rng))}",
        ]), sender=rng.choice([eng, f"{VENDOR[1]}-{eng}"])))
    # the lead introduces themself and asks
    intro_kind = rng.randrange(3)
    intro = [
        f"大家好，我是{full}的{lead}，{role}，这个项目我来对接",
        f"各位好，{short}{role}{lead}，负责这次改造",
        f"我是{lead}，在{full}做{role}",
    ][intro_kind]
    items.append(Item("left", intro, sender=lead_l))
    items.append(Item("left", rng.choice([
        f"我们想上一套{product}，麻烦先出个报价",
        f"大楼这边需要{product}，请给个方案和报价",
        f"想了解一下你们的{product}，报价发我一下",
    ]), sender=lead_l))
    # the phone: said by the lead, or by a colleague naming it as the lead's
    truth_phone: str | None = phone
    phone_kind = rng.randrange(3)
    if phone_kind == 0:
        items.append(Item("left", f"我手机{_shown(rng, phone)}，有事直接打", sender=lead_l))
    elif phone_kind == 1:
        items.append(Item("left", f"{lead[0]}经理电话 {_shown(rng, phone)}，方案直接和他对接", sender=mate_l))
    else:  # a colleague gives only their own number: not the lead's
        truth_phone = None
        items.append(Item("left", f"合同的事可以找我，我电话{_shown(rng, phone)}", sender=mate_l))
    # the budget: the lead or a colleague (finance) states it
    budget_text = rng.choice([f"预算大概{budget}万", f"今年这块批了{budget}万左右的预算", f"预算控制在{budget}万以内"])
    items.append(Item("left", budget_text, sender=rng.choice([lead_l, mate_l])))
    # another member's own title is not the lead's
    if rng.random() < 0.5:
        items.append(Item("left", f"我是{rng.choice(OTHER_ROLES)}{third}，技术参数发我一份", sender=third_l))
    # the meeting time, said by a colleague or by the lead
    day_word, days = rng.choice([("明天", 1), ("后天", 2)])
    hour = rng.choice([9, 10, 14, 15, 16])
    when_text = f"{'上午' if hour < 12 else '下午'}{hour if hour < 13 else hour - 12}点"
    follow = (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    items.append(Item("right", rng.choice(["什么时候方便去现场看一下？", "想约个时间去楼里看看机房"])))
    items.append(Item("left", f"{day_word}{when_text}吧，我们都在", sender=rng.choice([lead_l, mate_l, third_l])))
    items.append(Item("right", "好的，准时到"))
    if rng.random() < 0.5:
        items.append(Item("left", rng.choice(["收到", "好的👌", "辛苦"]), sender=third_l))
    title = f"{short}{product}项目群({rng.choice([6, 7, 8, 9])})" if rng.random() < 0.5 else \
        f"{short}×{VENDOR[1]}节能改造({rng.choice([5, 7])})"
    chat = Chat(rng.choice(["wechat", "wecom"]), title, None, items)
    dark = rng.random() < 0.4
    size = rng.choice(SIZES)
    img, visible = render_chat(chat, rng, size, dark, int(size[0] * 3.9))
    truth = Truth(True, "lead", customer_name=lead, company=short if intro_kind == 1 else full,  # 1: short only
                  title=role, phone=truth_phone, budget_cny=budget * 10_000, needs=(product,), follow_up=follow)
    text = chat.title + "".join(it.text for it in chat.items)
    meta = {"style": "group-dark" if dark else "group", "size": size, "visible": len(visible) == len(items)}
    return Sample(f"{seed}-energy-group", _jpeg(img, rng.randint(70, 92)), now, truth, text, meta)


def _one_to_one(rng: random.Random, now: datetime) -> tuple[Chat, Truth]:
    short, full = rng.choice(CLIENTS)
    product, role = rng.choice(PRODUCTS), rng.choice(ROLES)
    name, phone, budget = _person(rng, set()), _mobile(rng), rng.choice([20, 45, 70, 150])
    start = now.replace(hour=rng.randint(9, 11), minute=rng.randint(0, 59))
    day_word, days = rng.choice([("明天", 1), ("后天", 2)])
    hour = rng.choice([10, 14, 15])
    follow = (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    items = [Item("time", f"{start.hour:02d}:{start.minute:02d}", when=start),
             Item("left", rng.choice([f"你好，我是{full}{role}{name}", f"您好，{name}，{full}的{role}"])),
             Item("left", rng.choice([f"我们楼想做{product}，能出个报价吗", f"想了解一下{product}，写字楼用的"])),
             Item("right", "可以的，方便留个电话吗？"),
             Item("left", f"{_shown(rng, phone)}"),
             Item("left", rng.choice([f"预算{budget}万左右", f"预算在{budget}万上下"])),
             Item("right", f"{day_word}{'上午' if hour < 12 else '下午'}{hour if hour < 13 else hour - 12}"
                           "点给您打电话细聊"),
             Item("left", "好的")]
    chat = Chat(rng.choice(["wechat", "wecom"]), rng.choice([name, f"{name}-{short}", f"{short}{name[0]}经理"]),
                None, items)
    truth = Truth(True, "lead", customer_name=name, company=full, title=role, phone=phone,
                  budget_cny=budget * 10_000, needs=(product,), follow_up=follow)
    return chat, truth


def energy_photo(seed: int) -> Sample:
    rng = random.Random(seed * 17 + 3)
    now = _now(rng).replace(hour=rng.randint(12, 20))
    chat, truth = _one_to_one(rng, now)
    dark = rng.random() < 0.35
    size = rng.choice(SIZES)
    screen, _ = render_chat(chat, rng, size, dark)
    photo, meta = _photograph(np.asarray(screen), rng)
    quality = rng.randint(40, 80)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=quality)
    text = chat.title + "".join(it.text for it in chat.items)
    style = "photo-dark" if dark else "photo"
    return Sample(f"{seed}-energy-photo", buf.getvalue(), now, truth, text,
                  {**meta, "style": style, "size": size, "quality": quality})


def _photograph(screen: np.ndarray, rng: random.Random) -> tuple[np.ndarray, dict]:
    sh, sw = screen.shape[:2]
    out_w, out_h = rng.choice([(1200, 1600), (1536, 2048), (2048, 1536), (1800, 2400)])
    # clutter on a darker desk: blocks of colour, lines, a cup-like ellipse
    base = rng.randint(25, 90)
    bg = np.full((out_h, out_w, 3), base, np.uint8)
    bg[:] = np.array([base + rng.randint(-10, 20), base, base - rng.randint(0, 15)]).clip(0, 255)
    for _ in range(rng.randint(4, 10)):
        colour = tuple(int(c) for c in np.random.default_rng(rng.randint(0, 99999)).integers(20, 230, 3))
        x0, y0 = rng.randint(0, out_w), rng.randint(0, out_h)
        shape = rng.randrange(3)
        if shape == 0:
            cv2.rectangle(bg, (x0, y0), (x0 + rng.randint(80, 500), y0 + rng.randint(40, 300)), colour, -1)
        elif shape == 1:
            cv2.line(bg, (x0, y0), (rng.randint(0, out_w), rng.randint(0, out_h)), colour, rng.randint(2, 12))
        else:
            cv2.ellipse(bg, (x0, y0), (rng.randint(40, 200), rng.randint(30, 150)), rng.randint(0, 180), 0, 360,
                        colour, -1)
    # the screen placed upright, then a perspective tilt of 5–20° and an in-plane rotation
    h = out_h * rng.uniform(0.6, 0.85) if out_h > out_w else out_h * rng.uniform(0.8, 0.92)
    w = h * sw / sh
    tilt = np.radians(rng.uniform(5, 20))
    rot = np.radians(rng.uniform(-12, 12))
    squeeze = np.sin(tilt) * 0.5
    if rng.random() < 0.5:  # near edge at the bottom (camera tilted about the horizontal axis)
        pts = [(-w / 2 * (1 - squeeze), -h / 2), (w / 2 * (1 - squeeze), -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    else:  # about the vertical axis
        pts = [(-w / 2, -h / 2 * (1 - squeeze)), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2 * (1 - squeeze))]
    cx, cy = out_w / 2 + rng.uniform(-0.05, 0.05) * out_w, out_h / 2 + rng.uniform(-0.04, 0.04) * out_h
    quad = np.array([(cx + x * np.cos(rot) - y * np.sin(rot), cy + x * np.sin(rot) + y * np.cos(rot))
                     for x, y in pts], np.float32)
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    # the bezel: the screen grown a little, near-black
    body_src = np.array([[-0.04 * sw, -0.06 * sh], [1.04 * sw, -0.06 * sh], [1.04 * sw, 1.06 * sh],
                         [-0.04 * sw, 1.06 * sh]], np.float32)
    body = cv2.perspectiveTransform(body_src[None], m)[0]
    photo = bg.astype(np.float32)
    cv2.fillConvexPoly(photo, body.astype(np.int32), (12.0, 12.0, 14.0))
    warped = cv2.warpPerspective(screen, m, (out_w, out_h), flags=cv2.INTER_AREA).astype(np.float32)
    mask = np.zeros((out_h, out_w), np.uint8)
    cv2.fillConvexPoly(mask, quad.astype(np.int32), 255)
    inside = mask.astype(np.float32)[..., None] / 255
    # a screen's brightness is a little below paper white; moiré as a faint beat of stripes
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    beat = 1 + 0.04 * np.sin((xx * np.cos(rot * 3) + yy * np.sin(rot * 3 + 0.4)) * rng.uniform(0.25, 0.6))
    photo = photo * (1 - inside) + warped * rng.uniform(0.8, 0.95) * beat[..., None] * inside
    # a glare gradient across the screen
    gx, gy = rng.uniform(0, out_w), rng.uniform(0, out_h)
    glare = np.exp(-(((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (rng.uniform(0.2, 0.45) * out_w) ** 2)))
    photo += (glare * rng.uniform(40, 110))[..., None]
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 1.6))
    photo += np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 5), photo.shape[:2])[..., None]
    out = np.clip(photo, 0, 255).astype(np.uint8)
    return out, {"tilt": round(float(np.degrees(tilt)), 1), "rot": round(float(np.degrees(rot)), 1),
                 "photo": (out_w, out_h)}
