"""End to end with real tesseract on screenshots rendered by ocr.synth; bad input; the CLI."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from app.commands.ocr import main as ocr_main
from bot.clock import CN_TZ
from bot.config import OcrSettings
from ocr.people import NAMES as NAMES_ENGINE
from ocr.pipeline import MAX_WIDTH, OcrRejected, _semaphore, lead_to_json, read_screenshot, validate
from tests.conftest import ENGINES  # this test process's (no services here)
from tests.synth import make_sample

NAMES = ENGINES.get(NAMES_ENGINE)  # the name lists of this test process (no services here)

SETTINGS = OcrSettings()

FIXTURES = Path(__file__).parent / "fixtures" / "ocr"


def png(w: int, h: int, colour: tuple[int, int, int] | int = (237, 237, 237), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("seed", [3, 4])  # WeCom light with a rep's-price trap; WeChat dark with a WeChat id
async def test_screenshot_to_lead(seed: int) -> None:
    sample = make_sample(seed)
    lead = await read_screenshot(sample.image, now=sample.now, settings=SETTINGS, engines=ENGINES)
    t = sample.truth
    assert lead.is_lead
    assert lead.phone == t.phone
    assert lead.customer_name == t.customer_name
    assert lead.company == t.company
    assert lead.budget_cny == t.budget_cny
    assert lead.follow_up == t.follow_up
    assert lead.follow_up is not None and lead.follow_up.tzinfo is not None


async def test_rep_phone_and_referrer_phone_are_not_taken() -> None:
    sample = make_sample(2)  # rep gives his number; customer names a referrer's number first
    lead = await read_screenshot(sample.image, now=sample.now, settings=SETTINGS, engines=ENGINES)
    assert sample.truth.phone is not None
    assert lead.phone == sample.truth.phone


@pytest.mark.parametrize(("seed", "reason"), [(5, "receipt"), (11, "group_chat")])
async def test_negatives_make_no_lead(seed: int, reason: str) -> None:
    sample = make_sample(seed)
    assert not sample.truth.is_lead
    lead = await read_screenshot(sample.image, now=sample.now, settings=SETTINGS, engines=ENGINES)
    assert not lead.is_lead
    assert lead.reject_reason == reason


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not_image"),
        (png(750, 1334)[:300], "corrupt"),
        (png(100, 60), "bad_dimensions"),
        (png(300, 6000), "bad_dimensions"),
    ],
)
async def test_bad_input_is_rejected_with_a_chinese_message(data: bytes, code: str) -> None:
    with pytest.raises(OcrRejected) as err:
        await read_screenshot(data, now=datetime.now(CN_TZ), settings=SETTINGS, engines=ENGINES)
    assert err.value.code == code
    assert err.value.message_cn and not err.value.message_cn.isascii()


async def test_too_large_and_bomb_dimensions() -> None:
    with pytest.raises(OcrRejected) as err:
        await read_screenshot(
            png(750, 1334), now=datetime.now(CN_TZ), settings=OcrSettings(max_image_mb=0.001)
        , engines=ENGINES)
    assert err.value.code == "too_large"
    bomb = png(10000, 10000, 1, mode="1")  # white, one bit a pixel: compresses to a few KB, encoded 6x faster
    with pytest.raises(OcrRejected) as err:
        await read_screenshot(bomb, now=datetime.now(CN_TZ), settings=SETTINGS, engines=ENGINES)
    assert err.value.code == "too_many_pixels"


def test_lead_json_shape() -> None:
    from ocr.extract import LeadFields

    lead = LeadFields(
        phone="13812345678", needs=("CRM系统",), follow_up=datetime(2024, 10, 25, 15, 0, tzinfo=CN_TZ)
    )
    out = lead_to_json("a.png", lead)
    assert list(out) == [
        "file",
        "customer_name",
        "company",
        "title",
        "phone",
        "email",
        "wechat_id",
        "budget_cny",
        "needs",
        "follow_up",
        "confidence",
        "text",
    ]
    assert out["follow_up"] == "2024-10-25T15:00:00+08:00" and out["needs"] == ["CRM系统"]


def test_cli_json_lines(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample(3)
    good = tmp_path / "chat.jpg"
    good.write_bytes(sample.image)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"hello")
    code = ocr_main(["--json", "--now", sample.now.isoformat(), str(good), str(bad)])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert lines[0]["file"] == str(good) and lines[0]["phone"] == sample.truth.phone
    assert lines[0]["follow_up"] == sample.truth.follow_up.isoformat()  # type: ignore[union-attr]
    assert lines[1] == {"file": str(bad), "error": "not_image", "message": lines[1]["message"]}


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


async def test_a_very_large_screenshot_is_scaled_down_and_still_read() -> None:
    sample = make_sample(4)
    small = Image.open(io.BytesIO(sample.image)).convert("RGB")
    big = small.resize((small.width * 5 // 2, small.height * 5 // 2), Image.BICUBIC)
    assert validate(jpeg(big), SETTINGS).width <= MAX_WIDTH
    square = Image.new("RGB", (6300, 6300), (237, 237, 237))
    square.paste((20, 20, 20), (500, 500, 3000, 900))  # something drawn: a blank image is refused as such
    buf = io.BytesIO()
    square.save(buf, "PNG")
    assert validate(buf.getvalue(), SETTINGS).size == (3000, 3000)  # not a phone shot: up to 9 megapixels
    lead = await read_screenshot(jpeg(big), now=sample.now, settings=SETTINGS, engines=ENGINES)
    assert lead.phone == sample.truth.phone


async def test_a_timed_out_job_keeps_its_slot_until_tesseract_is_stopped() -> None:
    """A read past its deadline is a clear rejection (code 「timeout」), and its slot stays taken until tesseract
    is stopped."""
    sample = make_sample(4)
    settings = OcrSettings(timeout_s=0.05, workers=1)  # far below any real read (0.3 s sometimes sufficed)
    with pytest.raises(OcrRejected) as err:
        await read_screenshot(sample.image, now=sample.now, settings=settings, engines=ENGINES)
    assert err.value.code == "timeout"
    slot = _semaphore(1)
    assert slot.locked()  # the worker thread is still finishing
    for _ in range(200):  # tesseract is killed at the deadline, so the thread ends soon after
        if not slot.locked():
            break
        await asyncio.sleep(0.05)
    assert not slot.locked()


async def test_a_chat_with_one_customer_bubble_under_its_title_is_a_chat() -> None:
    """「马丽@飞鸿物流」 and one bubble 「我是飞鸿物流的马丽，手机13922223333」: a lead, not 「像是收据或表格」."""
    data = (FIXTURES / "one_bubble_chat.jpg").read_bytes()
    lead = await read_screenshot(data, now=datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ), settings=SETTINGS,
                                 engines=ENGINES)
    assert lead.is_lead and lead.reject_reason is None
    assert (lead.customer_name, lead.phone) == ("马丽", "13922223333")


async def test_a_short_rep_bubble_is_read() -> None:
    """The rep's 「明天3点？」 (one short green bubble): its box's rim of chat background came out as a black frame
    and tesseract dropped the framed line, so the time the rep proposed was lost."""
    data = (FIXTURES / "short_rep_bubble.jpg").read_bytes()
    lead = await read_screenshot(data, now=datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ), settings=SETTINGS,
                                 engines=ENGINES)
    assert "明天3点" in lead.text
    assert lead.follow_up == datetime(2026, 11, 24, 15, 0, tzinfo=CN_TZ)


def test_tesseract_as_a_library_and_as_a_command_read_alike() -> None:
    """The library (tesserocr, no process per call) is used when installed; the command line stays the fallback
    and reads the same screenshot to the same fields."""
    from ocr.engine import TesseractEngine
    from ocr.extract import extract
    from ocr.screen import locate

    sample = make_sample(4)
    found = locate(validate(sample.image, SETTINGS))
    library, command = TesseractEngine(), TesseractEngine()
    command._lib = None
    assert library._lib is not None
    got = [extract(e.read(found.image, found.layout), sample.now, names=NAMES) for e in (library, command)]
    assert [(g.customer_name, g.phone) for g in got] == [(sample.truth.customer_name, sample.truth.phone)] * 2
