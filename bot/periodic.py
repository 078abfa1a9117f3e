"""Everything time-driven, run by APScheduler every few seconds (and by `/advance` in the console):
due reminders, the managers' daily digest and the admins' weekly knowledge-gaps digest.
The database decides what is due; running this twice or in two processes sends nothing twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.kb_gaps import send_weekly_gaps
from handlers.report import send_due_digests
from reminders.ticker import tick

if TYPE_CHECKING:
    from bot.services import Services


async def run_due_work(services: Services) -> int:
    """Returns how many items were queued (reminders fired, digests sent)."""
    return await tick(services) + await send_due_digests(services) + await send_weekly_gaps(services)
