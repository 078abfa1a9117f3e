"""Accounts: a customer's lead stands for the account. Contract and payment rows find theirs by phone, else by
name (contact or company, narrowed by the company column), preferring won leads; an unknown or ambiguous
customer is reported, never guessed. Also: the account's health, imported or computed (docs/renewals.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.renewals.sheet import Customer, RowError
from storage.leads import normalize_phone, previous_owner_in, same_company
from storage.models import Activity, Contract, Lead, LeadFlag, Payment, User
from storage.sql import days_before

# Health when none is imported: 40, +30 for a contact in the last 30 days (+15 within 90 days), +30 for a payment
# in the last 180 days, −20 for an open 🔴 flag on the account's lead (−10 for a 🟡 one). 0–100; below
# `[renewals] health_below` (60) counts as at risk: an account nobody talked to and that paid nothing is 40.
HEALTH_BASE, HEALTH_CONTACT_30, HEALTH_CONTACT_90, HEALTH_PAID_180 = 40, 30, 15, 30
HEALTH_RED, HEALTH_YELLOW = 20, 10
CONTACT_KINDS = ("contact", "renewal_contacted")  # a logged follow-up (跟进, a voice note …), 已联系 on a warning
OPEN_FLAG = ("open", "answered")
# A later contract of the account renews this one when it starts after this one starts and no earlier than this
# many days before this one ends (a renewal signed to run from a few weeks before the old term ends); an add-on
# that starts mid-term overlaps and is no evidence of renewal.
RENEWAL_OVERLAP_DAYS = 30


@dataclass(frozen=True)
class Known:
    id: int
    customer_name: str | None
    company: str | None
    phone: str | None
    status: str
    owner_id: str | None


class Accounts:
    """Every non-draft lead, indexed for matching the rows of one import (loaded once per file)."""

    def __init__(self, leads: list[Known]) -> None:
        self.by_phone: dict[str, list[Known]] = defaultdict(list)
        self.by_name: dict[str, list[Known]] = defaultdict(list)
        for k in leads:
            if k.phone:
                self.by_phone[k.phone].append(k)
            for name in {k.customer_name, k.company} - {None, ""}:
                self.by_name[str(name)].append(k)

    @classmethod
    async def load(cls, session: AsyncSession) -> Accounts:
        rows = await session.execute(select(Lead.id, Lead.customer_name, Lead.company, Lead.phone, Lead.status,
                                            Lead.owner_id, Lead.extra).where(Lead.status != "draft").order_by(Lead.id))
        return cls([Known(r.id, r.customer_name, r.company, normalize_phone(r.phone), r.status,
                          r.owner_id or previous_owner_in(r.extra)) for r in rows])

    def match(self, c: Customer) -> Known:
        """The customer's lead, or RowError saying why none is taken."""
        if c.phone and self.by_phone.get(c.phone):
            hits = self.by_phone[c.phone]
            named = [k for k in hits if c.name in (k.customer_name, k.company)]
            return _pick(named or hits, c)
        hits = [k for k in self.by_name.get(c.name, []) if _same_org(k, c)]
        if not hits and c.company:  # the contact is not on file, the company is: only when it is one lead
            hits = self.by_name.get(c.company, [])
            if len({k.id for k in hits}) > 1:
                hits = []
        return _pick(hits, c)


def _same_org(k: Known, c: Customer) -> bool:
    return not c.company or not k.company or c.name == k.company or same_company(k.company, c.company)


def _pick(hits: list[Known], c: Customer) -> Known:
    if not hits:
        how = "姓名和电话" if c.phone else "姓名"
        raise RowError(f"找不到客户「{c.label}」（按{how}都没有对应的线索），请先录入这个客户")
    won = [k for k in hits if k.status == "won"]
    ids = sorted({k.id for k in won or hits})
    if len(ids) > 1:
        shown = "、".join(f"#{i}" for i in ids[:5])
        raise RowError(f"客户「{c.label}」对应多条线索（{shown}），请加「电话」列区分")
    return (won or hits)[0]


class Owners:
    """负责人 as written: a user id or a unique name."""

    def __init__(self, users: list[tuple[str, str]], left: list[tuple[str, str]] | None = None) -> None:
        self.ids = {uid for uid, _ in users}
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for uid, name in users:
            self.by_name[name].append(uid)
        self.left = {key for pair in left or [] for key in pair}  # members who left, by id and by name

    @classmethod
    async def load(cls, session: AsyncSession) -> Owners:
        rows = (await session.execute(select(User.id, User.name, User.active))).all()
        return cls([(r[0], r[1]) for r in rows if r[2]], [(r[0], r[1]) for r in rows if not r[2]])

    def resolve(self, written: str | None, fallback: str | None) -> str | None:
        if not written:
            return fallback
        if written in self.ids:
            return written
        found = self.by_name.get(written, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise RowError(f"负责人「{written}」有重名，请填成员编号（{'、'.join(found[:3])}）")
        if written in self.left:
            raise RowError(f"负责人「{written}」已离职，请改填接手人")
        raise RowError(f"负责人「{written}」不在成员名单里")


def current_owner() -> ColumnElement[str | None]:
    """Who owns a contract now (the scan warns them, the console shows them): the contract's owner while active
    (offboarding and 改派 move contracts on), else the account lead's owner while active (a contract written
    before that), else the contract's owner as it is (the manager still gets the card)."""
    def active(user_id: Any) -> ColumnElement[bool]:
        return exists().where(User.id == user_id, User.active.is_(True)).correlate_except(User)

    lead_owner = select(Lead.owner_id).where(Lead.id == Contract.lead_id).correlate(Contract).scalar_subquery()
    return case((active(Contract.owner_id), Contract.owner_id), (active(lead_owner), lead_owner),
                else_=Contract.owner_id)


# -- health ---------------------------------------------------------------------------------------------------
def computed_health(lead_id: Any, today: date, now: datetime) -> ColumnElement[int]:
    """The documented formula as one SQL expression over the account's lead (correlated, set-based)."""
    def contact_since(days: int) -> ColumnElement[bool]:
        return exists().where(Activity.lead_id == lead_id, Activity.kind.in_(CONTACT_KINDS),
                              Activity.created_at >= now - timedelta(days=days))

    def flag(level: str) -> ColumnElement[bool]:
        return exists().where(LeadFlag.lead_id == lead_id, LeadFlag.status.in_(OPEN_FLAG), LeadFlag.level == level)

    paid = exists().where(Payment.lead_id == lead_id, Payment.paid_on >= today - timedelta(days=180))
    return (HEALTH_BASE
            + case((contact_since(30), HEALTH_CONTACT_30), (contact_since(90), HEALTH_CONTACT_90), else_=0)
            + case((paid, HEALTH_PAID_180), else_=0)
            - case((flag("red"), HEALTH_RED), (flag("yellow"), HEALTH_YELLOW), else_=0))


def health_of(today: date, now: datetime) -> ColumnElement[int]:
    """The contract's imported 健康分, else the computed health of its account."""
    return func.coalesce(Contract.health, computed_health(Contract.lead_id, today, now))


def renewed_by_later() -> ColumnElement[bool]:
    """The contract (`Contract`, correlated) is followed by its renewal: a contract of the same account starting
    at or after its end, or up to `RENEWAL_OVERLAP_DAYS` before it. The scan and the digest's rate read this one
    rule."""
    later = aliased(Contract)
    return exists().where(later.lead_id == Contract.lead_id, later.start_on > Contract.start_on,
                          later.start_on >= days_before(Contract.end_on, RENEWAL_OVERLAP_DAYS))


def last_paid(lead_id: Any) -> ColumnElement[date]:
    return select(func.max(Payment.paid_on)).where(Payment.lead_id == lead_id).scalar_subquery()
