"""A small aiohttp client for the WeCom endpoints we use (wechatpy's client is synchronous).

- access_token cached per app, refreshed single-flight (one asyncio.Lock) a few minutes before expiry;
  40014/42001/40001 on a call → refresh and retry once.
- errcode -1 (system busy) and network errors → up to 3 retries with backoff, then a transient
  DeliveryError so the outbox tries again later. 45009 → the whole app backs off 60 s (a per-minute
  block lasts 60 s): no call is made until then. 60020 / 40001 / 40013 are configuration problems an admin
  fixes: one clear ERROR line naming the fix (again after a success), and a transient error retried in 5 min,
  so queued messages go out once the fix is in instead of dead-lettering.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import orjson
from yarl import URL

from bot.channels.shared_limits import SharedToken
from bot.config import WecomSettings
from bot.delivery import DeliveryError, Failure

log = logging.getLogger(__name__)
_JSON = {"Content-Type": "application/json"}

TOKEN_ERRORS = {40014, 42001, 40001, 41001}  # invalid / expired / missing access_token
BUSY = -1
RATE_LIMITED = 45009
UNTRUSTED_IP = 60020
BAD_SECRET = 40001
FIX_HINTS = {
    UNTRUSTED_IP: "WeCom refuses calls from this server's IP (60020): add the server's egress IP under "
    "应用管理 → 企业可信IP in the WeCom admin console",
    BAD_SECRET: "WeCom rejected the app secret (40001): check [wecom] secret / SALESBOT_WECOM_SECRET "
    "(the self-built app's Secret) and [wecom] corp_id",
    40013: "WeCom rejected the corp id (40013): check [wecom] corp_id",
}
CONFIG_RETRY_S = 300.0  # a FIX_HINTS error waits for an admin: retry every 5 minutes
RATE_LIMIT_BLOCK_S = 60.0


class WecomApiError(DeliveryError):
    def __init__(
        self, message: str, *, errcode: int | None = None, permanent: bool = False, retry_after: float | None = None,
        counted: bool = True, kind: Failure | None = None,
    ) -> None:
        super().__init__(message, kind=kind, permanent=permanent, retry_after=retry_after, counted=counted)
        self.errcode = errcode


class MediaTooLarge(WecomApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"media larger than {limit} bytes", permanent=True)


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str
    file_name: str


class _Retry(Exception):
    """Internal: a transient failure worth another attempt."""


Reader = Callable[[aiohttp.ClientResponse], Awaitable[Any]]


class WecomApi:
    def __init__(
        self,
        settings: WecomSettings,
        *,
        retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
        timeout_s: float = 10.0,
        renew_before_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.base = settings.api_base.rstrip("/") + "/cgi-bin/"
        self.retry_delays = tuple(retry_delays)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.renew_before_s = renew_before_s
        self._monotonic = monotonic
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._urls: dict[tuple[str, str], URL] = {}  # (path, token) → the call's URL, built once per token
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self._reported: set[int] = set()
        self._blocked_until = 0.0  # 45009: no call to WeCom before this (monotonic)
        self._token_attempts = 0  # gettoken fetches started
        self._token_failure: tuple[int, WecomApiError] | None = None  # (attempt, error) of the last failed fetch
        self.token_fetches = 0
        self.shared: SharedToken | None = None  # PostgreSQL: the token every instance uses (WecomSender.bind)
        # PostgreSQL: tell the other instances about a 45009 (they then pause too: `paused_elsewhere`)
        self.tell_others: Callable[[str, float], Awaitable[None]] | None = None
        self.app_key = f"wecom:{settings.corp_id}:{settings.agent_id}"

    def paused_elsewhere(self, app_key: str, seconds: float) -> None:
        """Another instance of this app met WeCom's 45009: no calls from here either for `seconds`."""
        if app_key == self.app_key:
            self._blocked_until = max(self._blocked_until, self._monotonic() + seconds)

    # -- plumbing ---------------------------------------------------------------------------
    def _http(self) -> aiohttp.ClientSession:
        """One session for the life of the process: its connections are kept alive between calls. WeCom sets no
        cookie we need (no jar to match on each call); its host name is looked up again every 5 minutes, not
        every 10 s (a lookup is a trip to the resolver's thread)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300, keepalive_timeout=30))
        return self._session

    def _url(self, path: str, token: str) -> URL:
        """`path?access_token=token`, built once per token (aiohttp's `params=` joins and encodes it per call)."""
        url = self._urls.get((path, token))
        if url is None:
            if len(self._urls) > 64:  # tokens of the past
                self._urls.clear()
            url = self._urls[(path, token)] = URL(self.base + path).with_query(access_token=token)
        return url

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _fresh(self, stale: str | None) -> str | None:
        """The cached token while it is good (not the refused one, not due for renewal), else None."""
        fresh = self._token is not None and self._token != stale and self._monotonic() < self._renew_at
        return self._token if fresh else None

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token; `stale` = a token the server just refused (forces one refresh, shared by all)."""
        if token := self._fresh(stale):
            return token
        arrived = self._token_attempts - int(self._lock.locked())  # a fetch in flight counts as after our arrival
        async with self._lock:
            if token := self._fresh(stale):
                return token
            self._raise_failure_since(arrived)
            self._token_attempts += 1
            try:  # several instances on PostgreSQL: one of them fetches, the token is kept in the database
                token, expires_in = await (self.shared.get(stale, self._fetch_token) if self.shared is not None
                                           else self._fetch_token())
            except WecomApiError as exc:
                self._token_failure = (self._token_attempts, exc)
                raise
            self._token_failure = None
            self._token = token
            self._renew_at = self._monotonic() + max(expires_in - self.renew_before_s, expires_in / 2)
            return self._token

    async def _fetch_token(self) -> tuple[str, float]:
        """gettoken → (token, seconds it is valid)."""
        body = await self._with_retries(
            "gettoken", lambda: self._http().get(
                self.base + "gettoken",
                params={"corpid": self.settings.corp_id, "corpsecret": self.settings.secret},
            ), _read_json,
        )
        self.token_fetches += 1
        return str(body["access_token"]), float(body.get("expires_in") or 7200)

    def _raise_failure_since(self, arrived: int) -> None:
        """Callers that queued behind a failed gettoken share its failure instead of each asking again (WeCom
        rate-limits gettoken; during an outage the outbox would ask once per delivery). A caller that arrives
        after the failure asks again: the admin may have fixed it meanwhile."""
        if self._token_failure is None:
            return
        attempt, exc = self._token_failure
        if attempt > arrived:
            raise WecomApiError(str(exc), errcode=exc.errcode, kind=exc.kind, retry_after=exc.retry_after)

    async def _with_retries(self, what: str, start: Callable[[], Any], read: Reader) -> Any:
        """One logical call without token handling: retries -1 / network errors, maps errcodes."""
        for attempt in range(len(self.retry_delays) + 1):
            try:
                result = await self._once(start, read)
            except _Retry as exc:
                if attempt < len(self.retry_delays):
                    await asyncio.sleep(self.retry_delays[attempt])
                    continue
                raise WecomApiError(f"WeCom {what}: {exc} (gave up after {attempt + 1} tries)") from None
            if isinstance(result, dict) and result.get("errcode", 0) == BUSY and attempt < len(self.retry_delays):
                await asyncio.sleep(self.retry_delays[attempt])
                continue
            if isinstance(result, dict) and result.get("errcode", 0) not in (0, None) and what == "gettoken":
                raise self._error(what, result)
            return result
        raise AssertionError("unreachable")

    async def _once(self, start: Callable[[], Any], read: Reader) -> Any:
        try:
            async with start() as resp:
                if resp.status >= 500:
                    raise _Retry(f"HTTP {resp.status}")
                return await read(resp)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retry(f"network error {type(exc).__name__}: {exc}") from None

    async def _call(self, what: str, start: Callable[[str], Any], read: Reader | None = None) -> Any:
        """A call that needs the token: refresh + retry once on token errors; errcode ≠ 0 → WecomApiError."""
        reader: Reader = read or _read_json
        blocked = self._blocked_until - self._monotonic()
        if blocked > 0:
            raise WecomApiError(f"WeCom {what}: app rate limited (45009), not calling for {blocked:.0f}s",
                                errcode=RATE_LIMITED, retry_after=blocked, counted=False)
        token = await self.access_token()
        for refreshed in (False, True):
            result = await self._with_retries(what, partial(start, token), reader)
            if not isinstance(result, dict):
                return result
            errcode = int(result.get("errcode", 0) or 0)
            if errcode in TOKEN_ERRORS and not refreshed:
                log.info("WeCom %s: token refused (%s); refreshing", what, errcode)
                token = await self.access_token(stale=token)
                continue
            if errcode != 0:
                error = self._error(what, result)
                if errcode == RATE_LIMITED and self.tell_others is not None:
                    await self.tell_others(self.app_key, RATE_LIMIT_BLOCK_S)  # every instance pauses
                raise error
            self._reported.clear()  # working again: a later config error is logged afresh
            return result
        raise AssertionError("unreachable")

    def _error(self, what: str, body: dict[str, Any]) -> WecomApiError:
        errcode = int(body.get("errcode", 0) or 0)
        errmsg = str(body.get("errmsg", ""))[:200]
        if errcode in FIX_HINTS:
            hint = FIX_HINTS[errcode]
            if errcode not in self._reported:
                self._reported.add(errcode)
                log.error("%s (WeCom %s said: %s)", hint, what, errmsg)
            return WecomApiError(hint, errcode=errcode, retry_after=CONFIG_RETRY_S, kind="needs_admin")
        if errcode == BUSY or errcode in TOKEN_ERRORS:
            return WecomApiError(f"WeCom {what}: errcode {errcode} {errmsg}", errcode=errcode)
        if errcode == RATE_LIMITED:
            self._blocked_until = self._monotonic() + RATE_LIMIT_BLOCK_S
            log.warning("WeCom %s: rate limited (45009); no calls for %.0f s", what, RATE_LIMIT_BLOCK_S)
            return WecomApiError(f"WeCom {what}: rate limited (45009)", errcode=errcode,
                                 retry_after=RATE_LIMIT_BLOCK_S)
        return WecomApiError(f"WeCom {what}: errcode {errcode} {errmsg}", errcode=errcode, permanent=True)

    # -- endpoints --------------------------------------------------------------------------
    async def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        # UTF-8 as is, compact: the same bytes as json.dumps(ensure_ascii=False, separators=(",", ":")), ~15× faster
        # (a 「帮助」 reply's body: 20 µs → 1.3 µs, once per message/send). aiohttp's json= would write every Chinese
        # character as a six-byte \uXXXX escape.
        body = orjson.dumps(payload)
        return await self._call(path, lambda t: self._http().post(self._url(path, t), data=body, headers=_JSON))

    async def oauth_userid(self, code: str) -> str | None:
        """网页授权 (OAuth2 in WeCom's browser): the member the redirect's `code` belongs to; None for a
        non-member (an outsider gets an openid, no userid). A code works once, for 5 minutes."""
        result = await self._call("auth/getuserinfo", lambda t: self._http().get(
            self.base + "auth/getuserinfo", params={"access_token": t, "code": code}))
        userid = result.get("userid") or result.get("UserId")
        return str(userid) if userid else None

    async def send_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST message/send. The caller inspects `invaliduser` (errcode 0 even when a user is unknown)."""
        return await self.post_json("message/send", {"agentid": self.settings.agent_id, **payload})

    async def update_template_card(self, userid: str, response_code: str, replace_name: str) -> dict[str, Any]:
        """Disable the clicked card's buttons with a status text. A response code works once, within 72 h."""
        payload = {
            "userids": [userid],
            "agentid": self.settings.agent_id,
            "response_code": response_code,
            "button": {"replace_name": replace_name},
        }
        return await self.post_json("message/update_template_card", payload)

    async def media_get(self, media_id: str, max_bytes: int) -> Media:
        async def read(resp: aiohttp.ClientResponse) -> Any:
            if resp.status != 200:
                raise WecomApiError(f"WeCom media/get: HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise MediaTooLarge(max_bytes)
            chunks, size = [], 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(max_bytes)
                chunks.append(chunk)
            data = b"".join(chunks)
            # An error is JSON with a non-zero errcode, whatever the Content-Type says; anything else is the file.
            if (error := _errcode_json(data)) is not None:
                return error
            return Media(data, resp.headers.get("Content-Type", ""),
                         _file_name(resp.headers.get("Content-Disposition", "")))

        return await self._call(
            "media/get",
            lambda t: self._http().get(self.base + "media/get", params={"access_token": t, "media_id": media_id}),
            read,
        )

    async def media_upload(self, data: bytes, file_name: str, media_type: str = "image") -> str:
        def start(token: str) -> Any:
            form = aiohttp.FormData()
            form.add_field("media", data, filename=file_name, content_type="application/octet-stream")
            return self._http().post(self.base + "media/upload", params={"access_token": token, "type": media_type},
                                     data=form)

        body = await self._call("media/upload", start)
        media_id = str(body.get("media_id", ""))
        if not media_id:
            raise WecomApiError("WeCom media/upload returned no media_id", permanent=True)
        return media_id


async def _read_json(resp: aiohttp.ClientResponse) -> Any:
    data = await resp.read()
    try:  # whatever the Content-Type says; JSON is UTF-8 (json.loads reads the bytes as they are)
        body = json.loads(data) if data.strip() else None
    except ValueError:
        if 400 <= resp.status < 500 and resp.status not in (408, 429):  # a proxy's or gateway's refusal page:
            raise WecomApiError(f"HTTP {resp.status}: not JSON", kind="permanent") from None  # same answer again
        raise _Retry(f"HTTP {resp.status}: not JSON") from None
    if not isinstance(body, dict):
        raise _Retry(f"HTTP {resp.status}: unexpected JSON")
    return body


def _errcode_json(data: bytes) -> dict[str, Any] | None:
    """WeCom's error answer ({"errcode": 40007, ...}) when `data` is one, else None."""
    if len(data) > 4096 or not data.lstrip().startswith(b"{"):
        return None
    try:
        body = json.loads(data)
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("errcode") not in (None, 0) else None


def _file_name(disposition: str) -> str:
    """filename="a.png" from a Content-Disposition header ('' when absent)."""
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename":
            return value.strip().strip('"')
    return ""
