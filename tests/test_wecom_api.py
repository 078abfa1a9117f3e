"""The WeCom API client and sender against the fake WeCom server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bot.channels.wecom import render
from bot.channels.wecom.api import MediaTooLarge, WecomApi, WecomApiError
from bot.channels.wecom.sender import Throttle, WecomSender
from bot.config import WecomSettings
from bot.delivery import DeliveryError
from bot.messages import Button, Card, CardUpdate, Field, Image, Markdown, Text
from tests.fakes.wecom_api import FakeWecom, strip_marker

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    async with FakeWecom() as server:
        yield server


def wecom_settings(fake: FakeWecom, secret: str | None = None) -> WecomSettings:
    return WecomSettings(corp_id=fake.corp_id, agent_id=1000002, secret=secret or fake.secret, token="t",
                         encoding_aes_key="k" * 43, api_base=fake.base_url)


@pytest.fixture
async def sender(fake: FakeWecom) -> AsyncIterator[WecomSender]:
    s = WecomSender(wecom_settings(fake), retry_delays=(0, 0, 0))
    yield s
    await s.close()


class Tick:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_token_cached_and_single_flight(fake: FakeWecom, sender: WecomSender) -> None:
    await asyncio.gather(*(sender.deliver(f"rep0{i % 5 + 1}", Text(f"hi {i}"), dedup_key=f"k{i}") for i in range(20)))
    assert fake.token_fetches == 1
    assert len(fake.sent) == 20
    assert all(r.query["access_token"] == "tok1" for r in fake.calls("message/send"))


@pytest.mark.parametrize(("kind", "tries"), [("untrusted_ip", 1), ("busy", 4)])
async def test_a_failed_token_fetch_is_shared_by_everyone_waiting(fake: FakeWecom, kind: str, tries: int) -> None:
    """WeCom rate-limits gettoken: 30 sends waiting for one failing fetch must not each fetch again."""
    fake.fail("gettoken", kind)
    api = WecomApi(wecom_settings(fake), retry_delays=(0, 0, 0))
    results = await asyncio.gather(*(api.access_token() for _ in range(30)), return_exceptions=True)
    assert all(isinstance(r, WecomApiError) for r in results)
    assert len(fake.calls("gettoken")) == tries  # one fetch (with its own retries), its failure shared
    fake.faults.clear()
    assert await api.access_token()  # a caller arriving after the failure asks again
    await api.close()


async def test_token_renewed_early(fake: FakeWecom) -> None:
    fake.expires_in = 400
    tick = Tick()
    api = WecomApi(wecom_settings(fake), retry_delays=(0,), renew_before_s=300, monotonic=tick)
    first = await api.access_token()
    tick.t += 190
    assert await api.access_token() == first  # still well inside its life
    tick.t += 20  # 210 s of 400: renewed before it runs out (half its life, or 300 s early for 2 h tokens)
    assert await api.access_token() != first
    assert fake.token_fetches == 2
    await api.close()


@pytest.mark.parametrize("kind", ["token_expired", "token_invalid"])
async def test_token_refused_refreshes_and_retries_once(fake: FakeWecom, sender: WecomSender, kind: str) -> None:
    await sender.deliver("rep01", Text("one"), dedup_key="a")
    fake.fail("message/send", kind, times=1)
    await sender.deliver("rep01", Text("two"), dedup_key="b")
    assert fake.token_fetches == 2
    assert [strip_marker(b["text"]["content"]) for b in fake.sent] == ["one", "two"]


async def test_tokens_revoked_server_side(fake: FakeWecom, sender: WecomSender) -> None:
    await sender.deliver("rep01", Text("one"), dedup_key="a")
    fake.expire_tokens()
    await sender.deliver("rep01", Text("two"), dedup_key="b")
    assert fake.token_fetches == 2 and len(fake.sent) == 2


async def test_busy_retried_then_succeeds(fake: FakeWecom, sender: WecomSender) -> None:
    fake.fail("message/send", "busy", times=3)
    await sender.deliver("rep01", Text("hello"), dedup_key="a")
    assert len(fake.calls("message/send")) == 4 and len(fake.sent) == 1


async def test_busy_for_long_is_transient_delivery_error(fake: FakeWecom, sender: WecomSender) -> None:
    fake.fail("message/send", "busy")
    with pytest.raises(DeliveryError) as info:
        await sender.deliver("rep01", Text("hello"), dedup_key="a")
    assert not info.value.permanent
    assert len(fake.calls("message/send")) == 4  # first try + 3 retries
    assert fake.sent == []


async def test_network_drop_retried(fake: FakeWecom, sender: WecomSender) -> None:
    fake.fail("message/send", "drop", times=2)
    await sender.deliver("rep01", Text("hello"), dedup_key="a")
    assert len(fake.sent) == 1


async def test_network_down_is_transient(fake: FakeWecom) -> None:
    settings = WecomSettings(corp_id="c", secret="s", token="t", encoding_aes_key="k" * 43,
                             api_base="http://127.0.0.1:9")  # nothing listens on port 9
    s = WecomSender(settings, retry_delays=(0, 0))
    with pytest.raises(DeliveryError) as info:
        await s.deliver("rep01", Text("x"), dedup_key="a")
    await s.close()
    assert not info.value.permanent


async def test_rate_limited_backs_off_the_whole_app(fake: FakeWecom) -> None:
    """45009 blocks the app, not one row: nobody's message is tried until the minute is over."""
    tick = Tick()
    s = WecomSender(wecom_settings(fake), api=WecomApi(wecom_settings(fake), retry_delays=(0,), monotonic=tick))
    fake.fail("message/send", "rate_limited", times=1)
    with pytest.raises(DeliveryError) as info:
        await s.deliver("rep01", Text("x"), dedup_key="a")
    assert not info.value.permanent and (info.value.retry_after or 0) >= 60
    tick.t += 20
    with pytest.raises(DeliveryError) as info:
        await s.deliver("rep02", Text("y"), dedup_key="b")
    assert not info.value.permanent and 39 <= (info.value.retry_after or 0) <= 40
    assert len(fake.calls("message/send")) == 1  # the second was not even tried
    tick.t += 41
    await s.deliver("rep02", Text("y"), dedup_key="b")
    assert fake.texts_to("rep02") == ["y"]
    await s.close()


async def test_untrusted_ip_one_clear_error_and_retried_later(fake: FakeWecom, sender: WecomSender,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """60020 is a config problem the admin fixes: rows wait (retry in ≥ 5 min) instead of dead-lettering."""
    fake.fail("message/send", "untrusted_ip")
    caplog.set_level(logging.ERROR)
    for key in ("a", "b", "c"):
        with pytest.raises(DeliveryError) as info:
            await sender.deliver("rep01", Text("x"), dedup_key=key)
        assert not info.value.permanent and (info.value.retry_after or 0) >= 300
        assert "企业可信IP" in str(info.value)
    assert sum("企业可信IP" in r.getMessage() for r in caplog.records) == 1
    fake.clear_faults()  # the admin added the IP
    await sender.deliver("rep01", Text("x"), dedup_key="a")
    assert fake.texts_to("rep01") == ["x"]


async def test_bad_secret_names_the_fix(fake: FakeWecom) -> None:
    s = WecomSender(wecom_settings(fake, secret="wrong"), retry_delays=(0,))
    with pytest.raises(DeliveryError) as info:
        await s.deliver("rep01", Text("x"), dedup_key="a")
    await s.close()
    assert "secret" in str(info.value)
    assert not info.value.permanent and (info.value.retry_after or 0) >= 300  # resent once the secret is fixed


async def test_invaliduser_recorded(fake: FakeWecom, sender: WecomSender, caplog: pytest.LogCaptureFixture) -> None:
    fake.invalid_users.add("ghost")
    caplog.set_level(logging.WARNING)
    result = await sender.deliver("rep01|ghost", Text("x"), dedup_key="a")
    assert result["invaliduser"] == "ghost" and result["msgid"]
    assert any("ghost" in r.getMessage() for r in caplog.records)
    with pytest.raises(DeliveryError) as info:  # nobody valid at all → permanent
        await sender.deliver("ghost", Text("x"), dedup_key="b")
    assert info.value.permanent


async def test_long_text_split_on_sentences_within_2048_bytes(fake: FakeWecom, sender: WecomSender) -> None:
    sentence = "客户说预算有限，我们先讲清楚价值再谈折扣。"  # 21 chars × 3 bytes
    text = sentence * 60 + "最后一句没有句号" + "超长" * 900
    await sender.deliver("rep01", Text(text), dedup_key="long")
    contents = [b["text"]["content"] for b in fake.sent]
    assert len(contents) > 2
    assert all(len(c.encode()) <= 2048 for c in contents)
    assert "".join(strip_marker(c) for c in contents) == text
    assert strip_marker(contents[0]).endswith("。")  # a sentence boundary, not mid-sentence


def test_split_never_cuts_a_character() -> None:
    text = "😀" * 1000 + "a" * 3
    parts = render.split_bytes(text, 2000)
    assert "".join(parts) == text and all(len(p.encode()) <= 2000 for p in parts)


def test_split_prefers_sentence_then_clause_boundaries() -> None:
    english = "The customer asked for a discount. We offered a longer contract instead. " * 60
    parts = render.split_bytes(english.strip(), 2000)
    assert len(parts) > 1 and all(p.rstrip().endswith(".") for p in parts)  # whole English sentences
    run_on = "客户说预算有限" + "，我们先讲清楚价值再谈折扣" * 200 + "。"  # one sentence, thousands of bytes
    parts = render.split_bytes(run_on, 2000)
    assert "".join(parts) == run_on and all(len(p.encode()) <= 2000 for p in parts)
    assert all(p.endswith(("，", "。")) for p in parts)  # cut after a comma, not mid-phrase


def test_text_beyond_the_per_minute_limit_is_shortened_not_dropped_by_wecom() -> None:
    """WeCom silently drops a member's 31st message in a minute: one text never takes more than 10 parts."""
    huge = "客户说预算有限，我们先讲清楚价值再谈折扣。" * 5000  # ~315 KB
    payloads = render.text_payloads(Text(huge), "big")
    assert len(payloads) == render.MAX_PARTS
    assert strip_marker(payloads[-1]["text"]["content"]).endswith(render.TOO_LONG)
    assert all(len(p["text"]["content"].encode()) <= 2048 for p in payloads)
    assert render.MAX_PARTS < 28  # below the sender's per-minute throttle, which must then hold them back


async def test_duplicate_check_keyed_by_dedup_key(fake: FakeWecom, sender: WecomSender) -> None:
    await sender.deliver("rep01", Text("同样的提醒"), dedup_key="rem:1")
    await sender.deliver("rep01", Text("同样的提醒"), dedup_key="rem:2")
    await sender.deliver("rep01", Text("同样的提醒"), dedup_key="rem:1")  # an outbox retry of row rem:1
    a, b, again = (r.body["text"]["content"] for r in fake.calls("message/send"))
    assert a != b  # legitimate repeats differ, so WeCom's duplicate check keeps both
    assert a == again  # a resend of the same row is identical, so WeCom drops it
    assert all(r.body["enable_duplicate_check"] == 1 for r in fake.calls("message/send"))
    assert len(fake.sent) == 2 and fake.duplicates_dropped == 1


async def test_markdown(fake: FakeWecom, sender: WecomSender) -> None:
    await sender.deliver("rep01", Markdown(title="标题", text="- 一\n- 二"), dedup_key="m")
    (body,) = fake.sent
    assert body["msgtype"] == "markdown" and strip_marker(body["markdown"]["content"]) == "**标题**\n- 一\n- 二"
    assert body["agentid"] == 1000002 and body["touser"] == "rep01"


async def test_long_markdown_split_within_2048_bytes(fake: FakeWecom, sender: WecomSender) -> None:
    """App-message markdown is capped at 2048 bytes (4096 is the group robot's limit)."""
    lines = [f"- 第{i}条线索：客户张总，预算十万，下周二回访。" for i in range(120)]
    await sender.deliver("rep01", Markdown(title="团队日报", text="\n".join(lines)), dedup_key="md")
    contents = [b["markdown"]["content"] for b in fake.sent]
    assert len(contents) > 2 and all(len(c.encode()) <= 2048 for c in contents)
    assert "".join(strip_marker(c) for c in contents).replace("\n", "") == ("**团队日报**" + "".join(lines))


async def test_card_without_buttons_is_text_notice(fake: FakeWecom, sender: WecomSender) -> None:
    card = Card(title="线索已创建" * 10, description="客户王总", fields=tuple(Field(f"字段名很长{i}", "值" * 40)
                                                                          for i in range(8)), note="来源：截图")
    await sender.deliver("rep01", card, dedup_key="card1")
    tc = fake.sent[0]["template_card"]
    assert tc["card_type"] == "text_notice" and tc["card_action"]["type"] == 1
    assert len(tc["main_title"]["title"]) == 36 and tc["main_title"]["title"].endswith("…")
    assert len(tc["horizontal_content_list"]) == 6
    assert all(len(i["keyname"]) <= 5 and len(i["value"]) <= 30 for i in tc["horizontal_content_list"])
    assert len(tc["sub_title_text"]) <= 160 and "字段名很长6" in tc["sub_title_text"]
    assert tc["quote_area"]["quote_text"] == "来源：截图"


async def test_card_with_buttons_is_button_interaction(fake: FakeWecom, sender: WecomSender) -> None:
    buttons = tuple(Button(f"esc:take:{i}", f"按钮文字非常非常非常长{i}", "primary" if i == 0 else "default")
                    for i in range(8))
    card = Card(title="超时提醒", buttons=buttons, card_id="esc:12")
    result = await sender.deliver("manager01", card, dedup_key="esc:12:manager01")
    tc = fake.sent[0]["template_card"]
    assert tc["card_type"] == "button_interaction"
    assert len(tc["button_list"]) == 6 and tc["button_list"][0] == {
        "type": 0, "text": "按钮文字非常非常非…", "style": 1, "key": "esc:take:0"}
    assert tc["task_id"].startswith("esc_12-") and len(tc["task_id"]) <= 128
    assert result["response_code"]
    await sender.deliver("rep01", card, dedup_key="esc:12:rep01")  # same card to another person
    assert fake.sent[1]["template_card"]["task_id"] != tc["task_id"]  # task ids are unique per app


async def test_image_uploaded_then_sent(fake: FakeWecom, sender: WecomSender) -> None:
    await sender.deliver("rep01", Image(PNG, "chart.png", caption="本周漏斗"), dedup_key="img")
    (media_id, data), = fake.uploads
    assert data == PNG
    assert fake.sent[0] == {**fake.sent[0], "msgtype": "image", "image": {"media_id": media_id}}
    assert strip_marker(fake.sent[1]["text"]["content"]) == "本周漏斗"


async def test_image_resend_reuses_the_upload(fake: FakeWecom, sender: WecomSender) -> None:
    """WeCom took the image but every answer was lost: the outbox's retry sends the same media_id, so
    WeCom's duplicate check drops it instead of the user getting the chart twice."""
    fake.fail("message/send", "lost_answer", times=4)
    with pytest.raises(DeliveryError):
        await sender.deliver("rep01", Image(PNG, "chart.png"), dedup_key="img")
    await sender.deliver("rep01", Image(PNG, "chart.png"), dedup_key="img")
    assert len(fake.uploads) == 1
    assert [b["msgtype"] for b in fake.sent] == ["image"]
    await sender.deliver("rep01", Image(PNG, "chart.png"), dedup_key="img2")  # another row: its own upload
    assert len(fake.uploads) == 2 and len(fake.sent) == 2


async def test_card_update_and_used_response_code(fake: FakeWecom, sender: WecomSender,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    await sender.deliver("manager01", CardUpdate(card_ref="rc9", text="已由 张伟 接手"), dedup_key="u1")
    (update,) = fake.updates
    assert update["response_code"] == "rc9" and update["button"] == {"replace_name": "已由 张伟 接手"}
    assert update["userids"] == ["manager01"]
    caplog.set_level(logging.WARNING)
    with pytest.raises(DeliveryError) as info:  # each response code works once (and only for 72 h)
        await sender.deliver("manager01", CardUpdate(card_ref="rc9", text="已由 李娜 接手"), dedup_key="u2")
    assert info.value.permanent
    assert any("72 h" in r.getMessage() for r in caplog.records)


async def test_throttle_per_recipient(fake: FakeWecom) -> None:
    tick = Tick()
    s = WecomSender(wecom_settings(fake), retry_delays=(0,), throttle=Throttle(((60.0, 3),), monotonic=tick))
    for i in range(3):
        await s.deliver("rep01", Text(f"m{i}"), dedup_key=f"k{i}")
    await s.deliver("rep02", Text("other person is not affected"), dedup_key="o")
    with pytest.raises(DeliveryError) as info:
        await s.deliver("rep01", Text("m3"), dedup_key="k3")
    assert not info.value.permanent and 0 < (info.value.retry_after or 0) <= 60
    tick.t += 61
    await s.deliver("rep01", Text("m3"), dedup_key="k3")
    assert fake.texts_to("rep01") == ["m0", "m1", "m2", "m3"]
    await s.close()


async def test_throttle_counts_every_part_of_a_long_text(fake: FakeWecom) -> None:
    """A row that needs 3 message/send calls waits until all 3 fit, so it never stops half-sent."""
    tick = Tick()
    s = WecomSender(wecom_settings(fake), retry_delays=(0,), throttle=Throttle(((60.0, 4),), monotonic=tick))
    await s.deliver("rep01", Text("短"), dedup_key="a")
    tick.t += 10
    await s.deliver("rep01", Text("短"), dedup_key="b")
    with pytest.raises(DeliveryError) as info:
        await s.deliver("rep01", Text("长句子。" * 500), dedup_key="long")
    assert 49 < (info.value.retry_after or 0) <= 50  # until the first send leaves the window
    assert len(fake.sent) == 2
    await s.close()


def test_throttle_limits_30_per_minute_window() -> None:
    tick = Tick()
    t = Throttle(monotonic=tick)
    for _ in range(28):
        assert t.wait_time("u") == 0
        t.record("u")
        tick.t += 0.5
    assert 45 < t.wait_time("u") <= 60


async def test_media_get(fake: FakeWecom) -> None:
    fake.media["m1"] = (PNG, "image/png", "shot.png")
    api = WecomApi(wecom_settings(fake), retry_delays=(0,))
    media = await api.media_get("m1", 1024)
    assert (media.data, media.file_name) == (PNG, "shot.png")
    with pytest.raises(MediaTooLarge):
        await api.media_get("m1", 10)
    with pytest.raises(WecomApiError) as info:
        await api.media_get("nope", 1024)
    assert info.value.errcode == 40007
    await api.close()


async def test_media_get_content_type_does_not_decide(fake: FakeWecom) -> None:
    """A CSV served as text/plain is the file; an errcode JSON is an error whatever its type; 4xx is never a file."""
    api = WecomApi(wecom_settings(fake), retry_delays=(0,))
    fake.media["csv"] = (b"id,title\n1,x\n", "text/plain", "cards.csv")
    assert (await api.media_get("csv", 1024)).data == b"id,title\n1,x\n"
    fake.media["json"] = (b'[{"id": 1}]', "application/json", "cards.json")
    assert (await api.media_get("json", 1024)).data == b'[{"id": 1}]'
    fake.media["err"] = (b'{"errcode": 40007, "errmsg": "invalid media_id"}', "text/plain", "")
    with pytest.raises(WecomApiError) as info:
        await api.media_get("err", 1024)
    assert info.value.errcode == 40007
    fake.media["gone"], fake.media_status["gone"] = (PNG, "image/png", "x.png"), 404
    with pytest.raises(WecomApiError) as info:
        await api.media_get("gone", 1024)
    assert "404" in str(info.value)
    await api.close()
