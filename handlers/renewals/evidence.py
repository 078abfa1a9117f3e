"""Contracts and payments from the evidence a rep files on a won lead: a contract page whose text shows the term
(two dates joined by 至 / 到 / ~) and an amount becomes the account's contract; a payment record with an amount
becomes a payment (dated as printed, else the day it was filed). What cannot be read is left to the import."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_cn
from storage.leads import parse_budget
from storage.models import Contract, Evidence, Lead, Payment
from storage.sql import insert_ignore

_DATE = r"(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?"
DATE = re.compile(_DATE)
TERM = re.compile(_DATE + r"\s*(?:起)?\s*(?:至|到|止|~|～|—|－|-)\s*" + _DATE)
MONEY = r"[:：\s]*(?:人民币|RMB|￥|¥)?\s*(?:[(（]?(?:小写|大写)[)）]?[:：]?)?\s*([\d,，]+(?:\.\d+)?\s*(?:万元|万|元)?)"
CONTRACT_AMOUNT = re.compile(r"(?:合同(?:总)?金额|合同总价|合同价款|总价款?|价款合计|合计金额|总金额)" + MONEY)
PAYMENT_AMOUNT = re.compile(r"(?:转账金额|交易金额|付款金额|收款金额|汇款金额|回款金额|入账金额|金额)" + MONEY)
YUAN_SIGN = re.compile(r"[￥¥]\s*([\d,，]+(?:\.\d+)?)")


def _day(parts: tuple[str, ...]) -> date | None:
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def _amount(pattern: re.Pattern[str], text: str) -> int | None:
    found = pattern.search(text) or YUAN_SIGN.search(text)
    value = parse_budget(found.group(1).replace("，", ",")) if found else None
    return value if value else None


def contract_terms(text: str) -> tuple[date, date, int] | None:
    """(start, end, amount) from a contract page's text, None unless all three are there and end ≥ start."""
    term = TERM.search(text)
    amount = _amount(CONTRACT_AMOUNT, text)
    if term is None or amount is None:
        return None
    start, end = _day(term.groups()[:3]), _day(term.groups()[3:])
    return (start, end, amount) if start and end and end >= start else None


def payment_terms(text: str, filed: date) -> tuple[date, int] | None:
    amount = _amount(PAYMENT_AMOUNT, text)
    if amount is None:
        return None
    day = DATE.search(text)
    paid = _day(day.groups()) if day else None
    return (paid if paid and paid <= filed else filed), amount


async def record_from_evidence(session: AsyncSession, lead: Lead, ev: Evidence, now: datetime) -> str | None:
    """A contract or payment read from evidence on a won lead; returns the line to add to the reply."""
    if lead.status != "won" or not ev.ocr_text or ev.proof not in ("contract", "payment"):
        return None
    filed = to_cn(now).date()
    if ev.proof == "contract":
        terms = contract_terms(ev.ocr_text)
        if terms is None:
            return None
        start, end, amount = terms
        same = await session.scalar(select(Contract.id).where(
            Contract.lead_id == lead.id, Contract.start_on == start, Contract.end_on == end))
        if same is None:
            session.add(Contract(lead_id=lead.id, customer=(lead.customer_name or lead.company or "")[:64],
                                 company=lead.company, amount_cny=amount, start_on=start, end_on=end,
                                 owner_id=lead.owner_id, source=f"evidence:{ev.id}", created_at=now, updated_at=now))
        return f"已登记合同：{start.isoformat()} 至 {end.isoformat()}，金额 {amount:,} 元（用于续约提醒）。"
    paid = payment_terms(ev.ocr_text, filed)
    if paid is None:
        return None
    await session.execute(insert_ignore(session, Payment).values(
        lead_id=lead.id, paid_on=paid[0], amount_cny=paid[1], source=f"evidence:{ev.id}", created_at=now))
    return f"已登记回款：{paid[0].isoformat()}，{paid[1]:,} 元。"
