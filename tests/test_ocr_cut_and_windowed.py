"""Screenshots drawn by other hands (tests/synth_clients.py, a dental-equipment vendor's chats, invented people):
a part of a PC client's chat pane cut out, a small client window on a large screen, a tall part of a phone chat
starting mid-message, a WeCom pane whose white bubbles barely differ from it — and a title whose characters
stand side by side like a framed badge's edges. Each of these read nothing or the wrong thing before."""

from __future__ import annotations

from bot.config import OcrSettings
from ocr.catalog import parse_catalog_text
from ocr.engine import ChatText, get_engine
from ocr.extract import extract
from ocr.layout import RIGHT
from ocr.people import NAMES
from ocr.pipeline import validate
from ocr.screen import PANE, PHONE, Located, locate
from tests.conftest import ENGINES
from tests.synth_clients import CATALOG, make_client

SETTINGS = OcrSettings()
DENTAL = parse_catalog_text(CATALOG)


def _read(image: bytes, now: object) -> tuple[object, object]:
    found, text = _text(image)
    return found, extract(text, now, DENTAL, names=ENGINES.get(NAMES))  # type: ignore[arg-type]


def _text(image: bytes) -> tuple[Located, ChatText]:
    found = locate(validate(image, SETTINGS))
    return found, get_engine(ENGINES, "tesseract").read(found.image, found.layout)


def test_a_part_of_a_pc_chat_pane_cut_out_is_read_at_desktop_size() -> None:
    # 1523×667, no title bar, input area or session list; 36-px avatars (a phone's least avatar here is 113 px)
    image, now, truth, _ = make_client(7700 + 131 * 5, "pccrop")
    found, lead = _read(image, now)
    assert found.kind == PANE and found.layout.title is None  # type: ignore[attr-defined]
    assert any(r.kind == RIGHT for r in found.layout.regions)  # type: ignore[attr-defined]
    got = (lead.customer_name, lead.title, lead.phone, lead.needs)  # type: ignore[attr-defined]
    assert got == (truth.customer_name, truth.title, truth.phone, truth.needs)


def test_a_small_client_window_on_a_large_screen_keeps_its_chat_pane() -> None:
    # a 1920×1080 screen, the window under half of it: its chat pane is about a fifth of the screen wide
    image, now, truth, _ = make_client(8801, "wxwin", narrow=True)
    found, lead = _read(image, now)
    assert found.kind == PANE and found.pane is not None and found.pane.width < 0.25 * 1920  # type: ignore[attr-defined]
    assert (lead.customer_name, lead.phone, lead.needs) == (truth.customer_name, truth.phone, truth.needs)  # type: ignore[attr-defined]


def test_a_tall_part_of_a_phone_chat_starts_at_its_first_row() -> None:
    # 750×1231 (taller than a phone crop's 3:2), cut through the rep's bubble: the customer's self-introduction
    # under it is a message, not a title bar
    image, now, truth, _ = make_client(7700 + 131 * 3, "crop")
    found, lead = _read(image, now)
    assert found.kind == PHONE and found.layout.title is None and found.layout.chat_top == 0  # type: ignore[attr-defined]
    assert (lead.customer_name, lead.company, lead.phone) == (truth.customer_name, truth.company, truth.phone)  # type: ignore[attr-defined]


def test_a_wecom_pane_keeps_its_title_and_the_last_digits_of_a_card() -> None:
    # white-ish bubbles 6 levels off the pane: the card's number line 「电话：+86 155 2220 8043」 under three lines;
    # the 15-px title 「武立新」 (立 between 武 and 新 looked like a framed badge's edges and was whited out)
    image, _, truth, _ = make_client(7700 + 131 * 3, "wwwin")
    _, text = _text(image)
    assert text.title == truth.customer_name
    assert truth.phone in "".join(ch for ch in text.text if ch.isdigit())
