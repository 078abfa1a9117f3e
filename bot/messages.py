"""Channel-neutral messages. Channels translate to and from these; handlers speak only these.

Outbound bodies are frozen dataclasses that round-trip through JSON (`to_json` / `from_json`):
the outbox stores them and each channel renders them its own way at delivery time.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

GROUP_RECIPIENT = "group:"  # Outbound.to of a group chat: "group:<conversation id>" (senders that can, deliver it)

InboundKind = Literal["text", "image", "file", "voice", "click", "event"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message or event from a user, already verified, decrypted and deduplicated."""

    channel: str  # "wecom" | "dingtalk" | "console"
    user_id: str  # the channel user id (WeCom UserID, DingTalk staffId, console name)
    msg_id: str  # dedup key inside the channel
    kind: InboundKind
    received_at: datetime  # aware UTC
    text: str = ""  # text content; for kind="event": the event name; for kind="voice": the channel's recognition
    data: bytes | None = None  # image, file or voice bytes (already downloaded by the channel)
    data_error: str | None = None  # why `data` is missing ("download_failed", "too_large", ...)
    file_name: str | None = None
    click_key: str | None = None  # button key for kind="click"
    card_ref: str | None = None  # what the channel needs to update the clicked card
    conversation_id: str | None = None  # group chat id, None for one-to-one
    display_name: str | None = None
    seconds: float | None = None  # kind="voice": the length the channel reports (None: read from the audio)
    # The channel vouches for the sender but not for the body (DingTalk HTTP mode: the signature covers only a
    # timestamp, so a captured header pair could carry a forged body): admin-only commands ask for a confirm click.
    unsigned_body: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    key: str  # stable key, e.g. "lead:confirm:12"; WeCom EventKey ≤ 1024 bytes
    text: str
    style: Literal["primary", "default", "danger"] = "default"


T = TypeVar("T")


def numbered(buttons: Sequence[T], n: int) -> T | None:
    """What a reply of the number `n` picks: the n-th (1-based) of the buttons of the last card the person got, or
    None when that card has no such button. The one rule behind every reply by number: the front door's 「2」
    (handlers/chat/front.py `pick`), DingTalk HTTP mode's numbered replies (its cards list their buttons by number:
    bot/channels/dingtalk/callback.py `Receiver.numbered_reply`) and the console runner's `/click 2`."""
    return buttons[n - 1] if 1 <= n <= len(buttons) else None


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class Markdown:
    title: str
    text: str
    kind: Literal["markdown"] = "markdown"


@dataclass(frozen=True, slots=True)
class Card:
    title: str
    description: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    note: str = ""  # small grey line under the card (source, staleness, ...)
    card_id: str = ""  # stable id (WeCom task_id); empty → the outbox derives one
    kind: Literal["card"] = "card"


@dataclass(frozen=True, slots=True)
class Image:
    data: bytes
    file_name: str = "image.png"
    caption: str = ""
    kind: Literal["image"] = "image"


@dataclass(frozen=True, slots=True)
class CardUpdate:
    """Replace the buttons of a clicked card with a short status (e.g. "已由 张伟 接手")."""

    card_ref: str
    text: str
    kind: Literal["card_update"] = "card_update"


Body = Text | Markdown | Card | Image | CardUpdate


@dataclass(frozen=True, slots=True)
class Outbound:
    """A body addressed to one user on one channel."""

    to: str
    body: Body
    channel: str | None = None  # None → the recipient's usual channel
    dedup_key: str | None = None  # None → unique per message
    extra: dict[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None  # held in the outbox until then (e.g. the recipient's working hours)


def body_to_json(body: Body) -> dict[str, Any]:
    data: dict[str, Any] = _plain(body)
    if isinstance(body, Image):
        data["data"] = base64.b64encode(body.data).decode()
    return data


def _plain(value: Any) -> Any:
    """`dataclasses.asdict` without its deep copies and field lookups (bodies hold only str, numbers, bytes and
    tuples of dataclasses): three times faster, which counts when a scan queues thousands of cards."""
    names = getattr(value, "__dataclass_fields__", None)  # the bodies declare no ClassVar or InitVar
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def body_from_json(data: dict[str, Any]) -> Body:
    kind = data.get("kind")
    values = {k: v for k, v in data.items() if k != "kind"}
    if kind == "text":
        return Text(**values)
    if kind == "markdown":
        return Markdown(**values)
    if kind == "card":
        values["fields"] = tuple(Field(**f) for f in values.get("fields", ()))
        values["buttons"] = tuple(Button(**b) for b in values.get("buttons", ()))
        return Card(**values)
    if kind == "image":
        values["data"] = base64.b64decode(values["data"])
        return Image(**values)
    if kind == "card_update":
        return CardUpdate(**values)
    raise ValueError(f"unknown outbound kind: {kind!r}")


def plain_text(body: Body) -> str:
    """A plain-text rendering, used by the console and as a fallback by channels."""
    if isinstance(body, Text):
        return body.text
    if isinstance(body, Markdown):
        return body.text
    if isinstance(body, Image):
        return f"[图片 {body.file_name}] {body.caption}".strip()
    if isinstance(body, CardUpdate):
        return f"[卡片已更新] {body.text}"
    lines = [f"【{body.title}】"]
    if body.description:
        lines.append(body.description)
    lines += [f"{f.label}: {f.value}" for f in body.fields]
    if body.note:
        lines.append(body.note)
    if body.buttons:
        lines.append("  ".join(f"[{i}] {b.text}" for i, b in enumerate(body.buttons, 1)))
    return "\n".join(lines)
