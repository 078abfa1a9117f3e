"""Reading drawn screenshots through the real pipeline (tesseract) in tests: a domain's `[ocr]` settings from its
generator's catalog and vendor, and one image read as the bot reads it."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from PIL import Image

from bot.config import OcrSettings
from ocr.extract import LeadFields
from ocr.pipeline import read_image, validate
from tests.conftest import ENGINES


def vendor_settings(catalog_text: str, vendor: Iterable[str]) -> OcrSettings:
    """`[ocr] catalog` = the domain's products (written to a file, as an admin gives it), `own_company` = the vendor."""
    catalog = Path(tempfile.mkdtemp()) / "catalog.txt"
    catalog.write_text(catalog_text, encoding="utf-8")
    return OcrSettings(catalog=str(catalog), own_company=list(vendor))


def read_drawn(image: Image.Image | bytes, now: datetime, settings: OcrSettings, *, fmt: str = "PNG",
               quality: int = 90) -> LeadFields:
    """One drawn image (a PIL image is encoded as `fmt` first), validated and read as the bot reads an upload."""
    if isinstance(image, Image.Image):
        buf = io.BytesIO()
        image.save(buf, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
        image = buf.getvalue()
    return read_image(validate(image, settings), now, settings, engines=ENGINES)
