"""Receiving from DingTalk: HTTP outgoing callback or Stream mode, both into the same `Receiver`.

`Receiver.accept` is the ack-first path shared by both: parse → room check → the intake's `admit` (claim the msgId,
a UNIQUE insert before any side effect; submit the work to the TaskPool) → answer at once.
The background job downloads pictures/files by downloadCode and dispatches Inbound messages.
The claim keeps the payload as JSON: after a crash the intake hands it back to `Receiver.replay`.
The receiver is the channel's (bot/channels/dingtalk/channel.py: `DingtalkChannel`): `register(app)` adds the route
(HTTP) or the Stream task; downloads and the Stream connection go through the channel's API client.

Stream mode runs the dingtalk-stream SDK client inside our event loop as a task (never its
`start_forever()`, which calls `asyncio.run`), one connection per `start()`, reconnecting with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import quote_plus

import dingtalk_stream
import websockets
from aiohttp import web
from dingtalk_stream import AckMessage, CallbackMessage
from dingtalk_stream.frames import Headers

from bot.channels.dingtalk.api import DingtalkApi, DingtalkApiError
from bot.channels.dingtalk.guard import foreign
from bot.channels.dingtalk.history import last_card_with_buttons
from bot.channels.dingtalk.parse import DELIVERY_ID, Parsed, ParseError, is_card_callback, parse_payload
from bot.channels.dingtalk.render import card_biz_id
from bot.channels.dingtalk.sender import GROUP_PREFIX
from bot.channels.dingtalk.sign import check_sign
from bot.config import DingtalkSettings
from bot.faults import RefusalLog
from bot.intake import Intake
from bot.messages import Inbound, Outbound, Text, numbered

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"
CARD_TOPIC = dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK  # '/v1.0/card/instances/callback'
MAX_FILE_BYTES = 20 * 1024 * 1024
CLICK_WINDOW_S = 10  # a click frame without a messageId: identical ones this close together are one delivery
SIGN_CHANNEL = "dingtalk-sign"  # claims of used (timestamp, sign) pairs: no payload, so never replayed
Outcome = Literal["accepted", "duplicate", "ignored", "refused", "busy", "forbidden", "replayed"]
REFUSED_REPLY = "抱歉，我只为本企业已登记的同事服务，请联系管理员开通。"


class Receiver:
    """Verified DingTalk payloads (dicts) → claimed, acknowledged, handled in the background."""

    def __init__(self, intake: Intake, settings: DingtalkSettings, api: DingtalkApi) -> None:
        self.intake = intake
        self.services = intake.services
        self.settings = settings
        self.api = api
        self.stream_task: asyncio.Task[None] | None = None
        self.refusals = RefusalLog(log)  # the door's refusals: repeats summed up, not one line each

    def register(self, app: web.Application) -> None:
        """HTTP mode: POST /dingtalk/callback. Stream mode: the SDK client as a task of our loop."""
        app[RECEIVER] = self
        self.intake.register_replayer(CHANNEL, self.replay)
        if self.settings.mode == "http":
            if not self.settings.corp_id:
                log.warning("dingtalk HTTP mode without [dingtalk] corp_id: chatbotCorpId is not checked")
            app.router.add_post("/dingtalk/callback", http_callback)
        else:
            app.cleanup_ctx.append(_stream_ctx)
            app.on_shutdown.append(_stop_stream)  # stop taking frames before the TaskPool drains

    def count(self, name: str) -> None:
        self.intake.metrics[f"dingtalk_{name}"] += 1

    async def accept(self, payload: Any, frame_id: str | None = None, sign: str | None = None) -> Outcome:
        """Raises ParseError for payloads we cannot read. `frame_id`: the Stream frame's messageId.
        `sign`: HTTP mode's "timestamp:sign", claimed once (in the database every instance shares) so a
        captured header pair cannot carry a second, forged body."""
        if isinstance(payload, dict) and is_card_callback(payload):
            payload = {**payload, DELIVERY_ID: self.click_delivery_id(payload, frame_id)}
        parsed = parse_payload(payload)
        if why := foreign(payload, self.settings):
            log.warning("dingtalk message refused: %s (frame %s)", why, frame_id)
            self.count("forbidden")
            return "forbidden"
        if parsed is None:
            self.count("ignored")
            return "ignored"
        intake = self.intake
        if not intake.has_room():
            self.count("busy")
            return "busy"
        if sign is not None and not await intake.claim(SIGN_CHANNEL, sign, payload=None):
            self.refusals.refused("replayed_sign", "dingtalk callback refused: a used timestamp/sign pair again "
                                  "(msgId %s)", parsed.msg_id)
            self.count("replayed_sign")
            return "replayed"
        if parsed.kind == "refused":
            return self.refuse(parsed, frame_id)
        taken = await intake.admit(CHANNEL, parsed.msg_id, parsed.user_id, json.dumps(payload),
                                   lambda: self.to_inbounds(parsed))
        return "accepted" if taken else "duplicate"

    def refuse(self, p: Parsed, frame_id: str | None = None) -> Outcome:
        """A sender we cannot act for: logged, and told in a group (a one-to-one chat needs the staff id we lack)."""
        log.warning("dingtalk message refused: %s (msgId %s, frame %s, conversation %s)",
                    p.text, p.msg_id, frame_id, p.conversation_id)
        self.count("refused")
        if p.conversation_id:
            to = f"{GROUP_PREFIX}{p.conversation_id}"
            self.intake.submit(to, lambda: self.tell(to, Text(REFUSED_REPLY), f"refused:{p.msg_id}"))
        return "refused"

    async def tell(self, to: str, body: Text, dedup_key: str) -> None:
        """An answer outside any handler, through the outbox (the dedup key makes a redelivery a no-op)."""
        await self.services.outbox.send_now([Outbound(to=to, body=body, channel=CHANNEL, dedup_key=dedup_key)])

    def click_delivery_id(self, payload: dict[str, Any], frame_id: str | None) -> str:
        """Card callbacks carry no id of their own: the frame's messageId is the same on a redelivery and new
        for every click. Without one, identical clicks within a short window count as one delivery."""
        if frame_id:
            return frame_id
        window = int(self.services.clock.now().timestamp()) // CLICK_WINDOW_S
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        return f"w{window}:{digest}"

    async def replay(self, raw: str) -> bool:
        """A claimed payload a crash left unhandled, handled as a fresh delivery (False: no room yet)."""
        parsed = parse_payload(json.loads(raw))
        if parsed is None:
            return True
        if not self.intake.handle(parsed.user_id, lambda: self.to_inbounds(parsed)):
            return False
        self.count("replayed")
        return True

    async def to_inbounds(self, p: Parsed) -> list[Inbound]:
        common: dict[str, Any] = {
            "channel": CHANNEL, "user_id": p.user_id, "received_at": self.services.clock.now(),
            "conversation_id": p.conversation_id, "display_name": p.display_name,
            "unsigned_body": self.settings.mode == "http",
        }
        if p.kind == "text":
            picked = await self.numbered_reply(p) if self.settings.mode == "http" else None
            if picked:
                return [Inbound(msg_id=p.msg_id, kind="click", click_key=picked[0], card_ref=picked[1], **common)]
            return [Inbound(msg_id=p.msg_id, kind="text", text=p.text, **common)]
        if p.kind == "click":
            return [Inbound(msg_id=p.msg_id, kind="click", click_key=p.click_key, card_ref=p.card_ref, **common)]
        if p.kind == "unsupported":
            # No handler listens to this event name, so the dispatcher answers with its friendly
            # "暂不支持这种消息" line.
            return [Inbound(msg_id=p.msg_id, kind="event", text=f"unsupported:{p.msgtype}", **common)]
        if p.kind == "voice":
            return [await self.voice_inbound(p, common)]
        kind: Literal["image", "file"] = "image" if p.kind == "image" else "file"
        limit = int(self.services.settings.ocr.max_image_mb * 1024 * 1024) if kind == "image" else MAX_FILE_BYTES
        inbounds = []
        last = len(p.download_codes) - 1
        for i, code in enumerate(p.download_codes):
            data, error = await self.fetch(code, limit)
            inbounds.append(Inbound(  # the last part carries the claimed msgId: handled = every part handled
                msg_id=p.msg_id if i == last else f"{p.msg_id}#{i}", kind=kind, text=p.text if i == 0 else "",
                data=data, data_error=error, file_name=p.file_name, **common,
            ))
        return inbounds

    async def voice_inbound(self, p: Parsed, common: dict[str, Any]) -> Inbound:
        """DingTalk's own recognition when it sent one; else the audio itself (for `[asr]`), unless it is
        too long to be worth fetching."""
        asr = self.services.settings.asr
        data, error = None, None
        too_long = p.seconds is not None and p.seconds > asr.max_seconds
        if not p.text and asr.enabled and p.download_codes and not too_long:
            data, error = await self.fetch(p.download_codes[0], MAX_FILE_BYTES)
        return Inbound(msg_id=p.msg_id, kind="voice", text=p.text, data=data, data_error=error, seconds=p.seconds,
                       **common)

    async def numbered_reply(self, p: Parsed) -> tuple[str, str] | None:
        """HTTP mode sends cards as markdown with numbered buttons: a reply of just "2" is a click on the
        second button of the last such card this chat got. Returns (button key, cardBizId)."""
        if not (p.text.isascii() and p.text.isdigit()):
            return None
        recipient = f"{GROUP_PREFIX}{p.conversation_id}" if p.conversation_id else p.user_id
        shown = await last_card_with_buttons(self.services.db, recipient)
        button = numbered(shown[0].buttons, int(p.text)) if shown else None
        if shown is None or button is None:
            return None
        card, dedup_key = shown
        return button.key, card_biz_id(card, dedup_key)

    async def fetch(self, download_code: str, limit: int) -> tuple[bytes | None, str | None]:
        try:
            return await self.api.download(download_code, limit), None
        except DingtalkApiError as exc:
            log.warning("dingtalk download failed: %s", exc)
            self.count("download_failed")
            return None, "too_large" if exc.code == "too_large" else "download_failed"

    async def ack(self, payload: Any, frame_id: str | None = None) -> tuple[int, str]:
        """Stream-mode answer for one frame, (code, detail): 200 for everything we are done with, including
        frames we cannot use (DingTalk would only push them again); 500 when our side failed, so it redelivers."""
        try:
            outcome = await self.accept(payload, frame_id)
        except ParseError as exc:
            return self.unusable(frame_id, f"bad message: {exc}")
        except Exception:
            log.exception("dingtalk stream frame %s failed on our side; answered 500 so DingTalk redelivers it",
                          frame_id)
            self.count("receive_failed")
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "internal error"
        if outcome == "busy":
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "busy"
        return AckMessage.STATUS_OK, "OK"

    def unusable(self, frame_id: str | None, why: str) -> tuple[int, str]:
        """A frame no retry can fix: logged, and acknowledged as consumed so it is not pushed again."""
        log.warning("dingtalk stream frame %s dropped (acknowledged, not retried): %s", frame_id, why)
        self.count("bad_request")
        return AckMessage.STATUS_OK, f"ignored: {why}"


RECEIVER = web.AppKey("dingtalk_receiver", Receiver)


# -- HTTP mode ---------------------------------------------------------------------------------
async def http_callback(request: web.Request) -> web.Response:
    """Robot outgoing callback: messages only (DingTalk posts card clicks to a callback we do not register)."""
    receiver = request.app[RECEIVER]
    settings = receiver.settings
    now_ms = int(receiver.services.clock.now().timestamp() * 1000)
    timestamp, sign = request.headers.get("timestamp"), request.headers.get("sign")
    check = check_sign(timestamp, sign, settings.client_secret, now_ms)
    if check != "ok":
        receiver.refusals.refused("sign", "dingtalk callback refused (%s sign) from %s", check, request.remote)
        receiver.count("rejected_sign")
        return web.json_response({"error": f"{check} sign"}, status=403)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        receiver.refusals.refused("too_large", "dingtalk callback refused: body over %d KB from %s",
                                  receiver.services.settings.server.max_body_kb, request.remote)
        receiver.count("too_large")
        return web.json_response({"error": "body too large"}, status=413)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON / not UTF-8 / a > 4300-digit number; absurdly deep nesting
        receiver.refusals.refused("not_json", "dingtalk callback refused: body is not JSON")
        receiver.count("bad_request")
        return web.json_response({"error": "malformed JSON"}, status=400)
    if isinstance(payload, dict) and is_card_callback(payload):
        # Card clicks reach us over Stream only (HTTP mode shows buttons as numbered replies instead).
        receiver.refusals.refused("card", "dingtalk callback refused: a card callback on the robot's HTTP callback")
        receiver.count("bad_request")
        return web.json_response({"error": "card callbacks arrive only in stream mode"}, status=400)
    try:
        outcome = await receiver.accept(payload, sign=f"{timestamp}:{sign}")
    except ParseError as exc:
        log.warning("dingtalk callback refused: %s", exc)
        receiver.count("bad_request")
        return web.json_response({"error": str(exc)}, status=400)
    if outcome == "busy":
        return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "5"})
    if outcome in ("forbidden", "replayed"):
        return web.json_response({"error": "replayed sign" if outcome == "replayed" else "not for this robot"},
                                 status=403)
    return web.json_response({"outcome": outcome})


# -- Stream mode -------------------------------------------------------------------------------
def ack_frame(frame_id: str | None, code: int, detail: str) -> AckMessage:
    """The ACK as the protocol shows it: message "OK" with code 200; the detail goes in data.response."""
    ack = AckMessage()
    ack.code = code
    ack.headers.message_id = frame_id
    ack.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
    ack.message = "OK" if code == AckMessage.STATUS_OK else detail
    ack.data = {"response": detail}
    return ack


class StreamHandler(dingtalk_stream.CallbackHandler):
    """Chatbot messages and card callbacks: ACK at once, the work runs in the TaskPool."""

    def __init__(self, receiver: Receiver) -> None:
        super().__init__()
        self.receiver = receiver

    async def raw_process(self, callback_message: CallbackMessage) -> AckMessage:
        frame_id = callback_message.headers.message_id
        return ack_frame(frame_id, *await self.receiver.ack(callback_message.data, frame_id))


class StreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK client with an async `open_connection` (ours, via api_base) and a one-connection
    `start()`: the caller owns reconnecting. Frames are routed by the SDK's `route_message`."""

    def __init__(self, receiver: Receiver) -> None:
        settings = receiver.settings
        super().__init__(dingtalk_stream.Credential(settings.client_id, settings.client_secret), logger=log)
        self.api = receiver.api
        self.receiver = receiver
        handler = StreamHandler(receiver)
        self.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, handler)
        self.register_callback_handler(CARD_TOPIC, handler)
        self._frames: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """One connection: open, route frames until the server closes it. Raises on failure."""
        self.pre_start()
        topics = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        connection = await self.api.open_stream_connection(topics)
        uri = f'{connection["endpoint"]}?ticket={quote_plus(connection["ticket"])}'
        async with websockets.connect(uri) as websocket:
            self.websocket = websocket
            keepalive = asyncio.create_task(self.keepalive(websocket))
            try:
                async for raw in websocket:
                    self._route(raw)
            finally:
                keepalive.cancel()

    def _route(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            frame = None
        if not isinstance(frame, dict):
            log.warning("dingtalk stream: frame is not a JSON object, dropped")
            return
        task = asyncio.create_task(self.background_task(frame))
        self._frames.add(task)
        task.add_done_callback(self._frames.discard)

    async def route_message(self, json_message: dict[str, Any]) -> str:
        """CALLBACK frames are answered here, every one of them (the SDK sends no ACK for a topic without a
        handler or for `data` that is not JSON, so DingTalk would push those forever); the rest go to the SDK."""
        if json_message.get("type") != CallbackMessage.TYPE:
            return str(await super().route_message(json_message))
        ack = await self.callback_ack(json_message)
        await self.websocket.send(json.dumps(ack.to_dict()))
        return ""

    async def callback_ack(self, frame: dict[str, Any]) -> AckMessage:
        headers: dict[str, Any] = frame["headers"] if isinstance(frame.get("headers"), dict) else {}
        frame_id = headers.get("messageId") if isinstance(headers.get("messageId"), str) else None
        topic = headers.get("topic")
        handler = self.callback_handler_map.get(topic) if isinstance(topic, str) else None
        if handler is None:
            return ack_frame(frame_id, *self.receiver.unusable(frame_id, f"topic {topic!r} is not one we subscribe to"))
        try:
            message = CallbackMessage.from_dict(frame)
        except (ValueError, TypeError, RecursionError) as exc:  # data not JSON (JSONDecodeError), a bad time header
            why = f"unreadable frame ({type(exc).__name__}: {exc})"
            return ack_frame(frame_id, *self.receiver.unusable(frame_id, why))
        ack: AckMessage = await handler.raw_process(message)
        return ack


async def run_stream(client: StreamClient, max_delay: float = 60.0) -> None:
    """Keep the Stream connection up: reconnect with exponential backoff and jitter, forever."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            await client.start()
            log.info("dingtalk stream connection closed; reconnecting")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("dingtalk stream connection failed: %s: %s", type(exc).__name__, exc)
        if time.monotonic() - started > max_delay:
            delay = 1.0  # the connection lived a while: start backing off from scratch
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        delay = min(max_delay, delay * 2)


async def _stream_ctx(app: web.Application) -> AsyncIterator[None]:
    app[RECEIVER].stream_task = asyncio.create_task(run_stream(StreamClient(app[RECEIVER])))
    yield
    await _stop_stream(app)


async def _stop_stream(app: web.Application) -> None:
    """Runs on shutdown (before the TaskPool drains) and again at cleanup; idempotent."""
    task = app[RECEIVER].stream_task
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
