"""Screenshots of the chat transcripts in bench/data/people_*.json (invented people and companies): WeChat, WeCom
(「@公司」 after the name), DingTalk (company under the name, 「外部」 tag) and a cropped part of a chat — the title
bar, status bar and input bar cut away, as a rep sends when only a few messages matter."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image

from tests.synth import Chat, Item, _jpeg, render_chat

SIZE = (1080, 2340)


def chat_of(case: dict) -> Chat:
    """The case as a chat of its app: a title 「名字@公司」 is WeCom's, 「名字\\n公司」 DingTalk's, else WeChat's."""
    items = [Item("time", "昨天 15:20"), Item("right", "您好，有什么可以帮您？")]
    items += [Item(side, text) for side, text in case["items"]]
    title = case["title"] or "某客户"
    if "\n" in title:
        name, company = title.split("\n", 1)
        return Chat("dingtalk", name.replace(" 外部", ""), " 外部", items, subtitle=company)
    if "@" in title:
        name, company = title.split("@", 1)
        return Chat("wecom", name, "@" + company, items)
    return Chat("wechat", title, None, items)


def draw(case: dict, seed: int) -> bytes:
    """A JPEG of the case; a case with no title is drawn whole and then cut below the title bar and above the
    input bar."""
    rng = random.Random(seed)
    img, _visible = render_chat(chat_of(case), rng, SIZE, dark=False)
    if case["title"] is None:
        s = SIZE[0] / 375
        img = img.crop((0, int(100 * s), SIZE[0], SIZE[1] - int(100 * s)))
        img = _trim_bottom(img)
    return _jpeg(img, 80)


def _trim_bottom(img: Image.Image) -> Image.Image:
    """A crop ends a little under the last message, not at an empty screen's bottom."""
    grey = np.asarray(img.convert("L"), dtype=np.int16)
    drawn = np.nonzero((np.abs(grey - grey[-1, grey.shape[1] // 2]) > 30).any(axis=1))[0]
    last = int(drawn[-1]) if len(drawn) else img.height
    return img.crop((0, 0, img.width, min(img.height, last + 60)))
