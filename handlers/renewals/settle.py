"""Warnings the data has overtaken: a warning still waiting for its proof (open or contacted) whose account has
paid within `[renewals] quiet_payment_days` since, or whose contract is now known renewed (imported 已续约 or a
later contract), is withdrawn by the next scan: every contracts or payments import runs one, and so does the daily
scan. Withdrawn: status `withdrawn`, lock lifted, ladder stopped, owner and manager told in one line. This is
what makes importing contracts and payments as two files (chat delivers one at a time) end like one import."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_cn
from bot.config import Settings
from bot.messages import Outbound, Text
from bot.outbox import enqueue
from handlers.renewals.accounts import last_paid, renewed_by_later
from reminders.directory import Directory, load_directory
from reminders.messages import lead_label
from reminders.policies import RENEWAL
from reminders.store import cancel_timers
from storage.activity import add_activity
from storage.models import Contract, Lead, Payment, RenewalWarning

log = logging.getLogger(__name__)

WAITING = ("open", "contacted")


async def withdraw_settled(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Withdraw the waiting warnings the data now contradicts, in the caller's transaction; returns how many."""
    since = to_cn(now).date() - timedelta(days=settings.renewals.quiet_payment_days)
    paid = exists().where(Payment.lead_id == RenewalWarning.lead_id, Payment.paid_on > since)
    rows = (await session.execute(
        select(RenewalWarning, Lead, last_paid(RenewalWarning.lead_id))
        .join(Contract, Contract.id == RenewalWarning.contract_id).join(Lead, Lead.id == RenewalWarning.lead_id)
        .where(RenewalWarning.status.in_(WAITING),
               or_(paid, Contract.renewal == "renewed", renewed_by_later()))
        .order_by(RenewalWarning.id))).all()
    if not rows:
        return 0
    people = await load_directory(session)
    outs: list[Outbound] = []
    for warning, lead, paid_on in rows:
        why = f"已于 {paid_on.isoformat()} 回款" if paid_on and paid_on > since else "已续约"
        await session.execute(update(RenewalWarning).where(RenewalWarning.id == warning.id).values(
            status="withdrawn", locked=False, resolved_at=now))
        await cancel_timers(session, lead.id, now, (RENEWAL,))
        add_activity(session, lead.id, None, "renewal_withdrawn", now, f"续约预警撤回：客户{why}",
                     warning_id=warning.id)
        text = Text(f"✅ 客户 {lead_label(lead)} {why}，续约预警已撤回，锁定已解除。")
        owner = people.get(warning.owner_id)
        to = [owner.id] if owner is not None and owner.active else []
        to += [b for b in people.supervisors_of(warning.owner_id) if b not in to]
        outs += [Outbound(u, text, channel=_channel(people, u) or settings.default_channel,
                          dedup_key=f"renewal:{warning.id}:withdrawn:{u}") for u in to if u]
    await enqueue(session, outs, now, settings.default_channel)
    log.info("renewal scan: %d warning(s) withdrawn (paid or renewed since)", len(rows))
    return len(rows)


def _channel(people: Directory, user_id: str) -> str | None:
    known = people.get(user_id)
    return known.channel if known else None
