"""Lead lifecycle → timer rows. Lead handlers call these inside their own transaction.

(Stubs with the agreed signatures; the reminders feature fills them in.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import RemindersSettings
from storage.models import Lead


async def on_lead_activated(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """A lead became active with an owner: first-contact, follow-up, cadence and dormancy timers."""


async def on_contact_logged(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """The owner logged a contact: completes first contact, restarts dormancy."""


async def on_stage_changed(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """Stage moved: restart the stall timer."""


async def on_owner_changed(session: AsyncSession, lead: Lead, now: datetime, cfg: RemindersSettings) -> None:
    """Reassigned or taken over: timers now count for the new owner."""


async def on_lead_closed(session: AsyncSession, lead: Lead, now: datetime) -> None:
    """Won, lost or dropped: cancel every pending timer of the lead."""


async def schedule_follow_up(
    session: AsyncSession, lead: Lead, when: datetime, now: datetime, cfg: RemindersSettings
) -> None:
    """An agreed follow-up time: remind the owner `follow_up_before_min` minutes before."""
