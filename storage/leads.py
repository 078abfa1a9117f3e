"""Lead queries and writes shared by every feature (chat commands, screenshot capture, import, reminders).

- Stages: 线索获取 new → 资质初筛 qualify → 需求诊断 discover → 方案演示 demo → 签约回款 close; terminal won / lost.
- Every field value carries its provenance in `lead.field_sources[field] = {source, by, at}`
  (source: ocr | manual | import). Unknown values stay NULL and are shown as 未知.
- Who may see which lead is decided above storage, with the permissions (handlers/leads/permissions.py).
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

from storage.models import Evidence, Lead, RenewalWarning, User

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
_STAGE_ALIASES = {"获取": "new", "初筛": "qualify", "资质": "qualify", "需求": "discover", "诊断": "discover",
                  "方案": "demo", "演示": "demo", "签约": "close", "回款": "close"}


def stage_index(code: str) -> int:
    return STAGE_CODES.index(code) if code in STAGE_CODES else 0


def parse_stage(text: str) -> str | None:
    """'3', '三', '第3阶段', '需求诊断', 'discover', '诊断' → 'discover'; anything else → None. A stage word in a
    sentence that says it has not happened (还不需要演示, 预计下月签约) is not a stage."""
    t = text.strip().lower()
    t = re.sub(r"^第?\s*([1-9一二三四五])\s*(?:阶段|步)?$", r"\1", t)
    t = str("一二三四五".index(t) + 1) if len(t) == 1 and t in "一二三四五" else t
    if t.isdigit() and 1 <= int(t) <= len(STAGES):
        return STAGE_CODES[int(t) - 1]
    for code, name in STAGES:
        if t in (code, name):
            return code
    if _NOT_YET.search(t):
        return None
    hits = {code for alias, code in _STAGE_ALIASES.items() if alias in t}
    return hits.pop() if len(hits) == 1 else None


_NOT_YET = re.compile(r"不|没|未|预计|准备|打算|计划|希望|争取|快要|即将|下(?:个)?[周月]|明年")


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


MIN_COMPANY_WORD = 3  # a company named in free text by fewer characters is too likely an ordinary word


def company_named(text: str, company: str | None) -> bool:
    """Free text (a spoken visit note) names this company: its full name, or the name without legal and trade
    suffixes (「青禾物流」 for 青禾物流科技有限公司) when that is at least MIN_COMPANY_WORD characters."""
    if not company or not company.strip():
        return False
    full = company.strip()
    core = _COMPANY_TAIL.sub("", full)
    return full in text or (len(core) >= MIN_COMPANY_WORD and core in text)


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


def display_value(lead: Lead, name: str) -> str:
    value = getattr(lead, name)
    if not is_filled(value):
        return UNKNOWN
    if name == "budget_cny":
        return f"{value / 10000:g} 万元" if value >= 10000 else f"{value} 元"
    if name == "needs":
        return "、".join(value)
    return str(value)


def provenance(lead: Lead, name: str, names: Mapping[str, str]) -> str:
    """'截图·张伟' for a field set from a screenshot by rep01; '' when unknown."""
    src = (lead.field_sources or {}).get(name)
    if not src:
        return ""
    by = names.get(src.get("by") or "", src.get("by") or "")
    return "·".join(p for p in (SOURCE_CN.get(src.get("source", ""), src.get("source", "")), by) if p)


# -- what a free-text visit note says (handlers/chat/voice.py, 跟进) ---------------------------------------------------
_FILLER = re.compile(r"[\s\W_]|嗯|啊|呃|额|哦|噢|唔|哈|呀|吧|呢|嘛|那个|这个|就是|然后|对对|好的|好|喂|哎|诶|是的|对")
_ORG = re.compile(
    r"[\u4e00-\u9fffA-Za-z]{2,14}?(?:有限公司|公司|集团|科技|医院|学校|大学|学院|银行|软件|制造|物流|电子|教育|食品|"
    r"医疗|建材|机械|零售|金融|贸易|商贸|药业|实业|网络|信息|智能|能源|汽车|地产|置业|传媒|咨询|酒店|工厂|厂)")
_LEAD_IN = re.compile(r"^.*?(?:拜访了|拜访|去了|见了|见|联系了|联系|约了|和|跟|给|到|在|是)")
_PERSON = re.compile(
    r"([\u4e00-\u9fff])(?:总经理|经理|总监|总|主任|老师|院长|科长|处长|部长|校长|厂长|老板|女士|先生|工)")


def empty_note(text: str) -> bool:
    """A note with no content: only filler (「嗯」「那个……」), punctuation or nothing."""
    return len(_FILLER.sub("", text)) < 2


def named_company(text: str) -> str | None:
    """A company the note names (「拜访了星河数码科技的孙经理」 → 星河数码科技), the lead-in verbs dropped."""
    for found in _ORG.finditer(text):
        name = _LEAD_IN.sub("", found.group(0)) if _LEAD_IN.match(found.group(0)) else found.group(0)
        name = re.sub(r"^(?:今天|昨天|上午|下午|刚才|刚刚|我|我们)+", "", name)
        if len(name) >= MIN_COMPANY_WORD:
            return name
    return None


def names_someone_else(text: str, lead: Lead) -> str | None:
    """The company or person a note names that is not `lead`'s (the note is about another customer), else None."""
    if (lead.customer_name and lead.customer_name in text) or company_named(text, lead.company):
        return None
    company = named_company(text)
    if company is not None and not (lead.company and (same_company(company, lead.company) or company in lead.company)):
        return company
    person = _PERSON.search(text)
    if company is None and person and lead.customer_name and not lead.customer_name.startswith(person.group(1)):
        return person.group(0)
    return None


OPEN_WARNINGS = ("new", "open", "contacted")  # a renewal warning not yet settled by a proof or the manager


async def set_owner(session: AsyncSession, lead: Lead, owner_id: str) -> str | None:
    """The one write of a lead's owner when it changes hands (改派, 接手, an escalation's 接手 / 改派 / 延期,
    offboarding): an open 续约预警 — its lock, its reminders, its manager — follows the lead to whoever owns it
    now. Returns the previous owner. What else a hand-over means (timers, activity) stays with the caller."""
    previous = lead.owner_id
    lead.owner_id = owner_id
    await session.flush()
    await session.execute(update(RenewalWarning).where(
        RenewalWarning.lead_id == lead.id, RenewalWarning.status.in_(OPEN_WARNINGS)).values(owner_id=owner_id))
    return previous
