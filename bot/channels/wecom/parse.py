"""Safe XML → plain fields. WeCom sends flat UTF-8 XML without a BOM.

The bytes are decoded here first (UTF-8 only: a BOM, a NUL, another declared encoding or invalid UTF-8 is
refused, so the parser cannot switch to UTF-16 or another encoding behind our back). The parser then stops
at the first DOCTYPE or entity declaration: no entity expansion, no external entity fetch.

WeCom's documents are all of one shape (`<xml>` holding leaf elements, each a CDATA section or plain text), and
a regular expression reads that shape in a fraction of expat's cost (expat calls back into Python for every
element: ~4 % of a burst's CPU, two documents per callback). It accepts only that shape: no DOCTYPE, no
entity or character reference, no attribute, no nesting, no character XML forbids. Anything else — a document
it does not fully match — goes to expat, which accepts or refuses it as before.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from xml.parsers import expat

_ENCODING = re.compile(r"""\A<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


class BadXml(ValueError):
    """Not the XML we expect (→ HTTP 400)."""


class UnsafeXml(BadXml):
    """DOCTYPE / ENTITY declarations are never legitimate in WeCom callbacks."""


# The one shape WeCom sends, read without expat: XML 1.0's characters less what would start markup. CDATA text is
# anything up to the `]]>` that ends it; plain text has no `<` and no `&` (so no entity or character reference).
_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"  # characters XML 1.0 forbids anywhere
_SPACE = "[ \t\r\n]*"  # XML's white space only (`\s` also takes Unicode spaces)
_OPEN = re.compile(rf"(?:<\?xml [^<>?]*\?>)?{_SPACE}<xml>")
_CDATA = rf"[^\]{_NOT_XML}]*(?:\](?!\]>)[^\]{_NOT_XML}]*)*"  # unrolled: one run of plain characters at a time
_PLAIN = rf"[^<&\]{_NOT_XML}]*(?:\](?!\]>)[^<&\]{_NOT_XML}]*)*"
_LEAF = re.compile(rf"{_SPACE}<([A-Za-z_][A-Za-z0-9_]*)>(?:<!\[CDATA\[({_CDATA})\]\]>|({_PLAIN}))</\1>")
_CLOSE = re.compile(rf"{_SPACE}</xml>{_SPACE}")


def parse_flat(data: bytes | str) -> dict[str, str]:
    """`<xml><A>..</A><B><![CDATA[..]]></B></xml>` → {"A": "..", "B": ".."} (nested elements are skipped)."""
    text = _utf8_text(data)
    shaped = _read_shaped(text)
    if shaped is not None:
        return shaped
    flat = _FlatReader()
    try:
        flat.parser.Parse(text.encode(), True)
    except expat.ExpatError as exc:
        raise BadXml(f"not XML: {str(exc)[:80]}") from None
    if flat.root != "xml":
        raise BadXml(f"unexpected root element <{flat.root[:40]}>")
    return flat.fields


def _read_shaped(text: str) -> dict[str, str] | None:
    """The fields of a document of WeCom's shape (see the module docstring); None for any other document."""
    opened = _OPEN.match(text)
    if opened is None:
        return None
    fields: dict[str, str] = {}
    pos = opened.end()
    while (leaf := _LEAF.match(text, pos)) is not None:
        name, cdata, plain = leaf.groups()
        fields[name] = _lines(cdata if cdata is not None else plain)
        pos = leaf.end()
    return fields if _CLOSE.fullmatch(text, pos) else None


def _lines(value: str) -> str:
    """XML's line-end normalisation, as expat does it: CR LF and a lone CR become LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


class _FlatReader:
    """expat with every DTD hook refusing; keeps the text of the root's leaf children."""

    def __init__(self) -> None:
        self.root, self.fields = "", dict[str, str]()
        self._depth, self._name, self._text, self._leaf = 0, "", list[str](), True
        p = self.parser = expat.ParserCreate("UTF-8")
        p.StartDoctypeDeclHandler = p.EntityDeclHandler = self._refuse
        p.ExternalEntityRefHandler = self._refuse_external
        p.StartElementHandler, p.EndElementHandler = self._start, self._end
        p.CharacterDataHandler = self._chars

    def _refuse(self, *_: object) -> None:
        raise UnsafeXml("DOCTYPE/ENTITY declarations are not allowed")

    def _refuse_external(self, *_: object) -> int:
        raise UnsafeXml("DOCTYPE/ENTITY declarations are not allowed")

    def _start(self, name: str, _attrs: object) -> None:
        self._depth += 1
        if self._depth == 1:
            self.root = name
        elif self._depth == 2:
            self._name, self._text, self._leaf = name, [], True
        else:
            self._leaf = False

    def _end(self, _name: str) -> None:
        if self._depth == 2 and self._leaf:
            self.fields[self._name] = "".join(self._text)
        self._depth -= 1

    def _chars(self, text: str) -> None:
        if self._depth == 2:
            self._text.append(text)


def _utf8_text(data: bytes | str) -> str:
    """The document as text, refusing anything that is not plain UTF-8 (see the module docstring)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")  # UTF-16/32 byte-order marks are not valid UTF-8
        except UnicodeDecodeError:
            raise BadXml("body is not UTF-8") from None
    if data.startswith("\ufeff"):
        raise BadXml("byte-order mark: only UTF-8 without BOM is accepted")
    if "\x00" in data:
        raise BadXml("NUL character (UTF-16/32 text?): only UTF-8 is accepted")
    declared = _ENCODING.match(data)
    if declared and declared.group(1).lower() not in ("utf-8", "utf8"):
        raise BadXml(f"encoding {declared.group(1)[:20]!r} refused: only UTF-8 is accepted")
    return data


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
