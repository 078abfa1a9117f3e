"""One protocol for driving the bot through a channel, so the acceptance journeys (tests/test_journeys.py) are
written once and run over WeCom, DingTalk and the console alike.

Each adapter wraps the channel's own end-to-end harness (WeCom: encrypted callbacks → our app → the fake WeCom
API; DingTalk: Stream frames → our app → the fake DingTalk API; DingTalk HTTP mode: signed callbacks, cards as
markdown whose buttons are numbered replies; console: `salesbot chat` lines → the console channel's JSON output)
and shows what users received as neutral `Shown` messages.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dingtalk_stream import AckMessage
from sqlalchemy import select

from app.chat import ChatSession
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.channels.dingtalk.render import REPLY_HINT
from bot.clock import ManualClock
from bot.config import Settings
from bot.messages import Card, body_from_json
from bot.services import Services
from storage.models import OutboxMessage
from tests.conftest import ENGINES
from tests.fakes.dingtalk_harness import CARD_TOPIC, Harness, card_click, picture_message, start_harness, text_message
from tests.fakes.wecom_api import strip_marker
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness


@dataclass(frozen=True)
class Shown:
    """A card as the user saw it: title, buttons (key → label), all its visible text, the remote's id for this
    card (WeCom task_id, DingTalk cardBizId; the console has none) and the channel's own form."""

    title: str
    buttons: dict[str, str]
    text: str
    ref: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class ChannelHarness(Protocol):
    name: str
    services: Services
    clock: ManualClock

    async def text(self, user: str, content: str) -> None:
        """`user` says `content`; returns when every reply is delivered."""

    async def image(self, user: str, data: bytes) -> None:
        """`user` sends a picture; returns when every reply is delivered."""

    async def click(self, user: str, card: Shown, key: str) -> str | None:
        """`user` clicks button `key` of `card`; the status line that replaced its buttons (None: no update)."""

    async def settle(self) -> None:
        """Background jobs done, due outbox rows delivered."""

    def cards_to(self, user: str) -> list[Shown]:
        """Cards with a title delivered to `user`, in order."""

    def said_to(self, user: str) -> list[str]:
        """The text of everything delivered to `user` (messages, and cards by title and body), in order."""

    def payloads_to(self, user: str) -> list[str]:
        """What the remote compares to drop repeats, one entry per delivery to `user`."""

    def dropped_as_repeats(self) -> int:
        """Deliveries the remote silently dropped as identical repeats."""

    def media_fetched(self) -> list[str]:
        """Media downloaded through the remote API (ids / codes); empty for the console."""

    def shows_whole_talk_track(self) -> bool:
        """True when an answer card shows the whole talk track (WeCom shows a 30-character preview)."""


# -- WeCom ---------------------------------------------------------------------------------------------
class WecomJourney:
    name = "wecom"

    def __init__(self, h: WecomHarness) -> None:
        self.h, self.services, self.clock = h, h.services, h.clock

    async def text(self, user: str, content: str) -> None:
        assert (await self.h.text(user, content)).status == 200
        await self.h.settle()

    async def image(self, user: str, data: bytes) -> None:
        assert (await self.h.image(user, data)).status == 200
        await self.h.settle()

    async def click(self, user: str, card: Shown, key: str) -> str | None:
        resp, code = await self.h.click(user, key, card.ref)
        assert resp.status == 200
        await self.h.settle()
        updates = [u for u in self.h.fake.updates if u["response_code"] == code]
        if not updates:
            return None
        (update,) = updates
        assert update["userids"] == [user]  # only the clicking user's card changes
        return str(update["button"]["replace_name"])

    async def settle(self) -> None:
        await self.h.settle()

    def cards_to(self, user: str) -> list[Shown]:
        return [Shown(c["main_title"]["title"], {b["key"]: b["text"] for b in c.get("button_list", [])},
                      json.dumps(c, ensure_ascii=False), c["task_id"], c) for c in self.h.cards_to(user)]

    def said_to(self, user: str) -> list[str]:
        out = []
        for body in self.h.fake.sent:
            if body.get("touser") != user:
                continue
            kind = body["msgtype"]
            if kind in ("text", "markdown"):
                out.append(strip_marker(body[kind]["content"]))
            elif kind == "template_card":
                card = body["template_card"]
                out.append(f'{card.get("main_title", {}).get("title", "")}\n{json.dumps(card, ensure_ascii=False)}')
        return out

    def payloads_to(self, user: str) -> list[str]:
        return [json.dumps({k: v for k, v in b.items() if k != "touser"}, sort_keys=True, ensure_ascii=False)
                for b in self.h.fake.sent if b.get("touser") == user]

    def dropped_as_repeats(self) -> int:
        return self.h.fake.duplicates_dropped

    def media_fetched(self) -> list[str]:
        return [str(r.query.get("media_id")) for r in self.h.fake.calls("media/get")]

    def shows_whole_talk_track(self) -> bool:
        return False


# -- DingTalk (Stream mode) ----------------------------------------------------------------------------
class DingtalkJourney:
    name = "dingtalk"

    def __init__(self, h: Harness) -> None:
        self.h, self.services, self.clock = h, h.services, h.clock
        self._codes = 0

    async def text(self, user: str, content: str) -> None:
        assert await self.h.frame(text_message(content, sender=user)) == AckMessage.STATUS_OK
        await self.h.settle()

    async def image(self, user: str, data: bytes) -> None:
        self._codes += 1
        code = f"shotCode{self._codes:02d}"
        self.h.fake.files[code] = data
        assert await self.h.frame(picture_message(code, sender=user, nick=user)) == AckMessage.STATUS_OK
        await self.h.settle()

    async def click(self, user: str, card: Shown, key: str) -> str | None:
        biz_id = card.ref
        before = len(self._updates(biz_id))
        frame = card_click(biz_id, key, user=user)
        assert await self.h.frame(frame, topic=CARD_TOPIC) == AckMessage.STATUS_OK
        await self.h.settle()
        updates = self._updates(biz_id)[before:]
        if not updates:
            return None
        (data,) = updates
        assert not _dingtalk_buttons(data)  # the buttons are gone
        return str(data["contents"][-1]["text"]).strip("*")

    def _updates(self, biz_id: str) -> list[dict[str, Any]]:
        return [json.loads(u.body["cardData"]) for u in self.h.fake.calls("cardUpdate")
                if u.body["cardBizId"] == biz_id]

    async def settle(self) -> None:
        await self.h.settle()

    def cards_to(self, user: str) -> list[Shown]:
        return [Shown(str(c["header"]["title"]["text"]), _dingtalk_buttons(c),
                      "\n".join(x["text"] for x in c["contents"] if x["type"] == "markdown"), c["cardBizId"], c)
                for c in self.h.fake.cards_to(user)]

    def said_to(self, user: str) -> list[str]:
        out = [f"{m.get('title', '')}\n{m.get('content', m.get('text', ''))}" for m in self.h.fake.sent_to(user)]
        return out + [f"{c.title}\n{c.text}" for c in self.cards_to(user)]

    def payloads_to(self, user: str) -> list[str]:
        out = []
        for r in self.h.fake.requests:
            if r.route == "batchSend" and user in r.body.get("userIds", []):
                out.append(r.body["msgKey"] + r.body["msgParam"])
            elif r.route == "cardSend" and json.loads(r.body.get("singleChatReceiver") or "{}").get("userId") == user:
                out.append(r.body["cardData"])
        return out

    def dropped_as_repeats(self) -> int:
        return self.h.fake.same_content_dropped

    def media_fetched(self) -> list[str]:
        return [str(c.body["downloadCode"]) for c in self.h.fake.calls("download")]

    def shows_whole_talk_track(self) -> bool:
        return True


def _dingtalk_buttons(card: dict[str, Any]) -> dict[str, str]:
    blocks = [c for c in card["contents"] if c["type"] == "action"]
    return {a["id"]: a["label"]["text"] for block in blocks for a in block["actions"]}


class DingtalkHttpJourney:
    """HTTP mode has no card clicks: a card comes as markdown listing its buttons by number, and a click is the
    user replying with that number. The keys behind the numbers are read from the delivered outbox rows."""

    name = "dingtalk-http"

    def __init__(self, h: Harness) -> None:
        self.h, self.services, self.clock = h, h.services, h.clock
        self._sent_cards: dict[str, list[tuple[Card, str]]] = {}  # recipient → delivered cards with buttons, in order
        self._codes = 0

    async def text(self, user: str, content: str) -> None:
        status, _ = await self.h.post(text_message(content, sender=user))
        assert status == 200
        await self.settle()

    async def image(self, user: str, data: bytes) -> None:
        self._codes += 1
        code = f"shotCode{self._codes:02d}"
        self.h.fake.files[code] = data
        status, _ = await self.h.post(picture_message(code, sender=user, nick=user))
        assert status == 200
        await self.settle()

    async def click(self, user: str, card: Shown, key: str) -> str | None:
        before = len(self.h.fake.sent_to(user))
        number = list(card.buttons).index(key) + 1
        assert await self.h.post(text_message(str(number), sender=user)) == (200, {"outcome": "accepted"})
        await self.settle()
        statuses = [m["content"] for m in self.h.fake.sent_to(user)[before:] if "content" in m]
        return statuses[0] if statuses else None  # the card's new status comes as the first text

    async def settle(self) -> None:
        await self.h.settle()
        o = OutboxMessage
        async with self.services.db.session() as s:
            rows = (await s.execute(select(o.recipient, o.payload, o.dedup_key).where(
                o.channel == "dingtalk", o.kind == "card", o.status == "delivered").order_by(o.id))).all()
        self._sent_cards = {}
        for recipient, payload, dedup_key in rows:
            card = body_from_json(payload)
            if isinstance(card, Card) and card.buttons:
                self._sent_cards.setdefault(recipient, []).append((card, dedup_key))

    def cards_to(self, user: str) -> list[Shown]:
        assert self.h.fake.calls("cardSend") == []  # HTTP mode sends no interactive card
        shown = [m for m in self.h.fake.sent_to(user) if m["msgKey"] == "sampleMarkdown" and REPLY_HINT in m["text"]]
        sent = self._sent_cards.get(user, [])
        assert len(shown) == len(sent), (shown, sent)
        return [Shown(m["title"], {b.key: b.text for b in card.buttons}, m["text"], dedup_key, m)
                for m, (card, dedup_key) in zip(shown, sent, strict=True)]

    def said_to(self, user: str) -> list[str]:
        return [f"{m.get('title', '')}\n{m.get('content', m.get('text', ''))}" for m in self.h.fake.sent_to(user)]

    def payloads_to(self, user: str) -> list[str]:
        return [r.body["msgKey"] + r.body["msgParam"] for r in self.h.fake.requests
                if r.route == "batchSend" and user in r.body.get("userIds", [])]

    def dropped_as_repeats(self) -> int:
        return self.h.fake.same_content_dropped

    def media_fetched(self) -> list[str]:
        return [str(c.body["downloadCode"]) for c in self.h.fake.calls("download")]

    def shows_whole_talk_track(self) -> bool:
        return True


# -- console (`salesbot chat --json`) --------------------------------------------------------------------
class ConsoleJourney:
    name = "console"

    def __init__(self, services: Services, clock: ManualClock, folder: Path) -> None:
        self.services, self.clock, self.folder = services, clock, folder
        self.out: list[dict[str, Any]] = []
        console = services.channels["console"]
        assert isinstance(console, ConsoleChannel)
        self.chat = ChatSession(services, console, clock, "rep01", self._write)  # type: ignore[arg-type]
        self._files = 0

    def _write(self, line: str) -> None:
        self.out.append(json.loads(line))

    async def _as(self, user: str, line: str) -> None:
        await self.chat.handle_line(f"/as {user}")
        await self.chat.handle_line(line)

    async def text(self, user: str, content: str) -> None:
        await self._as(user, content)

    async def image(self, user: str, data: bytes) -> None:
        self._files += 1
        path = self.folder / f"shot{self._files}.jpg"
        path.write_bytes(data)
        await self._as(user, f"/image {path}")

    async def click(self, user: str, card: Shown, key: str) -> str | None:
        before = len(self.out)
        await self._as(user, f"/click {key}")
        updates = [m for m in self.out[before:] if m["to"] == user and m["kind"] == "card_update"]
        return str(updates[-1]["text"]) if updates else None

    async def settle(self) -> None:
        await self.chat.settle()

    def _to(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self.out if m["to"] == user and m["kind"] != "info"]

    def cards_to(self, user: str) -> list[Shown]:
        return [Shown(m["title"], {b["key"]: b["text"] for b in m["buttons"]}, m["text"], "", m)
                for m in self._to(user) if m["kind"] == "card" and m["title"]]

    def said_to(self, user: str) -> list[str]:
        return [f"{m['title']}\n{m['text']}" for m in self._to(user)]

    def payloads_to(self, user: str) -> list[str]:
        return [json.dumps(m, sort_keys=True, ensure_ascii=False) for m in self._to(user)]

    def dropped_as_repeats(self) -> int:
        return 0  # nothing between us and the terminal drops repeats

    def media_fetched(self) -> list[str]:
        return []  # the console hands the file over directly

    def shows_whole_talk_track(self) -> bool:
        return True


async def start_journey(name: str, settings: Settings, clock: ManualClock, folder: Path
                        ) -> AsyncIterator[ChannelHarness]:
    if name == "wecom":
        async for wecom in start_wecom_harness(settings, clock):
            yield WecomJourney(wecom)
    elif name == "dingtalk":
        async for dingtalk in start_harness(settings, clock, mode="stream"):
            yield DingtalkJourney(dingtalk)
    elif name == "dingtalk-http":
        async for dingtalk in start_harness(settings, clock, mode="http"):
            yield DingtalkHttpJourney(dingtalk)
    else:
        channel = ConsoleChannel(lambda _line: None, json_mode=True)
        services = await build_services(settings, clock, {"console": channel}, engines=ENGINES)
        journey = ConsoleJourney(services, clock, folder)
        channel.write = journey._write
        try:
            yield journey
        finally:
            await services.db.dispose()
