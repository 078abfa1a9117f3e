"""What a user wrote, inside messages we compose for someone else: marked where it is put in, escaped by each
channel for its own format when rendered.

A rep's customer, company, summary or display name goes into a manager's markdown digest or a card. Written
as is, `[点这里](http://…)`, `![](…)`, `<font …>` or a line starting with `#` or `>` would arrive as real markup
(a link, an image, a fake 「系统通知」). Handlers compose with `user_text(value)`; the channel renderer passes every
string it sends through `escape_spans(text, <the channel format's escape>)`, which escapes the marked spans
and drops the marks. A mark cut off by truncation is dropped too. `plain(text)`: the marks dropped, nothing
escaped (plain-text formats, the console).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from bot.messages import Body, Card, CardUpdate, Field, Image, Markdown, Text

B = TypeVar("B", bound=Body)

OPEN, CLOSE = "\ue000", "\ue001"  # private-use characters: never in text a user can send (see `user`)
_SPAN = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*){CLOSE}")
_MARKS = str.maketrans("", "", OPEN + CLOSE)

# Markdown and HTML-ish markup characters → full-width look-alikes: readable, inert in every markdown dialect
# (no reliance on backslash escapes, which WeCom's markdown does not document). Newlines become spaces so user
# text cannot start a heading, quote, list or table row of its own.
_MARKDOWN = str.maketrans({
    "[": "［", "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "*": "＊", "_": "＿", "`": "｀",
    "#": "＃", "!": "！", "|": "｜", "~": "～", "\\": "＼", "\n": " ", "\r": " ",
})
_ANGLE = str.maketrans({"<": "＜", ">": "＞"})


def clean_inbound(text: str) -> str:
    """A user's message as handlers should see it: Unicode format characters (zero-width spaces and joiners,
    RTL/LTR marks and embeddings, BOM: category Cf) and our own marks removed, so 「\u200b跟进 12」 is 跟进."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if ch not in (OPEN, CLOSE) and unicodedata.category(ch) != "Cf")


def user_text(value: object) -> str:
    """Mark `value` as user-written (marks inside it are dropped: a nested span is one span)."""
    return f"{OPEN}{str(value).translate(_MARKS)}{CLOSE}"


def escape_spans(text: str, escape: Callable[[str], str]) -> str:
    if OPEN not in text and CLOSE not in text:  # most of what is sent (a help text, a fixed answer): as it is
        return text
    return _SPAN.sub(lambda m: escape(m.group(1)), text).translate(_MARKS)


def plain(text: str) -> str:
    return text.translate(_MARKS)


def wecom_markdown(text: str) -> str:
    """WeCom app markdown: headings, bold, links, `code`, quotes and <font color>."""
    return text.translate(_MARKDOWN)


def wecom_text(text: str) -> str:
    """WeCom text messages turn <a href="…">…</a> into links."""
    return text.translate(_ANGLE)


def dingtalk_markdown(text: str) -> str:
    """DingTalk sampleMarkdown and card markdown: headings, bold, links, images, lists, quotes, <font>."""
    return text.translate(_MARKDOWN)


def identity(text: str) -> str:
    return text


def escape_body(body: B, escape: Callable[[str], str]) -> B:
    """Every string a channel shows of `body`, its user-written spans escaped with `escape` (keys untouched)."""
    def f(text: str) -> str:
        return escape_spans(text, escape)

    if isinstance(body, Card):
        return replace(body, title=f(body.title), description=f(body.description), note=f(body.note),
                       fields=tuple(Field(f(x.label), f(x.value)) for x in body.fields),
                       buttons=tuple(replace(b, text=f(b.text)) for b in body.buttons))
    if isinstance(body, Markdown):
        return replace(body, title=f(body.title), text=f(body.text))
    if isinstance(body, Text | CardUpdate):
        return replace(body, text=f(body.text))
    if isinstance(body, Image):
        return replace(body, caption=f(body.caption), file_name=plain(body.file_name))
    return body
