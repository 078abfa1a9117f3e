"""Due notice rows → outbox messages, one transaction per recipient.

Everything due for one recipient in a tick is merged into one message (the overnight pile-up
arrives at the start of the working day as one digest); escalation cards with buttons stay
separate so the manager can still act on each. A recipient outside working hours (e.g. the
notice was created a moment before the day ended) is deferred to their next working moment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from bot.messages import Outbound, body_from_json
from bot.outbox import enqueue
from reminders import messages
from reminders.ladder import TickEnv
from reminders.store import ClaimedRow, fence
from storage.db import Database

RECIPIENTS_PER_TX = 100  # recipients whose messages are written to the outbox in one transaction


def compose(to: str, items: Sequence[ClaimedRow], channel: str | None = None) -> list[Outbound]:
    """The messages for one recipient: standalone cards as they are, everything else merged."""
    out = [Outbound(to=to, body=body_from_json(i.payload["body"]), channel=channel, dedup_key=i.payload["key"])
           for i in items if i.payload.get("standalone")]
    merged = [i for i in items if not i.payload.get("standalone")]
    if len(merged) == 1:
        out.append(Outbound(to=to, body=body_from_json(merged[0].payload["body"]), channel=channel,
                            dedup_key=merged[0].payload["key"]))
    elif merged:
        body = messages.digest([i.payload["line"] for i in merged])
        key = f"rem:digest:{to}:{min(i.id for i in merged)}"
        out.append(Outbound(to=to, body=body, channel=channel, dedup_key=key))
    return out


async def deliver_notices(db: Database, env: TickEnv, rows: Sequence[ClaimedRow], default_channel: str) -> int:
    """Turn claimed notices into outbox rows; returns how many notices were handled."""
    groups: dict[str, list[ClaimedRow]] = defaultdict(list)
    for row in rows:
        groups[str(row.payload.get("to", ""))].append(row)
    later: dict[datetime, list[int]] = defaultdict(list)
    ready: list[tuple[str, list[ClaimedRow]]] = []
    for to, items in groups.items():
        hours = env.hours(to)
        if to and not env.cal.in_working_hours(env.now, hours):
            wait = [i for i in items if not i.payload.get("asked")]  # a time the person chose is kept
            later[env.cal.next_working_moment(env.now, hours)] += [i.id for i in wait]
            items = [i for i in items if i.payload.get("asked")]
        if items:
            ready.append((to, items))
    if later:
        async with db.session() as session:
            for due, ids in later.items():
                await fence(session, ids, env.worker, env.now, status="pending", due_at=due)
    handled = 0
    for start in range(0, len(ready), RECIPIENTS_PER_TX):
        handled += await _enqueue_chunk(db, env, ready[start:start + RECIPIENTS_PER_TX], default_channel)
    return handled


async def _enqueue_chunk(db: Database, env: TickEnv, chunk: list[tuple[str, list[ClaimedRow]]],
                         default_channel: str) -> int:
    async with db.session() as session:
        held = set(await fence(session, [i.id for _, items in chunk for i in items], env.worker, env.now))
        outgoing: list[Outbound] = []
        for to, items in chunk:
            mine = [i for i in items if i.id in held]
            person = env.people.get(to)
            if to and mine:
                outgoing += compose(to, mine, (person.channel if person else None) or default_channel)
        await enqueue(session, outgoing, env.now, default_channel)
    return len(held)
