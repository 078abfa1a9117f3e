"""DingTalk JSON → what we need for an Inbound. Pure functions, no I/O.

The HTTP outgoing callback body and the Stream `ChatbotMessage` frame data are the same dict
(`msgtype`, `msgId`, `senderStaffId`, `conversationType`, `text.content` / `content.downloadCode` …).
Card button clicks (Stream topic `/v1.0/card/instances/callback`) carry
`{outTrackId, userId, content: JSON string {cardPrivateData: {actionIds, params}}}` and nothing
that tells one click from the next, so the receiver adds the Stream frame's `headers.messageId`
(the same on a redelivery, new for every click) under `DELIVERY_ID` before claiming.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

ParsedKind = Literal["text", "image", "file", "voice", "click", "unsupported", "refused"]

GROUP = "2"  # conversationType: "1" single chat, "2" group chat
LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+)+\s*")
DELIVERY_ID = "_deliveryId"  # added by the receiver to card callbacks: which delivery this click came in


class ParseError(ValueError):
    """The payload is not a DingTalk message we can read (missing ids, wrong types)."""


@dataclass(frozen=True)
class Parsed:
    msg_id: str
    user_id: str
    kind: ParsedKind
    text: str = ""
    download_codes: tuple[str, ...] = ()  # pictures/files to fetch through messageFiles/download
    file_name: str | None = None
    click_key: str | None = None
    card_ref: str | None = None
    conversation_id: str | None = None  # openConversationId of a group chat
    display_name: str | None = None
    msgtype: str = ""
    seconds: float | None = None  # voice: the length DingTalk reports
    extra: dict[str, Any] = field(default_factory=dict)


def is_card_callback(payload: dict[str, Any]) -> bool:
    return "outTrackId" in payload and "msgtype" not in payload


def parse_payload(payload: Any) -> Parsed | None:
    """A chat message or a card click; None for a group message that did not @ the bot."""
    if not isinstance(payload, dict):
        raise ParseError("payload is not a JSON object")
    if is_card_callback(payload):
        return parse_card_callback(payload)
    return parse_message(payload)


def parse_message(d: dict[str, Any]) -> Parsed | None:
    msg_id = _required_str(d, "msgId")
    group = _str(d.get("conversationType")) == GROUP
    if group and d.get("isInAtList") is False:
        return None  # group chatter not addressed to the bot
    base: dict[str, Any] = {
        "msg_id": msg_id,
        "user_id": _str(d.get("senderStaffId")).strip(),
        "conversation_id": (_str(d.get("conversationId")) or None) if group else None,
        "display_name": _str(d.get("senderNick")) or None,
        "msgtype": _str(d.get("msgtype")),
    }
    refusal = _refusal(d)
    if refusal:
        return Parsed(kind="refused", text=refusal, **base)
    msgtype = base["msgtype"]
    content = _dict(d, "content")
    if msgtype == "text":
        text_part = _dict(d, "text")
        text = _str(text_part.get("content"))
        return Parsed(kind="text", text=strip_mentions(text) if group else text.strip(), **base)
    if msgtype == "picture":
        code = _str(content.get("downloadCode")) or _str(content.get("pictureDownloadCode"))
        if not code:
            raise ParseError("picture without downloadCode")
        return Parsed(kind="image", download_codes=(code,), **base)
    if msgtype == "richText":
        return _rich_text(content, group, base)
    if msgtype == "file":
        code = _str(content.get("downloadCode"))
        if not code:
            raise ParseError("file without downloadCode")
        return Parsed(kind="file", download_codes=(code,), file_name=_str(content.get("fileName")) or None, **base)
    if msgtype == "audio":  # content: {duration (ms), downloadCode, recognition: DingTalk's own transcript}
        duration = _str(content.get("duration")).strip()
        seconds = int(duration) / 1000 if duration.isascii() and duration.isdigit() else None
        code = _str(content.get("downloadCode"))
        return Parsed(kind="voice", text=" ".join(_str(content.get("recognition")).split()), seconds=seconds,
                      download_codes=(code,) if code else (), **base)
    return Parsed(kind="unsupported", **base)


def _refusal(d: dict[str, Any]) -> str:
    """Why we must not act for this sender ("" = fine). Without senderStaffId we only have the encrypted
    senderId, which is no userId (it would register a phantom rep); another corp's people are not ours."""
    if not _str(d.get("senderStaffId")).strip():
        return "no senderStaffId (an external or unidentified sender)"
    sender_corp, bot_corp = _str(d.get("senderCorpId")), _str(d.get("chatbotCorpId"))
    if sender_corp and bot_corp and sender_corp != bot_corp:
        return f"sender of another organisation ({sender_corp}, the robot's is {bot_corp})"
    return ""


def _rich_text(content: dict[str, Any], group: bool, base: dict[str, Any]) -> Parsed:
    items = content.get("richText")
    if not isinstance(items, list):
        raise ParseError("richText without a list")
    texts: list[str] = []
    codes: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "picture" or "downloadCode" in item:
            code = _str(item.get("downloadCode")) or _str(item.get("pictureDownloadCode"))
            if code:
                codes.append(code)
        elif "text" in item:
            texts.append(_str(item.get("text")))
    text = "\n".join(t for t in (t.strip() for t in texts) if t)
    text = strip_mentions(text) if group else text
    if codes:
        return Parsed(kind="image", text=text, download_codes=tuple(codes), **base)
    return Parsed(kind="text", text=text, **base)


def parse_card_callback(d: dict[str, Any]) -> Parsed:
    """A button click on one of our interactive cards. The click key is the button id we rendered."""
    card_ref = _required_str(d, "outTrackId")
    user_id = _required_str(d, "userId")
    raw = d.get("content")
    try:
        content = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except json.JSONDecodeError:
        raise ParseError("card callback content is not JSON") from None
    private = content.get("cardPrivateData") if isinstance(content, dict) else None
    if not isinstance(private, dict):
        raise ParseError("card callback without cardPrivateData")
    params = _dict(private, "params")
    action_ids = private.get("actionIds") if isinstance(private.get("actionIds"), list) else []
    key = _str(params.get("key")) or (_str(action_ids[0]) if action_ids else "")
    if not key:
        raise ParseError("card callback without an action id")
    space = _str(d.get("spaceId"))
    return Parsed(
        msg_id=f"card:{_required_str(d, DELIVERY_ID)}",
        user_id=user_id,
        kind="click",
        click_key=key,
        card_ref=card_ref,
        conversation_id=space if _str(d.get("spaceType")) == "IM_GROUP" and space else None,
        msgtype="card_callback",
    )


def strip_mentions(text: str) -> str:
    """Group messages may start with "@bot" (and other @names); the command follows them."""
    return LEADING_MENTIONS.sub("", text).strip()


def _dict(d: dict[str, Any], key: str) -> dict[str, Any]:
    """`d[key]` when it is a JSON object, else an empty one."""
    value = d.get(key)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _required_str(d: dict[str, Any], key: str) -> str:
    value = _str(d.get(key)).strip()
    if not value:
        raise ParseError(f"{key} missing")
    return value
