"""Channel-neutral bodies → DingTalk robot message params and interactive StandardCard data.

- Text → `sampleText {content}`; Markdown → `sampleMarkdown {title, text}` in DingTalk's subset
  (headings, bold, links, lists, quotes; no tables, so tables become lists).
- Card with buttons → interactive `StandardCard` whose `request` buttons carry our button key as
  their id (it comes back in the click callback as `cardPrivateData.actionIds[0]`);
  Card without buttons → sampleMarkdown. In HTTP mode DingTalk has no click callback for us, so a
  card with buttons is markdown too, its buttons listed as numbered replies.
- Image → `sampleImageMsg {photoURL: mediaId}` (the sender uploads first).

What users wrote (`bot.usertext.user`) is escaped here: `dingtalk_markdown` in markdown and cards, nothing in
plain text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from bot.messages import Card, Markdown, Text
from bot.usertext import dingtalk_markdown, escape_body, escape_spans, plain

STATUS = {"primary": "primary", "danger": "warning", "default": "normal"}
REPLY_HINT = "回复数字即可操作："
BIZ_ID_BAD = re.compile(r"[^0-9A-Za-z_-]")
TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class RobotMessage:
    """One `msgKey` + `msgParam` pair for oToMessages/batchSend or groupMessages/send."""

    msg_key: str
    msg_param: dict[str, Any]


def render_text(body: Text) -> RobotMessage:
    return RobotMessage("sampleText", {"content": plain(body.text)})


def render_markdown(body: Markdown) -> RobotMessage:
    body = escape_body(body, dingtalk_markdown)
    return RobotMessage("sampleMarkdown", {"title": body.title or "salesbot", "text": to_dingtalk_markdown(body.text)})


def render_card_markdown(body: Card) -> RobotMessage:
    """A card without buttons is just formatted text."""
    body = escape_body(body, dingtalk_markdown)
    return RobotMessage("sampleMarkdown", {"title": body.title, "text": card_markdown(body, heading=True)})


def render_card_replies(body: Card) -> RobotMessage:
    """HTTP mode (no card-click callback): the card as markdown, its buttons as numbered replies."""
    body = escape_body(body, dingtalk_markdown)
    choices = "　".join(f"{i} {b.text}" for i, b in enumerate(body.buttons, 1))
    text = card_markdown(body, heading=True) + f"\n\n{REPLY_HINT}{choices}"
    return RobotMessage("sampleMarkdown", {"title": body.title, "text": text})


def card_markdown(body: Card, *, heading: bool) -> str:
    lines = [f"#### {body.title}"] if heading else []
    if body.description:
        lines.append(to_dingtalk_markdown(body.description))
    lines += [_field_line(f.label, f.value) for f in body.fields]
    if body.note:
        lines.append(f"<font color=#999999>{body.note}</font>")
    return _join_with_list(lines)


def _field_line(label: str, value: str) -> str:
    """`- **label**：value`; a value that holds a table (an imported 报价模板) follows as its list items."""
    value = to_dingtalk_markdown(value)
    return f"- **{label}**：\n{value}" if value.startswith("- ") else f"- **{label}**：{value}"


def _join_with_list(lines: list[str]) -> str:
    """List items on consecutive lines, blocks separated by blank lines."""
    out: list[str] = []
    for line in lines:
        if out and not (line.startswith("- ") and out[-1].startswith("- ")):
            out.append("")
        out.append(line)
    return "\n".join(out)


def card_biz_id(body: Card, dedup_key: str) -> str:
    """One card's identity for DingTalk: the card's own id (readable in logs) plus a hash of the outbox
    dedup key, so each recipient, view and database gets its own card and a retry addresses the same one."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:24]
    stem = BIZ_ID_BAD.sub("_", body.card_id)[:64] if body.card_id else "sb"
    return f"{stem}-{digest}"


def render_interactive_card(body: Card, status: str | None = None) -> dict[str, Any]:
    """StandardCard data. With `status` the buttons are replaced by that line (after a click)."""
    body = escape_body(body, dingtalk_markdown)
    status = None if status is None else escape_spans(status, dingtalk_markdown)
    contents: list[dict[str, Any]] = []
    text = card_markdown(body, heading=False)
    if text:
        contents.append({"type": "markdown", "text": text, "id": "body"})
    if status is not None:
        contents.append({"type": "markdown", "text": f"**{status}**", "id": "status"})
    elif body.buttons:
        actions = [
            {
                "type": "button",
                "label": {"type": "text", "text": b.text, "id": f"label_{i}"},
                "actionType": "request",  # server callback, not a jump URL
                "status": STATUS.get(b.style, "normal"),
                "id": b.key,  # comes back as cardPrivateData.actionIds[0]
            }
            for i, b in enumerate(body.buttons)
        ]
        contents.append({"type": "action", "actions": actions, "id": "actions"})
    return {
        "config": {"autoLayout": True, "enableForward": False},
        "header": {"title": {"type": "text", "text": body.title}},
        "contents": contents,
    }


def status_only_card(text: str) -> dict[str, Any]:
    """Update for a card this process no longer remembers (e.g. after a restart)."""
    return render_interactive_card(Card(title="处理结果"), status=text)


def to_dingtalk_markdown(text: str) -> str:
    """Markdown in DingTalk's subset: tables become lists ("- 列1：值1，列2：值2")."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _is_row(lines[i]) and i + 1 < len(lines) and TABLE_SEPARATOR.match(lines[i + 1]):
            header = _cells(lines[i])
            i += 2
            while i < len(lines) and _is_row(lines[i]):
                out.append(_row_as_item(header, _cells(lines[i])))
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _is_row(line: str) -> bool:
    return line.strip().startswith("|") and line.count("|") >= 2


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _row_as_item(header: list[str], cells: list[str]) -> str:
    parts = []
    for n, cell in enumerate(cells):
        label = header[n] if n < len(header) and header[n] else ""
        parts.append(f"{label}：{cell}" if label else cell)
    return "- " + "，".join(parts)
