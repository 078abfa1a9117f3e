"""Our own async client for the DingTalk open API (the SDK's helpers use blocking `requests`).

All v1.0 calls carry the app access token in `x-acs-dingtalk-access-token`. The token is cached and
refreshed 5 minutes before its 7200 s lifetime ends; an `InvalidAuthentication` answer (HTTP 400,
not 401) drops it and the call is retried once with a fresh token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp

from bot.config import DingtalkSettings

log = logging.getLogger(__name__)

TOKEN_MARGIN_S = 300  # refresh this long before expiry, as the SDK does
CONFIG_RETRY_S = 300.0  # a refused app credential waits for an admin: retry every 5 minutes
TIMEOUT = aiohttp.ClientTimeout(total=15)


class DingtalkApiError(Exception):
    def __init__(self, message: str, *, status: int = 0, code: str = "", retryable: bool = False,
                 retry_after: float | None = None, config: bool = False) -> None:
        super().__init__(message)
        self.status, self.code = status, code
        self.retryable, self.retry_after = retryable, retry_after
        self.config = config  # waits for an admin: retried without using up the message's attempts


class DingtalkApi:
    def __init__(self, settings: DingtalkSettings, session: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.base = settings.api_base.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic()
        self._token_lock = asyncio.Lock()
        self._reported: set[str] = set()  # credential errors already logged

    @property
    def robot_code(self) -> str:
        """For an internal app's robot the robotCode is the AppKey unless configured otherwise."""
        return self.settings.robot_code or self.settings.client_id

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    # -- token ---------------------------------------------------------------------------
    def _token_error(self, status: int, data: dict[str, Any]) -> DingtalkApiError:
        """A refused accessToken call waits for the admin (wrong or rotated AppSecret, app disabled): messages
        stay queued and go out once the config is fixed, instead of being dead-lettered. One ERROR line."""
        error = _error("accessToken", status, data)
        if status in (400, 401, 403):
            error = DingtalkApiError(str(error), status=status, code=error.code, retryable=True,
                                     retry_after=CONFIG_RETRY_S, config=True)
            if error.code not in self._reported:
                self._reported.add(error.code)
                log.error("DingTalk refuses our app credentials (%s): check [dingtalk] client_id / client_secret "
                          "(SALESBOT_DINGTALK_CLIENT_SECRET) against the app in the DingTalk developer console; "
                          "messages wait and go out once it is fixed", error)
        return error

    async def access_token(self) -> str:
        async with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            body = {"appKey": self.settings.client_id, "appSecret": self.settings.client_secret}
            status, data = await self._request("POST", "/v1.0/oauth2/accessToken", body, token=None)
            if status != 200 or not data.get("accessToken"):
                raise self._token_error(status, data)
            self._token = str(data["accessToken"])
            self._token_expires = time.monotonic() + float(data.get("expireIn", 7200)) - TOKEN_MARGIN_S
            return self._token

    def invalidate_token(self) -> None:
        self._token, self._token_expires = None, 0.0

    # -- calls ---------------------------------------------------------------------------
    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A token-authenticated v1.0 call; one retry after an InvalidAuthentication answer."""
        for attempt in (1, 2):
            token = await self.access_token()
            status, data = await self._request(method, path, body, token=token)
            if data.get("code") == "InvalidAuthentication" or status == 401:
                self.invalidate_token()
                if attempt == 1:
                    log.info("dingtalk token rejected on %s; refreshing", path)
                    continue
            if status == 200:
                return data
            raise _error(path, status, data)
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, body: dict[str, Any], *, token: str | None
                       ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["x-acs-dingtalk-access-token"] = token
        try:
            async with self.session().request(method, self.base + path, json=body, headers=headers) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingtalkApiError(f"{path}: {type(exc).__name__}: {exc}", retryable=True) from exc
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            data = {"message": text[:200]}
        return status, data if isinstance(data, dict) else {"result": data}

    # -- robot messages --------------------------------------------------------------------
    async def batch_send(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> dict[str, Any]:
        """One-to-one messages (≤ 20 userIds per call). Identical content to one user within a day is
        dropped silently, and over-limit sends still answer 200: the sender varies and throttles."""
        body = {"robotCode": self.robot_code, "userIds": user_ids, "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False)}
        return await self.call("POST", "/v1.0/robot/oToMessages/batchSend", body)

    async def group_send(self, open_conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> dict[str, Any]:
        body = {"robotCode": self.robot_code, "openConversationId": open_conversation_id, "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False)}
        return await self.call("POST", "/v1.0/robot/groupMessages/send", body)

    async def send_card(self, card_biz_id: str, card_data: dict[str, Any], *, user_id: str | None = None,
                        open_conversation_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"cardTemplateId": "StandardCard", "robotCode": self.robot_code,
                                "cardBizId": card_biz_id, "cardData": json.dumps(card_data, ensure_ascii=False)}
        if open_conversation_id:
            body["openConversationId"] = open_conversation_id
        else:
            body["singleChatReceiver"] = json.dumps({"userId": user_id})
        return await self.call("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body)

    async def update_card(self, card_biz_id: str, card_data: dict[str, Any]) -> dict[str, Any]:
        body = {"cardBizId": card_biz_id, "cardData": json.dumps(card_data, ensure_ascii=False)}
        return await self.call("PUT", "/v1.0/im/robots/interactiveCards", body)

    # -- files -----------------------------------------------------------------------------
    async def download(self, download_code: str, max_bytes: int) -> bytes:
        """Bytes of a received picture/file: messageFiles/download gives a temporary URL, then GET it."""
        data = await self.call("POST", "/v1.0/robot/messageFiles/download",
                               {"downloadCode": download_code, "robotCode": self.robot_code})
        url = data.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise DingtalkApiError("messageFiles/download: no downloadUrl", code=str(data.get("code", "")))
        try:
            async with self.session().get(url) as resp:
                if resp.status != 200:
                    raise DingtalkApiError(f"GET downloadUrl: HTTP {resp.status}", status=resp.status,
                                           retryable=resp.status >= 500)
                if (resp.content_length or 0) > max_bytes:
                    raise DingtalkApiError(f"file larger than {max_bytes} bytes", code="too_large")
                content = await _read_capped(resp, max_bytes)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingtalkApiError(f"GET downloadUrl: {type(exc).__name__}: {exc}", retryable=True) from exc
        if len(content) > max_bytes:
            raise DingtalkApiError(f"file larger than {max_bytes} bytes", code="too_large")
        return content

    async def upload_image(self, data: bytes, file_name: str) -> str:
        """A mediaId for sampleImageMsg (legacy oapi media/upload, which accepts the v1.0 app token)."""
        token = await self.access_token()
        form = aiohttp.FormData()
        form.add_field("type", "image")
        form.add_field("media", data, filename=file_name, content_type="image/png")
        url = f"{self.settings.oapi_base.rstrip('/')}/media/upload"
        try:
            async with self.session().post(url, params={"access_token": token}, data=form) as resp:
                result = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            raise DingtalkApiError(f"media/upload: {type(exc).__name__}: {exc}", retryable=True) from exc
        if not isinstance(result, dict) or not result.get("media_id"):
            if isinstance(result, dict) and result.get("errcode") in (40014, 42001):  # bad/expired token
                self.invalidate_token()
            raise DingtalkApiError(f"media/upload failed: {result}", retryable=True)
        return str(result["media_id"])

    async def auth_code_userid(self, code: str) -> str | None:
        """免登: the staff member a web page's authCode (dd.runtime.permission.requestAuthCode) belongs to
        (legacy oapi topapi/v2/user/getuserinfo, which accepts the v1.0 app token); None for a refused code."""
        token = await self.access_token()
        url = f"{self.settings.oapi_base.rstrip('/')}/topapi/v2/user/getuserinfo"
        try:
            async with self.session().post(url, params={"access_token": token}, json={"code": code}) as resp:
                result = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            raise DingtalkApiError(f"user/getuserinfo: {type(exc).__name__}: {exc}", retryable=True) from exc
        if not isinstance(result, dict) or result.get("errcode") not in (0, None):
            return None
        userid = (result.get("result") or {}).get("userid")
        return str(userid) if userid else None

    # -- stream mode ------------------------------------------------------------------------
    async def open_stream_connection(self, topics: list[dict[str, str]]) -> dict[str, Any]:
        """{endpoint, ticket} for the Stream WebSocket (no token needed: clientId/clientSecret in the body)."""
        body = {"clientId": self.settings.client_id, "clientSecret": self.settings.client_secret,
                "subscriptions": topics, "ua": "salesbot"}
        status, data = await self._request("POST", "/v1.0/gateway/connections/open", body, token=None)
        if status != 200 or not data.get("endpoint") or not data.get("ticket"):
            raise _error("gateway/connections/open", status, data)
        return data


def _error(what: str, status: int, data: dict[str, Any]) -> DingtalkApiError:
    code = str(data.get("code", ""))
    message = f"{what}: HTTP {status} {code} {data.get('message', '')}".strip()
    throttled = status == 429 or "limit" in code.lower() or "throttl" in code.lower()
    return DingtalkApiError(message, status=status, code=code, retryable=throttled or status >= 500 or status == 0,
                            retry_after=60.0 if throttled else None)


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The whole body, stopping once it exceeds `max_bytes` (`content.read(n)` returns after the first chunk)."""
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            break
    return b"".join(chunks)
