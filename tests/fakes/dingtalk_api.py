"""A fake DingTalk open API on 127.0.0.1: real HTTP, real JSON, DingTalk's error shapes.

Routes: /v1.0/oauth2/accessToken, robot oToMessages/batchSend and groupMessages/send,
robot messageFiles/download + the temporary file URL, interactive card send/update, legacy
/media/upload, and the Stream gateway (connections/open + a WebSocket that pushes frames and
records ACKs). Every request is recorded; faults can be switched on per route.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

CLIENT_ID = "dingfakeappkey"
CLIENT_SECRET = "fake-app-secret-0123456789"


@dataclass
class Recorded:
    route: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    status: int
    body: dict[str, Any]
    times: int  # how many requests still fail; -1 = until cleared


@dataclass
class FakeDingtalk:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    requests: list[Recorded] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # downloadCode → bytes
    invalid_users: set[str] = field(default_factory=set)
    flow_controlled: set[str] = field(default_factory=set)  # batchSend reports these as flow-controlled (not sent)
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)  # pushed over the stream
    acks: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    same_content_dropped: int = 0  # batchSend repeats of identical content to one user (DingTalk drops them)
    cards: set[str] = field(default_factory=set)  # cardBizIds of the cards sent (an update of another is refused)
    lost_answers: dict[str, int] = field(default_factory=dict)  # route → sends taken, then the answer lost
    auth_codes: dict[str, str] = field(default_factory=dict)  # 免登 authCode → userid (each works once)
    _faults: dict[str, Fault] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _server: TestServer | None = None
    _contents: set[tuple[str, str, str]] = field(default_factory=set)
    ack_event: asyncio.Event = field(default_factory=asyncio.Event)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._download)
        app.router.add_get("/files/{code}", self._file)
        app.router.add_post("/v1.0/im/v1.0/robot/interactiveCards/send", self._card_send)
        app.router.add_put("/v1.0/im/robots/interactiveCards", self._card_update)
        app.router.add_post("/media/upload", self._upload)
        app.router.add_post("/topapi/v2/user/getuserinfo", self._auth_code_user)
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/stream", self._stream)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self.base_url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    # -- test controls -------------------------------------------------------------------------
    def fail(self, route: str, status: int = 500, body: dict[str, Any] | None = None, times: int = 1) -> None:
        self._faults[route] = Fault(status, body or {"code": "ServiceUnavailable", "message": "fake"}, times)

    def clear_faults(self) -> None:
        self._faults.clear()

    def lose_answer(self, route: str, times: int = 1) -> None:
        """The next `times` calls of `route` are carried out, then the connection drops before the answer."""
        self.lost_answers[route] = times

    def _taken_unanswered(self, route: str, request: web.Request) -> web.Response | None:
        if self.lost_answers.get(route, 0) <= 0:
            return None
        self.lost_answers[route] -= 1
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    def expire_tokens(self) -> None:
        """Every issued token becomes invalid (DingTalk answers 400 InvalidAuthentication)."""
        self._tokens.clear()

    def calls(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    def sent_to(self, user_id: str) -> list[dict[str, Any]]:
        """Decoded one-to-one messages to a user: {"msgKey", **msgParam}."""
        out = []
        for r in self.calls("batchSend"):
            if r.body.get("_status") == 200 and user_id in r.body["userIds"]:
                out.append({"msgKey": r.body["msgKey"], **json.loads(r.body["msgParam"])})
        return out

    def cards_to(self, user_id: str) -> list[dict[str, Any]]:
        """Interactive cards accepted for a user: {"cardBizId", **cardData}."""
        out = []
        for r in self.calls("cardSend"):
            receiver = json.loads(r.body.get("singleChatReceiver") or "{}")
            if r.body.get("_status") == 200 and receiver.get("userId") == user_id:
                out.append({"cardBizId": r.body["cardBizId"], **json.loads(r.body["cardData"])})
        return out

    # -- helpers -----------------------------------------------------------------------------
    async def _record(self, route: str, request: web.Request) -> Recorded:
        body: Any
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            body = {k: (v if isinstance(v, str) else v.file.read()) for k, v in (await request.post()).items()}
        else:
            body = await request.text()
        rec = Recorded(route, request.method, request.path, dict(request.headers), body)
        self.requests.append(rec)
        return rec

    def _fault(self, route: str) -> web.Response | None:
        fault = self._faults.get(route)
        if fault is None or fault.times == 0:
            return None
        if fault.times > 0:
            fault.times -= 1
        return web.json_response(fault.body, status=fault.status)

    def _auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("x-acs-dingtalk-access-token") not in self._tokens:
            # DingTalk answers an invalid/expired token with HTTP 400, not 401.
            return web.json_response({"code": "InvalidAuthentication", "message": "不合法的access_token",
                                      "requestid": "fake"}, status=400)
        return None

    async def _guarded(self, route: str, request: web.Request) -> tuple[Recorded, web.Response | None]:
        rec = await self._record(route, request)
        refusal = self._auth(request) or self._fault(route)
        if isinstance(rec.body, dict):
            rec.body["_status"] = refusal.status if refusal else 200
        return rec, refusal

    # -- routes ------------------------------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        rec = await self._record("token", request)
        fault = self._fault("token")
        if fault:
            return fault
        if rec.body.get("appKey") != self.client_id or rec.body.get("appSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"},
                                     status=400)
        token = f"tok-{next(self._ids)}"
        self._tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    async def _batch_send(self, request: web.Request) -> web.Response:
        rec, refusal = await self._guarded("batchSend", request)
        if refusal:
            return refusal
        users = rec.body.get("userIds", [])
        invalid = [u for u in users if u in self.invalid_users]
        for user in users:  # identical content to the same user within a day: 200, but never shown
            content = (user, rec.body.get("msgKey", ""), rec.body.get("msgParam", ""))
            if content in self._contents:
                self.same_content_dropped += 1
                rec.body["_dropped"] = True
            self._contents.add(content)
        lost = self._taken_unanswered("batchSend", request)
        if lost:
            return lost
        return web.json_response({"processQueryKey": f"pqk-{next(self._ids)}", "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": [u for u in users if u in self.flow_controlled]})

    async def _group_send(self, request: web.Request) -> web.Response:
        _rec, refusal = await self._guarded("groupSend", request)
        return refusal or self._taken_unanswered("groupSend", request) or web.json_response(
            {"processQueryKey": f"pqk-{next(self._ids)}"})

    async def _download(self, request: web.Request) -> web.Response:
        rec, refusal = await self._guarded("download", request)
        if refusal:
            return refusal
        code = rec.body.get("downloadCode", "")
        if code not in self.files:
            return web.json_response({"code": "invalidParameter", "message": "downloadCode 无效"}, status=400)
        return web.json_response({"downloadUrl": f"{self.base_url}/files/{code}?sig=fake"})

    async def _file(self, request: web.Request) -> web.Response:
        await self._record("file", request)
        fault = self._fault("file")
        if fault:
            return fault
        code = request.match_info["code"]
        if code not in self.files:
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=self.files[code], content_type="image/png")

    async def _card_send(self, request: web.Request) -> web.Response:
        rec, refusal = await self._guarded("cardSend", request)
        if refusal:
            return refusal
        self.cards.add(rec.body.get("cardBizId", ""))  # a second send of one id shows a second card
        return self._taken_unanswered("cardSend", request) or web.json_response(
            {"processQueryKey": f"pqk-{next(self._ids)}"})

    async def _card_update(self, request: web.Request) -> web.Response:
        rec, refusal = await self._guarded("cardUpdate", request)
        if refusal:
            return refusal
        if rec.body.get("cardBizId") not in self.cards:
            rec.body["_status"] = 400
            return web.json_response({"code": "invalidParameter", "message": "卡片不存在"}, status=400)
        return web.json_response({"success": True, "result": True})

    async def _upload(self, request: web.Request) -> web.Response:
        await self._record("upload", request)
        if request.query.get("access_token") not in self._tokens:
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        return self._fault("upload") or web.json_response({"errcode": 0, "errmsg": "ok", "type": "image",
                                                           "media_id": f"@media-{next(self._ids)}"})

    async def _auth_code_user(self, request: web.Request) -> web.Response:
        rec = await self._record("getuserinfo", request)
        if request.query.get("access_token") not in self._tokens:
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        userid = self.auth_codes.pop(str((rec.body or {}).get("code", "")), None)
        if userid is None:
            return web.json_response({"errcode": 40078, "errmsg": "不存在的临时授权码"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": {"userid": userid, "name": "x"}})

    async def _open(self, request: web.Request) -> web.Response:
        rec = await self._record("open", request)
        fault = self._fault("open")
        if fault:
            return fault
        if rec.body.get("clientId") != self.client_id or rec.body.get("clientSecret") != self.client_secret:
            return web.json_response({"code": "invalidClientIdOrSecret"}, status=400)
        ws_url = self.base_url.replace("http://", "ws://") + "/stream"
        return web.json_response({"endpoint": ws_url, "ticket": f"ticket+{next(self._ids)}/="})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        sender = asyncio.create_task(self._push_frames(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
                    self.ack_event.set()
        finally:
            sender.cancel()
        return ws

    async def _push_frames(self, ws: web.WebSocketResponse) -> None:
        while True:
            frame = await self.frames.get()
            if frame.get("_close"):
                await ws.close()
                return
            await ws.send_str(json.dumps(frame, ensure_ascii=False))
