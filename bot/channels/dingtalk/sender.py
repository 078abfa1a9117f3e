"""The outbox's DingTalk channel: one neutral body → one robot API call.

Recipients are staff ids (one-to-one via oToMessages/batchSend) or `group:<openConversationId>`
(groupMessages/send). DingTalk silently drops content identical to what the same user got within a
day and answers 200 when over its limits, so: a message whose content repeats what another outbox row
delivered to the same recipient within a day gets a short tag derived from its dedup key (decided from the
database, so it holds across restarts), and each recipient is throttled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

from bot.channels.dingtalk.api import DingtalkApi, DingtalkApiError
from bot.channels.dingtalk.history import content_repeats, sent_card
from bot.channels.dingtalk.render import (
    RobotMessage,
    card_biz_id,
    render_card_markdown,
    render_card_replies,
    render_interactive_card,
    render_markdown,
    render_text,
    status_only_card,
)
from bot.channels.media_memo import call_ended, call_starts, first_attempt, media_for
from bot.channels.shared_limits import shared_wait
from bot.clock import Clock, SystemClock
from bot.config import DingtalkSettings
from bot.delivery import DeliveryError
from bot.messages import GROUP_RECIPIENT, Body, Card, CardUpdate, Image, Markdown, Text
from storage.db import Database

log = logging.getLogger(__name__)

GROUP_PREFIX = GROUP_RECIPIENT
SAME_CONTENT_WINDOW_S = 24 * 3600  # DingTalk drops identical content to one user within a day
MEMORY = 5000  # recipients the throttle remembers


class UserThrottle:
    """At most `per_minute` sends per recipient in any 60 s; over that, the outbox retries later."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.now = per_minute, now
        self._sent: dict[str, deque[float]] = {}

    def follow(self, clock: Clock) -> None:
        """Count time on the process's clock (unless a time source was given), like the shared limit does."""
        if self.now is time.monotonic:
            self.now = lambda: clock.now().timestamp()

    def wait_needed(self, recipient: str) -> float:
        """Seconds until `recipient` may get another message (0 = now)."""
        sent = self._sent.get(recipient)
        if not sent or self.per_minute <= 0:
            return 0.0
        now = self.now()
        while sent and now - sent[0] >= 60:
            sent.popleft()
        return 0.0 if len(sent) < self.per_minute else 60 - (now - sent[0])

    def record(self, recipient: str) -> None:
        sent = self._sent.setdefault(recipient, deque())
        sent.append(self.now())
        if len(self._sent) > MEMORY:
            self._sent.pop(next(iter(self._sent)))


RESENDS_UNSEEN = 1  # calls of one robot message whose outcome nobody saw, after which it is not sent again
MEDIA_REUSE = timedelta(hours=20)  # a resent row's image keeps its media id: DingTalk drops the identical repeat


class DingtalkSender:
    name = "dingtalk"

    def __init__(self, settings: DingtalkSettings, api: DingtalkApi | None = None) -> None:
        self.settings = settings
        self.api = api or DingtalkApi(settings)
        self.throttle = UserThrottle(settings.per_user_per_minute)
        self.db: Database | None = None  # what was sent before: the outbox (see history.py)
        self.clock: Clock = SystemClock()

    @property
    def limited(self) -> bool:
        """A per-recipient limit counted over every sending process (bot/channels/shared_limits.py)."""
        return self.settings.per_user_per_minute > 0

    def bind(self, db: Database, clock: Clock) -> None:
        """The process's database and clock (`app.runtime.build_services` binds them)."""
        self.db, self.clock = db, clock
        self.throttle.follow(clock)

    async def close(self) -> None:
        await self.api.close()

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        wait = self.throttle.wait_needed(recipient)
        if not wait and self.db is not None and self.limited:
            wait = await shared_wait(self.db, self.clock.now(), self.name, recipient,  # every process's sends
                                     ((60.0, self.settings.per_user_per_minute),))
        if wait > 0:
            raise DeliveryError(f"throttled: {recipient} reached {self.settings.per_user_per_minute}/min",
                                retry_after=wait, counted=False)
        try:
            result = await self._send(recipient, body, dedup_key)
        except DingtalkApiError as exc:
            kind: Literal["needs_admin", "retryable", "permanent"] = (
                "needs_admin" if exc.config else "retryable" if exc.retryable else "permanent")
            raise DeliveryError(str(exc), kind=kind, retry_after=exc.retry_after) from exc
        self.throttle.record(recipient)
        return result

    async def _send(self, recipient: str, body: Body, dedup_key: str) -> dict[str, Any]:
        if isinstance(body, CardUpdate) and self.settings.mode == "http":
            body = Text(body.text)  # the "card" was markdown: its new status comes as a text
        if isinstance(body, CardUpdate):
            return await self._update_card(recipient, body)
        if isinstance(body, Card) and body.buttons and self.settings.mode != "http":
            return await self._send_card(recipient, body, dedup_key)
        if isinstance(body, Image):
            return await self._send_image(recipient, body, dedup_key)
        message = render_card_replies(body) if isinstance(body, Card) and body.buttons else _render(body)
        return await self._send_once(recipient, message, dedup_key)

    async def _send_image(self, recipient: str, image: Image, dedup_key: str) -> dict[str, Any]:
        media_id = await media_for(self.db, self.clock.now(), "dingtalk", dedup_key, MEDIA_REUSE,
                                   lambda: self.api.upload_image(image.data, image.file_name))
        result = await self._send_robot(recipient, RobotMessage("sampleImageMsg", {"photoURL": media_id}), dedup_key)
        if not image.caption:
            return result
        # sampleImageMsg has no caption: it follows as a text (if that fails, the retry sends the image again)
        return await self._send_once(recipient, render_text(Text(image.caption)), dedup_key)

    async def _send_once(self, recipient: str, message: RobotMessage, dedup_key: str) -> dict[str, Any]:
        """A robot message, tagged when its exact content already reached `recipient` today (else DingTalk drops it)."""
        content_hash = _content_hash(message)
        if await self._repeats(recipient, content_hash, dedup_key):
            message = with_tag(message, dedup_key)
        result = await self._send_robot(recipient, message, dedup_key)
        return {**result, "contentHash": content_hash}  # kept in the outbox row: read by the next _repeats

    async def _repeats(self, recipient: str, content_hash: str, dedup_key: str) -> bool:
        """Another outbox row gave `recipient` this content within a day (a retry of this row does not count)."""
        if self.db is None:
            return False
        since = self.clock.now() - timedelta(seconds=SAME_CONTENT_WINDOW_S)
        return await content_repeats(self.db, recipient, content_hash, dedup_key, since)

    async def _send_robot(self, recipient: str, message: RobotMessage, dedup_key: str) -> dict[str, Any]:
        """A robot message has no idempotency key at DingTalk (its processQueryKey comes only in the answer, and
        readStatus needs it), so the window is kept small: the call is recorded before it and its outcome right
        after it, not with the outbox's group-committed mark. After a crash, a row whose call ended is not sent
        again; one whose call's outcome nobody saw is sent once more (DingTalk drops the identical repeat to one
        person within a day; a group may show it twice), and never a third time (docs/dingtalk.md)."""
        ref, now = f"robot:{dedup_key}:{message.msg_key}", self.clock.now()
        earlier = await call_starts(self.db, now, "dingtalk", ref)
        if earlier.get("state") == "sent":
            log.info("dingtalk %s: sent before a crash, the outbox mark was lost; not sent again", ref)
            return dict(earlier.get("result") or {})
        unknown = int(earlier.get("unknown", 0))
        if unknown > RESENDS_UNSEEN:
            log.error("dingtalk %s to %s: %d earlier calls ended unseen (kill -9 or lost answers); not sent again",
                      ref, recipient, unknown)
            return {"unconfirmed": unknown}
        try:
            result = await self._call_robot(recipient, message)
        except DingtalkApiError as exc:
            if exc.status:  # DingTalk answered: nothing was sent
                await call_ended(self.db, self.clock.now(), "dingtalk", ref, None, unknown)
            raise
        except DeliveryError:  # an answer naming the recipient invalid or flow-controlled: not sent
            await call_ended(self.db, self.clock.now(), "dingtalk", ref, None, unknown)
            raise
        await call_ended(self.db, self.clock.now(), "dingtalk", ref, result)
        return result

    async def _call_robot(self, recipient: str, message: RobotMessage) -> dict[str, Any]:
        if recipient.startswith(GROUP_PREFIX):
            data = await self.api.group_send(recipient[len(GROUP_PREFIX):], message.msg_key, message.msg_param)
            return {"processQueryKey": data.get("processQueryKey")}
        data = await self.api.batch_send([recipient], message.msg_key, message.msg_param)
        if recipient in (data.get("invalidStaffIdList") or []):
            raise DeliveryError(f"dingtalk: {recipient} is not a valid staff id", permanent=True)
        if recipient in (data.get("flowControlledStaffIdList") or []):
            raise DeliveryError(f"dingtalk: flow control for {recipient}", retry_after=60.0, counted=False)
        return {"processQueryKey": data.get("processQueryKey")}

    async def _send_card(self, recipient: str, card: Card, dedup_key: str) -> dict[str, Any]:
        """An interactive card under its own cardBizId, DingTalk's idempotency key: the attempt is recorded before
        the call, and a later attempt (after a lost answer or a kill -9) first updates that card in place; only
        when DingTalk does not know it is the card sent (never a second card for one row)."""
        biz_id = card_biz_id(card, dedup_key)
        data = render_interactive_card(card)
        if not await first_attempt(self.db, self.clock.now(), "dingtalk", biz_id) and await self._card_exists(biz_id,
                                                                                                              data):
            log.info("dingtalk card %s: an earlier attempt had reached DingTalk; not sent again", biz_id)
            return {"cardBizId": biz_id}
        if recipient.startswith(GROUP_PREFIX):
            await self.api.send_card(biz_id, data, open_conversation_id=recipient[len(GROUP_PREFIX):])
        else:
            await self.api.send_card(biz_id, data, user_id=recipient)
        return {"cardBizId": biz_id}  # kept in the outbox row: an update after a click rebuilds the card from it

    async def _card_exists(self, biz_id: str, data: dict[str, Any]) -> bool:
        """Whether DingTalk has the card `biz_id` (then it now shows `data`, as this attempt would have sent)."""
        try:
            await self.api.update_card(biz_id, data)
        except DingtalkApiError as exc:
            if exc.retryable:
                raise  # unknown: this attempt is retried later
            return False  # DingTalk refuses to update a card it does not have
        return True

    async def _update_card(self, recipient: str, update: CardUpdate) -> dict[str, Any]:
        """The card as sent (from its outbox row, so a restart loses nothing) with a status line for buttons."""
        card = await sent_card(self.db, update.card_ref, recipient) if self.db is not None else None
        if card is None:
            log.warning("dingtalk card %s not found in the outbox; updating it to the status only", update.card_ref)
        data = render_interactive_card(card, status=update.text) if card else status_only_card(update.text)
        await self.api.update_card(update.card_ref, data)
        return {"cardBizId": update.card_ref}


def _render(body: Text | Markdown | Card) -> RobotMessage:
    if isinstance(body, Text):
        return render_text(body)
    if isinstance(body, Markdown):
        return render_markdown(body)
    return render_card_markdown(body)


def with_tag(message: RobotMessage, dedup_key: str) -> RobotMessage:
    """The same content again as a new message: a short tag from the dedup key makes it differ
    (deterministic, so a retry of this row carries the same tag)."""
    tag = hashlib.sha256(dedup_key.encode()).hexdigest()[:4]
    param = dict(message.msg_param)
    if message.msg_key == "sampleText":
        param["content"] = f"{param['content']}\n#{tag}"
    elif message.msg_key == "sampleMarkdown":
        param["text"] = f"{param['text']}\n\n<font color=#999999>#{tag}</font>"
    return RobotMessage(message.msg_key, param)


def _content_hash(message: RobotMessage) -> str:
    raw = message.msg_key + json.dumps(message.msg_param, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()
