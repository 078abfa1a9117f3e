"""Contract and payment sheets: which file is which (by its headers, Chinese or English) and each row read into
plain values, with a short Chinese reason for every row that cannot be used. Pure: no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from knowledge.io import FormatError, read_table
from storage.leads import normalize_phone, parse_budget

HEADERS = {
    "customer": ("客户", "客户名称", "客户姓名", "customer", "customer_name", "client"),
    "company": ("公司", "单位", "客户公司", "company"),
    "phone": ("电话", "手机", "手机号", "联系电话", "phone", "mobile"),
    "amount": ("金额", "合同金额", "回款金额", "amount", "amount_cny"),
    "start": ("开始日期", "合同开始", "起始日期", "生效日期", "start", "start_date"),
    "end": ("结束日期", "合同到期", "到期日期", "到期日", "终止日期", "end", "end_date"),
    "owner": ("负责人", "销售", "owner"),
    "health": ("健康分", "健康度", "客户健康分", "health"),
    "renewal": ("续约状态", "续签状态", "renewal"),
    "paid_at": ("回款日期", "到账日期", "付款日期", "paid_at", "paid_on"),
}
ALIASES = {alias.lower(): name for name, aliases in HEADERS.items() for alias in aliases}
NEEDS = {"contracts": ("customer", "amount", "start", "end"), "payments": ("customer", "paid_at", "amount")}
LABEL = {"customer": "客户", "amount": "金额", "start": "开始日期", "end": "结束日期", "paid_at": "回款日期"}
RENEWED = {"已续约", "已续签", "续约", "续签", "是", "renewed", "yes"}
LOST = {"未续约", "未续签", "流失", "不续约", "否", "lost", "no"}
UNKNOWN = {"", "未知", "待定", "unknown"}


class RowError(ValueError):
    """One row cannot be used; the message is the Chinese reason."""


@dataclass(frozen=True)
class Customer:
    name: str
    company: str | None
    phone: str | None

    @property
    def label(self) -> str:
        return f"{self.name}（{self.company}）" if self.company and self.company != self.name else self.name


@dataclass(frozen=True)
class ContractRow:
    line: int
    customer: Customer
    amount: int
    start: date
    end: date
    owner: str | None  # user id or name as written
    health: int | None
    renewal: str | None  # renewed | lost | None


@dataclass(frozen=True)
class PaymentRow:
    line: int
    customer: Customer
    paid_on: date
    amount: int


class Header:
    """The header reader for `read_table`: remembers whether the sheet holds contracts or payments."""

    def __init__(self) -> None:
        self.kind: str | None = None

    def __call__(self, cells: Sequence[Any]) -> list[str | None]:
        names = [ALIASES.get(str(c).strip().lower()) if c is not None else None for c in cells]
        kind = "contracts" if {"start", "end"} & set(names) else "payments" if "paid_at" in names else None
        if kind is None:
            raise FormatError("表头里没有「结束日期」（合同表）或「回款日期」（回款表）列")
        missing = [LABEL[n] for n in NEEDS[kind] if n not in names]
        if missing:
            what = "合同表" if kind == "contracts" else "回款表"
            raise FormatError(f"{what}的表头缺少「{'」「'.join(missing)}」列")
        self.kind = kind
        return names


def read_sheet(path: Path) -> tuple[str, list[ContractRow | PaymentRow], list[tuple[int, str]]]:
    """(kind, good rows, [(line, reason)]) of one file; FormatError when the file as a whole is unusable.
    Blocking (file and XLSX parsing): call it in an executor."""
    header = Header()
    rows: list[ContractRow | PaymentRow] = []
    bad: list[tuple[int, str]] = []
    for line, raw in read_table(path, header):
        try:
            rows.append(contract_row(line, raw) if header.kind == "contracts" else payment_row(line, raw))
        except RowError as exc:
            bad.append((line, str(exc)))
    assert header.kind is not None  # read_table raised otherwise
    return header.kind, rows, bad


def peek_kind(path: Path) -> str | None:
    """contracts | payments when the file's header says so, else None (blocking; reads only up to the header)."""
    header = Header()
    try:
        next(iter(read_table(path, header)), None)
    except FormatError:
        return None
    return header.kind


def contract_row(line: int, raw: dict[str, Any]) -> ContractRow:
    start, end = _date(raw.get("start"), "开始日期"), _date(raw.get("end"), "结束日期")
    if end < start:
        raise RowError(f"结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}")
    return ContractRow(line, _customer(raw), _amount(raw.get("amount"), "合同金额"), start, end,
                       _text(raw.get("owner")) or None, _health(raw.get("health")), _renewal(raw.get("renewal")))


def payment_row(line: int, raw: dict[str, Any]) -> PaymentRow:
    paid_on = _date(raw.get("paid_at"), "回款日期")
    return PaymentRow(line, _customer(raw), paid_on, _amount(raw.get("amount"), "回款金额"))


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _customer(raw: dict[str, Any]) -> Customer:
    name, company = _text(raw.get("customer"))[:64], _text(raw.get("company"))[:128] or None
    if not name:
        raise RowError("没有填客户")
    phone = raw.get("phone")
    return Customer(name, company, normalize_phone(str(int(phone) if isinstance(phone, float) else phone))
                    if phone not in (None, "") else None)


def _amount(value: Any, what: str) -> int:
    text = _text(value).replace(",", "").replace("，", "")
    if text.startswith(("-", "－", "(")) or (isinstance(value, int | float) and value < 0):
        raise RowError(f"{what}不能是负数（{_text(value)}）")
    amount = parse_budget(value if isinstance(value, int | float) else text)
    if amount is None:
        raise RowError(f"{what}「{_text(value)[:20]}」看不懂（例如 120000 或 12万）" if text else f"没有填{what}")
    return amount


def _date(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").replace("日", "")
    if not text:
        raise RowError(f"没有填{what}")
    try:
        if text.isdigit() and len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        year, month, day = (int(p) for p in text.split("-"))
        return date(year, month, day)
    except ValueError:
        raise RowError(f"{what}「{_text(value)[:20]}」不是日期（例如 2026-03-31）") from None


def _health(value: Any) -> int | None:
    text = _text(value)
    if not text:
        return None
    try:
        score = float(text)
    except ValueError:
        raise RowError(f"健康分「{text[:10]}」应为 0–100 的数字") from None
    if not 0 <= score <= 100:
        raise RowError(f"健康分 {text} 超出 0–100")
    return round(score)


def _renewal(value: Any) -> str | None:
    text = _text(value).lower()
    if text in UNKNOWN:
        return None
    if text in RENEWED:
        return "renewed"
    if text in LOST:
        return "lost"
    raise RowError(f"续约状态「{text[:10]}」请填 已续约、未续约 或留空（未知）")
