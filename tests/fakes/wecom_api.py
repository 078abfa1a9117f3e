"""A fake WeCom API: a real aiohttp server on 127.0.0.1 that records requests and can be told to fail.

Endpoints: /cgi-bin/gettoken, message/send, message/update_template_card, media/get, media/upload.
Faults (per endpoint, optionally for N calls): "busy" (-1), "token_invalid" (40014), "token_expired" (42001),
"rate_limited" (45009), "untrusted_ip" (60020), "bad_secret" (40001), "drop" (connection closed, no answer),
"lost_answer" (message/send: the message is accepted, then the connection drops before the answer),
"html_403" (an HTML 403 page from a gateway).
message/send honours enable_duplicate_check like WeCom: the same content to the same user within the interval
is accepted but not delivered again (counted in `duplicates_dropped`).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local import serve_local

FAULTS: dict[str, tuple[int, str]] = {
    "busy": (-1, "system busy"),
    "token_invalid": (40014, "invalid access_token"),
    "token_expired": (42001, "access_token expired"),
    "rate_limited": (45009, "api freq out of limit"),
    "untrusted_ip": (60020, "not allow to access from your ip, hint: [1700000000_1_xxx], from ip: 1.2.3.4"),
    "bad_secret": (40001, "invalid credential"),
    "response_code_used": (40098, "invalid response_code"),  # used or older than 72 h (code is our guess)
}


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str
    remaining: int | None  # None = until cleared


@dataclass
class FakeWecom:
    corp_id: str = "wwfakecorp"
    secret: str = "fake-secret"
    expires_in: int = 7200
    requests: list[Recorded] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted message/send bodies, in order
    updates: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, bytes]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # id → (data, content type, name)
    media_status: dict[str, int] = field(default_factory=dict)  # id → HTTP status to serve it with (default 200)
    invalid_users: set[str] = field(default_factory=set)
    faults: dict[str, Fault] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    used_response_codes: set[str] = field(default_factory=set)
    token_fetches: int = 0
    duplicates_dropped: int = 0
    oauth_codes: dict[str, str] = field(default_factory=dict)  # 网页授权 code → userid (each works once)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._seen: set[tuple[Any, ...]] = set()
        self._lose_answer = False
        self.base_url = ""

    # -- control ----------------------------------------------------------------------------
    def fail(self, endpoint: str, kind: str, times: int | None = None) -> None:
        """Make `endpoint` ("message/send", "gettoken", "*"...) fail with `kind` for `times` calls (None = always)."""
        if kind not in ("drop", "lost_answer", "html_403") and kind not in FAULTS:
            raise ValueError(kind)
        self.faults[endpoint] = Fault(kind, times)

    def clear_faults(self) -> None:
        self.faults.clear()

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def texts_to(self, user: str) -> list[str]:
        """Text/markdown contents sent to `user`, with the invisible dedup marker removed."""
        out = []
        for body in self.sent:
            if body.get("touser") != user:
                continue
            kind = body["msgtype"]
            if kind in ("text", "markdown"):
                out.append(strip_marker(body[kind]["content"]))
            elif kind == "template_card":
                out.append(body["template_card"].get("main_title", {}).get("title", ""))
        return out

    # -- server -----------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_get("/cgi-bin/auth/getuserinfo", self._oauth_user)
        self._runner, self.base_url = await serve_local(app, port)
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeWecom:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- handlers ---------------------------------------------------------------------------
    def _fault(self, endpoint: str) -> str | None:
        for key in (endpoint, "*"):
            fault = self.faults.get(key)
            if fault is None:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self.faults[key]
            return fault.kind
        return None

    async def _faulty(self, request: web.Request, endpoint: str) -> web.StreamResponse | None:
        kind = self._fault(endpoint)
        if kind is None or kind == "lost_answer":
            self._lose_answer = kind == "lost_answer"
            return None
        if kind == "drop":
            assert request.transport is not None
            request.transport.close()  # the client sees the connection go away without an answer
            return web.Response()
        if kind == "html_403":  # a gateway's or proxy's refusal page, not WeCom JSON
            return web.Response(status=403, text="<html><body>403 Forbidden</body></html>", content_type="text/html")
        errcode, errmsg = FAULTS[kind]
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if not token:
            return web.json_response({"errcode": 41001, "errmsg": "access_token missing"})
        if token not in self.valid_tokens:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    async def _record(self, request: web.Request, path: str) -> Any:
        body: Any = None
        if request.content_type == "application/json":
            body = json.loads(await request.read())
        self.requests.append(Recorded(path, dict(request.query), body))
        return body

    async def _gettoken(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "gettoken")
        if (fault := await self._faulty(request, "gettoken")) is not None:
            return fault
        if request.query.get("corpid") != self.corp_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        if request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.token_fetches += 1
        token = f"tok{next(self._ids)}"
        self.valid_tokens.add(token)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in})

    async def _oauth_user(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "auth/getuserinfo")
        if (err := self._token_error(request)) is not None:
            return err
        userid = self.oauth_codes.pop(request.query.get("code", ""), None)
        if userid is None:
            return web.json_response({"errcode": 40029, "errmsg": "invalid code"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "t"})

    async def _send(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request, "message/send")
        if (fault := await self._faulty(request, "message/send")) is not None:
            return fault
        if (err := self._token_error(request)) is not None:
            return err
        users = str(body.get("touser", "")).split("|")
        invalid = [u for u in users if u in self.invalid_users]
        if len(invalid) == len(users):
            return web.json_response({"errcode": 81013, "errmsg": "user & party & tag all invalid",
                                      "invaliduser": "|".join(invalid)})
        if self._is_duplicate(body):
            self.duplicates_dropped += 1
        else:
            self.sent.append(body)
        if self._lose_answer:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                                  "msgid": f"msg{next(self._ids)}"}
        if body.get("msgtype") == "template_card" and body["template_card"].get("card_type") == "button_interaction":
            answer["response_code"] = f"rc{next(self._ids)}"
        return web.json_response(answer)

    def _is_duplicate(self, body: dict[str, Any]) -> bool:
        if not body.get("enable_duplicate_check"):
            return False
        kind = body.get("msgtype", "")
        key = (body.get("touser"), kind, json.dumps(body.get(kind), sort_keys=True, ensure_ascii=False))
        if key in self._seen:
            return True
        self._seen.add(key)
        return False

    async def _update(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request, "message/update_template_card")
        if (fault := await self._faulty(request, "message/update_template_card")) is not None:
            return fault
        if (err := self._token_error(request)) is not None:
            return err
        code = body.get("response_code", "")
        if code in self.used_response_codes:
            errcode, errmsg = FAULTS["response_code_used"]
            return web.json_response({"errcode": errcode, "errmsg": errmsg})
        self.used_response_codes.add(code)
        self.updates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "media/get")
        if (fault := await self._faulty(request, "media/get")) is not None:
            return fault
        if (err := self._token_error(request)) is not None:
            return err
        item = self.media.get(request.query.get("media_id", ""))
        if item is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        data, content_type, name = item
        media_id = request.query.get("media_id", "")
        return web.Response(body=data, content_type=content_type, status=self.media_status.get(media_id, 200),
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def _media_upload(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "media/upload")
        if (fault := await self._faulty(request, "media/upload")) is not None:
            return fault
        if (err := self._token_error(request)) is not None:
            return err
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "media":
            return web.json_response({"errcode": 41005, "errmsg": "media data missing"})
        data = await part.read()  # type: ignore[union-attr]
        media_id = f"up{next(self._ids)}"
        self.uploads.append((media_id, bytes(data)))
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": request.query.get("type", ""),
                                  "media_id": media_id, "created_at": "1700000000"})


def strip_marker(text: str) -> str:
    return text.rstrip("\u200b\u200c\u200d\u2060")
