"""The knowledge card (design §5): one curated answer tagged by role × industry × objection."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")
KEYWORD_SPLIT = re.compile(r"[,，、;；|/\s]+")
TEXT_FIELDS = ("title", "talk_track", "quote_template", "success_case")
AXES = ("role", "industry", "objection")
TRUE_WORDS = {"1", "true", "yes", "y", "on", "是", "启用", "有效", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", "停用", "无效", "f"}
MAX_TEXT = 20_000


class CardError(ValueError):
    """A card that cannot be accepted; the message (Chinese, for the admin) says which field and why."""


FIELD_LABELS = {"id": "编号", "title": "标题", "role": "角色", "industry": "行业", "objection": "异议",
                "talk_track": "话术", "quote_template": "报价模板", "success_case": "成功案例", "keywords": "关键词",
                "updated_at": "更新日期", "version": "版本", "active": "启用"}


def label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


@dataclass(frozen=True, slots=True)
class KbCard:
    id: str
    title: str
    role: str = ""  # canonical axis values; "" = fits any
    industry: str = ""
    objection: str = ""
    talk_track: str = ""
    quote_template: str = ""
    success_case: str = ""
    keywords: tuple[str, ...] = ()
    updated_at: date | None = None
    version: int = 1
    active: bool = True
    source: str = ""
    tokens: tuple[str, ...] = field(default=(), compare=False)
    tokens_dict: str = field(default="", compare=False)  # fingerprint of the dictionary that made `tokens`

    def tags(self) -> list[str]:
        return [v for v in (self.role, self.industry, self.objection) if v]

    def content_equal(self, other: KbCard) -> bool:
        """Same curated content (ignores version, source and tokens)."""
        return all(getattr(self, n) == getattr(other, n) for n in (*TEXT_FIELDS, *AXES)) and (
            self.keywords == other.keywords
            and self.updated_at == other.updated_at
            and self.active == other.active
        )

    def with_(self, **changes: Any) -> KbCard:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (export format; tokens and source are internal)."""
        return {
            "id": self.id,
            "title": self.title,
            "role": self.role,
            "industry": self.industry,
            "objection": self.objection,
            "talk_track": self.talk_track,
            "quote_template": self.quote_template,
            "success_case": self.success_case,
            "keywords": list(self.keywords),
            "updated_at": self.updated_at.isoformat() if self.updated_at else "",
            "version": self.version,
            "active": self.active,
        }


def parse_card(raw: Mapping[str, Any], normalize_axis: Any = None) -> KbCard:
    """Build a validated card from a mapping with English keys.

    `normalize_axis(axis, value) -> canonical` (e.g. `Taxonomy.canonical_or_error`) maps synonyms
    to canonical axis values and raises CardError for unknown ones.
    """
    card_id = _text(raw, "id", required=True, limit=32)
    if not ID_RE.match(card_id):
        raise CardError(f"编号「{card_id}」只能用英文字母、数字和 _ - .（不超过 32 个字符，不含空格和汉字）")
    title = _text(raw, "title", required=True, limit=255)
    axes = {}
    for axis in AXES:
        value = _text(raw, axis, limit=32)
        axes[axis] = normalize_axis(axis, value) if (normalize_axis and value) else value
    body = {name: _text(raw, name) for name in ("talk_track", "quote_template", "success_case")}
    if not body["talk_track"]:
        raise CardError("话术为空")
    return KbCard(
        id=card_id,
        title=title,
        **axes,
        **body,
        keywords=parse_keywords(raw.get("keywords")),
        updated_at=parse_date(raw.get("updated_at")),
        version=_int(raw.get("version"), "version", default=1),
        active=parse_bool(raw.get("active"), default=True),
    )


def _text(raw: Mapping[str, Any], name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = raw.get(name)
    if value is None:
        value = ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, str | int | float):
        raise CardError(f"{label(name)}应为文字，这里是嵌套的数据")
    text = str(value).strip()
    if required and not text:
        raise CardError(f"缺少{label(name)}")
    if len(text) > limit:
        raise CardError(f"{label(name)}太长（{len(text)} 字，最多 {limit} 字）")
    return text


def parse_keywords(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str) and value.strip().startswith("["):  # the exporter's form for keywords with separators
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, list):
            value = decoded
    if isinstance(value, str):
        items = KEYWORD_SPLIT.split(value)
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        raise CardError("关键词应为用逗号分隔的文字或列表")
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item and len(item) <= 32:
            seen.setdefault(item, None)
        elif len(item) > 32:
            raise CardError(f"关键词「{item[:20]}…」超过 32 个字")
    return tuple(seen)


def parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    text = re.sub(r"年|月", "-", text).replace("日", "")
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else _loose_date(text)
    except ValueError:
        raise CardError(f"更新日期「{value}」不是日期（例如 2024-05-31）") from None


def _loose_date(text: str) -> date:
    year, month, day = (int(p) for p in text.split("-"))
    return date(year, month, day)


def parse_bool(value: Any, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CardError(f"启用「{value}」应填 是 或 否")


def _int(value: Any, name: str, *, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CardError(f"{label(name)}「{value}」不是整数") from None
    if number < 1:
        raise CardError(f"{label(name)}应不小于 1，这里是 {number}")
    return number
