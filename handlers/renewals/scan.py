"""The renewal scan: one INSERT … SELECT finds every contract ending within `window_days` whose account paid
nothing for `quiet_payment_days` and whose health is below `health_below`, and records one warning per contract
(UNIQUE contract_id: a second scan, a second process or a restart warns nothing twice). The new warnings' cards,
ladder timers and activity rows are written in the same transaction, so a crash leaves either all or none."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import parse_hhmm, to_cn
from bot.config import Settings
from bot.messages import Outbound
from bot.outbox import enqueue
from handlers.renewals.accounts import current_owner, health_of, last_paid, renewed_by_later
from handlers.renewals.settle import withdraw_settled
from reminders import messages
from reminders.calendar import load_calendar
from reminders.directory import Directory, load_directory
from reminders.policies import RENEWAL
from storage.models import Activity, Contract, KeyValue, Lead, Payment, Reminder, RenewalWarning, UTCDateTime
from storage.sql import insert_ignore, rowcount

log = logging.getLogger(__name__)


def today_of(now: datetime) -> date:
    return to_cn(now).date()


def at_risk(settings: Settings, today: date, now: datetime) -> Any:
    """SELECT of the warnings to record: contracts at risk that have none yet (the set-based heart of the scan)."""
    cfg = settings.renewals
    health = health_of(today, now)
    return select(
        Contract.id, Contract.lead_id, current_owner(),
        func.coalesce(Contract.company, select(Lead.company).where(Lead.id == Contract.lead_id).scalar_subquery()),
        health,
        case((Contract.health.is_(None), "computed"), else_="imported"), last_paid(Contract.lead_id),
        literal("new", String), literal(True), literal(now, UTCDateTime()),
    ).where(
        Contract.end_on >= today, Contract.end_on <= today + timedelta(days=cfg.window_days),
        Contract.renewal.is_(None),  # known renewed or lost: nothing to warn about
        ~renewed_by_later(),  # renewed already (an overlapping add-on is not a renewal)
        ~exists().where(RenewalWarning.contract_id == Contract.id),
        ~exists().where(RenewalWarning.lead_id == Contract.lead_id,  # one warning per account at a time
                        RenewalWarning.status.in_(("new", "open", "contacted"))),
        ~exists().where(Payment.lead_id == Contract.lead_id,
                        Payment.paid_on > today - timedelta(days=cfg.quiet_payment_days)),
        health < cfg.health_below,
    )


COLUMNS = ["contract_id", "lead_id", "owner_id", "company", "health", "health_source", "last_paid_on", "status",
           "locked", "created_at"]


@dataclass(frozen=True)
class ScanOutcome:
    new: int = 0  # warnings recorded and announced
    withdrawn: int = 0  # waiting warnings the data has overtaken (handlers/renewals/settle.py)

    def withdrawn_line(self) -> str | None:
        return f"续约预警：撤回 {self.withdrawn} 条（客户已回款或已续约），锁定已解除。" if self.withdrawn else None


def outcome_lines(outcome: ScanOutcome) -> list[str]:
    """The import report's closing lines in chat and on the console."""
    out = [f"⚠️ 续约预警：新发出 {outcome.new} 条，已通知负责人和主管。"] if outcome.new else []
    withdrawn = outcome.withdrawn_line()
    return out + ([f"✅ {withdrawn}已通知负责人和主管。"] if withdrawn else [])


async def scan_all(session: AsyncSession, settings: Settings, now: datetime) -> ScanOutcome:
    """Withdraw the warnings the data has overtaken, then record the new ones (every import, the daily scan)."""
    withdrawn = await withdraw_settled(session, settings, now)
    return ScanOutcome(await scan(session, settings, now), withdrawn)


async def scan(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Record and announce the new warnings in the caller's transaction; returns how many."""
    today = today_of(now)
    await session.execute(insert_ignore(session, RenewalWarning).from_select(COLUMNS, at_risk(settings, today, now)))
    found = (await session.execute(
        select(RenewalWarning, Contract, Lead).join(Contract, Contract.id == RenewalWarning.contract_id)
        .join(Lead, Lead.id == RenewalWarning.lead_id).where(RenewalWarning.status == "new")
        .order_by(RenewalWarning.id))).all()
    if not found:
        return 0
    people, cal = await load_directory(session), await load_calendar(session, settings.reminders)
    outs: list[Outbound] = []
    timers: list[dict[str, Any]] = []
    acts: list[dict[str, Any]] = []
    for warning, contract, lead in found:
        outs += _cards(settings, people, warning, contract, lead, today)
        hours = people.hours(cal, warning.owner_id)
        due = cal.add_working_time(now, cal.working_days(settings.renewals.respond_days, hours), hours)
        timers.append({"lead_id": lead.id, "rule": RENEWAL, "due_at": due, "level": 1, "status": "pending",
                       "payload": {"warning_id": warning.id, "step_days": settings.renewals.respond_days},
                       "created_at": now, "updated_at": now})
        acts.append({"lead_id": lead.id, "actor_id": None, "kind": "renewal_warning",
                     "summary": "续约预警：" + messages.renewal_reasons(contract, warning, today,
                                                                    settings.renewals.quiet_payment_days),
                     "detail": {"warning_id": warning.id, "contract_id": contract.id}, "created_at": now})
    await session.flush()
    await session.execute(insert(Reminder), timers)
    await session.execute(insert(Activity), acts)
    await session.execute(update(RenewalWarning).where(RenewalWarning.status == "new").values(status="open"))
    await enqueue(session, outs, now, settings.default_channel)
    log.info("renewal scan: %d new warning(s)", len(found))
    return len(found)


def _cards(settings: Settings, people: Directory, warning: RenewalWarning, contract: Contract, lead: Lead,
           today: date) -> list[Outbound]:
    """The 续约预警 card to the owner and to the owner's manager (the admins when nobody is above)."""
    quiet, owner = settings.renewals.quiet_payment_days, warning.owner_id
    owner_name = people.name(owner)
    person = people.get(owner)
    recipients = [(owner, False)] if owner and person is not None and person.active else []
    recipients += [(boss, True) for boss in people.supervisors_of(owner) if boss != owner]
    outs = []
    for to, manager in recipients:
        note = messages.renewal_card(lead, contract, warning, today, quiet, owner_name=owner_name, for_manager=manager)
        known = people.get(to)  # the channel we last heard them on, as the outbox would look it up, without a query
        outs.append(Outbound(to, note.body, channel=(known.channel if known else None) or settings.default_channel,
                             dedup_key=f"renewal:{warning.id}:{to}"))
    return outs


async def run_daily_scan(db: Any, settings: Settings, now: datetime) -> int:
    """Once per day from `[renewals] scan_time`, on working days. The day is claimed (a KeyValue row) in the scan's
    own transaction: all or nothing, once across processes; a day off is claimed too, so the ticks after it only
    read one row (through a read-only connection, never queueing for SQLite's write lock)."""
    if not settings.renewals.scan_time:
        return 0
    local, at = to_cn(now), parse_hhmm(settings.renewals.scan_time)
    if (local.hour, local.minute) < (at.hour, at.minute):
        return 0
    key = f"renewals:scan:{local.date().isoformat()}"
    async with db.reader() as conn:
        if await conn.scalar(select(KeyValue.key).where(KeyValue.key == key)) is not None:
            return 0
    async with db.session() as session:
        workday = (await load_calendar(session, settings.reminders)).is_workday(local.date())
        claimed = await session.execute(insert_ignore(session, KeyValue).values(
            key=key, value={"at": now.isoformat(), "scanned": workday}, updated_at=now))
        if rowcount(claimed) == 0 or not workday:
            return 0
        outcome = await scan_all(session, settings, now)
        return outcome.new + outcome.withdrawn
