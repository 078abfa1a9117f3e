"""Voice notes through the real channels: DingTalk audio with its own recognition (signed HTTP callbacks → our
app → fake DingTalk API), and WeCom AMR (encrypted callback → media/get on the fake WeCom API → ffmpeg →
the fake transcription server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import AsrSettings, Settings
from bot.services import Services
from handlers.chat import voice
from reminders.ticker import tick
from storage.models import Activity
from tests.fakes.dingtalk_harness import Harness, audio_message, start_harness
from tests.fakes.openai_api import FakeOpenAI, running_fake_openai
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness
from tests.leads_helpers import cn, get_lead, seed_lead
from tests.voice_helpers import amr_note, needs_ffmpeg


def said_to(h: Harness, user: str) -> list[str]:
    return [m.get("content") or f"{m.get('title', '')}\n{m.get('text', '')}" for m in h.fake.sent_to(user)]


async def contacts(services: Services) -> list[Activity]:
    async with services.db.session() as s:
        return list((await s.execute(select(Activity).where(Activity.kind == "contact"))).scalars())


@pytest.fixture
async def dt(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    async for harness in start_harness(settings, clock, mode="http"):
        yield harness


async def test_dingtalk_voice_with_recognition_sets_the_follow_up_and_its_reminder_arrives(dt: Harness) -> None:
    """Journey: a DingTalk voice note → 跟进 with its time → at that time the rep is reminded."""
    lead_id = await seed_lead(dt.services, "rep01", customer_name="郑宏", company="北辰机械")
    status, _ = await dt.post(audio_message(f"线索{lead_id}，刚见完客户，他们担心交付周期，约了明天上午10点再打电话",
                                            sender="rep01"))
    assert status == 200
    await dt.settle()
    reply = said_to(dt, "rep01")[-1]
    assert "🎙 语音记录" in reply and "担心交付周期" in reply
    assert f"明天 10:00 提醒你回访线索 #{lead_id}" in reply
    assert dt.fake.calls("download") == []  # the recognition was enough: no audio fetched
    (act,) = await contacts(dt.services)
    assert act.lead_id == lead_id and act.detail.get("source") == "voice"
    assert (await get_lead(dt.services, lead_id)).next_follow_up_at == cn(24, 10)

    dt.clock.set(cn(24, 9, 50))  # inside the reminder's lead time (15 minutes before)
    for _ in range(10):
        if not await tick(dt.services):
            break
    await dt.settle()
    reminders = [t for t in said_to(dt, "rep01") if "约定回访提醒" in t]
    assert reminders and "10:00" in reminders[-1] and "郑宏" in reminders[-1]


async def test_dingtalk_ten_minute_voice_is_refused_without_fetching_it(dt: Harness) -> None:
    lead_id = await seed_lead(dt.services, "rep01", customer_name="冯雪")
    await dt.post(audio_message(f"线索{lead_id} 客户讲了很久", duration_ms=600_000, sender="rep01"))
    await dt.settle()
    assert "约 10 分钟，超过了 120 秒的上限" in said_to(dt, "rep01")[-1]
    assert await contacts(dt.services) == []


async def test_dingtalk_voice_without_recognition_and_no_asr_explains_once(dt: Harness) -> None:
    await dt.post(audio_message("", sender="rep01"))
    await dt.settle()
    assert "开启方法" in said_to(dt, "rep01")[-1]
    await dt.post(audio_message("", sender="rep01"))
    await dt.settle()
    assert said_to(dt, "rep01")[-1].strip() == voice.ASR_OFF_AGAIN
    assert dt.fake.calls("download") == []


# -- audio through [asr] ----------------------------------------------------------------------------
@pytest.fixture
async def fake_asr() -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai() as server:
        yield server


@needs_ffmpeg
async def test_dingtalk_voice_without_recognition_goes_through_asr(settings: Settings, clock: ManualClock,
                                                                   fake_asr: FakeOpenAI) -> None:
    with_asr = replace(settings, asr=AsrSettings(enabled=True, base_url=fake_asr.base_url, timeout_s=2.0))
    async for h in start_harness(with_asr, clock, mode="http"):
        lead_id = await seed_lead(h.services, "rep01", customer_name="谢婷")
        fake_asr.transcript = f"线索{lead_id} 谢婷说合同下周一走完流程"
        h.fake.files["rawVoice1"] = amr_note(2.0)
        await h.post(audio_message("", code="rawVoice1", sender="rep01"))
        await h.settle()
        assert len(h.fake.calls("download")) == 1 and len(fake_asr.audio) == 1
        assert "谢婷说合同下周一走完流程" in said_to(h, "rep01")[-1]
        (act,) = await contacts(h.services)
        assert act.lead_id == lead_id


@pytest.fixture
async def wc(settings: Settings, clock: ManualClock, fake_asr: FakeOpenAI) -> AsyncIterator[WecomHarness]:
    with_asr = replace(settings, asr=AsrSettings(enabled=True, base_url=fake_asr.base_url, timeout_s=2.0))
    async for harness in start_wecom_harness(with_asr, clock):
        yield harness


@needs_ffmpeg
async def test_wecom_amr_voice_is_downloaded_transcribed_and_recorded(wc: WecomHarness, fake_asr: FakeOpenAI
                                                                      ) -> None:
    lead_id = await seed_lead(wc.services, "rep01", customer_name="韩梅")
    fake_asr.transcript = f"线索{lead_id} 韩梅说下周三下午两点带技术来看演示"
    resp = await wc.voice("rep01", amr_note(3.0))
    assert resp.status == 200
    await wc.settle()
    assert len(wc.fake.calls("media/get")) == 1 and len(fake_asr.audio) == 1
    assert fake_asr.audio[0]["seconds"] == pytest.approx(3.0, abs=0.05)
    reply = wc.fake.texts_to("rep01")[-1]
    assert "韩梅说下周三下午两点带技术来看演示" in reply and f"提醒你回访线索 #{lead_id}" in reply
    (act,) = await contacts(wc.services)
    assert act.lead_id == lead_id
    assert (await get_lead(wc.services, lead_id)).next_follow_up_at == cn(25, 14) + timedelta(days=7)


@needs_ffmpeg
async def test_wecom_damaged_amr_gets_a_reply_and_nothing_is_written(wc: WecomHarness, fake_asr: FakeOpenAI) -> None:
    await seed_lead(wc.services, "rep01", customer_name="韩梅")
    await wc.voice("rep01", b"#!AMR\n" + b"\xf0" * 40)
    await wc.settle()
    assert wc.fake.texts_to("rep01")[-1] == voice.FAILED["corrupt"]
    assert fake_asr.audio == [] and await contacts(wc.services) == []


def test_dingtalk_audio_is_parsed_as_a_voice_note_with_its_recognition() -> None:
    from bot.channels.dingtalk.parse import parse_message

    parsed = parse_message(audio_message("  客户说   下周再谈 ", duration_ms=4200, code="vc1"))
    assert parsed is not None
    assert (parsed.kind, parsed.text, parsed.seconds, parsed.download_codes) == ("voice", "客户说 下周再谈", 4.2,
                                                                                 ("vc1",))
    odd = parse_message(audio_message("好", duration_ms=0) | {"content": {"duration": "abc"}})
    assert odd is not None and (odd.kind, odd.text, odd.seconds, odd.download_codes) == ("voice", "", None, ())
