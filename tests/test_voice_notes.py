"""Voice visit notes through the console channel: the words (as DingTalk recognises them, or from `[asr]`
against a fake transcription server on 127.0.0.1) become a 跟进 on the lead named, or on the lead just shown,
or on the one the rep picks; a time in them sets the next follow-up. Every bad note gets one short reply, a
log line and no row."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.chat import ChatSession
from bot.clock import ManualClock
from bot.config import AsrSettings, Settings
from bot.dispatch import dispatch
from bot.messages import Inbound
from bot.services import Services
from handlers.chat import voice
from storage.models import Activity, KeyValue
from tests.conftest import Transcript
from tests.fakes.openai_api import FakeOpenAI, running_fake_openai
from tests.leads_helpers import cn, get_lead, seed_lead
from tests.voice_helpers import amr_note, needs_ffmpeg


async def contacts(services: Services) -> list[Activity]:
    async with services.db.session() as s:
        return list((await s.execute(select(Activity).where(Activity.kind == "contact")
                                     .order_by(Activity.id))).scalars())


async def kv_count(services: Services, prefix: str) -> int:
    async with services.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(KeyValue).where(KeyValue.key.like(f"{prefix}%")))
                   or 0)


def last_text(transcript: Transcript, user: str = "rep01") -> str:
    m = transcript.last(user)
    return f"{m['title']}\n{m['text']}"


async def test_a_spoken_note_names_its_lead_is_mined_and_sets_the_next_call(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock) -> None:
    """Journey in the console: a voice note with DingTalk-style recognition text → 跟进 with its time → the
    reminder arrives at that time."""
    lead_id = await seed_lead(services, "rep01", customer_name="周建国", company="远航物流")
    await chat.handle_line(f"/voice 线索{lead_id}刚拜访完，对方嫌价格太贵，现在在用销售易，老板拍板，"
                           "约了明天下午3点再电话")
    reply = last_text(transcript)
    assert "🎙 语音记录：「" in reply and "嫌价格太贵" in reply
    assert f"明天 15:00 提醒你回访线索 #{lead_id}" in reply
    assert "竞品 销售易" in reply and "决策层" in reply
    (act,) = await contacts(services)
    assert act.lead_id == lead_id and act.actor_id == "rep01" and act.detail.get("source") == "voice"
    assert "销售易" in act.detail["insights"]["competitors"]
    lead = await get_lead(services, lead_id)
    assert lead.next_follow_up_at == cn(24, 15)
    clock.set(cn(24, 14, 46))  # inside the reminder's lead time (15 minutes before)
    await chat.settle()
    assert any("约定回访提醒" in t and "15:00" in t and "周建国" in t for t in transcript.texts("rep01"))


async def test_an_unnamed_note_goes_to_the_lead_just_shown(services: Services, chat: ChatSession,
                                                            transcript: Transcript) -> None:
    other = await seed_lead(services, "rep01", customer_name="钱小丽")
    shown = await seed_lead(services, "rep01", customer_name="孙志强")
    await chat.handle_line(f"线索 {shown}")
    await chat.handle_line("/voice 刚聊完，客户担心实施周期，下周一上午再约")
    reply = last_text(transcript)
    assert f"线索 #{shown}" in reply and "担心实施周期" in reply
    assert voice.SHOWN_LEAD.format(id=shown, customer="孙志强") in reply  # says which lead it guessed
    (act,) = await contacts(services)
    assert act.lead_id == shown and act.lead_id != other


async def test_when_no_lead_is_clear_the_rep_picks_one_and_the_words_wait(
        services: Services, chat: ChatSession, transcript: Transcript, clock: ManualClock) -> None:
    first = await seed_lead(services, "rep01", customer_name="王海")
    second = await seed_lead(services, "rep01", customer_name="王海")  # two leads of one name: ask
    await chat.handle_line("/voice 王海那边说预算要等下个月3号开会才定")
    card = transcript.last("rep01")
    assert card["title"] == voice.WHICH and "预算要等下个月3号开会" in card["text"]
    assert sorted(b["text"] for b in card["buttons"]) == sorted([f"#{first} 王海", f"#{second} 王海"])
    assert await contacts(services) == []
    await chat.handle_line(f"/click #{second} 王海")
    (act,) = await contacts(services)
    assert act.lead_id == second and "下个月3号" in act.summary
    assert await kv_count(services, "voice_wait:") == 0
    # two notes waiting: the older card's button records the older words
    await chat.handle_line("/voice 王海说要再比较一下")
    older = transcript.last("rep01")
    await chat.handle_line("/voice 王海问能不能先试用一个月")
    key = next(b["key"] for b in older["buttons"] if b["text"] == f"#{first} 王海")
    await dispatch(services, Inbound(channel="console", user_id="rep01", msg_id="old-card", kind="click",
                                     received_at=clock.now(), click_key=key))
    acts = await contacts(services)
    assert (acts[-1].lead_id, acts[-1].summary) == (first, "王海说要再比较一下")
    # the newer card, too late: the words have expired, nothing is written
    clock.advance(timedelta(minutes=11))
    await chat.handle_line(f"/click #{first} 王海")
    assert voice.EXPIRED in last_text(transcript)
    assert len(await contacts(services)) == 2
    await chat.handle_line("/voice 王海说周五前给答复")  # a new wait clears this person's expired ones
    assert await kv_count(services, "voice_wait:") == 1


async def test_no_open_lead_says_so_and_keeps_the_words_in_the_reply(chat: ChatSession, services: Services,
                                                                      transcript: Transcript) -> None:
    await chat.handle_line("/voice 今天拜访了一家新客户，对方很感兴趣")
    reply = last_text(transcript)
    assert voice.NO_LEADS in reply and "对方很感兴趣" in reply
    assert await contacts(services) == [] and await kv_count(services, "voice_wait:") == 0


async def test_a_ten_minute_note_is_refused_before_anything_is_written(
        services: Services, transcript: Transcript, caplog: pytest.LogCaptureFixture) -> None:
    lead_id = await seed_lead(services, "rep01", customer_name="赵磊")
    msg = Inbound(channel="console", user_id="rep01", msg_id="v-long", kind="voice", received_at=cn(23, 10),
                  text=f"线索{lead_id} " + "客户介绍了很多情况" * 200, seconds=600)
    with caplog.at_level(logging.WARNING, logger="handlers.chat.voice"):
        await dispatch(services, msg)
        await services.outbox.drain()
    assert "约 10 分钟，超过了 120 秒的上限" in last_text(transcript)
    assert any("600 s" in r.getMessage() for r in caplog.records)
    assert await contacts(services) == []


async def test_without_asr_the_rep_is_told_once_how_to_turn_it_on(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    note = tmp_path / "note.amr"
    note.write_bytes(amr_note(2.0))
    await seed_lead(services, "rep01", customer_name="刘洋")
    await chat.handle_line(f"/voice {note}")
    assert last_text(transcript).strip().endswith(voice.ASR_OFF_FIRST.split("\n")[-1])
    assert "语音转写" in last_text(transcript) and "管理员" in last_text(transcript)
    await chat.handle_line(f"/voice {note}")
    assert last_text(transcript).strip() == voice.ASR_OFF_AGAIN
    await chat.handle_line("/as rep02")
    await chat.handle_line(f"/voice {note}")
    assert "开启方法" in last_text(transcript, "rep02")  # told once per person, not once per company
    assert await contacts(services) == []


# -- through [asr] against the fake transcription server ------------------------------------------
@pytest.fixture
async def fake_asr() -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai() as server:
        yield server


@pytest.fixture
def asr_settings(settings: Settings, fake_asr: FakeOpenAI) -> Settings:
    return replace(settings, asr=AsrSettings(enabled=True, base_url=fake_asr.base_url, api_key="sk-voice",
                                             model="whisper-fake", timeout_s=1.0, max_seconds=120))


@pytest.fixture
async def asr_services(asr_settings: Settings, clock: ManualClock, transcript: Transcript
                       ) -> AsyncIterator[Services]:
    from app.runtime import build_services
    from bot.channels.console import ConsoleChannel

    svc = await build_services(asr_settings, clock, {"console": ConsoleChannel(transcript.write, json_mode=True)})
    yield svc
    await svc.db.dispose()


@pytest.fixture
def asr_chat(asr_services: Services, clock: ManualClock, transcript: Transcript) -> ChatSession:
    from bot.channels.console import ConsoleChannel

    console = asr_services.channels["console"]
    assert isinstance(console, ConsoleChannel)
    return ChatSession(asr_services, console, clock, "rep01", transcript.write)  # type: ignore[arg-type]


@needs_ffmpeg
async def test_an_amr_note_is_decoded_and_transcribed(asr_services: Services, asr_chat: ChatSession,
                                                      fake_asr: FakeOpenAI, transcript: Transcript,
                                                      tmp_path: Path) -> None:
    lead_id = await seed_lead(asr_services, "rep01", customer_name="陈静")
    fake_asr.transcript = f"{lead_id}号客户 陈静说财务还在走审批，后天上午10点再联系"
    note = tmp_path / "visit.amr"
    note.write_bytes(amr_note(2.0))
    await asr_chat.handle_line(f"/voice {note}")
    reply = last_text(transcript)
    assert "财务还在走审批" in reply and f"后天 10:00 提醒你回访线索 #{lead_id}" in reply
    (req,) = fake_asr.audio
    assert (req["auth"], req["model"], req["language"]) == ("Bearer sk-voice", "whisper-fake", "zh")
    assert req["seconds"] == pytest.approx(2.0, abs=0.05)
    (act,) = await contacts(asr_services)
    assert act.lead_id == lead_id and act.detail.get("source") == "voice"


@needs_ffmpeg
@pytest.mark.parametrize(("case", "expected"), [
    ("silent", voice.FAILED["silent"]),
    ("corrupt", voice.FAILED["corrupt"]),
    ("truncated", voice.FAILED["corrupt"]),
    ("ten_minutes", "约 10 分钟，超过了 120 秒的上限"),
    ("timeout", voice.FAILED["timeout"]),
    ("server_error", voice.FAILED["failed"]),
    ("nothing_heard", voice.FAILED["empty"]),
])
async def test_bad_notes_get_one_clear_reply_a_log_line_and_no_row(
        asr_services: Services, asr_chat: ChatSession, fake_asr: FakeOpenAI, transcript: Transcript,
        tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str, expected: str) -> None:
    lead_id = await seed_lead(asr_services, "rep01", customer_name="黄涛")
    fake_asr.transcript = f"线索{lead_id} 客户说下周再谈"
    data: dict[str, Any] = {
        "silent": amr_note(2.0, silent=True),
        "corrupt": b"#!AMR\n" + bytes(range(256)) * 3,
        "truncated": amr_note(2.0)[:-7],
        "ten_minutes": amr_note(600.0),
        "timeout": amr_note(1.0),
        "server_error": amr_note(1.0),
        "nothing_heard": amr_note(1.0),
    }
    if case == "timeout":
        fake_asr.delay = 2.0  # past timeout_s = 1.0
    elif case == "server_error":
        fake_asr.status = 503
    elif case == "nothing_heard":
        fake_asr.transcript = "  "
    note = tmp_path / "bad.amr"
    note.write_bytes(data[case])
    with caplog.at_level(logging.WARNING, logger="handlers.chat.voice"):
        await asr_chat.handle_line(f"/voice {note}")
    assert expected in last_text(transcript)
    assert [r for r in caplog.records if "not recorded" in r.getMessage()]
    assert await contacts(asr_services) == []
    assert await kv_count(asr_services, "voice_wait:") == 0
    lead = await get_lead(asr_services, lead_id)
    assert lead.next_follow_up_at is None and lead.last_activity_at is None
    if case in ("silent", "corrupt", "truncated", "ten_minutes"):
        assert fake_asr.audio == []  # refused before the endpoint is asked


async def test_a_note_naming_the_customers_company_goes_to_that_lead(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """Reps speak of the company more than of the person: 「青禾物流」 finds the lead at 青禾物流科技有限公司."""
    await seed_lead(services, "rep01", customer_name="钱小丽", company="白鹭教育集团")
    target = await seed_lead(services, "rep01", customer_name="杜海峰", company="青禾物流科技有限公司")
    await chat.handle_line("/voice 刚从青禾物流出来，他们采购说预算要下周二才能批")
    reply = last_text(transcript)
    assert f"线索 #{target}" in reply and voice.WHICH not in reply
    (act,) = await contacts(services)
    assert act.lead_id == target and "预算要下周二" in act.summary


async def test_a_company_with_two_open_leads_is_asked_about_not_guessed(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    first = await seed_lead(services, "rep01", customer_name="杜海峰", company="青禾物流科技有限公司")
    second = await seed_lead(services, "rep01", customer_name="田甜", company="青禾物流")
    await seed_lead(services, "rep01", customer_name="钱小丽", company="白鹭教育集团")
    await chat.handle_line("/voice 青禾物流那边说合同要法务再看一遍")
    card = transcript.last("rep01")
    assert card["title"] == voice.WHICH
    assert sorted(b["text"] for b in card["buttons"]) == sorted([f"#{first} 杜海峰", f"#{second} 田甜"])
    assert await contacts(services) == []


async def test_a_short_word_of_a_company_name_is_no_match(services: Services, chat: ChatSession,
                                                          transcript: Transcript) -> None:
    """Near case: 「物流」 alone, or a city, names no company."""
    await seed_lead(services, "rep01", customer_name="杜海峰", company="青禾物流科技有限公司")
    await seed_lead(services, "rep01", customer_name="钱小丽", company="白鹭教育集团")
    await chat.handle_line("/voice 今天跑了两家物流公司，都说要等年后")
    assert transcript.last("rep01")["title"] == voice.WHICH
    assert await contacts(services) == []


async def test_a_note_naming_a_locked_customer_says_it_is_locked_and_writes_nothing(
        services: Services, chat: ChatSession, transcript: Transcript, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The account under a 续约预警 lock is a won lead (not an open one): naming its customer or its company in a
    voice note says the lock and how to lift it, in the one reply that also shows the words."""
    from handlers.renewals.importer import import_files
    from tests.renewals_helpers import seed_customers, write_files

    ids = await seed_customers(services)
    await import_files(services.db, services.settings, list(write_files(tmp_path)), cn(23, 10))
    await services.outbox.drain()  # the warning cards
    for said in ("李明今天说续约要等预算", "东方制造那边说续约要等预算"):
        before = len(transcript.to("rep01"))
        with caplog.at_level(logging.INFO, logger="handlers.chat.voice"):
            await chat.handle_line(f"/voice {said}")
        replies = transcript.to("rep01")[before:]
        assert len(replies) == 1, replies
        text = f"{replies[0]['title']}\n{replies[0]['text']}"
        assert "🔒" in text and said in text and f"证据 {ids['li']}" in text
        assert any("locked" in r.getMessage() for r in caplog.records)
    assert await contacts(services) == []


async def test_a_note_about_another_company_is_not_written_onto_the_lead_just_shown(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """Audit 18 #2: a note naming a company with no lead must not land on the recently viewed lead nor move its
    agreed call; the rep is asked which lead, or to add a new one."""
    shown = await seed_lead(services, "rep01", customer_name="邵主任", company="临江康复医院")
    await chat.handle_line(f"线索 {shown}")
    await chat.handle_line("/voice 邵主任说下周四下午三点再谈")
    before = (await get_lead(services, shown)).next_follow_up_at
    assert before is not None and len(await contacts(services)) == 1
    await chat.handle_line("/voice 今天拜访了青松数码科技的柏经理，约了明天上午十点电话")
    card = transcript.last("rep01")
    assert card["title"] == voice.WHICH and "青松数码科技" in card["text"] and "新线索" in card["text"]
    assert len(await contacts(services)) == 1
    assert (await get_lead(services, shown)).next_follow_up_at == before
    await chat.handle_line("/voice 临江康复医院那边说预算批了")  # its own company: recorded as before
    assert len(await contacts(services)) == 2


async def test_a_note_with_no_content_asks_for_more_and_writes_nothing(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """Audit 18 #3: 「嗯」 is no follow-up (it would count as a contact and lift a computed health score)."""
    shown = await seed_lead(services, "rep01", customer_name="邵主任", company="临江康复医院")
    await chat.handle_line(f"线索 {shown}")
    for said in ("嗯", "嗯……那个，", "啊 啊"):
        await chat.handle_line(f"/voice {said}")
        assert voice.EMPTY in last_text(transcript)
    assert await contacts(services) == []


async def test_a_typed_follow_up_with_no_content_is_not_recorded_either(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """New-user audit: the empty-note check ran only for voice; 「跟进 N 嗯」 typed was recorded as a contact."""
    lead = await seed_lead(services, "rep01", customer_name="邵主任", company="临江康复医院")
    for typed in ("嗯", "嗯……那个，", "好的好的"):
        await chat.handle_line(f"跟进 {lead} {typed}")
        assert "没有具体内容，没有记下" in last_text(transcript)
    assert await contacts(services) == []
    assert (await get_lead(services, lead)).first_contact_at is None
    await chat.handle_line(f"跟进 {lead} 电话沟通了报价，客户下周看方案")
    assert len(await contacts(services)) == 1


async def test_a_note_about_a_new_customer_asks_which_lead_and_keeps_the_agreed_call(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """Audit 18c #21: 「今天见了一个新客户，下周再聊」 names no lead and no name; it was filed on the lead just
    shown and moved its agreed call. It must ask (or offer 新线索) and leave the reminder where it was."""
    shown = await seed_lead(services, "rep01", customer_name="卢经理", company="北岸建材")
    await chat.handle_line(f"/voice 线索{shown}，卢经理说下周三下午三点再约")
    before = (await get_lead(services, shown)).next_follow_up_at
    assert before is not None
    for note in ("今天见了一个新客户，下周再聊", "新认识一位客户，做冷链的，明天上午再打电话"):
        await chat.handle_line(f"/voice {note}")
        card = transcript.last("rep01")
        assert card["title"] == voice.WHICH and "新线索" in card["text"], card
        assert len(await contacts(services)) == 1
        assert (await get_lead(services, shown)).next_follow_up_at == before


async def test_an_unattributed_note_never_moves_an_agreed_call(
        services: Services, chat: ChatSession, transcript: Transcript) -> None:
    """A note that names no lead is filed on the lead just shown, but its time does not replace that lead's
    agreed callback: the rep only guessed-at lead keeps its appointment and is told how to change it."""
    shown = await seed_lead(services, "rep01", customer_name="卢经理", company="北岸建材")
    await chat.handle_line(f"/voice 线索{shown}，卢经理说下周三下午三点再约")
    before = (await get_lead(services, shown)).next_follow_up_at
    await chat.handle_line("/voice 刚聊完，对方关心售后，明天上午再说")
    reply = last_text(transcript)
    assert voice.SHOWN_LEAD.format(id=shown, customer="卢经理") in reply and "没有改" in reply
    assert len(await contacts(services)) == 2
    assert (await get_lead(services, shown)).next_follow_up_at == before
