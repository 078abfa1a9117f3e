"""Due notice rows → outbox messages, one transaction per recipient.

Everything due for one recipient in a tick is merged into one message (the overnight pile-up
arrives at the start of the working day as one digest); escalation cards with buttons stay
separate so the manager can still act on each. A recipient outside working hours (e.g. the
notice was created a moment before the day ended) is deferred to their next working moment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bot.messages import Outbound, body_from_json
from bot.outbox import enqueue
from reminders import messages
from reminders.ladder import TickEnv
from reminders.store import ClaimedRow, fence
from storage.db import Database


def compose(to: str, items: Sequence[ClaimedRow]) -> list[Outbound]:
    """The messages for one recipient: standalone cards as they are, everything else merged."""
    out = [Outbound(to=to, body=body_from_json(i.payload["body"]), dedup_key=i.payload["key"])
           for i in items if i.payload.get("standalone")]
    merged = [i for i in items if not i.payload.get("standalone")]
    if len(merged) == 1:
        out.append(Outbound(to=to, body=body_from_json(merged[0].payload["body"]), dedup_key=merged[0].payload["key"]))
    elif merged:
        body = messages.digest([i.payload["line"] for i in merged])
        out.append(Outbound(to=to, body=body, dedup_key=f"rem:digest:{to}:{min(i.id for i in merged)}"))
    return out


async def deliver_notices(db: Database, env: TickEnv, rows: Sequence[ClaimedRow], default_channel: str) -> int:
    """Turn claimed notices into outbox rows; returns how many notices were handled."""
    groups: dict[str, list[ClaimedRow]] = defaultdict(list)
    for row in rows:
        groups[str(row.payload.get("to", ""))].append(row)
    handled = 0
    for to, items in groups.items():
        ids = [i.id for i in items]
        hours = env.hours(to)
        async with db.session() as session:
            if to and not env.cal.in_working_hours(env.now, hours):
                later = env.cal.next_working_moment(env.now, hours)
                await fence(session, ids, env.worker, env.now, status="pending", due_at=later)
                continue
            held = set(await fence(session, ids, env.worker, env.now))
            mine = [i for i in items if i.id in held]
            if to and mine:
                await enqueue(session, compose(to, mine), env.now, default_channel)
            handled += len(mine)
    return handled
