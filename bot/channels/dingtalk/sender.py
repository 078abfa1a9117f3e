"""The outbox's DingTalk channel: one neutral body → one robot API call.

Recipients are staff ids (one-to-one via oToMessages/batchSend) or `group:<openConversationId>`
(groupMessages/send). DingTalk silently drops content identical to what the same user got within a
day and answers 200 when over its limits, so: a message whose content repeats an earlier one with a
different dedup key gets a short tag derived from its dedup key, and each recipient is throttled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from bot.channels.base import DeliveryError
from bot.channels.dingtalk.api import DingtalkApi, DingtalkApiError
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
from bot.config import DingtalkSettings
from bot.messages import Body, Card, CardUpdate, Image, Markdown, Text

log = logging.getLogger(__name__)

GROUP_PREFIX = "group:"
SAME_CONTENT_WINDOW_S = 24 * 3600  # DingTalk drops identical content to one user within a day
MEMORY = 5000  # bounded in-process memories (recent contents, sent cards)


class UserThrottle:
    """At most `per_minute` sends per recipient in any 60 s; over that, the outbox retries later."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.now = per_minute, now
        self._sent: dict[str, deque[float]] = {}

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


class RecentContent:
    """What each recipient got in the last day, to tell a new message with old content from a retry."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._seen: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    def needs_tag(self, recipient: str, message: RobotMessage, dedup_key: str) -> bool:
        seen = self._seen.get((recipient, _content_hash(message)))
        return seen is not None and seen[0] != dedup_key and self.now() - seen[1] < SAME_CONTENT_WINDOW_S

    def record(self, recipient: str, message: RobotMessage, dedup_key: str) -> None:
        key = (recipient, _content_hash(message))
        self._seen[key] = (dedup_key, self.now())
        self._seen.move_to_end(key)
        while len(self._seen) > MEMORY:
            self._seen.popitem(last=False)


class DingtalkSender:
    name = "dingtalk"

    def __init__(self, settings: DingtalkSettings, api: DingtalkApi | None = None) -> None:
        self.settings = settings
        self.api = api or DingtalkApi(settings)
        self.throttle = UserThrottle(settings.per_user_per_minute)
        self.recent = RecentContent()
        self._cards: OrderedDict[str, Card] = OrderedDict()  # cardBizId → card, for updates after a click

    async def close(self) -> None:
        await self.api.close()

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        wait = self.throttle.wait_needed(recipient)
        if wait > 0:
            raise DeliveryError(f"throttled: {recipient} reached {self.settings.per_user_per_minute}/min",
                                retry_after=wait)
        try:
            result = await self._send(recipient, body, dedup_key)
        except DingtalkApiError as exc:
            raise DeliveryError(str(exc), permanent=not exc.retryable, retry_after=exc.retry_after) from exc
        self.throttle.record(recipient)
        return result

    async def _send(self, recipient: str, body: Body, dedup_key: str) -> dict[str, Any]:
        if isinstance(body, CardUpdate) and self.settings.mode == "http":
            body = Text(body.text)  # the "card" was markdown: its new status comes as a text
        if isinstance(body, CardUpdate):
            return await self._update_card(body)
        if isinstance(body, Card) and body.buttons and self.settings.mode != "http":
            return await self._send_card(recipient, body, dedup_key)
        if isinstance(body, Image):
            media_id = await self.api.upload_image(body.data, body.file_name)
            return await self._send_robot(recipient, RobotMessage("sampleImageMsg", {"photoURL": media_id}))
        message = render_card_replies(body) if isinstance(body, Card) and body.buttons else _render(body)
        original = message
        if self.recent.needs_tag(recipient, message, dedup_key):
            message = with_tag(message, dedup_key)
        result = await self._send_robot(recipient, message)
        self.recent.record(recipient, original, dedup_key)
        return result

    async def _send_robot(self, recipient: str, message: RobotMessage) -> dict[str, Any]:
        if recipient.startswith(GROUP_PREFIX):
            data = await self.api.group_send(recipient[len(GROUP_PREFIX):], message.msg_key, message.msg_param)
            return {"processQueryKey": data.get("processQueryKey")}
        data = await self.api.batch_send([recipient], message.msg_key, message.msg_param)
        if recipient in (data.get("invalidStaffIdList") or []):
            raise DeliveryError(f"dingtalk: {recipient} is not a valid staff id", permanent=True)
        if recipient in (data.get("flowControlledStaffIdList") or []):
            raise DeliveryError(f"dingtalk: flow control for {recipient}", retry_after=60.0)
        return {"processQueryKey": data.get("processQueryKey")}

    async def _send_card(self, recipient: str, card: Card, dedup_key: str) -> dict[str, Any]:
        biz_id = card_biz_id(card, dedup_key)
        data = render_interactive_card(card)
        if recipient.startswith(GROUP_PREFIX):
            await self.api.send_card(biz_id, data, open_conversation_id=recipient[len(GROUP_PREFIX):])
        else:
            await self.api.send_card(biz_id, data, user_id=recipient)
        self._remember_card(biz_id, card)
        return {"cardBizId": biz_id}

    async def _update_card(self, update: CardUpdate) -> dict[str, Any]:
        card = self._cards.get(update.card_ref)
        data = render_interactive_card(card, status=update.text) if card else status_only_card(update.text)
        await self.api.update_card(update.card_ref, data)
        return {"cardBizId": update.card_ref}

    def _remember_card(self, biz_id: str, card: Card) -> None:
        self._cards[biz_id] = card
        self._cards.move_to_end(biz_id)
        while len(self._cards) > MEMORY:
            self._cards.popitem(last=False)


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
