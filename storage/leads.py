"""Lead queries and writes shared by every feature (chat commands, screenshot capture, import, reminders).

- Stages: 线索获取 new → 资质初筛 qualify → 需求诊断 discover → 方案演示 demo → 签约回款 close; terminal won / lost.
- Every field value carries its provenance in `lead.field_sources[field] = {source, by, at}`
  (source: ocr | manual | import). Unknown values stay NULL and are shown as 未知.
- Who may see which lead is decided above storage, with the permissions (handlers/leads/permissions.py); what a
  rep's words say about a lead (a stage, a visit note) is handlers/leads/rules.py, how a lead is shown
  handlers/leads/views.py. Here: the stored vocabulary, how a value is stored, reads and writes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contract, Evidence, Lead, RenewalWarning, User

STAGES: tuple[tuple[str, str], ...] = (
    ("new", "线索获取"),
    ("qualify", "资质初筛"),
    ("discover", "需求诊断"),
    ("demo", "方案演示"),
    ("close", "签约回款"),
)
STAGE_CODES = tuple(code for code, _ in STAGES)
STAGE_CN = dict(STAGES)
STATUS_CN = {"draft": "草稿", "active": "跟进中", "frozen": "已冻结", "won": "赢单", "lost": "输单", "dormant": "休眠"}
SOURCE_CN = {"ocr": "截图", "manual": "手填", "import": "导入"}
OPEN_STATUSES = ("active", "frozen", "dormant")
CLOSED_STATUSES = ("won", "lost")  # the deal is decided: nobody works the lead any more
UNKNOWN = "未知"

# Fields a person or OCR can fill, with their display labels.
LEAD_FIELDS: dict[str, str] = {
    "customer_name": "客户",
    "company": "公司",
    "title": "职务",
    "phone": "电话",
    "email": "邮箱",
    "wechat_id": "微信",
    "budget_cny": "预算",
    "needs": "需求",
    "industry": "行业",
    "region": "区域",
    "product_line": "产品线",
}


def is_closed(status: str) -> bool:
    """The lead is closed: won or lost (a dropped draft is stored as lost)."""
    return status in CLOSED_STATUSES


def stage_index(code: str) -> int:
    return STAGE_CODES.index(code) if code in STAGE_CODES else 0


def stage_label(code: str) -> str:
    return f"{stage_index(code) + 1}.{STAGE_CN.get(code, code)}"


def normalize_phone(value: str | None) -> str | None:
    """Digits only, a +86/86 country prefix dropped; None when no digits are left."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits or None


_BUDGET = re.compile(r"^(?:约|大约|大概)?(\d+(?:\.\d+)?(?:e[+]?\d+)?|[零一二两三四五六七八九十百千]+)\s*"
                     r"(千万|百万|十万|亿|万|w|k|千|元)?(?:元|块|人民币|rmb)?(?:左右|上下)?$", re.IGNORECASE)
_BUDGET_UNIT = {"千万": 10_000_000, "百万": 1_000_000, "十万": 100_000, "亿": 100_000_000, "万": 10_000, "w": 10_000,
                "k": 1000, "千": 1000, "元": 1, None: 1}
_CN_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
MAX_BUDGET_CNY = 10**15  # larger is a typo, not a budget (and would not fit the column)


def plain_number(x: float) -> str:
    """12.5, 3, 10000000 — never 1e+07 (「预算 1e+07亿」 reached users through `:g`)."""
    return f"{x:.4f}".rstrip("0").rstrip(".")


DROPPED = "草稿放弃"  # close_reason of a draft its author dropped: stored as lost, never a lost deal


def cn_number(text: str) -> float | None:
    """'五' → 5, '三十' → 30, '两百五十' → 250 (below 万; larger units are parsed as units); None for anything
    that is not a Chinese numeral. The one reader of Chinese numerals for budgets typed, imported or read by OCR."""
    total, cur = 0, 0
    for ch in text:
        if ch in _CN_DIGIT:
            cur = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            total += (cur or 1) * _CN_UNIT[ch]
            cur = 0
        else:
            return None
    return float(total + cur) if text else None


def parse_budget(value: Any) -> int | None:
    """'50万' / '50w' / '1.2亿' / '5千万' / '五千万' / '300000' / '5e7' / 300000 → yuan as int; unclear → None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value) if 0 <= value < MAX_BUDGET_CNY else None
    m = _BUDGET.match(str(value).strip().replace(",", "").replace("，", "").replace(" ", ""))
    if not m:
        return None
    num = m.group(1)
    amount = float(num) if num[0].isdigit() else cn_number(num)
    unit = m.group(2).lower() if m.group(2) else None
    if amount is None or not amount * _BUDGET_UNIT[unit] < MAX_BUDGET_CNY:
        return None
    return round(amount * _BUDGET_UNIT[unit])


def is_filled(value: Any) -> bool:
    """NULL, empty strings and empty lists are unknown — never a positive."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def clean_value(name: str, value: Any) -> Any:
    """A value as stored: phones normalised, budgets as int yuan, needs as a list, blanks → None."""
    if not is_filled(value):
        return [] if name == "needs" else None
    if name == "phone":
        return normalize_phone(str(value))
    if name == "budget_cny":
        return parse_budget(value)
    if name == "needs":
        if isinstance(value, str):
            return [p.strip() for p in re.split(r"[;；,，、/]", value) if p.strip()]
        return [str(v).strip() for v in value if str(v).strip()]
    return str(value).strip()


def set_field(lead: Lead, name: str, value: Any, source: str, by: str | None, now: datetime) -> bool:
    """Set one field and record who set it from where; returns whether anything changed."""
    if name not in LEAD_FIELDS:
        raise KeyError(name)
    value = clean_value(name, value)
    if value == getattr(lead, name) or (value in (None, []) and not is_filled(getattr(lead, name))):
        return False
    setattr(lead, name, value)
    sources = dict(lead.field_sources or {})
    if is_filled(value):
        sources[name] = {"source": source, "by": by, "at": now.isoformat()}
    else:
        sources.pop(name, None)
    lead.field_sources = sources
    return True


def new_lead(fields: Mapping[str, Any], *, source: str, by: str | None, now: datetime, status: str = "draft",
             confidence: float | None = None, extra: Mapping[str, Any] | None = None) -> Lead:
    """A Lead (not yet added to a session) with every known field stamped with its source."""
    lead = Lead(status=status, source=source, stage="new", created_by=by, created_at=now, confidence=confidence,
                needs=[], field_sources={}, extra=dict(extra or {}), timeout_count=0)
    for name, value in fields.items():
        if name in LEAD_FIELDS:
            set_field(lead, name, value, source, by, now)
    return lead


async def create_lead(session: AsyncSession, fields: Mapping[str, Any], *, source: str, by: str | None,
                      now: datetime, status: str = "draft", confidence: float | None = None,
                      extra: Mapping[str, Any] | None = None) -> Lead:
    lead = new_lead(fields, source=source, by=by, now=now, status=status, confidence=confidence, extra=extra)
    session.add(lead)
    await session.flush()
    return lead


async def find_duplicates(session: AsyncSession, *, phone: str | None, company: str | None,
                          customer_name: str | None, exclude_id: int | None = None,
                          statuses: Iterable[str] = OPEN_STATUSES) -> list[Lead]:
    """Existing leads of the same customer: same phone, or the same customer name at the same company, its short
    and full names counting as one (星河医疗 = 星河医疗科技有限公司)."""
    conds: list[ColumnElement[bool]] = []
    phone = normalize_phone(phone)
    if phone:
        conds.append(Lead.phone == phone)
    named = is_filled(company) and is_filled(customer_name)
    if named:
        conds.append(and_(Lead.customer_name == str(customer_name).strip(), Lead.company.is_not(None)))
    if not conds:
        return []
    stmt = select(Lead).where(or_(*conds), Lead.status.in_(list(statuses)))
    if exclude_id is not None:
        stmt = stmt.where(Lead.id != exclude_id)
    found = (await session.execute(stmt.order_by(Lead.id))).scalars()
    return [lead for lead in found if (phone and lead.phone == phone)
            or (named and same_company(lead.company, str(company)))]


_COMPANY_TAIL = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|集团|公司|科技|技术|器械|设备|信息|网络|实业)+$")


@functools.lru_cache(maxsize=4096)
def company_core(name: str) -> str:
    """The name without legal and trade suffixes (the whole name when nothing else is left)."""
    return _COMPANY_TAIL.sub("", name.strip()) or name.strip()


def same_company(a: str | None, b: str | None) -> bool:
    """Short and full names of one company: equal once legal and trade suffixes are dropped, or one the other's
    beginning when that part is at least 4 characters (华东医疗 / 华东医疗器械有限公司)."""
    if not a or not b:
        return False
    x, y = company_core(a), company_core(b)
    short, long_ = sorted((x, y), key=len)
    return x == y or (len(short) >= 4 and long_.startswith(short))


def previous_owner(lead: Lead) -> str | None:
    """Who owned a lead before freezing released it to the pool (set by reminders)."""
    return previous_owner_in(lead.extra)


def previous_owner_in(extra: dict[str, Any] | None) -> str | None:
    """`previous_owner` from the bare `extra` column (queries that load columns, not leads)."""
    frozen = (extra or {}).get("frozen") or {}
    return frozen.get("prev_owner") if isinstance(frozen, dict) else None


async def user_names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {uid: name for uid, name in rows.all()}


@dataclass(frozen=True)
class EvidenceState:
    """Rejected notes get kind 'rejected' and count for nothing."""

    accepted: int  # images, files, and notes a manager confirmed
    pending_notes: int  # notes waiting for a manager

    @property
    def ok(self) -> bool:
        return self.accepted > 0


async def evidence_state(session: AsyncSession, lead_id: int) -> EvidenceState:
    rows = (await session.execute(select(Evidence).where(Evidence.lead_id == lead_id))).scalars()
    accepted = pending = 0
    for ev in rows:
        if ev.kind in ("image", "file") or (ev.kind == "note" and ev.confirmed_by):
            accepted += 1
        elif ev.kind == "note" and not ev.confirmed_by:
            pending += 1
    return EvidenceState(accepted, pending)


OPEN_WARNINGS = ("new", "open", "contacted")  # a renewal warning not yet settled by a proof or the manager


async def set_owner(session: AsyncSession, lead: Lead, owner_id: str) -> str | None:
    """The one write of a lead's owner when it changes hands (改派, 接手, an escalation's 接手 / 改派 / 延期,
    offboarding): an open 续约预警 — its lock, its reminders, its manager — and the account's contracts
    follow the lead to whoever owns it now. Returns the previous owner. What else a hand-over means (timers,
    activity) stays with the caller."""
    previous = lead.owner_id
    lead.owner_id = owner_id
    await session.flush()
    await session.execute(update(RenewalWarning).where(
        RenewalWarning.lead_id == lead.id, RenewalWarning.status.in_(OPEN_WARNINGS)).values(owner_id=owner_id))
    await session.execute(update(Contract).where(Contract.lead_id == lead.id).values(owner_id=owner_id))
    return previous
