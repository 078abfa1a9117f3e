"""Group commit for handlers that only answer: many handled messages, one transaction.

Most messages of a burst (「帮助」, a greeting, a knowledge answer) change nothing but the outbox: the handler
never opens a session of its own. Their commit is the same few writes each — the message marked handled, a
user's new channel, the answer's outbox row — and one transaction per message made SQLite's single write lock
(BEGIN IMMEDIATE … COMMIT, each statement a trip to the driver's thread) the ceiling of a burst. Here those
commits queue up and one flusher writes a whole batch in one transaction with a fixed number of statements:
one multi-row insert of `inbound_handled` (RETURNING tells which messages are new), one read of which senders
have something open, one multi-row insert of every outbox row (the sender's answer already claimed, as
`OutboxSender.enqueue_handing_over` does). A batch grows by itself while the database is busy.

Exactly once, as before: a message's handled mark and its rows commit together or not at all; a message some
other run already handled (a replay after a crash) gets nothing written. A batch that fails is written again one
message per transaction, so one bad message costs only its own answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.batching import Batcher
from bot.messages import Outbound
from bot.outbox import Claimed, OutboxSender
from bot.services import Services, Shared
from storage.db import Database
from storage.models import InboundHandled
from storage.sql import insert_ignore, table_of
from storage.users import ChannelWrite, set_channels

log = logging.getLogger(__name__)

Write = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class Handled:
    """One message's share of a batch."""

    channel: str
    msg_id: str
    sender: str
    at: datetime
    outgoing: list[Outbound]
    writes: list[Write] = field(default_factory=list)  # run in the batch's transaction after the handled mark


@dataclass(frozen=True)
class Outcome:
    handled: bool  # False: another run had handled the message; nothing was written
    claimed: list[Claimed]  # rows written already claimed by this process: deliver them now
    queued: bool  # rows were left for the outbox's claim loop


class GroupCommit:
    def __init__(self, db: Database, outbox: OutboxSender, *, max_batch: int = 200) -> None:
        self.db, self.outbox, self.max_batch = db, outbox, max_batch
        self._batcher: Batcher[Handled, Outcome] = Batcher(self._write, max_batch=max_batch,
                                                           on_failure=self._one_by_one)
        self.batches = 0

    async def commit(self, item: Handled) -> Outcome:
        return await self._batcher.submit(item)

    async def _one_by_one(self, items: list[Handled], exc: Exception) -> list[Outcome | BaseException]:
        """A failed batch is written again one message at a time: a bad message costs only its own answer."""
        if len(items) == 1:
            log.error("handled message %s:%s: its commit failed", items[0].channel, items[0].msg_id, exc_info=exc)
            return [exc]
        log.warning("group commit of %d messages failed; writing them one by one", len(items), exc_info=exc)
        answers: list[Outcome | BaseException] = []
        for item in items:
            try:
                answers.append((await self._write([item]))[0])
            except Exception as one:
                log.error("handled message %s:%s: its commit failed", item.channel, item.msg_id, exc_info=one)
                answers.append(one)
        return answers

    async def _write(self, items: list[Handled]) -> list[Outcome]:
        self.batches += 1
        async with self.db.session() as session:
            fresh = await self._mark_handled(session, items)
            kept = [item for item in items if (item.channel, item.msg_id[:191]) in fresh]
            channels = [(w.user_id, w.channel) for item in kept for w in item.writes if isinstance(w, ChannelWrite)]
            await set_channels(session, channels)  # the first message of each rep of a burst: one UPDATE for all
            for item in kept:
                for write in item.writes:
                    if not isinstance(write, ChannelWrite):
                        await write(session)
            results = iter(await self.outbox.enqueue_many_handing_over(
                session, [(item.outgoing, item.sender) for item in kept]))
        outcomes: list[Outcome] = []
        for item in items:
            if (item.channel, item.msg_id[:191]) in fresh:
                claimed, queued = next(results)
                outcomes.append(Outcome(True, claimed, queued))
            else:
                outcomes.append(Outcome(False, [], False))
        return outcomes

    async def _mark_handled(self, session: AsyncSession, items: list[Handled]) -> set[tuple[str, str]]:
        """`bot.dedup.mark_handled` for every item in one statement: the (channel, msg_id) pairs that were new.
        Console messages are never claimed: always new."""
        fresh = {(i.channel, i.msg_id[:191]) for i in items if i.channel == "console"}
        rows = {(i.channel, i.msg_id[:191]): i.at for i in items if i.channel != "console"}
        if rows:
            table = table_of(InboundHandled)
            stmt = insert_ignore(session, table).returning(table.c.channel, table.c.msg_id)
            params = [{"channel": ch, "msg_id": key, "handled_at": at} for (ch, key), at in rows.items()]
            fresh |= {(ch, key) for ch, key in await (await session.connection()).execute(stmt, params)}
        return fresh


GROUP_COMMIT = Shared("handler.group_commit", lambda s: _build(s))


def _build(services: Services) -> GroupCommit:
    return GroupCommit(services.db, services.outbox)
