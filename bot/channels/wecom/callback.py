"""`/wecom/callback`: verify → decrypt → parse → claim → ACK at once; the work runs through the intake.

WeCom re-sends after 5 s without an HTTP 200 (3 tries), so the ACK waits only for the dedup insert.
The claim keeps the decrypted plaintext: after a crash the intake hands it back to `Receiver.replay`.
The receiver is the channel's (bot/channels/wecom/channel.py: `WecomChannel`), downloads through the channel's API
client and reaches nothing else.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from aiohttp import web

from bot.channels.wecom.api import Media, MediaTooLarge, WecomApi
from bot.channels.wecom.crypto import BadCiphertext, BadSignature, CallbackCrypto, WrongReceiver
from bot.channels.wecom.parse import BadXml, Envelope, UnsafeXml, WecomMessage, parse_envelope, parse_message
from bot.config import WecomSettings
from bot.faults import RefusalLog
from bot.intake import Inbounds, Intake
from bot.messages import Inbound

log = logging.getLogger(__name__)

PATH = "/wecom/callback"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def _reject(metrics: Counter[str], name: str, status: int, why: str, request: web.Request) -> web.Response:
    """A bare status (no detail for the caller), counted, and a log line for us (repeats summed up: RefusalLog)."""
    metrics[f"wecom_{name}"] += 1
    request.app[WECOM].refusals.refused(name, "wecom callback %s from %s: %s → %d", name, request.remote, why, status)
    return web.Response(status=status)


class Receiver:
    """The receiving side of WeCom: callback routes, media downloads through the channel's API client, replays."""

    name = "wecom"

    def __init__(self, intake: Intake, settings: WecomSettings, api: WecomApi) -> None:
        self.intake, self.settings = intake, settings
        self.clock = intake.services.clock
        self.max_image_bytes = int(intake.services.settings.ocr.max_image_mb * 1024 * 1024)
        self.metrics = intake.metrics
        self.refusals = RefusalLog(log)
        self.api = api
        self.crypto = CallbackCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)

    def register(self, app: web.Application) -> None:
        app[WECOM] = self
        app.router.add_get(PATH, self.verify_url)
        app.router.add_post(PATH, self.receive)
        self.intake.register_replayer(self.name, self.replay)

    def _fresh(self, timestamp: str) -> bool:
        try:
            sent = int(timestamp)
        except ValueError:
            return False
        return abs(self.clock.now().timestamp() - sent) <= self.settings.timestamp_window_s

    async def verify_url(self, request: web.Request) -> web.Response:
        """GET URL check: return the decrypted echostr as plain text (within 1 s)."""
        metrics = self.metrics
        q = request.query  # aiohttp URL-decodes query values
        try:
            echo = self.crypto.open(q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""),
                                    q.get("echostr", ""))
        except BadSignature as exc:
            return _reject(metrics, "rejected_signature", 403, str(exc), request)
        except WrongReceiver as exc:
            return _reject(metrics, "rejected_corp", 403, str(exc), request)
        except BadCiphertext as exc:
            return _reject(metrics, "bad_request", 400, str(exc), request)
        if not self._fresh(q.get("timestamp", "")):
            return _reject(metrics, "rejected_stale", 403, f"timestamp {q.get('timestamp')!r} outside window", request)
        metrics["wecom_url_verified"] += 1
        log.info("wecom callback URL verified")
        return web.Response(text=echo, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        metrics = self.metrics
        metrics["wecom_callbacks"] += 1
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self.intake.services.settings.server.max_body_kb
            return _reject(metrics, "too_large", 413, f"body over {limit} KB", request)
        q = request.query
        signature, timestamp, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        if not signature:
            return _reject(metrics, "rejected_signature", 403, "no msg_signature", request)
        try:
            envelope = parse_envelope(body)
        except UnsafeXml as exc:
            return _reject(metrics, "unsafe_xml", 400, str(exc), request)
        except BadXml as exc:
            return _reject(metrics, "bad_request", 400, str(exc), request)
        try:
            self.crypto.verify(signature, timestamp, nonce, envelope.encrypt)
        except BadSignature as exc:
            return _reject(metrics, "rejected_signature", 403, str(exc), request)
        if not self._fresh(timestamp):
            return _reject(metrics, "rejected_stale", 403, f"timestamp {timestamp!r} outside window (replay?)",
                           request)
        if (wrong := self._addressed_elsewhere(envelope)) is not None:
            return _reject(metrics, "rejected_corp", 403, wrong, request)
        try:
            plaintext = self.crypto.decrypt(envelope.encrypt)
            msg = parse_message(plaintext)
        except WrongReceiver as exc:
            return _reject(metrics, "rejected_corp", 403, str(exc), request)
        except UnsafeXml as exc:
            return _reject(metrics, "unsafe_xml", 400, str(exc), request)
        except (BadCiphertext, BadXml) as exc:
            return _reject(metrics, "bad_request", 400, str(exc), request)
        return await self._accept(request, msg, plaintext)

    def _addressed_elsewhere(self, envelope: Envelope) -> str | None:
        """Why the envelope is not for our corp and app (None when it is, or does not say)."""
        wecom = self.settings
        corp, agent = envelope.to_user.strip(), envelope.agent_id.strip()
        if corp and corp != wecom.corp_id:
            return f"envelope ToUserName {corp[:40]!r} is not our corp id"
        if agent and wecom.agent_id and agent != str(wecom.agent_id):
            return f"envelope AgentID {agent[:20]!r} is not our app ({wecom.agent_id})"
        return None

    async def _accept(self, request: web.Request, msg: WecomMessage, plaintext: str) -> web.Response:
        metrics, intake = self.metrics, self.intake
        if msg.msg_type == "event" and msg.event not in ("enter_agent", "template_card_event"):
            metrics["wecom_events_ignored"] += 1
            log.info("wecom event %r from %s ignored", msg.event[:40], msg.from_user)
            return web.Response(status=200)
        if not intake.has_room():
            pending = intake.tasks.pending + intake.handed_pending
            return _reject(metrics, "busy", 503, f"{pending} background jobs pending", request)
        await intake.admit(self.name, msg.dedup_key, msg.from_user, plaintext, self._inbounds(msg))
        return web.Response(status=200)

    def _inbounds(self, msg: WecomMessage) -> Inbounds:
        async def inbounds() -> list[Inbound]:
            return [await self.to_inbound(msg)]

        return inbounds

    async def replay(self, plaintext: str) -> bool:
        """A claimed message a crash left unhandled, handled as a fresh callback (False: no room yet)."""
        msg = parse_message(plaintext)
        if not self.intake.handle(msg.from_user, self._inbounds(msg)):
            return False
        self.metrics["wecom_replayed"] += 1
        return True

    async def to_inbound(self, msg: WecomMessage) -> Inbound:
        """The background job's first half: download media if any, then one Inbound."""
        base: dict[str, Any] = {
            "channel": "wecom", "user_id": msg.from_user, "msg_id": msg.dedup_key, "received_at": self.clock.now(),
        }
        if msg.msg_type == "text":
            return Inbound(kind="text", text=msg.get("Content"), **base)
        if msg.msg_type == "image":
            data, error, name = await self._download(msg.get("MediaId"), want_image=True)
            return Inbound(kind="image", data=data, data_error=error, file_name=name or "image.jpg", **base)
        if msg.msg_type == "file":  # any type: the router decides (cards import, evidence after 「证据 12」…)
            name = msg.get("FileName") or msg.get("Title")
            data, error, got = await self._download(msg.get("MediaId"), want_image=False)
            return Inbound(kind="file", data=data, data_error=error, file_name=name or got, **base)
        if msg.msg_type == "voice":  # AMR, fetched only when [asr] will transcribe it (the voice handler)
            if not self.intake.services.settings.asr.enabled:
                return Inbound(kind="voice", **base)
            data, error, _name = await self._download(msg.get("MediaId"), want_image=False)
            return Inbound(kind="voice", data=data, data_error=error, **base)
        if msg.msg_type == "event" and msg.event == "enter_agent":
            return Inbound(kind="event", text="enter_agent", **base)
        if msg.msg_type == "event" and msg.event == "template_card_event":
            return Inbound(kind="click", click_key=msg.get("EventKey"), card_ref=msg.get("ResponseCode") or None,
                           **base)
        self.metrics["wecom_unsupported"] += 1
        log.info("wecom %s message from %s is not supported", msg.msg_type[:20], msg.from_user)
        return Inbound(kind="event", text=f"unsupported:{msg.msg_type[:20]}", **base)

    async def _download(self, media_id: str, *, want_image: bool) -> tuple[bytes | None, str | None, str]:
        """(data, data_error, file name): data_error is download_failed / too_large / not_image."""
        metrics, limit = self.metrics, self.max_image_bytes
        if not media_id:
            metrics["wecom_download_failed"] += 1
            log.warning("wecom media %r: no MediaId", media_id)
            return None, "download_failed", ""
        try:
            media: Media = await self.api.media_get(media_id, limit)
        except MediaTooLarge:
            metrics["wecom_download_failed"] += 1
            log.warning("wecom media %s larger than %d bytes", media_id, limit)
            return None, "too_large", ""
        except Exception as exc:
            metrics["wecom_download_failed"] += 1
            log.warning("wecom media %s download failed: %s", media_id, exc)
            return None, "download_failed", ""
        if want_image and not is_image(media.data):
            metrics["wecom_not_image"] += 1
            log.warning("wecom media %s is not an image (%s, %d bytes)", media_id, media.content_type,
                        len(media.data))
            return None, "not_image", media.file_name
        return media.data, None, media.file_name


WECOM = web.AppKey("wecom_receiver", Receiver)


def is_image(data: bytes) -> bool:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return any(data.startswith(magic) for magic in IMAGE_MAGIC)
