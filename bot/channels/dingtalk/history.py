"""What DingTalk was already sent, read from the outbox (the database survives restarts, memory does not).

The sender keeps `cardBizId` and `contentHash` in each delivered row's `result`; these queries read them back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.messages import Card, body_from_json
from storage.db import Database
from storage.models import OutboxMessage

CHANNEL = "dingtalk"
RECENT_CARDS = 20  # how far back a numbered reply looks for the last card with buttons


async def sent_card(db: Database, biz_id: str, recipient: str = "") -> Card | None:
    """The card that went out as `biz_id` (to rebuild it when only its buttons change). Looked for among
    `recipient`'s rows first (indexed: the clicker's own card, the usual case), then in the whole outbox
    (e.g. a group card whose update goes to the clicker: a scan, ~30 ms per 100,000 rows)."""
    o = OutboxMessage
    stmt = (select(o.payload).where(o.channel == CHANNEL, o.kind == "card", o.status == "delivered",
                                    o.result["cardBizId"].as_string() == biz_id)
            .order_by(o.id.desc()).limit(1))
    async with db.session() as s:
        payload = (await s.execute(stmt.where(o.recipient == recipient))).scalar_one_or_none() if recipient else None
        if payload is None:
            payload = (await s.execute(stmt)).scalar_one_or_none()
    card = body_from_json(payload) if payload else None
    return card if isinstance(card, Card) else None


async def last_card_with_buttons(db: Database, recipient: str) -> tuple[Card, str] | None:
    """The newest delivered card with buttons to `recipient`, with its outbox dedup key."""
    o = OutboxMessage
    stmt = (select(o.payload, o.dedup_key).where(o.channel == CHANNEL, o.recipient == recipient, o.kind == "card",
                                                  o.status == "delivered")
            .order_by(o.id.desc()).limit(RECENT_CARDS))
    async with db.session() as s:
        rows = (await s.execute(stmt)).all()
    for payload, dedup_key in rows:
        card = body_from_json(payload)
        if isinstance(card, Card) and card.buttons:
            return card, dedup_key
    return None


async def content_repeats(db: Database, recipient: str, content_hash: str, dedup_key: str, since: datetime) -> bool:
    """Did `recipient` get this exact content since `since` from another outbox row (not a retry of this one)?"""
    o = OutboxMessage
    stmt = (select(o.id).where(o.channel == CHANNEL, o.recipient == recipient, o.status == "delivered",
                               o.delivered_at >= since, o.dedup_key != dedup_key,
                               o.result["contentHash"].as_string() == content_hash)
            .limit(1))
    async with db.session() as s:
        return (await s.execute(stmt)).first() is not None
