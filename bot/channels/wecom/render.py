"""Channel-neutral bodies → WeCom message/send JSON, within WeCom's field limits.

Limits (WeCom docs, "建议不超过 N 个字" = characters): text content ≤ 2048 bytes, app markdown ≤ 2048 bytes
(4096 is the group robot's limit, not ours),
main_title.title 36 / desc 44, sub_title_text 160, horizontal_content_list ≤ 6 items (keyname 5,
value 30), button_list ≤ 6 (text 10, key ≤ 1024 bytes), task_id [0-9a-zA-Z_-@] ≤ 128 bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from bot.messages import Card, Markdown, Text

TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 2048  # message/send markdown.content: "最长不超过2048个字节"
ELLIPSIS = "…"
CARD_LINK = "https://work.weixin.qq.com/"  # text_notice requires a card_action; we have no page of our own
BUTTON_STYLE = {"primary": 1, "default": 2, "danger": 3}
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])|(?<=\.)(?=\s)")
_CLAUSE_END = re.compile(r"(?<=[，,、：:）)」”])|(?<=\s)")  # inside a sentence too long for one message
MAX_PARTS = 10  # one text or markdown never takes more messages (WeCom drops a member's 31st in a minute)
TOO_LONG = "…（内容过长，其余未显示）"
_TASK_ID_BAD = re.compile(r"[^0-9A-Za-z_\-@]")
# Invisible marker that makes legitimately repeated texts differ for WeCom's duplicate check,
# while a resend of the same outbox row (same dedup key) stays identical and is dropped by WeCom.
_ZW = ("\u200b", "\u200c", "\u200d", "\u2060")
MARKER_CHARS = 12  # 24 bits
MARKER_BYTES = MARKER_CHARS * 3


def truncate(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + ELLIPSIS


def truncate_bytes(text: str, max_bytes: int) -> str:
    """At most `max_bytes` of UTF-8, cut at a character boundary, "…" when cut."""
    if len(text.encode()) <= max_bytes:
        return text
    budget = max_bytes - len(ELLIPSIS.encode())
    cut = text.encode()[:budget].decode("utf-8", errors="ignore")
    return cut + ELLIPSIS


def dedup_marker(key: str) -> str:
    digest = int.from_bytes(hashlib.sha1(key.encode()).digest()[:3], "big")
    return "".join(_ZW[(digest >> (2 * i)) & 3] for i in range(MARKER_CHARS))


def split_bytes(text: str, max_bytes: int) -> list[str]:
    """Split into parts of ≤ max_bytes UTF-8: on sentence ends where possible, else after a comma or a space,
    never inside a character."""
    if len(text.encode()) <= max_bytes:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(text, max_bytes):
        n = len(piece.encode())
        if current and size + n > max_bytes:
            parts.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += n
    if current:
        parts.append("".join(current))
    return [p for p in (p.strip("\n") for p in parts) if p]


def _pieces(text: str, max_bytes: int) -> Iterator[str]:
    """Sentences; a sentence over the limit as clauses; a clause over the limit as characters."""
    for sentence in _SENTENCE_END.split(text):
        if len(sentence.encode()) <= max_bytes:
            yield sentence
            continue
        for clause in _CLAUSE_END.split(sentence):
            if len(clause.encode()) <= max_bytes:
                yield clause
            else:
                yield from clause


def _at_most_max_parts(parts: list[str], max_bytes: int) -> list[str]:
    if len(parts) <= MAX_PARTS:
        return parts
    room = max_bytes - len(TOO_LONG.encode())
    last = parts[MAX_PARTS - 1].encode()[:room].decode("utf-8", errors="ignore")
    return [*parts[: MAX_PARTS - 1], last + TOO_LONG]


def text_payloads(body: Text, dedup_key: str) -> list[dict[str, Any]]:
    limit = TEXT_MAX_BYTES - MARKER_BYTES
    parts = _at_most_max_parts(split_bytes(body.text, limit), limit) or [" "]
    return [
        {"msgtype": "text", "text": {"content": part + dedup_marker(f"{dedup_key}#{i}")}}
        for i, part in enumerate(parts)
    ]


def markdown_payloads(body: Markdown, dedup_key: str) -> list[dict[str, Any]]:
    content = f"**{body.title}**\n{body.text}" if body.title else body.text
    limit = MARKDOWN_MAX_BYTES - MARKER_BYTES
    parts = _at_most_max_parts(split_bytes(content, limit), limit) or [" "]
    return [
        {"msgtype": "markdown", "markdown": {"content": part + dedup_marker(f"{dedup_key}#{i}")}}
        for i, part in enumerate(parts)
    ]


def task_id(card: Card, dedup_key: str) -> str:
    """Unique per app: the card's own id (sanitised) plus a hash of the outbox dedup key."""
    digest = hashlib.sha1(dedup_key.encode()).hexdigest()[:20]
    stem = _TASK_ID_BAD.sub("_", card.card_id)[:100] if card.card_id else "c"
    return f"{stem}-{digest}"


def card_payload(card: Card, dedup_key: str) -> dict[str, Any]:
    """text_notice when the card has no buttons, button_interaction when it has."""
    tc: dict[str, Any] = {
        "task_id": task_id(card, dedup_key),
        "main_title": {"title": truncate(card.title or " ", 36)},
        "source": {"desc": "salesbot", "desc_color": 0},
    }
    sub_lines = [card.description] if card.description else []
    shown, overflow = card.fields[:6], card.fields[6:]
    if shown:
        tc["horizontal_content_list"] = [
            {"type": 0, "keyname": truncate(f.label or "-", 5), "value": truncate(f.value or "-", 30)} for f in shown
        ]
    sub_lines += [f"{f.label}: {f.value}" for f in overflow]
    if sub_lines:
        tc["sub_title_text"] = truncate("\n".join(sub_lines), 160)
    if card.note:
        tc["quote_area"] = {"type": 0, "quote_text": truncate(card.note, 60)}
    if card.buttons:
        tc["card_type"] = "button_interaction"
        tc["button_list"] = [
            {"type": 0, "text": truncate(b.text, 10), "style": BUTTON_STYLE.get(b.style, 2),
             "key": truncate_bytes(b.key, 1024)}
            for b in card.buttons[:6]
        ]
    else:
        tc["card_type"] = "text_notice"
        tc["card_action"] = {"type": 1, "url": CARD_LINK}
    return {"msgtype": "template_card", "template_card": tc}


def replace_name(text: str) -> str:
    """Status text replacing a clicked card's buttons (kept short: it is shown as a button label)."""
    return truncate(text, 20)
