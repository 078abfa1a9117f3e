"""The hold of a locked 续约预警 on a customer's leads, written once. While a warning is locked, its owner's actions
on the account's lead and on their other leads of the same company are refused (handlers/renewals/locks.py, the
lead gate), and so those leads' SLA clocks are paused (reminders/ladder.py: the ladder never escalates what the lock
itself refuses; lists and the digest show them 🔒 锁定, never 🔴 超时)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.leads import same_company
from storage.models import Lead, RenewalWarning


async def holds(session: AsyncSession, warning: RenewalWarning, lead: Lead) -> bool:
    """`lead` is the warning's account or a lead of the same company — the contract's company column or the
    account lead's own company (a contract may name the group, the lead the hospital)."""
    if warning.lead_id == lead.id or same_company(warning.company, lead.company):
        return True
    account = await session.get(Lead, warning.lead_id)
    return account is not None and same_company(account.company, lead.company)


async def lock_on(session: AsyncSession, user_id: str | None, lead: Lead) -> RenewalWarning | None:
    """The locked warning that holds `user_id`'s actions on `lead` (only the lead's owner is ever held)."""
    if user_id is None or lead.owner_id != user_id:
        return None
    rows = await session.execute(select(RenewalWarning).where(
        RenewalWarning.locked.is_(True), RenewalWarning.owner_id == user_id).order_by(RenewalWarning.id))
    for warning in rows.scalars():
        if await holds(session, warning, lead):
            return warning
    return None


async def held(session: AsyncSession, lead: Lead) -> bool:
    """A locked warning holds `lead` for its owner: its SLA clock is paused."""
    return await lock_on(session, lead.owner_id, lead) is not None


async def held_lead_ids(session: AsyncSession, leads: Iterable[Lead]) -> set[int]:
    """Which of `leads` a locked warning holds for their owner (the rule of `lock_on`), in one read of the locks."""
    rows = (await session.execute(select(RenewalWarning).where(RenewalWarning.locked.is_(True)))).scalars().all()
    return {lead.id for lead in leads for w in rows if w.owner_id == lead.owner_id and await holds(session, w, lead)}
