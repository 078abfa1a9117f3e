"""What a handler gets: who is asking, one lazily opened transaction, and a way to answer.

Messages a handler emits are written to the outbox in the handler's own transaction when the
dispatcher commits, so the state change and the messages it causes land together or not at all.
Do slow work (OCR, search) before the first `await ctx.db()` so no database lock is held meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dedup import mark_handled
from bot.group_commit import GROUP_COMMIT, Handled
from bot.messages import GROUP_RECIPIENT, Body, CardUpdate, Inbound, Outbound
from storage.recorder import ACTOR

if TYPE_CHECKING:
    from bot.result import Result
    from bot.services import Services

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class UserInfo:
    id: str
    name: str
    role: str  # rep | manager | admin
    manager_id: str | None = None

    @property
    def spoken_name(self) -> str:
        """The display name to greet with; "" for a newcomer registered without one (their id is stored as the
        name, and an id never reaches a user)."""
        name = self.name.strip()
        return "" if name == self.id else name

    @property
    def is_manager(self) -> bool:
        return self.role in ("manager", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Context:
    def __init__(self, services: Services, msg: Inbound, user: UserInfo) -> None:
        self.services = services
        self.settings = services.settings
        self.msg = msg
        self.user = user
        self.outgoing: list[Outbound] = []
        self._session: AsyncSession | None = None
        self.group_ok = False  # set by the dispatcher from the route: may replies go to the group asked in?
        self.after_commit: list[Callable[[], Awaitable[None]]] = []  # e.g. delete a file the transaction let go
        self.confirmed = False  # a 「是的」 click already confirmed this command: no second confirm card
        self.intent: Any = None  # what the front door read this text as (handlers/intent.Intent)
        self.state: Any = None  # and what it knew of the conversation (handlers/intent.State)
        self.queued = True  # rows were left for the outbox's claim loop (False: all were handed straight over)
        # Writes that belong to this message's transaction, run first when it opens (e.g. the user's new channel)
        self.on_open: list[Callable[[AsyncSession], Awaitable[None]]] = []

    def now(self) -> datetime:
        return self.services.clock.now()

    async def db(self) -> AsyncSession:
        """The handler's session; its transaction begins at the first statement."""
        if self._session is None:
            self._session = self.services.db.sessions()
            self._session.info[ACTOR] = self.user.id  # whom the record names for the rows this message changes
            writes, self.on_open = self.on_open, []
            for write in writes:
                await write(self._session)
        return self._session

    def reply(self, body: Body) -> None:
        """Answer where the message came from: the group chat it was said in, else the sender."""
        self.send(self.reply_to, body, channel=self.msg.channel)

    @property
    def reply_to(self) -> str:
        """A group-originated message (@bot in a group) is answered in the group, as `group:<conversation id>`
        (the recipient form channel senders take for a group; DingTalk: groupMessages/send), when the route says
        its replies are fit for a group; else one-to-one to the sender."""
        if self.msg.conversation_id and self.group_ok:
            return f"{GROUP_RECIPIENT}{self.msg.conversation_id}"
        return self.msg.user_id

    def send(self, to: str, body: Body, *, channel: str | None = None, key: str | None = None,
             not_before: datetime | None = None) -> None:
        """Message someone else (a manager CC, a new owner); `key` makes it idempotent across events,
        `not_before` holds it in the outbox until then (e.g. the recipient's next working moment)."""
        n = len(self.outgoing)
        dedup = key or f"in:{self.msg.channel}:{self.msg.msg_id}:{n}"
        self.outgoing.append(Outbound(to=to, body=body, channel=channel, dedup_key=dedup, not_before=not_before))

    def update_card(self, text: str) -> None:
        """Replace the clicked card's buttons with a status line ("已由 张伟 接手")."""
        if self.msg.card_ref:
            self.reply(CardUpdate(card_ref=self.msg.card_ref, text=text))

    def apply(self, result: Result) -> None:
        """Say what a use case did (bot/result.py): the clicked card's status line (and the actor's other cards
        it names on this channel), the replies, the messages to others."""
        if result.card_status:
            self.update_card(result.card_status)
            for channel, ref in result.cards:  # e.g. the freeze card behind the picker that was clicked
                if channel == self.msg.channel and ref != self.msg.card_ref:
                    self.reply(CardUpdate(card_ref=ref, text=result.card_status))
        for body in ([result.reply] if result.reply is not None else []) + result.more:
            self.reply(body)
        for to, body, key in result.sends:  # off-hours recipients are held at commit
            self.send(to, body, key=key)

    async def commit(self) -> None:
        """Write outgoing messages into the outbox, mark the message handled and commit everything in one
        transaction. A message some other run already handled (a replay after a crash) is rolled back.
        A handler that wrote nothing itself (no session opened) is committed with others (bot/group_commit.py)."""
        if self._session is None and self._may_group():
            await self._group_commit()
            return
        session = await self.db()
        if not await mark_handled(session, self.msg.channel, self.msg.msg_id, self.now()):
            log.warning("%s:%s was already handled; this run's effects are dropped", self.msg.channel, self.msg.msg_id)
            await session.rollback()
            return
        self.queued = await commit_with_messages(self.services, session, self.outgoing, self.msg.user_id, self.now(),
                                                 hand_over=True)
        await self._after_commit()

    def _may_group(self) -> bool:
        """Only the outbox to write, and nothing that must read first (whether others are in quiet hours)."""
        others = any(o.to != self.msg.user_id and o.not_before is None for o in self.outgoing)
        return not (others and self.services.quiet_hours is not None)

    async def _group_commit(self) -> None:
        writes, self.on_open = self.on_open, []
        item = Handled(self.msg.channel, self.msg.msg_id, self.msg.user_id, self.now(), list(self.outgoing), writes)
        outcome = await self.services.shared(GROUP_COMMIT).commit(item)
        if not outcome.handled:
            log.warning("%s:%s was already handled; this run's effects are dropped", self.msg.channel, self.msg.msg_id)
            return
        self.queued = outcome.queued
        self.services.outbox.start(outcome.claimed)  # the answer goes out now, with no claim round trip
        await self._after_commit()

    async def _after_commit(self) -> None:
        for then in self.after_commit:
            try:
                await then()
            except Exception:  # the state change stands; a leftover file is only disk space
                log.exception("after-commit step failed for %s:%s", self.msg.channel, self.msg.msg_id)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def commit_with_messages(services: Services, session: AsyncSession, outgoing: list[Outbound], asker: str,
                               now: datetime, *, hand_over: bool = False) -> bool:
    """The one way a transaction's messages leave (a handler's, a queued screenshot's, a console action's): held
    for quiet hours, written beside the caller's writes, committed, then the sender woken. `hand_over`: the first
    answer due to `asker` is written already claimed and delivered by this process at once (a handler's reply).
    Returns whether rows were left for the claim loop."""
    held, outbox = await held_for_quiet_hours(services, session, outgoing, asker, now), services.outbox
    if hand_over:
        claimed, queued = await outbox.enqueue_handing_over(session, held, asker)
    else:
        claimed, queued = [], bool(held)
        await outbox.enqueue(session, held)
    await session.commit()
    outbox.start(claimed)  # the answer goes out now, with no claim round trip
    if queued:
        outbox.wake()
    return queued


async def held_for_quiet_hours(services: Services, session: AsyncSession, outgoing: list[Outbound], asker: str,
                               now: datetime) -> list[Outbound]:
    """Only the person who asked gets an answer at once; anyone else it reaches (a manager's CC, a rep told of a
    22:00 接手) is reached at their next working moment when they are off now."""
    quiet = services.quiet_hours
    others = {o.to for o in outgoing if o.to != asker and o.not_before is None}
    held = await quiet(session, others, now) if quiet and others else {}
    return [replace(o, not_before=held[o.to]) if o.to in held and o.not_before is None else o for o in outgoing]
