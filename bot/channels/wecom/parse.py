"""Safe XML → plain fields. WeCom XML is flat; anything with a DOCTYPE or entity declaration is refused
before a parser sees it, so there is no entity expansion and no external entity fetch."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_UNSAFE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class BadXml(ValueError):
    """Not the XML we expect (→ HTTP 400)."""


class UnsafeXml(BadXml):
    """DOCTYPE / ENTITY declarations are never legitimate in WeCom callbacks."""


def parse_flat(data: bytes | str) -> dict[str, str]:
    """`<xml><A>..</A><B><![CDATA[..]]></B></xml>` → {"A": "..", "B": ".."} (nested elements are skipped)."""
    raw = data.encode() if isinstance(data, str) else data
    if _UNSAFE.search(raw):
        raise UnsafeXml("DOCTYPE/ENTITY declarations are not allowed")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise BadXml(f"not XML: {exc}") from None
    if root.tag != "xml":
        raise BadXml(f"unexpected root element <{root.tag[:40]}>")
    return {child.tag: child.text or "" for child in root if len(child) == 0}


@dataclass(frozen=True)
class Envelope:
    encrypt: str
    to_user: str
    agent_id: str


def parse_envelope(body: bytes) -> Envelope:
    fields = parse_flat(body)
    encrypt = fields.get("Encrypt", "").strip()
    if not encrypt:
        raise BadXml("envelope has no <Encrypt>")
    return Envelope(encrypt=encrypt, to_user=fields.get("ToUserName", ""), agent_id=fields.get("AgentID", ""))


@dataclass(frozen=True)
class WecomMessage:
    """A decrypted message or event; `fields` holds every flat element as text."""

    msg_type: str
    from_user: str
    create_time: int
    fields: dict[str, str]

    @property
    def event(self) -> str:
        return self.fields.get("Event", "") if self.msg_type == "event" else ""

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def dedup_key(self) -> str:
        """MsgId for messages; FromUserName+CreateTime+Event+EventKey/TaskId for events (hashed: short and fixed)."""
        msg_id = self.get("MsgId").strip()
        if msg_id:
            return f"m{msg_id}"[:120]
        parts = [self.from_user, str(self.create_time), self.event, self.get("EventKey"), self.get("TaskId")]
        return "e" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:32]


def parse_message(plaintext: str) -> WecomMessage:
    fields = parse_flat(plaintext)
    msg_type = fields.get("MsgType", "").strip()
    from_user = fields.get("FromUserName", "").strip()
    if not msg_type or not from_user:
        raise BadXml("message has no MsgType or FromUserName")
    try:
        create_time = int(fields.get("CreateTime", "0").strip() or 0)
    except ValueError:
        raise BadXml("CreateTime is not a number") from None
    return WecomMessage(msg_type=msg_type, from_user=from_user, create_time=create_time, fields=fields)
