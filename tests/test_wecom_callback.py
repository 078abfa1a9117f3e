"""/wecom/callback end to end: create_app + TestClient, callbacks from the independent encryptor,
replies observed at the fake WeCom API's message/send."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.server import METRICS, SERVICES, TASKS, create_app
from bot.channels.wecom.callback import WECOM
from bot.channels.wecom.parse import parse_message
from bot.channels.wecom.sender import WecomSender
from bot.clock import ManualClock
from bot.config import Settings, WecomSettings
from tests.conftest import ENGINES
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, encrypt, event_xml, image_xml, signature, text_xml
from tests.waiting import until

TOKEN, AES_KEY = "cbToken123", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@dataclass
class Harness:
    client: TestClient
    fake: FakeWecom
    clock: ManualClock
    cb: CallbackBuilder
    ids: Any

    @property
    def now(self) -> int:
        return int(self.clock.now().timestamp())

    @property
    def metrics(self) -> Any:
        return self.client.app[METRICS]  # type: ignore[index]

    async def post(self, plaintext: str, **kw: Any) -> Any:
        ts = kw.pop("timestamp", self.now)
        query, body = self.cb.post(plaintext, ts, **kw)
        return await self.client.post(f"/wecom/callback?{query}", data=body)

    async def text(self, user: str, content: str, msg_id: int | None = None) -> Any:
        return await self.post(text_xml(self.fake.corp_id, user, content, msg_id or next(self.ids), self.now))

    async def settle(self) -> None:
        """Background jobs done and the outbox drained."""
        app = self.client.app
        assert app is not None
        await app[TASKS].join()
        outbox = app[SERVICES].outbox
        # The app's own outbox loop runs too: a row it holds ("sending") blocks the recipient's later rows
        # for our drain, so wait until nothing due is left.
        for _ in range(2000):
            await outbox.drain()
            if not await self.open_rows():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("outbox did not drain")

    async def open_rows(self) -> int:
        from sqlalchemy import func, select

        from storage.models import OutboxMessage

        app = self.client.app
        assert app is not None
        services = app[SERVICES]
        async with services.db.session() as session:
            stmt = select(func.count()).where(OutboxMessage.status.in_(("pending", "sending")),
                                              OutboxMessage.next_attempt_at <= services.clock.now())
            return int((await session.execute(stmt)).scalar_one())

    async def wait_for(self, cond: Callable[[], bool]) -> None:
        await until(cond, timeout_s=10, every_s=0.005)


async def start(settings: Settings, fake: FakeWecom, clock: ManualClock, wecom: WecomSettings) -> TestClient:
    s = replace(settings, wecom=wecom)
    app = await create_app(s, clock=clock, channels={"wecom": WecomSender(s.wecom, retry_delays=(0, 0, 0))},
                           engines=ENGINES)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    async with FakeWecom(corp_id="wwtestcorp0001") as server:
        yield server


@pytest.fixture
async def h(settings: Settings, fake: FakeWecom, clock: ManualClock) -> AsyncIterator[Harness]:
    wecom = WecomSettings(corp_id=fake.corp_id, agent_id=1000002, secret=fake.secret, token=TOKEN,
                          encoding_aes_key=AES_KEY, api_base=fake.base_url)
    client = await start(settings, fake, clock, wecom)
    import itertools

    yield Harness(client, fake, clock, CallbackBuilder(TOKEN, AES_KEY, fake.corp_id), itertools.count(7_000_000))
    await client.close()


# -- happy paths ------------------------------------------------------------------------------
async def test_url_verification(h: Harness) -> None:
    resp = await h.client.get(f"/wecom/callback?{h.cb.url_check('1616140317555161061', h.now)}")
    assert resp.status == 200 and await resp.text() == "1616140317555161061"
    assert resp.content_type == "text/plain"


async def test_official_vector_over_http(settings: Settings, fake: FakeWecom) -> None:
    """Vector #1 (sbzhu/weworkapi_php Sample.php) with the clock at the vector's own time."""
    from tests.test_wecom_crypto import V1_ECHO, V1_POST

    clock = ManualClock(datetime.fromtimestamp(1409659813, UTC))
    wecom = WecomSettings(corp_id="wx5823bf96d3bd56c7", agent_id=218, secret=fake.secret, token="QDG6eK",
                          encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", api_base=fake.base_url)
    fake.corp_id = "wx5823bf96d3bd56c7"
    client = await start(settings, fake, clock, wecom)
    try:
        q = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
             "nonce": "263014780", "echostr": V1_ECHO}
        resp = await client.get("/wecom/callback", params=q)
        assert (resp.status, await resp.text()) == (200, "1616140317555161061")
        q = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
             "nonce": "1372623149"}
        resp = await client.post("/wecom/callback", params=q, data=V1_POST.encode())
        assert resp.status == 200 and await resp.read() == b""
        h = Harness(client, fake, clock, CallbackBuilder("QDG6eK", "", ""), iter(()))
        await h.settle()
        assert fake.texts_to("mycreate")  # "hello" from an auto-registered user got an answer
    finally:
        await client.close()


async def test_help_reaches_message_send(h: Harness) -> None:
    resp = await h.text("rep01", "帮助")
    assert resp.status == 200 and await resp.read() == b""
    await h.wait_for(lambda: bool(h.fake.texts_to("rep01")))  # the running app's outbox loop delivers on its own
    (body,) = [b for b in h.fake.sent if b["touser"] == "rep01"]
    assert body["touser"] == "rep01" and body["msgtype"] == "markdown"
    assert "销售助手能帮你做什么" in body["markdown"]["content"]
    assert h.metrics["wecom_accepted"] == 1


@pytest.mark.parametrize(("user", "role", "shown", "not_shown"), [
    ("rep01", "销售", "发客户聊天截图", "团队线索"),
    ("manager01", "主管", "团队线索", "导入话术知识库"),
    ("admin01", "管理员", "导入话术知识库", "团队线索"),
])
async def test_enter_agent_welcome_fits_the_role(h: Harness, user: str, role: str, shown: str,
                                                 not_shown: str) -> None:
    resp = await h.post(event_xml(h.fake.corp_id, user, "enter_agent", h.now, EventKey=""))
    assert resp.status == 200
    await h.settle()
    (text,) = [t for t in h.fake.texts_to(user) if "欢迎" in t]  # (admins may also get start-up notices)
    assert f"（{role}）" in text and "帮助" in text
    assert shown in text and not_shown not in text


async def test_same_callback_three_times_handled_once(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    plain = text_xml(h.fake.corp_id, "rep02", "帮助", 99, h.now)
    statuses = [(await h.post(plain)).status for _ in range(3)]
    await h.settle()
    assert statuses == [200, 200, 200]
    assert len(h.fake.texts_to("rep02")) == 1
    assert h.metrics["wecom_duplicates"] == 2
    assert sum("wecom duplicate" in r.getMessage() for r in caplog.records) == 2


async def test_same_click_event_three_times_handled_once(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    plain = event_xml(h.fake.corp_id, "rep03", "template_card_event", h.now, EventKey="nosuch:1",
                      TaskId="t-1", CardType="button_interaction", ResponseCode="rc-1")
    for _ in range(3):
        assert (await h.post(plain)).status == 200
    await h.settle()
    assert len(h.fake.texts_to("rep03")) == 1  # unknown button → one short answer
    assert h.metrics["wecom_duplicates"] == 2
    assert sum("wecom duplicate" in r.getMessage() for r in caplog.records) == 2


async def test_messages_from_one_user_in_order(h: Harness) -> None:
    for word in ("帮助", "help", "菜单"):
        assert (await h.text("rep04", word)).status == 200
    await h.settle()
    assert len(h.fake.texts_to("rep04")) == 3


# -- bad input --------------------------------------------------------------------------------
async def test_forged_signature(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    query, body = h.cb.post(text_xml(h.fake.corp_id, "rep01", "帮助", 1, h.now), h.now)
    forged = query.replace("msg_signature=", "msg_signature=0")
    resp = await h.client.post(f"/wecom/callback?{forged}", data=body)
    assert resp.status == 403 and await resp.read() == b""
    resp = await h.client.post("/wecom/callback", data=body)  # no signature at all
    assert resp.status == 403 and await resp.read() == b""
    resp = await h.client.post("/wecom/callback", data=b"<!DOCTYPE x><xml/>")  # unsigned, whatever the body
    assert resp.status == 403
    resp = await h.client.get("/wecom/callback?msg_signature=x&timestamp=1&nonce=2&echostr=abc")
    assert resp.status == 403
    assert h.metrics["wecom_rejected_signature"] == 4
    assert any("rejected_signature" in r.getMessage() for r in caplog.records)
    await h.settle()
    assert h.fake.texts_to("rep01") == []  # (admins may get start-up notices)


async def test_stale_timestamp_is_a_replay(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    resp = await h.post(text_xml(h.fake.corp_id, "rep01", "帮助", 5, h.now), timestamp=h.now - 301)
    assert resp.status == 403
    resp = await h.post(text_xml(h.fake.corp_id, "rep01", "帮助", 6, h.now), timestamp=h.now + 3600)
    assert resp.status == 403
    assert h.metrics["wecom_rejected_stale"] == 2 and _logged(caplog, "rejected_stale")


async def test_a_flood_of_forged_callbacks_is_counted_not_logged_line_by_line(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Audit 20 L1: 2,000 forged posts wrote 2,000 WARNING lines. Each is still refused and counted; the log says
    the first, and the next line of that kind (a minute later) how many came in between."""
    caplog.set_level(logging.WARNING)
    for i in range(40):
        resp = await h.post(text_xml(h.fake.corp_id, "rep01", "帮助", 900 + i, h.now), timestamp=h.now - 301)
        assert resp.status == 403
    assert h.metrics["wecom_rejected_stale"] == 40
    assert sum(_logged_record(r, "rejected_stale") for r in caplog.records) == 1


async def test_wrong_corp_id_inside_envelope(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    resp = await h.post(text_xml(h.fake.corp_id, "rep01", "帮助", 7, h.now), receive_id="wwSomeoneElse")
    assert resp.status == 403 and h.metrics["wecom_rejected_corp"] == 1 and _logged(caplog, "rejected_corp")


async def test_envelope_addressed_to_another_corp_or_app(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """The ciphertext is ours, but the envelope names another corp or another app: refused, not handled."""
    caplog.set_level(logging.WARNING)
    plain = text_xml(h.fake.corp_id, "rep01", "帮助", 77, h.now)
    for builder in (CallbackBuilder(TOKEN, AES_KEY, "wwSomeoneElse"), CallbackBuilder(TOKEN, AES_KEY, h.fake.corp_id,
                                                                                       agent_id=999)):
        query, body = builder.post(plain, h.now, receive_id=h.fake.corp_id)
        resp = await h.client.post(f"/wecom/callback?{query}", data=body)
        assert resp.status == 403
    assert h.metrics["wecom_rejected_corp"] == 2 and _logged(caplog, "rejected_corp")
    await h.settle()
    assert h.fake.texts_to("rep01") == []


async def test_truncated_base64(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    enc = encrypt(AES_KEY, text_xml(h.fake.corp_id, "rep01", "帮助", 8, h.now), h.fake.corp_id)
    resp = await h.post("", encrypt_override=enc[:-7])  # signed as sent, so it passes the signature check
    assert resp.status == 400 and _logged(caplog, "bad_request")


async def test_non_xml_body(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ts = str(h.now)
    sig = signature(TOKEN, ts, "1", "x")
    resp = await h.client.post(f"/wecom/callback?msg_signature={sig}&timestamp={ts}&nonce=1", data=b"not xml at all")
    assert resp.status == 400
    resp = await h.post("this decrypts fine but is not XML")
    assert resp.status == 400
    assert h.metrics["wecom_bad_request"] == 2
    assert sum(_logged_record(r, "bad_request") for r in caplog.records) == 1  # the second within a minute: counted


async def test_doctype_and_entities_refused(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ts = str(h.now)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<xml><Encrypt>&b;</Encrypt></xml>")
    resp = await h.client.post(f"/wecom/callback?msg_signature=x&timestamp={ts}&nonce=1", data=bomb)
    assert resp.status == 400
    inner = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><MsgType>text</MsgType>' \
            "<FromUserName>rep01</FromUserName><Content>&x;</Content><MsgId>9</MsgId></xml>"
    resp = await h.post(inner)
    assert resp.status == 400
    assert h.metrics["wecom_unsafe_xml"] == 2
    assert sum(_logged_record(r, "unsafe_xml") for r in caplog.records) == 1  # the second within a minute: counted


_BOMB = ('<?xml version="1.0" encoding="{enc}"?><!DOCTYPE x [<!ENTITY a "{a}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
         '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Encrypt>&c;&c;&c;&c;&c;&c;&c;&c;</Encrypt></xml>')


@pytest.mark.parametrize("body", [
    pytest.param(_BOMB.format(enc="utf-16", a="a" * 64).encode("utf-16"), id="utf16-bom"),
    pytest.param(_BOMB.format(enc="utf-16", a="a" * 64).encode("utf-16-le"), id="utf16le-no-bom"),
    pytest.param(_BOMB.format(enc="utf-16", a="a" * 64).encode("utf-16-be"), id="utf16be-no-bom"),
    pytest.param(_BOMB.format(enc="utf-32", a="a" * 64).encode("utf-32"), id="utf32"),
    pytest.param(b"\xef\xbb\xbf" + _BOMB.format(enc="utf-8", a="a").encode(), id="utf8-bom"),
    pytest.param(_BOMB.format(enc="iso-8859-1", a="a").encode("latin-1"), id="latin1"),
    pytest.param(b'<?xml version="1.0" encoding="x-foo"?><xml><Encrypt>e</Encrypt></xml>', id="unknown-encoding"),
    pytest.param(b'<?xml version="1.0" encoding="utf-7"?><xml><Encrypt>e</Encrypt></xml>', id="utf7"),
    pytest.param('<?xml version="1.0" encoding="utf-32"?><xml><Encrypt>e</Encrypt></xml>'.encode("utf-32"),
                 id="utf32-no-dtd"),
])
async def test_other_encodings_refused_before_parsing(h: Harness, caplog: pytest.LogCaptureFixture,
                                                      body: bytes) -> None:
    """Only UTF-8 without BOM: another encoding must not smuggle a DOCTYPE past the filter (or crash: 500)."""
    caplog.set_level(logging.WARNING)
    resp = await h.client.post(f"/wecom/callback?msg_signature=x&timestamp={h.now}&nonce=1", data=body)
    assert resp.status == 400 and await resp.read() == b""
    assert h.metrics["wecom_bad_request"] + h.metrics["wecom_unsafe_xml"] == 1
    assert _logged(caplog, "bad_request") or _logged(caplog, "unsafe_xml")


async def test_other_encoding_inside_the_ciphertext_refused(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    inner = text_xml(h.fake.corp_id, "rep01", "帮助", 9, h.now)
    resp = await h.post('<?xml version="1.0" encoding="x-foo"?>' + inner)
    assert resp.status == 400 and _logged(caplog, "bad_request")
    await h.settle()
    assert h.fake.texts_to("rep01") == []


def test_cdata_may_contain_markup_like_text() -> None:
    """A rep pasting "<!DOCTYPE html>" into a chat is a normal message, not an attack."""
    msg = parse_message(text_xml("c", "rep01", "<!DOCTYPE html> 是什么", 1, 1))
    assert msg.get("Content") == "<!DOCTYPE html> 是什么"


def _logged(caplog: pytest.LogCaptureFixture, name: str) -> bool:
    return any(_logged_record(r, name) for r in caplog.records)


def _logged_record(record: logging.LogRecord, name: str) -> bool:
    return f"wecom callback {name} " in record.getMessage()


async def test_ten_megabyte_body(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ts = str(h.now)
    body = b"<xml><Encrypt>" + b"A" * (10 * 1024 * 1024) + b"</Encrypt></xml>"
    resp = await h.client.post(f"/wecom/callback?msg_signature=x&timestamp={ts}&nonce=1", data=body)
    assert resp.status == 413  # answered at the HTTP edge (app/edge.py), before the channel
    assert h.metrics["edge_too_large"] == 1 and "body over 1024 KB" in caplog.text


async def test_unknown_msg_type_gets_a_clear_reply(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    video = (f"<xml><ToUserName>{h.fake.corp_id}</ToUserName><FromUserName>rep01</FromUserName>"
             f"<CreateTime>{h.now}</CreateTime><MsgType>video</MsgType><MediaId>v1</MediaId>"
             "<ThumbMediaId>t1</ThumbMediaId><MsgId>4242</MsgId><AgentID>1000002</AgentID></xml>")
    assert (await h.post(video)).status == 200
    await h.settle()
    (text,) = h.fake.texts_to("rep01")
    assert "暂不支持" in text
    assert any("wecom video message from rep01 is not supported" in r.getMessage() for r in caplog.records)


async def test_unknown_event_is_acknowledged_silently(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    resp = await h.post(event_xml(h.fake.corp_id, "rep01", "subscribe", h.now))
    assert resp.status == 200
    await h.settle()
    assert h.fake.texts_to("rep01") == [] and h.metrics["wecom_events_ignored"] == 1
    assert any("wecom event 'subscribe' from rep01 ignored" in r.getMessage() for r in caplog.records)


async def test_busy_pool_answers_503_without_claiming(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    app = h.client.app
    assert app is not None
    app[TASKS].max_pending = 0
    plain = text_xml(h.fake.corp_id, "rep05", "帮助", 555, h.now)
    assert (await h.post(plain)).status == 503  # WeCom will retry
    assert _logged(caplog, "busy")
    app[TASKS].max_pending = 100
    assert (await h.post(plain)).status == 200  # the retry is handled: nothing was claimed the first time
    await h.settle()
    assert len(h.fake.texts_to("rep05")) == 1


@pytest.mark.parametrize(("stored", "expected", "log_line"), [
    (None, "download_failed", "download failed"),
    ((b'{"not": "an image"}', "application/octet-stream", "x.jpg"), "not_image", "is not an image"),
    ((PNG, "image/png", "shot.png"), None, None),
])
async def test_image_download(h: Harness, caplog: pytest.LogCaptureFixture, stored: Any, expected: str | None,
                              log_line: str | None) -> None:
    caplog.set_level(logging.WARNING)
    if stored is not None:
        h.fake.media["MEDIA1"] = stored
    msg = parse_message(image_xml(h.fake.corp_id, "rep01", "MEDIA1", 31, h.now))
    app = h.client.app
    assert app is not None
    inbound = await app[WECOM].to_inbound(msg)
    assert (inbound.kind, inbound.data_error) == ("image", expected)
    media_logs = [r.getMessage() for r in caplog.records if "wecom media MEDIA1" in r.getMessage()]
    assert all(log_line in m for m in media_logs) and bool(media_logs) == (log_line is not None)
    assert inbound.data == (PNG if expected is None else None)
    # Through the callback too: the user gets an answer (never silence, never a crash).
    assert (await h.post(image_xml(h.fake.corp_id, "rep01", "MEDIA1", 32, h.now))).status == 200
    await h.settle()
    assert h.fake.texts_to("rep01")


async def test_click_and_file_inbound_fields(h: Harness) -> None:
    app = h.client.app
    assert app is not None
    click = parse_message(event_xml(h.fake.corp_id, "manager01", "template_card_event", h.now,
                                    EventKey="esc:take:12", TaskId="esc_12-ab", ResponseCode="RC77"))
    inbound = await app[WECOM].to_inbound(click)
    assert (inbound.kind, inbound.click_key, inbound.card_ref) == ("click", "esc:take:12", "RC77")
    h.fake.media["F1"] = (b"id,title\n1,x\n", "text/csv", "cards.csv")
    f = parse_message(f"<xml><FromUserName>admin01</FromUserName><CreateTime>{h.now}</CreateTime>"
                      "<MsgType>file</MsgType><MediaId>F1</MediaId><FileName>cards.csv</FileName>"
                      "<MsgId>77</MsgId></xml>")
    inbound = await app[WECOM].to_inbound(f)
    assert (inbound.kind, inbound.file_name, inbound.data) == ("file", "cards.csv", b"id,title\n1,x\n")
    pdf = parse_message(f"<xml><FromUserName>admin01</FromUserName><CreateTime>{h.now}</CreateTime>"
                        "<MsgType>file</MsgType><MediaId>F2</MediaId><FileName>报价.pdf</FileName>"
                        "<MsgId>78</MsgId></xml>")
    h.fake.media["F2"] = (b"%PDF-1.4 contract", "application/pdf", "报价.pdf")
    inbound = await app[WECOM].to_inbound(pdf)  # downloaded too: the router decides
    assert (inbound.kind, inbound.data, inbound.data_error) == ("file", b"%PDF-1.4 contract", None)
