"""The outbox's WeCom channel: renders a body, throttles per recipient, calls message/send."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from bot.channels.media_memo import media_for
from bot.channels.shared_limits import SharedToken, announce_pause, shared_wait
from bot.channels.wecom import render
from bot.channels.wecom.api import WecomApi, WecomApiError
from bot.clock import Clock, SystemClock
from bot.config import WecomSettings
from bot.delivery import DeliveryError
from bot.messages import Body, Card, CardUpdate, Image, Markdown, Text
from bot.usertext import escape_body, escape_spans, identity, plain, wecom_markdown, wecom_text
from storage.db import Database

log = logging.getLogger(__name__)

# WeCom per app per member: 30 messages/min and 1000/h; the excess is dropped silently (no errcode).
DEFAULT_LIMITS = ((60.0, 28), (3600.0, 950))
# WeCom drops a message identical to one sent within this window (its maximum, 4 h): a row sent again after a
# crash is byte-identical (same dedup marker, same media id), so the repeat is dropped by WeCom.
DUPLICATE_CHECK_S = 4 * 3600
# A media_id is valid 3 days. A resend of the same row reuses it, so WeCom's duplicate check sees the same
# message: it is kept in the database before the send (bot/channels/media_memo.py), so a restart reuses it too.
MEDIA_REUSE_S = 2 * 86400.0


class Throttle:
    """Sliding windows per recipient."""

    def __init__(self, limits: Sequence[tuple[float, int]] = DEFAULT_LIMITS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = tuple(limits)
        self._monotonic = monotonic
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._longest = max(window for window, _ in self.limits)

    def wait_time(self, key: str, count: int = 1) -> float:
        """Seconds until `count` more messages to `key` stay within every window (0 = now)."""
        now = self._monotonic()
        sent = self._sent[key]
        while sent and sent[0] <= now - self._longest:
            sent.popleft()
        wait = 0.0
        for window, limit in self.limits:
            recent = [t for t in sent if t > now - window]
            over = len(recent) + min(count, limit) - limit
            if over > 0:
                wait = max(wait, recent[over - 1] + window - now)
        return wait

    def record(self, key: str) -> None:
        self._sent[key].append(self._monotonic())

    def follow(self, clock: Clock) -> None:
        """Count time on the process's clock (unless a time source was given), so this instance's own windows and
        the shared ones on PostgreSQL read the same time."""
        if self._monotonic is time.monotonic:
            self._monotonic = lambda: clock.now().timestamp()


class WecomSender:
    name = "wecom"
    limited = True  # per-member limits counted over every sending process (bot/channels/shared_limits.py)

    def __init__(self, settings: WecomSettings, *, api: WecomApi | None = None,
                 retry_delays: Sequence[float] = (0.5, 1.0, 2.0), throttle: Throttle | None = None) -> None:
        self.settings = settings
        self.api = api or WecomApi(settings, retry_delays=retry_delays)
        self.throttle = throttle or Throttle()
        self._media: dict[str, tuple[str, float]] = {}  # dedup key → (media_id, uploaded at, monotonic)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.shared: tuple[Database, Clock] | None = None  # limits counted over every sending process (bind)
        self.db: Database | None = None  # bound by app.runtime.build_services: media ids of rows (media_memo)
        self.clock: Clock = SystemClock()

    def bind(self, db: Database, clock: Clock) -> None:
        """The process's database and clock (`app.runtime.build_services`). Several processes may send for one
        app (`serve` and its handler child; on PostgreSQL every instance), so the per-member limits are counted
        from the shared outbox too; on PostgreSQL the access token and a 45009 pause are shared as well. Media ids
        of rows are kept in the database (bot/channels/media_memo.py)."""
        self.db, self.clock = db, clock
        self.throttle.follow(clock)
        self.shared = (db, clock)
        if not db.is_sqlite:
            self.api.shared = SharedToken(db, f"wecom:token:{self.settings.corp_id}:{self.settings.agent_id}")
            self.api.tell_others = partial(announce_pause, db)

    async def close(self) -> None:
        await self.api.close()

    async def deliver(self, recipient: str, body: Body, *, dedup_key: str) -> dict[str, Any]:
        if isinstance(body, CardUpdate):
            return await self._update_card(recipient, body)
        payloads = _payloads(body, dedup_key)
        async with self._locks[recipient]:
            # Never sleep here: a throttled recipient's row goes back to the outbox, others keep flowing.
            wait = self.throttle.wait_time(recipient, len(payloads))
            if not wait and self.shared is not None:
                db, clock = self.shared
                wait = await shared_wait(db, clock.now(), self.name, recipient, self.throttle.limits, len(payloads))
            if wait > 0:
                raise DeliveryError(f"throttled: {recipient} is at WeCom's per-member limit", retry_after=wait,
                                    counted=False)
            result: dict[str, Any] = {}
            for payload in payloads:
                if payload.get("msgtype") == "image" and isinstance(body, Image):
                    payload = {"msgtype": "image", "image": {"media_id": await self._upload(body, dedup_key)}}
                result = await self._send(recipient, payload, result)
        return result

    async def _upload(self, body: Image, dedup_key: str) -> str:
        now = time.monotonic()
        cached = self._media.get(dedup_key)
        if cached is not None and now - cached[1] < MEDIA_REUSE_S:
            return cached[0]
        media_id = await media_for(self.db, self.clock.now(), "wecom", dedup_key, timedelta(seconds=MEDIA_REUSE_S),
                                   lambda: self.api.media_upload(body.data, body.file_name, "image"))
        self._media = {k: v for k, v in self._media.items() if now - v[1] < MEDIA_REUSE_S}
        self._media[dedup_key] = (media_id, now)
        return media_id

    async def _send(self, recipient: str, payload: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        body = {
            "touser": recipient,
            **payload,
            "enable_duplicate_check": 1,  # a resend of the same outbox row is dropped by WeCom
            "duplicate_check_interval": DUPLICATE_CHECK_S,
        }
        answer = await self.api.send_message(body)
        self.throttle.record(recipient)
        merged = dict(result)
        for key in ("msgid", "response_code"):
            if answer.get(key):
                merged[key] = answer[key]
        invalid = answer.get("invaliduser") or answer.get("unlicenseduser")
        if invalid:
            log.warning("WeCom message/send: recipient %s reported invalid/unlicensed: %s", recipient, invalid)
            merged["invaliduser"] = answer.get("invaliduser", "")
            if answer.get("unlicenseduser"):
                merged["unlicenseduser"] = answer["unlicenseduser"]
        return merged

    async def _update_card(self, recipient: str, body: CardUpdate) -> dict[str, Any]:
        try:
            status = render.replace_name(plain(body.text))
            answer = await self.api.update_template_card(recipient, body.card_ref, status)
        except WecomApiError as exc:
            if exc.permanent:
                log.warning("WeCom card update for %s failed for good (response code used or older than 72 h?): %s",
                            recipient, exc)
            raise
        return {"updated": True, **({"invaliduser": answer["invaliduser"]} if answer.get("invaliduser") else {})}


def _payloads(body: Body, dedup_key: str) -> list[dict[str, Any]]:
    """message/send bodies for one outbox row (an image's media_id is filled in at send time)."""
    if isinstance(body, Image):
        caption = Text(escape_spans(body.caption, wecom_text))
        return [{"msgtype": "image"}, *(render.text_payloads(caption, dedup_key + ":caption") if body.caption else [])]
    if isinstance(body, Text):
        return render.text_payloads(escape_body(body, wecom_text), dedup_key)
    if isinstance(body, Markdown):
        return render.markdown_payloads(escape_body(body, wecom_markdown), dedup_key)
    if isinstance(body, Card):  # template_card fields are plain text
        return [render.card_payload(escape_body(body, identity), dedup_key)]
    raise DeliveryError(f"wecom cannot render {type(body).__name__}", permanent=True)
