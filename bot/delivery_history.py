"""Per-recipient delivery history read from the outbox: what every sending process has delivered to a recipient
lately, the count a per-recipient limit is checked against (see bot/channels/shared_limits.py). Core, not a
channel: the outbox reads it in its claiming transaction, the channels before a send."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, TextualSelect, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import HISTORY_CAP, HISTORY_S
from storage.db import Database
from storage.models import OutboxMessage
from storage.sql import table_of


async def recent_deliveries(db: Database, channel: str, recipient: str, since: datetime, limit: int
                            ) -> list[datetime]:
    """When `recipient`'s newest delivered rows on `channel` (at most `limit`, after `since`) went out."""
    params = {"d_channel": channel, "d_recipient": recipient, "d_since": since, "d_limit": limit}
    return [row[0] for row in await db.read_rows(_recent_deliveries(), params)]


async def claimed_history(session: AsyncSession, pairs: Iterable[tuple[str, str]], now: datetime
                          ) -> dict[tuple[str, str], tuple[datetime, ...]]:
    """PostgreSQL: `recent_deliveries` (the last HISTORY_S, newest HISTORY_CAP) of every (channel, recipient) in one
    statement, in the caller's transaction — the outbox's claim or hand-over of those recipients' rows."""
    wanted = sorted(set(pairs))
    found: dict[tuple[str, str], list[datetime]] = {pair: [] for pair in wanted}
    if wanted:
        params = {"h_channels": [ch for ch, _r in wanted], "h_recipients": [r for _ch, r in wanted],
                  "h_cap": HISTORY_CAP, "h_since": now - timedelta(seconds=HISTORY_S)}
        for channel, recipient, at in await session.execute(_history(), params):
            found[(channel, recipient)].append(at)
    return {pair: tuple(times) for pair, times in found.items()}


@cache
def _history() -> TextualSelect:
    """Each pair's newest delivered rows by the recipient index (id order, as `_recent_deliveries`), then the window:
    the limit stays inside the lateral scan, so a long history costs at most HISTORY_CAP rows per recipient."""
    c = table_of(OutboxMessage).c
    return text(
        "SELECT r.channel, r.recipient, d.delivered_at"
        " FROM unnest(CAST(:h_channels AS varchar[]), CAST(:h_recipients AS varchar[])) AS r(channel, recipient)"
        " CROSS JOIN LATERAL (SELECT o.delivered_at FROM outbox o WHERE o.channel = r.channel"
        " AND o.recipient = r.recipient AND o.status = 'delivered' ORDER BY o.id DESC LIMIT :h_cap) AS d"
        " WHERE d.delivered_at > :h_since"
    ).bindparams(bindparam("h_since", type_=c.delivered_at.type), bindparam("h_cap", type_=Integer())
                 ).columns(channel=c.channel.type, recipient=c.recipient.type, delivered_at=c.delivered_at.type)


@cache
def _recent_deliveries() -> Select[Any]:
    """Built once: building it took more of a send's CPU than the HTTP call (it runs before every send)."""
    c = table_of(OutboxMessage).c
    newest = (select(c.delivered_at).where(c.channel == bindparam("d_channel", type_=c.channel.type),
                                           c.recipient == bindparam("d_recipient", type_=c.recipient.type),
                                           c.status == "delivered")
              .order_by(c.id.desc()).limit(bindparam("d_limit", type_=Integer())).subquery())
    return select(newest.c.delivered_at).where(newest.c.delivered_at > bindparam("d_since",
                                                                                 type_=c.delivered_at.type))
