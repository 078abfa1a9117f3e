"""PC clients as their vendors draw them, beside tests/synth_wild.py's generic "pc" style:

- "wecompc": the WeCom desktop client, 2560×1440 at 125 % / 150 %, light theme — a narrow icon column with the
  user's avatar, a light-grey session list (~260 logical px, search box, avatar + name + time + preview rows, the
  open chat highlighted), the chat pane with its 「<name> @微信」 title (the tag in green) and a ⋯ menu, white
  customer bubbles, light-blue own bubbles with 已读 / 未读 beside them, 「你撤回了一条消息 重新编辑」, an input area
  with a toolbar and a blue 发送 button, and the OS taskbar at the very bottom with a clock and a date;
- "wechatpc": the WeChat desktop client at 1920×1080, 100 % (14-px text), maximised or in a window.

Also the hard negatives such screens showed: a courier's chat (a number and a delivery time) and colleagues
talking about a customer. Every person, company and number is invented (tests/synth.py vocabulary, random digits).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from tests.synth import COMPANIES, NEEDS, Chat, Item, Look, _name, _phone, _stamp, render_chat
from tests.synth_wild import _f, _session_list, _wallpaper

WECOM_SCREENS = [(2560, 1440, 1.25), (2560, 1440, 1.5)]
WECOM_PANE = dict(bg=(244, 245, 247), bar=(244, 245, 247), left=(255, 255, 255), right=(205, 227, 255),
                  text=(31, 35, 41), rtext=(31, 35, 41), stamp=(150, 154, 160), line=(226, 228, 232),
                  inbar=(255, 255, 255), box=(255, 255, 255), suffix=(52, 178, 96), send=(24, 118, 238))
WECHAT_PANE = dict(bg=(245, 245, 245), bar=(245, 245, 245), left=(255, 255, 255), right=(149, 236, 105),
                   text=(25, 25, 25), rtext=(25, 25, 25), stamp=(170, 170, 170), line=(231, 231, 231),
                   inbar=(245, 245, 245), box=(233, 233, 233), suffix=(250, 157, 59))
RECALLED = "你撤回了一条消息 重新编辑"


def wecom_pc(chat: Chat, rng: random.Random, dark: bool, style: str):  # type: ignore[no-untyped-def]
    w, h, sc = rng.choice(WECOM_SCREENS)
    taskbar = int(48 * sc)
    wh = h - taskbar
    icon_w, list_w = int(rng.uniform(56, 68) * sc), int(rng.uniform(248, 272) * sc)
    bg = rng.choice([(244, 245, 247), (241, 243, 246), (247, 248, 250)])
    pal = dict(WECOM_PANE, bg=bg, bar=rng.choice([bg, (255, 255, 255)]),
               right=rng.choice([(205, 227, 255), (198, 224, 255), (214, 233, 255)]))
    shade = rng.choice([0, 4, 6, 9])  # the session list a few levels darker than the chat pane, or as light
    look = Look(text_pt=14, avatar_pt=rng.choice([34, 36, 38]), radius_pt=rng.choice([4, 6]), tail=False,
                read_marks=True)
    shown = _with_recall(chat, rng)
    pane, visible = render_chat(shown, rng, (w - icon_w - list_w, wh), False, scale=sc, desktop=True, look=look,
                                pal=pal)
    canvas = Image.new("RGB", (w, h), (0, 0, 0))
    window = Image.new("RGB", (w, wh), pal["bg"])
    _icon_column(window, rng, icon_w, sc, (233, 236, 241))
    _session_list(window, rng, (icon_w, 0, icon_w + list_w, wh), sc, False, tuple(c - shade for c in bg),
                  chat.title + (chat.tag or ""))
    window.paste(pane, (icon_w + list_w, 0))
    d = ImageDraw.Draw(window)
    if not shade or rng.random() < 0.5:
        d.line((icon_w + list_w, 0, icon_w + list_w, wh), fill=pal["line"], width=1)
    canvas.paste(window, (0, 0))
    _taskbar(canvas, rng, taskbar, sc)
    return canvas, visible, rng.randint(80, 95), {"size": (w, h), "scaling": sc}


def wechat_pc(chat: Chat, rng: random.Random, dark: bool, style: str):  # type: ignore[no-untyped-def]
    w, h, sc = 1920, 1080, 1.0
    taskbar = 40
    if rng.random() < 0.5:  # the client's own window size, on the desktop
        ww, wh = rng.randint(900, 1200), rng.randint(700, 860)
        wx, wy = rng.randint(0, w - ww), rng.randint(0, h - taskbar - wh)
    else:
        ww, wh, wx, wy = w, h - taskbar, 0, 0
    icon_w, list_w = 54, rng.randint(240, 260)
    look = Look(text_pt=14, avatar_pt=rng.choice([34, 36]), radius_pt=4, tail=True)
    pane, visible = render_chat(chat, rng, (ww - icon_w - list_w, wh), False, scale=sc, desktop=True, look=look,
                                pal=WECHAT_PANE)
    canvas = _wallpaper(rng, (w, h))
    window = Image.new("RGB", (ww, wh), WECHAT_PANE["bg"])
    _icon_column(window, rng, icon_w, sc, (46, 46, 46))
    _session_list(window, rng, (icon_w, 0, icon_w + list_w, wh), sc, False, (230, 229, 229), chat.title)
    window.paste(pane, (icon_w + list_w, 0))
    ImageDraw.Draw(window).line((icon_w + list_w, 0, icon_w + list_w, wh), fill=(214, 214, 214), width=1)
    canvas.paste(window, (wx, wy))
    _taskbar(canvas, rng, taskbar, sc)
    return canvas, visible, rng.randint(75, 92), {"size": (w, h), "scaling": sc}


def _with_recall(chat: Chat, rng: random.Random) -> Chat:
    """The rep took a message back: WeCom writes 「你撤回了一条消息 重新编辑」 in its place."""
    rights = [i for i, it in enumerate(chat.items) if it.kind == "right"]
    if not rights or rng.random() < 0.4:
        return chat
    at = rng.choice(rights) + 1
    return dataclasses.replace(chat, items=[*chat.items[:at], Item("time", RECALLED), *chat.items[at:]])


def _icon_column(img: Image.Image, rng: random.Random, width: int, sc: float, bg: tuple[int, int, int]) -> None:
    """The client's narrow left column: the user's avatar on top, then the section icons."""
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, img.height), fill=bg)
    a = width - int(24 * sc)
    d.rounded_rectangle((int(12 * sc), int(28 * sc), int(12 * sc) + a, int(28 * sc) + a), radius=int(4 * sc),
                        fill=rng.choice([(200, 120, 90), (90, 140, 200), (120, 170, 110)]))
    ink = (120, 120, 120) if sum(bg) < 384 else (130, 136, 146)
    for i in range(rng.randint(5, 8)):
        y = int((110 + i * 54) * sc)
        d.rounded_rectangle((width // 2 - int(11 * sc), y, width // 2 + int(11 * sc), y + int(22 * sc)),
                            radius=int(4 * sc), outline=ink, width=max(1, int(2 * sc)))


def _taskbar(canvas: Image.Image, rng: random.Random, height: int, sc: float) -> None:
    """The OS taskbar at the very bottom: app icons in the middle, the clock over the date at the right."""
    w, h = canvas.size
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, h - height, w, h), fill=rng.choice([(32, 32, 40), (28, 30, 36), (20, 22, 28)]))
    for i in range(9):
        x = w // 2 - int((4.5 - i) * 44 * sc)
        d.rounded_rectangle((x, h - height + int(8 * sc), x + int(30 * sc), h - int(8 * sc)), radius=int(4 * sc),
                            fill=rng.choice([(90, 140, 200), (230, 180, 60), (80, 180, 90), (60, 120, 220)]))
    f = _f(11 * sc)
    clock = f"{rng.randint(8, 20)}:{rng.randint(0, 59):02d}"
    day = f"{rng.randint(2024, 2026)}/{rng.randint(1, 12)}/{rng.randint(1, 28)}"
    x = w - int(90 * sc)
    d.text((x + int(12 * sc), h - height + int(6 * sc)), clock, font=f, fill=(235, 235, 235))
    d.text((x, h - height + int(25 * sc)), day, font=f, fill=(235, 235, 235))


# ---------------------------------------------------------------- hard negatives seen on PC screenshots

COURIERS = ["顺达快递", "捷运速递", "闪送", "美团外卖", "饿了么", "同城配送", "货拉拉", "邮政"]


def courier_chat(rng: random.Random, now: datetime) -> Chat:
    """A courier, a delivery driver or a takeout rider writing to the rep: a phone number and a delivery time, no
    product anyone wants."""
    who = rng.choice(COURIERS)
    phone = _phone(rng)
    hour = rng.randint(9, 18)
    lines = [
        ("left", rng.choice([f"你好，我是{who}的，你有个件到了", f"您好，{who}送货，家里有人吗", "你好，你的外卖到了",
                             f"您好，我是{who}的师傅，你的东西今天送"])),
        ("left", rng.choice([f"我电话{phone}，到了给你打", f"有事打我电话{phone}", f"手机{phone}，联系不上就放门口"])),
        ("right", rng.choice(["好的，放前台就行", "我在公司，送到楼下打我电话", "好的谢谢师傅"])),
        ("left", rng.choice([f"大概下午{hour - 12 if hour > 12 else hour}点左右到", "预计半小时后送达",
                             f"明天上午{rng.randint(9, 11)}点前送到", "到楼下了，麻烦下来拿一下"])),
        ("right", rng.choice(["好的", "收到", "辛苦了"])),
    ]
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=rng.randint(20, 300))
    items = [Item("time", _stamp(rng, start, now), when=start), *(Item(k, t) for k, t in lines)]
    title = rng.choice(["快递员", f"{who}", f"{rng.choice('王李张刘陈')}师傅", "外卖骑手", f"{who}-小哥"])
    return Chat("wecom", title, None, items, tag=" @微信" if rng.random() < 0.6 else None)


DEPARTMENTS = ["售后", "项目部", "行政", "技术部", "市场部", "财务", "商务部", "实施部", "客服部"]


def internal_chat(rng: random.Random, now: datetime) -> Chat:
    """Two colleagues talking about a customer's needs: the customer's company, a need and even a budget come up,
    but only in the third person; the other party is a colleague (a department before the name)."""
    colleague = _name(rng)
    short, _full, _domain = rng.choice(COMPANIES)
    need = rng.choice(NEEDS)
    contact = _name(rng)
    lines = [
        ("left", rng.choice([f"{short}那个客户想上{need}，你那边跟一下", f"{short}的客户问{need}的事，你了解吗",
                             f"昨天{short}来电话，客户说想了解{need}"])),
        ("right", rng.choice(["好的，客户那边对接人是谁", "收到，我看下客户之前的需求", "客户预算大概多少"])),
        ("left", rng.choice([f"对接人是{contact}，电话{_phone(rng)}，客户说预算{rng.choice([20, 30, 50])}万左右",
                             f"客户那边是{contact}负责，手机{_phone(rng)}，说下周要方案",
                             f"客户要得急，{contact}说月底前定"])),
        ("right", rng.choice(["行，我明天给客户回个电话", "好的，我整理下资料发给客户", "明白，周会上再同步"])),
    ]
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=rng.randint(20, 600))
    items = [Item("time", _stamp(rng, start, now), when=start), *(Item(k, t) for k, t in lines)]
    title = rng.choice([f"{rng.choice(DEPARTMENTS)}-{colleague}", f"{rng.choice(DEPARTMENTS)}{colleague}",
                        f"{colleague}（{rng.choice(DEPARTMENTS)}）"])
    return Chat("wecom", title, None, items)


def recruit_chat(rng: random.Random, now: datetime) -> Chat:
    """A recruiter and a candidate: a CV, an interview time, a salary, the candidate's number — nothing bought."""
    role = rng.choice(["大客户销售", "实施工程师", "售前顾问", "行政专员", "财务主管"])
    lines = [
        ("left", rng.choice([f"您好，我是应聘{role}岗位的，简历已经投递了",
                             f"你好，看到你们在招{role}，我的简历发您邮箱了", f"您好，猎头推荐我来面试{role}"])),
        ("right", rng.choice(["收到，简历我看了", "好的，我们安排一下面试", "你好，方便说下期望薪资吗"])),
        ("left", rng.choice([f"期望薪资{rng.randint(12, 30)}k，随时可以到岗，电话{_phone(rng)}",
                             f"我手机{_phone(rng)}，目前在职，一个月内可以入职"])),
        ("right", rng.choice([f"那周{rng.choice('二三四五')}上午十点来面试", "好的，HR会电话联系你"])),
    ]
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=rng.randint(20, 600))
    items = [Item("time", _stamp(rng, start, now), when=start), *(Item(k, t) for k, t in lines)]
    return Chat("wecom", rng.choice(["候选人-" + _name(rng), _name(rng), "求职-" + _name(rng)]), None, items)


def new_number_chat(rng: random.Random, now: datetime) -> Chat:
    """A friend sharing a new number and making plans: no company, no product."""
    lines = [
        ("left", rng.choice([f"我换号了，新号码{_phone(rng)}，存一下哈", f"这是我新号{_phone(rng)}，旧号不用了"])),
        ("right", rng.choice(["好嘞，已存", "收到，改好了"])),
        ("left", rng.choice(["周末有空一起吃饭吗", "下周老同学聚餐你来不来", "孩子生日那天过来玩"])),
        ("right", rng.choice(["行啊", "可以，到时候联系", "哈哈好"])),
    ]
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=rng.randint(20, 600))
    items = [Item("time", _stamp(rng, start, now), when=start), *(Item(k, t) for k, t in lines)]
    return Chat("wechat", rng.choice(["老" + rng.choice("王李张刘陈周"), _name(rng)]), None, items)


def office_chat(rng: random.Random, now: datetime) -> Chat:
    """A colleague on office matters — a meeting room, an expense claim, leave — with a mobile number."""
    colleague = _name(rng)
    lines = [
        ("left", rng.choice(["明天的部门例会改到下午三点，会议室换到三楼", "这周的周报记得周五前交",
                             "下周我请假两天，审批已经提了"])),
        ("right", rng.choice(["好的收到", "明白", "行，我来安排"])),
        ("left", rng.choice([f"报销单签好字交给财务，有事打我手机{_phone(rng)}",
                             f"考勤有问题找我，电话{_phone(rng)}"])),
        ("right", rng.choice(["好的", "收到，谢谢"])),
    ]
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=rng.randint(20, 600))
    items = [Item("time", _stamp(rng, start, now), when=start), *(Item(k, t) for k, t in lines)]
    title = rng.choice([f"{rng.choice(DEPARTMENTS)}-{colleague}", colleague])
    return Chat("wecom", title, None, items)
