"""The reminder ticker: claim due reminder rows and turn them into outbox messages.

The database is the source of truth for timers; APScheduler only calls `tick` every few seconds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


async def tick(services: Services) -> int:
    """Process every reminder due now; returns how many were handled."""
    return 0
