"""Everything time-driven, run by APScheduler every few seconds (and by `/advance` in the console):
due reminders, the managers' daily digest, the admins' weekly knowledge-gaps digest and daily dead-letter report,
the daily renewal scan (handlers/renewals/scan.py).
The database decides what is due; running this twice or in two processes sends nothing twice.
`check_calendar_years` runs at start-up and once a day (app/scheduler.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.messages import Outbound, Text
from bot.org import active_admins
from handlers.checks.anchor import send_due_anchor
from handlers.dead_letters import send_dead_letter_report
from handlers.kb_gaps import send_weekly_gaps
from handlers.renewals.scan import run_daily_scan
from handlers.report import send_due_digests
from reminders.calendar import UNCOVERED_HINT, BusinessCalendar, load_overrides, uncovered_years
from reminders.ticker import tick

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


async def run_due_work(services: Services) -> int:
    """Returns how many items were queued (reminders fired, digests sent)."""
    return (await tick(services) + await send_due_digests(services) + await send_weekly_gaps(services)
            + await send_due_anchor(services) + await send_dead_letter_report(services)
            + await run_daily_scan(services.db, services.settings, services.clock.now()))


async def check_calendar_years(services: Services) -> int:
    """Warn when this or next year has no holiday data: a log WARNING each run, and a message to the admins
    once a day each, in working hours. Returns how many admins were messaged."""
    now, cfg = services.clock.now(), services.settings.reminders
    today = now.astimezone(ZoneInfo(cfg.timezone)).date()
    async with services.outbox.sending() as out:
        session = out.session
        overrides = await load_overrides(session)
        missing = uncovered_years(today, overrides)
        if not missing:
            return 0
        log.warning("!!! no Chinese holiday data for %s: timers treat Monday–Friday as working days. Upgrade "
                    "chinesecalendar (pip install -U chinesecalendar) or add 放假/补班 overrides for those years",
                    missing)
        if not BusinessCalendar.from_settings(cfg, overrides).in_working_hours(now):
            return 0  # the morning run tells the admins
        text = UNCOVERED_HINT.format(years="、".join(map(str, missing)))
        return await out.add(Outbound(a, Text(text), dedup_key=f"calendar:uncovered:{today}:{a}")
                             for a in await active_admins(session))
