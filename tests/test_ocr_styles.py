"""Screenshots in the styles reps really send, drawn by tests/synth_styles.py (invented people and companies):
PC client chat panes, iPad split view, photos of a phone screen, small and twice-forwarded low-quality shots."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import CN_TZ
from bot.config import OcrSettings
from ocr.pipeline import read_image, validate
from ocr.screen import PANE, PHOTO, locate
from tests.conftest import ENGINES  # this test process's (no services here)
from tests.synth_styles import make_styled

SETTINGS = OcrSettings()



@pytest.mark.parametrize(
    ("style", "seed", "where"), [("desktop", 104, PANE), ("ipad", 100, PANE), ("photo", 103, PHOTO)]
)
def test_the_chat_is_found_and_read(style: str, seed: int, where: str) -> None:
    sample = make_styled(seed, style)
    img = validate(sample.image, SETTINGS)
    assert locate(img).kind == where
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    t = sample.truth
    assert lead.is_lead
    assert (lead.customer_name, lead.phone) == (t.customer_name, t.phone)
    assert lead.company == t.company


def test_desktop_text_is_read_at_full_resolution() -> None:
    sample = make_styled(100, "desktop")
    img = validate(sample.image, SETTINGS)
    assert img.width == sample.meta["size"][0]  # type: ignore[index]  # a 2560-px desktop is not shrunk to 1300
    found = locate(img)
    assert found.pane is not None and found.pane.x0 > 0  # sidebar and session list left out


@pytest.mark.parametrize("style", ["small", "lowq"])
def test_small_and_forwarded_phone_shots(style: str) -> None:
    sample = make_styled(101, style)
    lead = read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES)
    assert (lead.customer_name, lead.phone) == (sample.truth.customer_name, sample.truth.phone)


@pytest.mark.parametrize("kind", ["colleague", "group", "smalltalk"])
def test_desktop_negatives_are_no_lead(kind: str) -> None:
    sample = make_styled(102, "desktop", kind)
    assert not read_image(validate(sample.image, SETTINGS), sample.now, SETTINGS, engines=ENGINES).is_lead


async def test_explain_draws_the_pane_and_bubbles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from app.commands.ocr import explain_image
    from bot.config import Settings

    shot = tmp_path / "desk.jpg"
    shot.write_bytes(make_styled(100, "desktop").image)
    out = tmp_path / "explain.png"
    assert await explain_image(str(out), [str(shot)], Settings()) == 0
    drawn = Image.open(out)
    assert drawn.width > drawn.height  # the original with its pane box beside the chat as read
    assert (30, 110, 230) in {c for _, c in drawn.getcolors(1 << 24)}  # the pane outline colour is drawn


def test_a_photo_with_glare_still_shows_its_bubbles_one_by_one() -> None:
    # Glare leaves a few stray pixels in every row between bubbles and sensor noise speckles the background;
    # both once joined the whole chat into one run that touched the title bar and was dropped as cut off.
    sample = make_styled(6006, "photo")
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO
    assert sum(r.kind == "left" for r in found.layout.regions) >= 4
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert (lead.phone, lead.company) == (sample.truth.phone, sample.truth.company)


@pytest.mark.parametrize("dark", [False, True])
def test_a_dingtalk_company_line_under_the_name_is_read_whatever_its_industry(dark: bool) -> None:
    """DingTalk shows the contact's organisation in small grey type under the name; read with the name's
    threshold it came out too pale, and 「光明乳业」 (no industry word the rules know) was not taken as a company."""
    import random

    from tests.synth import Chat, Item, _jpeg, render_chat

    chat = Chat("dingtalk", "冯芳", " 外部", [Item("left", "你好，想了解一下你们的考勤系统"),
                                           Item("left", "我手机17121005447"), Item("right", "好的，稍后联系您")],
                subtitle="光明乳业")
    img, _ = render_chat(chat, random.Random(1), (1080, 2340), dark)
    lead = read_image(validate(_jpeg(img, 85), OcrSettings()), datetime(2024, 5, 6, 10, 0, tzinfo=CN_TZ),
                      OcrSettings(), engines=ENGINES)
    assert (lead.customer_name, lead.company, lead.phone) == ("冯芳", "光明乳业", "17121005447")


def test_a_photographed_dark_mode_screen_on_a_dark_table_is_found_and_read() -> None:
    """A dark-mode chat photographed on a dark-grey desk, a few levels brighter than the screen's black: Otsu's
    threshold falls between the screen's text and its background rather than around the screen, so the lit-screen
    outline was never found and the photo read as a page (no lead). (The test drawn on generator photos with a
    black bezel passed before the fix: the bezel outlined the screen by itself.)"""
    import random

    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    from tests.synth import Chat, Item, _jpeg, render_chat
    from tests.synth_styles import _perspective_coeffs

    long = "我们这边主要是想把仓库的排班和考勤一起管起来，人多了以后手工排不过来"
    chat = Chat("wechat", "曾明力", None, [Item("left", "你好，我是新锐汽车的曾明力"), Item("left", long),
                                           Item("left", "我的手机：159-1394-1009"), Item("left", long),
                                           Item("right", "好的，明天下午给您回电"), Item("left", "行，没问题")])
    screen, _ = render_chat(chat, random.Random(8), (1080, 2340), True)
    screen = screen.resize((720, 1560), Image.Resampling.BILINEAR)
    quad = [(200, 150), (1300, 170), (1280, 1850), (220, 1830)]
    warped = screen.transform((1500, 2000), Image.Transform.PERSPECTIVE, _perspective_coeffs(quad, screen.size),
                              Image.Resampling.BICUBIC)
    inside = Image.new("L", (1500, 2000), 0)
    ImageDraw.Draw(inside).polygon(quad, fill=255)
    photo = Image.new("RGB", (1500, 2000), (55, 50, 43))  # the desk
    photo.paste(warped, mask=inside)
    arr = np.asarray(photo.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
    arr += np.random.default_rng(1).normal(0, 3, arr.shape)  # sensor noise
    shot = validate(_jpeg(Image.fromarray(arr.clip(0, 255).astype(np.uint8)), 85), OcrSettings())
    assert locate(shot).kind == PHOTO
    lead = read_image(shot, datetime(2024, 5, 6, 10, 0, tzinfo=CN_TZ), OcrSettings(), engines=ENGINES)
    assert (lead.customer_name, lead.phone) == ("曾明力", "15913941009")


def test_a_pc_client_with_an_info_panel_is_read_from_its_chat_pane_alone() -> None:
    """A 2560×1440 client at 150 % with a right-side info panel and a session list whose previews hold other
    people's numbers: the pane between them is found by its boundaries, not by fixed proportions."""
    sample = make_styled(202, "pc")
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PANE and found.pane is not None
    assert found.pane.x0 > 0 and found.pane.x1 < img.width  # session list and info panel left out
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert (lead.customer_name, lead.phone) == (sample.truth.customer_name, sample.truth.phone)


def test_a_phone_photographed_at_18_degrees_is_rectified_and_its_number_read() -> None:
    sample = make_styled(208, "photo2")
    assert abs(sample.meta["angle"]) > 15  # type: ignore[arg-type]
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO and found.quad is not None
    assert read_image(img, sample.now, SETTINGS, engines=ENGINES).phone == sample.truth.phone


def test_a_close_up_without_screen_edges_is_straightened_by_its_text_lines() -> None:
    """The screen fills the frame (no full outline): straightened by its text lines' angle, or rectified by the
    sides of its outline the frame shows (a photo is read as one first) — either way the chat is read."""
    from ocr.screen import deskewed

    sample = make_styled(205, "photo2")
    assert sample.meta["closeup"]
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO
    assert deskewed(img) is not None
    assert {r.kind for r in found.layout.regions} >= {"left", "right"}
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert (lead.customer_name, lead.phone) == (sample.truth.customer_name, sample.truth.phone)


@pytest.mark.parametrize(("seed", "doc"), [(201, "tender"), (214, "receipt"), (209, "price_list"),
                                           (213, "bank_sms")])
def test_a_document_with_a_mobile_number_is_no_lead(seed: int, doc: str) -> None:
    """A tender notice, a photographed receipt, a price list on a desktop, a bank SMS: lines at a page's margin
    are neither avatars nor bubbles, so no chat is laid out and the number never becomes a lead."""
    sample = make_styled(seed, "docs")
    assert sample.truth.kind == doc
    img = validate(sample.image, SETTINGS)
    assert not locate(img).layout.is_chat
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert not lead.is_lead and lead.phone is None


def test_a_photographed_monitor_is_read_through_its_chat_pane() -> None:
    """A PC client on a monitor photographed at an angle (keystone, thin bezel, moiré, glare): the screen is
    rectified at its own resolution, the chat pane found on it and read (before: no quad at monitor size, the
    screen shrunk to a phone's width and read as a page)."""
    sample = make_styled(104, "photomon")
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO and found.quad is not None
    assert found.image.width < img.width * 0.9  # the chat pane alone, not the whole screen
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert (lead.company, lead.phone) == (sample.truth.company, sample.truth.phone)


def test_a_close_up_photo_on_a_bright_cloth_is_rectified_by_its_screen_outline() -> None:
    """A dark-mode phone on a light cloth filling most of the frame: the screen is the inner outline, not the
    whole frame."""
    sample = make_styled(107, "photo2")
    img = validate(sample.image, SETTINGS)
    found = locate(img)
    assert found.kind == PHOTO and found.quad is not None
    assert min(x for x, _ in found.quad) > 0  # an outline inside the frame
    lead = read_image(img, sample.now, SETTINGS, engines=ENGINES)
    assert (lead.customer_name, lead.phone) == (sample.truth.customer_name, sample.truth.phone)
