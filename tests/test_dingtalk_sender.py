"""DingtalkSender + DingtalkApi against the fake DingTalk API: token cache/refresh, one-to-one and
group sends, cards and updates, images, errors mapped to retry/dead-letter, repeats and throttling."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from app.runtime import build_services
from bot.channels.dingtalk.api import DingtalkApiError
from bot.channels.dingtalk.sender import DingtalkSender, UserThrottle
from bot.clock import ManualClock
from bot.config import DingtalkSettings, Settings
from bot.delivery import DeliveryError
from bot.messages import Button, Card, CardUpdate, Field, Image, Markdown, Outbound, Text
from bot.outbox import enqueue
from tests.fakes.dingtalk_api import CLIENT_ID, CLIENT_SECRET, FakeDingtalk


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingtalk]:
    server = FakeDingtalk()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def sender(fake: FakeDingtalk) -> AsyncIterator[DingtalkSender]:
    s = DingtalkSender(DingtalkSettings(mode="stream", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                        robot_code="robot-1", api_base=fake.base_url, oapi_base=fake.base_url))
    yield s
    await s.close()


async def test_token_is_cached_and_refreshed_on_invalid_authentication(fake: FakeDingtalk,
                                                                     sender: DingtalkSender) -> None:
    await sender.deliver("rep01", Text("一"), dedup_key="k1")
    await sender.deliver("rep02", Text("二"), dedup_key="k2")
    assert len(fake.calls("token")) == 1
    fake.expire_tokens()
    result = await sender.deliver("rep01", Text("三"), dedup_key="k3")
    assert result["processQueryKey"].startswith("pqk-")
    assert len(fake.calls("token")) == 2
    assert [c.body["_status"] for c in fake.calls("batchSend")] == [200, 200, 400, 200]
    body = fake.calls("batchSend")[-1].body
    assert (body["robotCode"], body["userIds"], body["msgKey"]) == ("robot-1", ["rep01"], "sampleText")
    assert json.loads(body["msgParam"]) == {"content": "三"}


async def test_bad_credentials_wait_for_the_admin(fake: FakeDingtalk, caplog: pytest.LogCaptureFixture) -> None:
    """A wrong or rotated AppSecret: messages wait (attempts not used up) and one ERROR line names the fix."""
    s = DingtalkSender(DingtalkSettings(client_id=CLIENT_ID, client_secret="wrong", api_base=fake.base_url))
    for key in ("k1", "k2"):
        with pytest.raises(DeliveryError) as err:
            await s.deliver("rep01", Text("hi"), dedup_key=key)
        assert not err.value.permanent and not err.value.counted and (err.value.retry_after or 0) >= 300
        assert "invalidClientIdOrSecret" in str(err.value)
    assert sum("client_secret" in r.getMessage() for r in caplog.records if r.levelname == "ERROR") == 1
    await s.close()


async def test_flow_control_waits_without_using_up_attempts(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    fake.flow_controlled.add("rep01")
    with pytest.raises(DeliveryError) as err:
        await sender.deliver("rep01", Text("hi"), dedup_key="k")
    assert not err.value.permanent and not err.value.counted and (err.value.retry_after or 0) >= 60


async def test_server_errors_retry_and_throttling_waits(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    fake.fail("batchSend", status=503)
    with pytest.raises(DeliveryError) as err:
        await sender.deliver("rep01", Text("hi"), dedup_key="k")
    assert not err.value.permanent
    fake.fail("batchSend", status=403, body={"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"})
    with pytest.raises(DeliveryError) as err:
        await sender.deliver("rep01", Text("hi"), dedup_key="k")
    assert not err.value.permanent and err.value.retry_after == 60.0
    fake.fail("batchSend", status=400, body={"code": "param.error", "message": "bad msgParam"})
    with pytest.raises(DeliveryError) as err:
        await sender.deliver("rep01", Text("hi"), dedup_key="k")
    assert err.value.permanent


async def test_unknown_staff_id_is_dead_lettered(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    fake.invalid_users.add("ghost")
    with pytest.raises(DeliveryError) as err:
        await sender.deliver("ghost", Text("hi"), dedup_key="k")
    assert err.value.permanent


async def test_unreachable_api_is_retryable() -> None:
    s = DingtalkSender(DingtalkSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                        api_base="http://127.0.0.1:9"))
    with pytest.raises(DeliveryError) as err:
        await s.deliver("rep01", Text("hi"), dedup_key="k")
    assert not err.value.permanent
    await s.close()


async def test_group_recipient_uses_group_messages(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    await sender.deliver("group:cidABC==", Markdown(title="日报", text="| a | b |\n|--|--|\n| 1 | 2 |"),
                         dedup_key="g1")
    body = fake.calls("groupSend")[0].body
    assert body["openConversationId"] == "cidABC==" and body["msgKey"] == "sampleMarkdown"
    assert json.loads(body["msgParam"]) == {"title": "日报", "text": "- a：1，b：2"}
    card = Card(title="t", buttons=(Button("x:1", "好"),))
    await sender.deliver("group:cidABC==", card, dedup_key="g2")
    assert fake.calls("cardSend")[0].body["openConversationId"] == "cidABC=="


async def through_new_process(fake: FakeDingtalk, settings: Settings, clock: ManualClock,
                              *messages: Outbound) -> None:
    """Deliver `messages` from a fresh process (`build_services`, as `salesbot serve` wires it) on the same database."""
    sender = DingtalkSender(DingtalkSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                             api_base=fake.base_url))
    services = await build_services(settings, clock, {"dingtalk": sender}, seed=False)
    try:
        async with services.db.session() as session:
            await enqueue(session, messages, clock.now(), "dingtalk")
        await services.outbox.drain()
    finally:
        await sender.close()
        await services.db.dispose()


def reminder(key: str, to: str = "rep01") -> Outbound:
    return Outbound(to=to, body=Text("请跟进线索 #7"), channel="dingtalk", dedup_key=key)


async def test_repeated_content_is_tagged_across_a_restart(fake: FakeDingtalk, settings: Settings,
                                                             clock: ManualClock) -> None:
    """Same words to the same person within a day after a restart: still tagged, so DingTalk shows it."""
    await through_new_process(fake, settings, clock, reminder("rem:7:1"), reminder("rem:7:3", to="rep02"))
    clock.advance(timedelta(hours=5))
    await through_new_process(fake, settings, clock, reminder("rem:7:2"))
    contents = [m["content"] for m in fake.sent_to("rep01")]
    assert contents[0] == "请跟进线索 #7"
    assert contents[1].startswith("请跟进线索 #7\n#") and contents[1] != contents[0]
    assert [m["content"] for m in fake.sent_to("rep02")] == ["请跟进线索 #7"]  # another user: untouched
    assert fake.same_content_dropped == 0
    clock.advance(timedelta(hours=25))  # more than a day later the words are new again
    await through_new_process(fake, settings, clock, reminder("rem:7:4"))
    assert [m["content"] for m in fake.sent_to("rep01")][2:] == ["请跟进线索 #7"]


async def test_card_update_after_a_restart_keeps_the_card(fake: FakeDingtalk, settings: Settings,
                                                         clock: ManualClock) -> None:
    card = Card(title="线索超时未跟进", fields=(Field("客户", "王总"),), buttons=(Button("esc:take:7", "接手"),),
                card_id="esc7")
    await through_new_process(fake, settings, clock,
                              Outbound(to="manager01", body=card, channel="dingtalk", dedup_key="esc:7"))
    biz_id = fake.calls("cardSend")[0].body["cardBizId"]
    await through_new_process(fake, settings, clock,  # the process restarted before the click
                              Outbound(to="manager01", body=CardUpdate(card_ref=biz_id, text="已由 王经理 接手"),
                                       channel="dingtalk", dedup_key="upd:1"))
    update = fake.calls("cardUpdate")[0].body
    data = json.loads(update["cardData"])
    assert update["cardBizId"] == biz_id
    assert data["header"]["title"]["text"] == "线索超时未跟进"
    assert "**客户**：王总" in data["contents"][0]["text"]
    assert data["contents"][-1]["text"] == "**已由 王经理 接手**"


async def test_update_of_a_group_card_addressed_to_the_clicker_keeps_the_card(
    fake: FakeDingtalk, settings: Settings, clock: ManualClock,
) -> None:
    """The card went to a group, the click's update goes to the member who clicked: still rebuilt from the card."""
    card = Card(title="团队日报", fields=(Field("超时", "2"),), buttons=(Button("kb:more:1", "换一个"),), card_id="d1")
    mine = Card(title="别的卡片", buttons=(Button("x:1", "好"),), card_id="d2")
    await through_new_process(fake, settings, clock,
                              Outbound(to="group:cid-1", body=card, channel="dingtalk", dedup_key="g1"),
                              Outbound(to="manager01", body=mine, channel="dingtalk", dedup_key="m1"))
    biz_id = fake.calls("cardSend")[0].body["cardBizId"]
    await through_new_process(fake, settings, clock,
                              Outbound(to="manager01", body=CardUpdate(card_ref=biz_id, text="已换一张"),
                                       channel="dingtalk", dedup_key="upd:g1"))
    data = json.loads(fake.calls("cardUpdate")[0].body["cardData"])
    assert data["header"]["title"]["text"] == "团队日报"


async def test_card_update_without_remembered_card_still_updates(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    fake.cards.add("sbOLD")  # sent by an older version, which kept no copy of it
    await sender.deliver("manager01", CardUpdate(card_ref="sbOLD", text="已延期"), dedup_key="u1")
    body = fake.calls("cardUpdate")[0].body
    assert body["cardBizId"] == "sbOLD"
    assert json.loads(body["cardData"])["contents"][-1]["text"] == "**已延期**"


async def test_image_is_uploaded_then_sent(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    await sender.deliver("rep01", Image(data=b"PNGDATA", file_name="chart.png"), dedup_key="i1")
    upload = fake.calls("upload")[0].body
    assert upload["media"] == b"PNGDATA" and upload["type"] == "image"
    assert fake.sent_to("rep01") == [{"msgKey": "sampleImageMsg", "photoURL": "@media-1"}]


async def test_image_caption_follows_as_text(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    await sender.deliver("manager01", Image(data=b"PNG", file_name="funnel.png", caption="本周销售漏斗"),
                         dedup_key="i2")
    assert fake.sent_to("manager01") == [{"msgKey": "sampleImageMsg", "photoURL": "@media-1"},
                                         {"msgKey": "sampleText", "content": "本周销售漏斗"}]


async def test_per_user_throttle(fake: FakeDingtalk) -> None:
    now = [1000.0]
    s = DingtalkSender(DingtalkSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base=fake.base_url,
                                        per_user_per_minute=2))
    s.throttle = UserThrottle(2, now=lambda: now[0])
    await s.deliver("rep01", Text("1"), dedup_key="a")
    now[0] += 10
    await s.deliver("rep01", Text("2"), dedup_key="b")
    with pytest.raises(DeliveryError) as err:
        await s.deliver("rep01", Text("3"), dedup_key="c")
    assert err.value.retry_after == pytest.approx(50.0) and not err.value.permanent
    await s.deliver("rep02", Text("3"), dedup_key="d")  # other recipients are not held up
    now[0] += 50
    await s.deliver("rep01", Text("3"), dedup_key="c")
    assert [m["content"] for m in fake.sent_to("rep01")] == ["1", "2", "3"]
    await s.close()


async def test_download_limits(fake: FakeDingtalk, sender: DingtalkSender) -> None:
    fake.files["big"] = b"x" * 2000
    assert await sender.api.download("big", 2000) == b"x" * 2000
    with pytest.raises(DingtalkApiError) as err:
        await sender.api.download("big", 1999)
    assert err.value.code == "too_large"
