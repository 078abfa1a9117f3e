"""A held-out set for the two weakest styles, in a domain no other generator uses: a construction-materials
vendor (磐固建材, invented) and the builders, fit-out firms and developers' project departments that buy from it.
Written before any tuning (stop 22); tests/synth_energy.py draws the simpler shapes, this draws the ones it
does not:

- `site_group(seed)`: a customer project group of 3–40 members, 2–5 customer-side speakers. The lead is drawn
  one of four ways — introduces themself (name, company, title) and gives their number; is referred by their
  boss (「材料这块由我们采购主管<姓名>对接，他电话…」) and then only says a line or nothing; introduces themself
  without a number while a site worker gives their own number for deliveries (not the lead's); or an engineer
  of theirs asks the technical question about the product before the lead introduces themself. Labels take
  WeCom's 「姓名@公司」 and 「姓名@微信」 forms as well as 「公司-姓名」, 「姓名(公司)」 and the plain name; the rep's
  colleague is sometimes in the group with their own number. Order numbers, floor numbers and quantities with
  digits are in the chat too.
- `site_photo(seed)`: a phone screen (a one-to-one chat or a group above) photographed the way a site manager
  does it — often in a dim room or at night (the screen the brightest thing, its bezel merging into the dark),
  the phone 30–85 % of the frame's height (its screen at least 390 px wide), a perspective of 5–20° about any
  axis plus a turn of up to ±15°, a thumb, a pen or a card lying over the screen's edge, a window's reflection
  or a lamp's highlight across it, moiré, blur, grain and a JPEG of quality 40–60.

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

VENDOR = ("磐固建材", "磐固")
CATALOG_TEXT = "防水卷材\n保温板\n石膏板\n铝模板\n加气砖\n瓷砖胶\n外墙涂料"
PRODUCTS = ("防水卷材", "保温板", "石膏板", "铝模板", "加气砖", "瓷砖胶", "外墙涂料")
CLIENTS = [
    ("华垣建工", "江西华垣建工集团有限公司"), ("青川装饰", "成都青川装饰工程有限公司"),
    ("泓景置业", "泓景置业发展有限公司"), ("北辰路桥", "河北北辰路桥建设有限公司"),
    ("德勤建设", "安徽德勤建设工程有限公司"), ("松岭地产", "松岭房地产开发有限公司"),
]
LEAD_ROLES = ["采购主管", "材料部经理", "项目采购", "采购部经理", "物资部部长", "成本经理"]
BOSS_ROLES = ["项目经理", "项目总", "工程总监", "生产经理"]
OTHER_ROLES = ["技术员", "施工员", "资料员", "安全员"]
FAMILY = "荀聂甘柯麦邝戚窦芮隗滕诸巩钮缪"
GIVEN2 = ["文博", "春燕", "国栋", "晓东", "慧敏", "永刚", "丽萍", "志强", "秋云", "德明", "亚楠", "红梅", "卫国",
          "小军"]
SIZES = [(1080, 2340), (720, 1280), (828, 1792)]


def _person(rng: random.Random, used: set[str]) -> str:
    while True:
        n = rng.choice(FAMILY) + rng.choice(GIVEN2)
        if n[0] not in {u[0] for u in used} and n[1:] not in {u[1:] for u in used}:
            used.add(n)
            return n


def _mobile(rng: random.Random) -> str:
    return rng.choice(["135", "188", "152", "139", "173", "199"]) + "".join(str(rng.randint(0, 9)) for _ in range(8))


def _shown(rng: random.Random, p: str) -> str:
    return rng.choice([p, p, f"{p[:3]} {p[3:7]} {p[7:]}", f"{p[:3]}-{p[3:7]}-{p[7:]}"])


def _label(rng: random.Random, name: str, short: str, app: str) -> str:
    forms = [name, f"{short}-{name}", f"{name}({short})"]
    if app == "wecom":
        forms += [f"{name}@{short}", f"{name}@微信"]
    return rng.choice(forms)


def _when(rng: random.Random, now: datetime) -> tuple[str, datetime]:
    day_word, days = rng.choice([("明天", 1), ("后天", 2), ("明早", 1)])
    hour = rng.choice([8, 9, 10, 14, 15]) if day_word != "明早" else rng.choice([8, 9])
    said = f"{day_word}{'' if day_word == '明早' else ('上午' if hour < 12 else '下午')}" \
           f"{hour if hour < 13 else hour - 12}点"
    return said, (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _group_chat(rng: random.Random, now: datetime) -> tuple[Chat, Truth]:
    app = rng.choice(["wechat", "wecom"])
    short, full = rng.choice(CLIENTS)
    product = rng.choice(PRODUCTS)
    used: set[str] = set()
    lead, boss, worker, engineer = (_person(rng, used) for _ in range(4))
    role, boss_role = rng.choice(LEAD_ROLES), rng.choice(BOSS_ROLES)
    phone, other_phone = _mobile(rng), _mobile(rng)
    budget = rng.choice([18, 40, 65, 90, 150, 260])
    labels = {p: _label(rng, p, short, app) for p in (lead, boss, worker, engineer)}
    kind = rng.choice(["self", "referred", "worker_number", "engineer_first"])
    start = now.replace(hour=rng.randint(8, 11), minute=rng.randint(0, 59))
    items = [Item("time", f"{start.hour:02d}:{start.minute:02d}", when=start)]
    items.append(Item("right", rng.choice([
        f"各位领导好，我是{VENDOR[0]}的业务经理，{product}的事在群里沟通",
        f"大家好，{VENDOR[1]}这边负责贵司项目{product}供货的是我",
        "拉个群，材料的事大家在这里说",
    ])))
    colleague = rng.random() < 0.5
    if colleague:
        tech = _person(rng, used)
        items.append(Item("left", rng.choice([
            f"我是{VENDOR[0]}的技术支持{tech}，施工工艺上的问题可以问我，电话{_shown(rng, _mobile(rng))}",
            f"大家好，{VENDOR[1]}技术部{tech}，样品和检测报告我来准备",
        ]), sender=rng.choice([tech, f"{VENDOR[1]}-{tech}"])))
    truth_phone: str | None = phone
    truth_title: str | None = role
    company = full
    said_by_lead: list[str] = []
    if kind == "engineer_first":
        items.append(Item("left", rng.choice([
            f"{product}有几种规格？我们{rng.randint(2, 9)}号楼地下室要用",
            f"你们{product}有检测报告吗，先发一份看看",
        ]), sender=labels[engineer]))
    if kind == "referred":
        items.append(Item("left", rng.choice([
            f"我是{full}{boss_role}{boss}，材料采购这块由我们{role}{lead}对接，他电话{_shown(rng, phone)}",
            f"大家好，{short}{boss_role}{boss}。{product}的事找我们{role}{lead}，{lead[0]}经理电话{_shown(rng, phone)}",
        ]), sender=labels[boss]))
        if rng.random() < 0.6:
            said_by_lead.append(rng.choice(["收到，报价单发我就行", f"好的，{product}的资料先发我一份"]))
    else:
        intro = rng.choice([
            f"大家好，我是{full}的{lead}，{role}，这批材料我来对接",
            f"各位好，{full}{role}{lead}，负责{product}采购",
        ])
        said_by_lead.append(intro)
        if kind == "worker_number":
            truth_phone = None
        else:
            said_by_lead.append(rng.choice([f"我手机{_shown(rng, phone)}，有事打我电话",
                                            f"我电话{_shown(rng, phone)}"]))
    for t in said_by_lead:
        items.append(Item("left", t, sender=labels[lead]))
    items.append(Item("left", rng.choice([
        f"需要{product}大概{rng.randint(2, 9)}千平方，麻烦出个报价",
        f"这次要采购一批{product}，先报个价",
    ]), sender=labels[lead if kind != "referred" or rng.random() < 0.5 else boss]))
    if kind == "worker_number":
        items.append(Item("left", rng.choice([
            f"我是现场{rng.choice(OTHER_ROLES)}{worker}，送货前打我电话{_shown(rng, other_phone)}",
            f"到货联系我，{_shown(rng, other_phone)}，工地在{rng.randint(3, 18)}号门",
        ]), sender=labels[worker]))
    budget_said = rng.random() < 0.7
    if budget_said:
        items.append(Item("left", rng.choice([
            f"这部分预算大概{budget}万", f"公司批的预算{budget}万左右", f"预算控制在{budget}万以内"]),
            sender=labels[rng.choice([lead, boss])]))
    if rng.random() < 0.5:
        items.append(Item("left", rng.choice(["收到", "好的👍", "👌", f"订单号{rng.randint(2024000, 2024999)}"]),
                          sender=labels[worker if kind != "worker_number" else engineer]))
    follow: datetime | None = None
    if rng.random() < 0.75:
        said, follow = _when(rng, now)
        items.append(Item("right", rng.choice(["方便的话我们去工地看一下现场", "样品什么时候给您送过去？"])))
        items.append(Item("left", f"{said}吧，我在项目部", sender=labels[lead if kind != "referred" else boss]))
        items.append(Item("right", "好的，准时到"))
    count = rng.choice([3, 5, 6, 8, 12, 17, 23, 38])
    title = rng.choice([f"{short}{product}供货群({count})", f"{short}×{VENDOR[1]}({count})",
                        f"{short}项目材料对接群({count})"])
    chat = Chat(app, title, None, items)
    truth = Truth(True, "lead", customer_name=lead, company=company, title=truth_title, phone=truth_phone,
                  budget_cny=budget * 10_000 if budget_said else None, needs=(product,), follow_up=follow)
    return chat, truth


def _render(chat: Chat, rng: random.Random, size: tuple[int, int], dark: bool) -> Image.Image:
    img, visible = render_chat(chat, rng, size, dark)
    if len(visible) < len(chat.items):  # a long chat: a long screenshot, so the truth is all on it
        img, visible = render_chat(chat, rng, size, dark, int(size[0] * 3.6))
    assert len(visible) == len(chat.items)
    return img


def site_group(seed: int) -> Sample:
    rng = random.Random(seed * 29 + 11)
    now = _now(rng).replace(hour=rng.randint(14, 20))
    chat, truth = _group_chat(rng, now)
    dark = rng.random() < 0.35
    size = rng.choice(SIZES)
    img = _render(chat, rng, size, dark)
    text = chat.title + "".join(it.text for it in chat.items)
    return Sample(f"{seed}-site-group", _jpeg(img, rng.randint(60, 90)), now, truth, text,
                  {"style": "group-dark" if dark else "group", "size": size})


def _one_to_one(rng: random.Random, now: datetime) -> tuple[Chat, Truth]:
    short, full = rng.choice(CLIENTS)
    product, role = rng.choice(PRODUCTS), rng.choice(LEAD_ROLES)
    name, phone, budget = _person(rng, set()), _mobile(rng), rng.choice([12, 30, 55, 80, 120])
    start = now.replace(hour=rng.randint(8, 11), minute=rng.randint(0, 59))
    said, follow = _when(rng, now)
    items = [Item("time", f"{start.hour:02d}:{start.minute:02d}", when=start),
             Item("left", rng.choice([f"你好，我是{full}的{role}{name}", f"您好，{full}{role}，{name}"])),
             Item("left", rng.choice([f"工地要一批{product}，能报个价吗", f"想了解一下你们的{product}，量比较大"])),
             Item("right", "可以，方便留个电话吗？"),
             Item("left", _shown(rng, phone)),
             Item("left", rng.choice([f"预算{budget}万左右", f"这批预算{budget}万"])),
             Item("right", f"{said}我带样品过去"),
             Item("left", "行")]
    chat = Chat(rng.choice(["wechat", "wecom"]), rng.choice([name, f"{name}-{short}", f"{short}{name[0]}工"]),
                None, items)
    truth = Truth(True, "lead", customer_name=name, company=full, title=role, phone=phone,
                  budget_cny=budget * 10_000, needs=(product,), follow_up=follow)
    return chat, truth


def _fitting(chat: Chat, rng: random.Random, size: tuple[int, int], dark: bool) -> Image.Image | None:
    """The chat on one phone screen, or None when it does not fit (a long screenshot is never photographed)."""
    for candidate in (size, (1080, 2340)):
        img, visible = render_chat(chat, rng, candidate, dark)
        if len(visible) == len(chat.items):
            return img
    return None


def site_photo(seed: int) -> Sample:
    rng = random.Random(seed * 23 + 1)
    now = _now(rng).replace(hour=rng.randint(12, 20))
    chat, truth = _group_chat(rng, now) if rng.random() < 0.3 else _one_to_one(rng, now)
    dark_ui = rng.random() < 0.3
    size = rng.choice([(1080, 2340), (720, 1280)])
    screen = _fitting(chat, rng, size, dark_ui)
    if screen is None:  # a photo shows one screenful: a chat that fits a phone's screen
        chat, truth = _one_to_one(rng, now)
        size = (1080, 2340)
        screen = _fitting(chat, rng, size, dark_ui)
        assert screen is not None
    photo, meta = photograph(np.asarray(screen), rng)
    quality = rng.randint(40, 60)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=quality)
    text = chat.title + "".join(it.text for it in chat.items)
    style = "photo-dim" if meta["dim"] else "photo"
    return Sample(f"{seed}-site-photo", buf.getvalue(), now, truth, text,
                  {**meta, "style": style, "size": screen.size, "quality": quality, "dark_ui": dark_ui})


def _tilted_quad(rng: random.Random, w: float, h: float, cx: float, cy: float) -> np.ndarray:
    """The screen's corners after a 3-D turn of 5–20° about a random axis in the photo's plane, seen by a pinhole
    camera, and an in-plane turn of up to ±15°."""
    tilt = np.radians(rng.uniform(5, 20))
    axis = rng.uniform(0, np.pi)
    ax, ay = np.cos(axis), np.sin(axis)
    rot = np.radians(rng.uniform(-15, 15))
    focal = max(w, h) * rng.uniform(1.2, 2.2)
    pts = []
    for x, y in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        # Rodrigues about the axis (ax, ay, 0)
        k = np.array([ax, ay, 0.0])
        v = np.array([x, y, 0.0])
        v = v * np.cos(tilt) + np.cross(k, v) * np.sin(tilt) + k * np.dot(k, v) * (1 - np.cos(tilt))
        z = focal + v[2]
        px, py = v[0] * focal / z, v[1] * focal / z
        pts.append((cx + px * np.cos(rot) - py * np.sin(rot), cy + px * np.sin(rot) + py * np.cos(rot)))
    return np.array(pts, np.float32)


def photograph(screen: np.ndarray, rng: random.Random) -> tuple[np.ndarray, dict]:
    sh, sw = screen.shape[:2]
    out_w, out_h = rng.choice([(1200, 1600), (1500, 2000), (1536, 2048), (2000, 1500), (1800, 2400)])
    dim = rng.random() < 0.5
    base = rng.randint(6, 35) if dim else rng.randint(45, 140)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    tint = np.array([rng.uniform(0.85, 1.15), 1.0, rng.uniform(0.8, 1.1)], np.float32)
    bg = (base * tint)[None, None, :] * (1 + 0.35 * ((xx / out_w) - 0.5))[..., None]
    grain = cv2.resize(np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6 if dim else 10,
                                                                           (out_h // 30 + 2, out_w // 30 + 2)),
                       (out_w, out_h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    photo = bg + grain[..., None]
    share = rng.uniform(0.3, 0.75) if out_h >= out_w else rng.uniform(0.55, 0.85)
    share = min(0.85, max(share, 390 * sh / sw / out_h))  # the screen ≥ 390 px wide: its text ≥ ~16 px tall
    h = out_h * share
    w = h * sw / sh
    cx = out_w / 2 + rng.uniform(-0.15, 0.15) * (out_w - w)
    cy = out_h / 2 + rng.uniform(-0.15, 0.15) * (out_h - h)
    quad = _tilted_quad(rng, w, h, cx, cy)
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    # the phone's body: near-black (merges with a dim room) or a light case
    bezel = rng.uniform(0.03, 0.06)
    body_src = np.array([[-bezel * sw, -1.6 * bezel * sh / 2], [(1 + bezel) * sw, -1.6 * bezel * sh / 2],
                         [(1 + bezel) * sw, (1 + 1.6 * bezel / 2) * sh], [-bezel * sw, (1 + 1.6 * bezel / 2) * sh]],
                        np.float32)
    body = cv2.perspectiveTransform(body_src[None], m)[0]
    body_colour = rng.choice([(10, 10, 12), (22, 22, 26), (190, 192, 196), (60, 70, 90)])
    cv2.fillConvexPoly(photo, body.astype(np.int32), tuple(float(c) for c in body_colour))
    warped = cv2.warpPerspective(screen, m, (out_w, out_h), flags=cv2.INTER_AREA).astype(np.float32)
    mask = np.zeros((out_h, out_w), np.uint8)
    cv2.fillConvexPoly(mask, quad.astype(np.int32), 255)
    inside = cv2.GaussianBlur(mask, (0, 0), 0.8).astype(np.float32)[..., None] / 255
    # the screen: its own light (a dim room: the camera exposes for it, so it is bright), moiré beats
    gain = rng.uniform(0.85, 1.05) if dim else rng.uniform(0.75, 0.95)
    beat = 1 + rng.uniform(0.03, 0.07) * np.sin((xx * np.cos(0.3 + rng.random()) + yy * np.sin(0.3 + rng.random()))
                                                * rng.uniform(0.3, 0.9))
    photo = photo * (1 - inside) + warped * gain * beat[..., None] * inside
    del warped
    if dim:  # the screen's glow spills onto the dark around it
        glow = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(out_w, out_h) * 0.02)
        photo += (glow * rng.uniform(0.05, 0.15))[..., None] * (1 - inside)
    occluder = rng.choice(["thumb", "pen", "card", "none"])
    photo = _occlude(photo, quad, occluder, rng)
    reflection = rng.choice(["window", "lamp", "gradient"])
    photo = _reflect(photo, inside, quad, reflection, rng)
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 1.8))
    photo += np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 6) * (1.5 if dim else 1),
                                                                  photo.shape[:2]).astype(np.float32)[..., None]
    return np.clip(photo, 0, 255).astype(np.uint8), {"dim": dim, "occluder": occluder, "reflection": reflection,
                                                       "share": round(share, 2), "photo": (out_w, out_h)}


def _occlude(photo: np.ndarray, quad: np.ndarray, kind: str, rng: random.Random) -> np.ndarray:
    """Something lying over the screen's edge: a thumb from the side, a pen across a corner, a business card
    over a bottom corner."""
    if kind == "none":
        return photo
    tl, tr, br, bl = quad
    width = float(np.linalg.norm(tr - tl))
    mask = np.zeros(photo.shape[:2], np.uint8)
    if kind == "thumb":
        left = rng.random() < 0.5
        a, b = (tl, bl) if left else (tr, br)
        p = a + (b - a) * rng.uniform(0.45, 0.85)
        inward = ((tr - tl) if left else (tl - tr)) / width
        tip = p + inward * width * rng.uniform(0.04, 0.1)
        angle = float(np.degrees(np.arctan2(inward[1], inward[0])))
        centre = tip - inward * width * 0.22
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(width * 0.24), int(width * 0.085)), angle,
                    0, 360, 255, -1)
        colour = np.array([rng.randint(170, 225), rng.randint(120, 170), rng.randint(95, 140)], np.float32)
    elif kind == "pen":
        corner = rng.choice([tl, tr, br, bl])
        direction = rng.uniform(0, np.pi)
        d = np.array([np.cos(direction), np.sin(direction)])
        p0, p1 = corner - d * width * 0.6, corner + d * width * 0.6
        cv2.line(mask, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), 255, max(4, int(width * 0.035)))
        colour = np.array(rng.choice([(20, 30, 110), (15, 15, 15), (150, 20, 20), (200, 200, 60)]), np.float32)
    else:  # card over a bottom corner
        corner = rng.choice([br, bl])
        cw, ch = width * 0.5, width * 0.3
        ang = rng.uniform(-30, 30)
        rect = ((float(corner[0]), float(corner[1]) + ch * 0.1), (cw, ch), ang)
        cv2.fillConvexPoly(mask, cv2.boxPoints(rect).astype(np.int32), 255)
        colour = np.array(rng.choice([(235, 232, 225), (245, 245, 245), (210, 200, 170)]), np.float32)
    soft = cv2.GaussianBlur(mask, (0, 0), 2).astype(np.float32)[..., None] / 255
    shade = colour * rng.uniform(0.5, 1.0)
    return photo * (1 - soft) + shade * soft


def _reflect(photo: np.ndarray, inside: np.ndarray, quad: np.ndarray, kind: str, rng: random.Random) -> np.ndarray:
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "window":  # a bright slanted band with soft edges (a window reflected in the glass)
        angle = rng.uniform(0.3, 1.2) * rng.choice([-1, 1])
        c = quad.mean(axis=0) + rng.uniform(-0.2, 0.2) * (quad[1] - quad[0])
        dist = (xx - c[0]) * np.cos(angle) + (yy - c[1]) * np.sin(angle)
        half = rng.uniform(0.05, 0.15) * w
        band = np.clip((half - np.abs(dist)) / (0.4 * half), 0, 1)
        add = band * rng.uniform(40, 90)
    elif kind == "lamp":  # a small, strong highlight
        p = quad[0] + (quad[2] - quad[0]) * rng.uniform(0.2, 0.8)
        r = rng.uniform(0.03, 0.08) * w
        add = rng.uniform(100, 200) * np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * r * r))
    else:
        g = rng.uniform(0, np.pi * 2)
        add = np.clip(((xx / w - 0.5) * np.cos(g) + (yy / h - 0.5) * np.sin(g)) * rng.uniform(60, 120), 0, None)
    return photo + (add * inside[..., 0])[..., None]
