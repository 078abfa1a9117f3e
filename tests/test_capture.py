"""Screenshot → draft lead card → 修改 / 确认, merging, conflicts and bad input, through the console chat
with real tesseract on screenshots rendered by tests/synth.py."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.chat import ChatSession
from bot.clock import CN_TZ, ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.leads.screenshots import _settled_follow_up
from ocr.pipeline import read_screenshot
from storage.models import Evidence, Lead, Reminder
from tests.conftest import Transcript
from tests.leads_helpers import cn, seed_lead
from tests.synth import Sample, make_sample
from tests.test_reminders_support import activity_kinds, click, make_lead


def save(tmp_path: Path, sample: Sample, name: str = "shot.jpg") -> Path:
    path = tmp_path / name
    path.write_bytes(sample.image)
    return path


async def leads(services: Services) -> list[Lead]:
    async with services.db.session() as s:
        return list((await s.execute(select(Lead).order_by(Lead.id))).scalars())


async def colleague_has(chat: ChatSession, clock: ManualClock, sample: Sample, customer: str) -> None:
    """rep02 confirmed `customer` an hour before the screenshot; then we are rep01 at the screenshot's time."""
    clock.set(sample.now - timedelta(hours=1))
    await chat.handle_line("/as rep02")
    await chat.handle_line(f"新线索 {customer}")
    await chat.handle_line("/click 确认")
    await chat.handle_line("/as rep01")
    clock.set(sample.now)


async def manager_told_once_in_working_hours(chat: ChatSession, transcript: Transcript) -> None:
    def told() -> int:
        return sum("客户冲突" in m["text"] for m in transcript.to("manager01"))

    assert told() == 0  # Saturday 18:34: off
    await chat.handle_line("/advance 39h30m")  # Monday 10:0x: the manager hears of it in working hours, once
    assert told() == 1


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One OCR job at a time, so a queued screenshot really waits (the 识别中 test)."""
    return dataclasses.replace(settings, ocr=dataclasses.replace(settings.ocr, workers=1))


@pytest.fixture
def lead_sample() -> Sample:
    return make_sample(3, "lead")  # 韩娜伟 · 宏达科技 · 19493351666


async def test_screenshot_to_confirmed_lead(chat: ChatSession, transcript: Transcript, services: Services,
                                            clock: ManualClock, tmp_path: Path, lead_sample: Sample) -> None:
    clock.set(lead_sample.now)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    card = transcript.last("rep01")
    assert card["kind"] == "card" and card["title"].startswith("线索草稿")
    assert "19493351666" in card["text"] and "韩娜伟" in card["text"]
    assert [b["text"] for b in card["buttons"]] == ["确认", "修改", "放弃"]

    await chat.handle_line("/click 修改")
    assert "电话 13812345678" in transcript.last("rep01")["text"]
    await chat.handle_line("职位 设备科主任")
    assert "设备科主任" in transcript.last("rep01")["text"]
    await chat.handle_line("电话 12345")
    assert "不像有效的电话" in transcript.last("rep01")["text"]

    await chat.handle_line("/click 确认")
    (lead,) = await leads(services)
    assert lead.status == "active" and lead.owner_id == "rep01" and lead.source == "ocr"
    assert lead.phone == lead_sample.truth.phone and lead.title == "设备科主任"
    assert lead.field_sources["phone"]["source"] == "ocr"
    assert lead.field_sources["title"] == {"source": "manual", "by": "rep01", "at": lead.field_sources["title"]["at"]}
    assert lead.evidence_hash and Path(lead.evidence_path or "").read_bytes() == lead_sample.image
    async with services.db.session() as s:
        rules = set((await s.execute(select(Reminder.rule).where(Reminder.lead_id == lead.id))).scalars())
        evidence = (await s.execute(select(func.count()).select_from(Evidence))).scalar_one()
    assert "first_contact" in rules and evidence == 1
    if lead_sample.truth.follow_up is not None:
        assert "follow_up" in rules


async def test_second_screenshot_within_a_minute_merges(chat: ChatSession, transcript: Transcript,
                                                        services: Services, clock: ManualClock, tmp_path: Path,
                                                        lead_sample: Sample) -> None:
    clock.set(lead_sample.now)
    path = save(tmp_path, lead_sample)
    await chat.handle_line(f"/image {path}")
    await chat.handle_line(f"/image {path}")
    assert len(await leads(services)) == 1
    assert "截图 ×2" in transcript.last("rep01")["text"]


async def test_customer_of_a_colleague_is_flagged_and_manager_told(
    chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
    lead_sample: Sample,
) -> None:
    clock.set(lead_sample.now)
    path = save(tmp_path, lead_sample)
    await chat.handle_line("/as rep02")
    await chat.handle_line(f"/image {path}")
    await chat.handle_line("/click 确认")
    await chat.handle_line("/as rep01")
    clock.advance(timedelta(minutes=5))  # outside rep02's merge window, a separate chat
    await chat.handle_line(f"/image {path}")
    card = transcript.last("rep01")
    assert "由 李娜 负责" in card["text"]
    assert [b["text"] for b in card["buttons"]] == ["合并到已有线索", "仍然新建", "放弃"]
    await manager_told_once_in_working_hours(chat, transcript)
    await chat.handle_line("/click 合并到已有线索")
    assert "转交" in transcript.last("rep01")["text"]
    first, draft = await leads(services)
    assert first.owner_id == "rep02" and draft.status == "lost"
    assert any("补充了客户截图" in m["text"] for m in transcript.to("rep02"))
    async with services.db.session() as session:  # what rep02 is told to look at is on rep02's lead
        owners = set((await session.execute(select(Evidence.lead_id))).scalars())
    assert owners == {first.id}


async def test_the_customer_chat_screenshot_is_not_evidence_of_a_signed_deal(
    chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
    lead_sample: Sample,
) -> None:
    """签约回款 / 赢单 need a contract or payment proof: the screenshot the lead was captured from is not one."""
    clock.set(lead_sample.now)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    await chat.handle_line("/click 确认")
    (lead,) = await leads(services)
    await chat.handle_line(f"阶段 {lead.id} 5")
    assert "需要证据" in transcript.last("rep01")["text"]
    await chat.handle_line(f"赢单 {lead.id} 客户说下月签")
    assert "需要证据" in transcript.last("rep01")["text"]
    assert (await leads(services))[0].status == "active"


async def test_a_crafted_merge_into_another_reps_lead_changes_nothing(
    chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
    lead_sample: Sample,
) -> None:
    """cap:merge:<own draft>:<any lead id>: only the lead the draft was flagged against may be merged into."""
    other = await make_lead(services, owner="rep04", phone="13900001111", customer_name="赵总", company="别家公司")
    clock.set(lead_sample.now)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    draft = next(lead for lead in await leads(services) if lead.status == "draft")
    await click(chat, "rep01", f"cap:merge:{draft.id}:{other}")
    assert f"线索 #{other} 已不存在" in transcript.last("rep01")["text"]
    assert transcript.to("rep04") == []
    assert {lead.id: lead.status for lead in await leads(services)} == {other: "active", draft.id: "draft"}
    assert "merge" not in await activity_kinds(services, other)


@pytest.mark.parametrize("kind", ["receipt", "group"])
async def test_non_customer_images_make_no_lead(chat: ChatSession, transcript: Transcript, services: Services,
                                                tmp_path: Path, kind: str) -> None:
    await chat.handle_line(f"/image {save(tmp_path, make_sample(11, kind))}")
    assert "没有生成线索" in transcript.last("rep01")["text"]
    assert await leads(services) == []


async def test_a_lunch_chat_with_a_friend_is_turned_down_in_plain_words(
        chat: ChatSession, transcript: Transcript, services: Services, tmp_path: Path) -> None:
    """A friend's new number and a lunch date: no lead, and the reply says so the way a colleague would (it once
    read 「看起来是和亲友的私人聊天，不是与客户的聊天」: a chat that is not a chat)."""
    import random

    from tests.synth import Chat, Item, _jpeg, render_chat

    friend = Chat("wechat", "老同学阿凯", None, [
        Item("left", "中午一起吃饭吗？老地方"), Item("right", "好啊，十二点见"),
        Item("left", "对了我换号了，新号码13677215408，存一下"), Item("right", "哈哈好的，周末爬山也叫上我")])
    img, _ = render_chat(friend, random.Random(2), (1080, 2340), False)
    (tmp_path / "friend.jpg").write_bytes(_jpeg(img, 85))
    await chat.handle_line(f"/image {tmp_path / 'friend.jpg'}")
    reply = transcript.last("rep01")["text"]
    assert reply.startswith("这张图看起来是和亲友的闲聊，所以没有生成线索。")
    assert await leads(services) == []


def test_every_no_lead_reason_reads_as_one_plain_sentence() -> None:
    from app.commands.ocr import summary
    from handlers.leads.screenshots import no_lead_reply
    from ocr.extract import LeadFields
    from ocr.negatives import CUES

    for kind in [*CUES, "supplier", "colleague_chat", "group_chat", "not_chat", "no_details"]:
        reply = no_lead_reply(kind)
        first = reply.split("。")[0]
        assert first.count("聊天") <= 1 and "（" not in reply and "是不像" not in reply, reply
        line = summary("a.jpg", LeadFields(reject_reason=kind)).splitlines()[1]
        assert "是不像" not in line and "（" not in line, line


async def test_bad_files_get_a_clear_reply_and_no_row(chat: ChatSession, transcript: Transcript,
                                                      services: Services, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not an image at all")
    await chat.handle_line(f"/image {tmp_path / 'a.png'}")
    assert "不是图片" in transcript.last("rep01")["text"]
    truncated = make_sample(3, "lead").image[:5000]
    (tmp_path / "b.jpg").write_bytes(truncated)
    await chat.handle_line(f"/image {tmp_path / 'b.jpg'}")
    assert "损坏" in transcript.last("rep01")["text"]
    assert await leads(services) == []


async def test_edit_without_a_draft(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("电话 13812345678")  # no draft and no lead in the conversation: which lead?
    assert "要改哪条线索" in transcript.last("rep01")["text"]


async def test_screenshots_of_two_customers_make_two_drafts(chat: ChatSession, transcript: Transcript,
                                                            services: Services, clock: ManualClock, tmp_path: Path,
                                                            lead_sample: Sample) -> None:
    other = make_sample(7, "lead")  # 高宇力 · 星辰教育 · 17665173782
    clock.set(lead_sample.now)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample, 'a.jpg')}")
    clock.advance(timedelta(seconds=20))
    await chat.handle_line(f"/image {save(tmp_path, other, 'b.jpg')}")
    first, second = await leads(services)
    assert (first.customer_name, first.phone) == ("韩娜伟", "19493351666")
    assert (second.customer_name, second.phone) == ("高宇力", "17665173782")
    card = transcript.last("rep01")["text"]
    assert "高宇力" in card and "截图 ×2" not in card


@pytest.mark.parametrize(("reply", "want"), [("预算 三十万", 300_000), ("预算 两百万左右", 2_000_000),
                                             ("预算 2万5", 25_000)])
async def test_budget_edits_in_words(chat: ChatSession, transcript: Transcript, services: Services,
                                     reply: str, want: int) -> None:
    await chat.handle_line("新线索 张伟 华东医疗 13812345678")
    await chat.handle_line(reply)
    assert "不像有效" not in transcript.last("rep01")["text"]
    (lead,) = await leads(services)
    assert lead.budget_cny == want


async def test_busy_message_when_recognition_takes_over_a_second(chat: ChatSession, transcript: Transcript,
                                                                 services: Services, clock: ManualClock,
                                                                 tmp_path: Path, lead_sample: Sample) -> None:
    clock.set(lead_sample.now)
    # screenshots other reps sent a moment earlier: four rounds of the two OCR workers, well over a second even
    # on a fast idle machine (two were not: with faster OCR the reply sometimes came within the second)
    others = [make_sample(seed) for seed in (4, 9, 11, 12, 13, 14, 15, 16)]
    queued = [asyncio.create_task(read_screenshot(o.image, now=o.now, settings=services.settings.ocr,
                                                  engines=services.engines))
              for o in others]
    await asyncio.sleep(0)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    await asyncio.gather(*queued)
    texts = [m["text"] for m in transcript.to("rep01")]
    assert texts[0] == "识别中…" and "韩娜伟" in transcript.last("rep01")["text"]


async def test_create_anyway_when_a_colleague_has_the_customer(chat: ChatSession, transcript: Transcript,
                                                               services: Services, clock: ManualClock,
                                                               tmp_path: Path, lead_sample: Sample) -> None:
    await colleague_has(chat, clock, lead_sample, "韩娜伟 宏达科技 19493351666")
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    await chat.handle_line("/click 仍然新建")
    assert "已新建线索" in transcript.last("rep01")["text"]
    theirs, mine = await leads(services)
    assert (theirs.owner_id, mine.owner_id, mine.status, mine.source) == ("rep02", "rep01", "active", "ocr")
    assert mine.next_follow_up_at is not None
    await manager_told_once_in_working_hours(chat, transcript)


async def test_merge_into_own_lead_keeps_the_agreed_follow_up_and_evidence(
    chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
    lead_sample: Sample,
) -> None:
    clock.set(lead_sample.now - timedelta(hours=1))
    await chat.handle_line("新线索 韩娜伟 宏达科技 19493351666")
    await chat.handle_line("/click 确认")
    clock.set(lead_sample.now)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    await chat.handle_line("/click 合并到已有线索")
    assert "已合并到线索 #1" in transcript.last("rep01")["text"]
    mine, draft = await leads(services)
    assert draft.status == "lost" and mine.status == "active"
    assert mine.next_follow_up_at is not None
    assert mine.evidence_hash == draft.evidence_hash and mine.budget_cny == lead_sample.truth.budget_cny
    async with services.db.session() as s:
        rules = list((await s.execute(select(Reminder.rule).where(Reminder.lead_id == mine.id))).scalars())
        evidence = list((await s.execute(select(Evidence.lead_id))).scalars())
    assert "follow_up" in rules and evidence == [mine.id]


async def test_a_corrected_phone_that_belongs_to_a_colleague_tells_the_manager(
    chat: ChatSession, transcript: Transcript, clock: ManualClock, tmp_path: Path, lead_sample: Sample,
) -> None:
    await colleague_has(chat, clock, lead_sample, "王强 恒信科技 13812345678")
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    assert not any("客户冲突" in m["text"] for m in transcript.to("manager01"))
    await chat.handle_line("电话 13812345678")
    assert "由 李娜 负责" in transcript.last("rep01")["text"]
    await manager_told_once_in_working_hours(chat, transcript)


async def test_a_follow_up_already_past_is_marked_on_the_card(chat: ChatSession, transcript: Transcript,
                                                             tmp_path: Path, clock: ManualClock) -> None:
    old = make_sample(5, "lead")  # the chat agreed 2024-09-09 09:00, the screenshot arrives on 09-25
    clock.set(old.now)
    await chat.handle_line(f"/image {save(tmp_path, old)}")
    assert "2024-09-09 09:00（已过期，不会提醒）" in transcript.last("rep01")["text"]


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=CN_TZ)


@pytest.mark.parametrize(
    ("first", "second", "want"),
    [
        ((at(24, 15), "hour"), (at(24, 9), "day"), at(24, 15)),  # "明天下午3点", then a screenshot saying "就明天"
        ((at(24, 15), "hour"), (at(25, 10), "hour"), at(25, 10)),  # moved to another day
        ((at(24, 9), "day"), (at(24, 16), "hour"), at(24, 16)),  # the hour came later
    ],
)
def test_merged_screenshots_keep_the_most_specific_latest_follow_up(
    first: tuple[datetime, str], second: tuple[datetime, str], want: datetime,
) -> None:
    extra = {"follow_up": first[0].isoformat(), "follow_up_precision": first[1]}
    assert _settled_follow_up(extra, *second)["follow_up"] == want.isoformat()


async def test_dropped_draft_keeps_no_screenshot(chat: ChatSession, transcript: Transcript, services: Services,
                                                 clock: ManualClock, tmp_path: Path, lead_sample: Sample) -> None:
    """放弃: the customer's screenshot is not kept as evidence (no row, no file) — the rep chose not to keep it."""
    clock.set(lead_sample.now)
    await chat.handle_line(f"/image {save(tmp_path, lead_sample)}")
    (draft,) = await leads(services)
    stored = Path(draft.evidence_path or "")
    assert stored.read_bytes() == lead_sample.image
    await chat.handle_line("/click 放弃")
    assert "已放弃" in transcript.last("rep01")["text"]
    (draft,) = await leads(services)
    assert draft.status == "lost" and draft.evidence_hash is None and not stored.exists()
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Evidence))).scalar_one() == 0


async def test_a_colleagues_customer_under_the_companys_short_name_is_flagged(
    chat: ChatSession, transcript: Transcript, services: Services,
) -> None:
    """rep04 enters 周杰 of 星河医疗 while rep01 has 周杰 of 星河医疗科技有限公司: the same customer."""
    await seed_lead(services, "rep01", customer_name="周杰", company="星河医疗科技有限公司", phone="13700001111",
                    assigned_at=cn(20, 10))
    await chat.handle_line("/as rep04")
    await chat.handle_line("新线索 周杰 星河医疗 微信 zhoujie_88")
    card = transcript.last("rep04")
    assert "同一客户已有同事在跟进（线索 #1）" in card["text"]


async def test_a_corrected_typed_draft_does_not_claim_to_come_from_a_screenshot(
        chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("新线索 周先生 远航物流 13911112222")
    await chat.handle_line("时间 明天下午3点")
    card = transcript.last("rep01")
    assert "约定回访" in card["text"] and "截图" not in card["text"] and "识别置信度" not in card["text"]
    assert "待补充" in card["text"]


def _encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (400, 800), c) for c in ("white", "grey")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


BAD_IMAGES = {  # what reps really send instead of a screenshot → the reply's key words
    "huge.png": (lambda: _encoded(Image.new("1", (10000, 10000)), "PNG"), "尺寸过大"),  # 100 megapixels
    "strip.png": (lambda: _encoded(Image.new("RGB", (1, 20000), "white"), "PNG"), "尺寸不像聊天截图"),
    "moving.gif": (_animated_gif, "动图"),
    "export.pdf": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF", "PDF"),
    "black.jpg": (lambda: _encoded(Image.new("RGB", (1080, 2340), "black"), "JPEG"), "全黑"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
async def test_bad_images_get_a_chinese_reply_a_log_line_and_nothing_saved(
        chat: ChatSession, transcript: Transcript, services: Services, settings: Settings, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, name: str) -> None:
    make, words = BAD_IMAGES[name]
    (tmp_path / name).write_bytes(make())
    with caplog.at_level(logging.INFO, logger="ocr.pipeline"):
        await chat.handle_line(f"/image {tmp_path / name}")
    reply = transcript.last("rep01")["text"]
    assert words in reply and not reply.isascii()
    assert "image refused" in caplog.text
    assert await leads(services) == []
    async with services.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Evidence)) == 0
    evidence = Path(settings.ocr.evidence_dir)
    assert not evidence.exists() or not any(evidence.iterdir())


@pytest.mark.parametrize("fmt", ["exif", "heic"])
async def test_a_sideways_photo_and_an_iphone_heic_are_read(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
        lead_sample: Sample, fmt: str) -> None:
    clock.set(lead_sample.now)
    shot = Image.open(io.BytesIO(lead_sample.image)).convert("RGB")
    if fmt == "exif":
        exif = Image.Exif()
        exif[0x0112] = 6  # the camera held sideways: stored turned a quarter left, "rotate 90° clockwise to view"
        data, name = _encoded(shot.rotate(90, expand=True), "JPEG", quality=90, exif=exif), "sideways.jpg"
    else:
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
        data, name = _encoded(shot, "HEIF", quality=90), "IMG_0001.HEIC"
    (tmp_path / name).write_bytes(data)
    await chat.handle_line(f"/image {tmp_path / name}")
    assert lead_sample.truth.phone and lead_sample.truth.phone in transcript.last("rep01")["text"]
