"""Screenshot bytes → `LeadFields`: validate, lay out, OCR in a bounded executor, extract.

Bad input is refused before any decoding work with `OcrRejected(code, message_cn)`; OCR runs in the process's
thread pool (an `Engine` kept by the caller's `Engines`, bot/engines.py) limited to `settings.workers` jobs at once
and a `settings.timeout_s` timeout, so one huge image cannot stall the bot.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import logging
import time
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, cast

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.clock import to_cn
from bot.config import OcrSettings
from bot.engines import Engine, EnginePer, Engines
from ocr.catalog import Catalog, CatalogError, load_catalog
from ocr.engine import EngineUnavailable, OcrTimeout, get_engine
from ocr.extract import LeadFields, extract
from ocr.people import NAMES
from ocr.screen import locate

log = logging.getLogger(__name__)
MIN_SIDE = 200
MAX_ASPECT = 12.0  # long screenshots are ~2–4× taller than wide; 12× is a ribbon, not a chat
# Phones are ≤ 1290 px wide. Wider images are scaled down before layout: text stays legible (the engine reads
# bubbles at 750 px width anyway) and memory stays bounded (6300×6300 took 1 GB when analysed full size).
MAX_WIDTH = 1300
# Wider images are desktops, tablets or photos: their chat pane is read at full resolution (14-px text), so
# they keep up to 4K width and 9 megapixels.
MAX_WIDE_WIDTH = 3840
MAX_WIDE_PIXELS = 9_000_000


class OcrRejected(Exception):
    """Input we will not OCR; `message_cn` is the short reply for the rep."""

    def __init__(self, code: str, message_cn: str) -> None:
        super().__init__(f"{code}: {message_cn}")
        self.code = code
        self.message_cn = message_cn


def validate(data: bytes, settings: OcrSettings) -> Image.Image:
    """Decode and check the image; raises OcrRejected with a friendly message (and logs why)."""
    try:
        return _validate(data, settings)
    except OcrRejected as exc:
        log.info("image refused: %s (%d bytes)", exc.code, len(data))
        raise


def _sniff(data: bytes) -> None:
    """Files that are not screenshots, told apart by their first bytes."""
    if data[:5] == b"%PDF-":
        raise OcrRejected("pdf", "这是 PDF 文件，请把聊天记录截图后以图片发送。")
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heim", b"heis"):
        _register_heif()


def _register_heif() -> None:
    """iPhone photos (HEIC) open through pillow-heif; without it they are refused clearly."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        raise OcrRejected("heic", "暂时读不了 iPhone 的 HEIC 图片，请截屏后发送，"
                                  "或在相机设置中选「兼容性最佳」。") from None
    register_heif_opener()


def _validate(data: bytes, settings: OcrSettings) -> Image.Image:
    if not data:
        raise OcrRejected("empty", "没有收到图片内容，请重新发送截图。")
    if len(data) > settings.max_image_mb * 1024 * 1024:
        raise OcrRejected("too_large", f"图片太大了（超过 {settings.max_image_mb:g} MB），请压缩或截取聊天部分后再发。")
    _sniff(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > settings.max_pixels:
                raise OcrRejected("too_many_pixels", "图片尺寸过大，请发送普通的手机聊天截图。")
            if min(w, h) < MIN_SIDE or max(w, h) / max(min(w, h), 1) > MAX_ASPECT:
                raise OcrRejected("bad_dimensions", "图片尺寸不像聊天截图，请发送手机聊天截图。")
            if getattr(img, "is_animated", False):
                raise OcrRejected("animated", "这是一张动图，请发送静态的聊天截图。")
            target = decode_size(w, h, img.getexif())
            if target != (w, h):
                img.draft("RGB", target)  # JPEG decodes at 1/2, 1/4, 1/8 scale (the smallest not under target)
            img.load()
    except OcrRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise OcrRejected("too_many_pixels", "图片尺寸过大，请发送普通的手机聊天截图。") from None
    except UnidentifiedImageError:
        raise OcrRejected("not_image", "这不是图片文件，请发送聊天截图（PNG 或 JPG）。") from None
    except (OSError, SyntaxError, ValueError):
        raise OcrRejected("corrupt", "图片文件已损坏或不完整，请重新截图发送。") from None
    img = bounded(upright(img))
    if _blank(img):
        raise OcrRejected("blank", "这张图片是全黑或空白的，看不到聊天内容，请重新截图。")
    return img


EXIF_ORIENTATION = 0x0112


def upright(img: Image.Image) -> Image.Image:
    """A photo taken sideways turned upright by its EXIF orientation; the image itself (no copy) when it has none."""
    if img.getexif().get(EXIF_ORIENTATION, 1) in (0, 1):
        return img
    return ImageOps.exif_transpose(img) or img


def _blank(img: Image.Image) -> bool:
    """Nothing drawn: every pixel within a few levels of one colour (a black screen, an empty capture)."""
    lo, hi = cast(tuple[int, int], img.reduce(4).convert("L").getextrema())  # one band: (min, max)
    return hi - lo < 12


CAMERA_TAGS = (0x010F, 0x0110)  # EXIF Make, Model: a camera photo, never a screen capture
CAMERA_SIDE = 2000  # a photographed screen's text stays legible with the photo's long side at this size


def decode_size(w: int, h: int, exif: Image.Exif) -> tuple[int, int]:
    """The smallest size (as stored) worth decoding a `w`×`h` image at. A phone camera stores a portrait photo
    sideways with an EXIF rotation, so the limit is chosen for the upright picture; a camera photo (12 MP) is
    decoded at about CAMERA_SIDE on its long side, not at full size and shrunk afterwards (~36 MB per copy)."""
    sideways = exif.get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    up_w, up_h = (h, w) if sideways else (w, h)
    scale = min(1.0, width_limit(up_w, up_h) / up_w)
    wide_photo = up_w * up_h > MAX_WIDE_PIXELS and up_h < up_w * 1.2  # a long scrolling screenshot is not one
    if any(exif.get(tag) for tag in CAMERA_TAGS) or wide_photo:
        scale = min(scale, CAMERA_SIDE / max(w, h))
    return (w, h) if scale >= 1.0 else (max(1, round(w * scale)), max(1, round(h * scale)))


def width_limit(w: int, h: int) -> int:
    if h >= w * 1.2:
        return MAX_WIDTH
    return min(MAX_WIDE_WIDTH, int((MAX_WIDE_PIXELS * w / max(h, 1)) ** 0.5))


def bounded(img: Image.Image) -> Image.Image:
    """RGB, at most MAX_WIDTH wide for a phone shot, MAX_WIDE_WIDTH for anything wider (aspect kept)."""
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    limit = width_limit(img.width, img.height)
    if img.width >= 2 * limit:
        img = img.reduce(img.width // limit)  # box filter by an integer factor: cheap, small intermediate
    if img.width > limit:
        img = img.resize((limit, max(1, round(img.height * limit / img.width))), Image.Resampling.BILINEAR)
    return img.convert("RGB") if img.mode != "RGB" else img


def _executor(workers: int) -> ThreadPoolExecutor:
    """The OCR threads: one pool per process (per `[ocr] workers` value), started on the first screenshot."""
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ocr")


OCR_THREADS = EnginePer("ocr.threads", _executor)


# The OCR slots, per event loop (an asyncio primitive belongs to one loop) and `[ocr] workers` value: not an
# expensive object, so no `Engine`; forgotten with its loop.
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = \
    weakref.WeakKeyDictionary()


def _semaphore(workers: int) -> asyncio.Semaphore:
    per_loop = _slots.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(workers, asyncio.Semaphore(max(1, workers)))


def read_image(img: Image.Image, now: datetime, settings: OcrSettings, deadline: float | None = None, *,
               engines: Engines, catalog: Catalog | None = None) -> LeadFields:
    """Blocking: layout, OCR, extraction; tesseract is killed once `deadline` (time.monotonic) has passed.
    `catalog`: the products to find (default: the configured `[ocr] catalog`)."""
    engine = get_engine(engines, settings.engine, settings.lang)
    found = locate(img)
    return extract(engine.read(found.image, found.layout, deadline), now, catalog or catalog_for(settings),
                   names=engines.get(NAMES), own=settings.own_company)


def catalog_for(settings: OcrSettings) -> Catalog:
    """The configured product catalog; the built-in one (with a log line) when the file cannot be read."""
    try:
        return load_catalog(settings.catalog or None)
    except (CatalogError, OSError, UnicodeDecodeError, ValueError):
        log.warning("ocr catalog %r unreadable; using the built-in product list", settings.catalog)
        return load_catalog(None)


def _work(data: bytes, now: datetime, settings: OcrSettings, deadline: float, engines: Engines,
          catalog: Catalog | None) -> LeadFields:
    try:
        return read_image(validate(data, settings), now, settings, deadline, engines=engines, catalog=catalog)
    finally:
        release_memory(engines)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    try:
        return cast(Callable[[int], int], ctypes.CDLL(None).malloc_trim)
    except (AttributeError, OSError):
        return None


MALLOC_TRIM = Engine("libc.malloc_trim", _malloc_trim)


def release_memory(engines: Engines) -> None:
    """Give the heap an OCR job freed back to the system. Each worker thread allocates its page copies in its own
    malloc arena, and glibc keeps freed arena memory mapped: without this a worker's RSS settles at the sum of
    its threads' largest jobs (~160 MB over the styles set with two workers) instead of its models."""
    trim = engines.get(MALLOC_TRIM)
    if trim is not None:
        trim(0)


async def read_screenshot(data: bytes, *, now: datetime, settings: OcrSettings, engines: Engines,
                          catalog: Catalog | None = None) -> LeadFields:
    """Validate and OCR in the bounded executor with a timeout. Raises OcrRejected on bad input. `engines`: the
    process's (`services.engines`; a CLI command's own), which keep the OCR engine and threads.

    The concurrency slot is released when the worker thread really ends, not when the caller stops waiting,
    so a timed-out job still counts until tesseract (killed at the deadline) has returned.
    """
    loop = asyncio.get_running_loop()
    sem = _semaphore(settings.workers)
    await sem.acquire()
    deadline = time.monotonic() + settings.timeout_s
    try:
        threads = engines.get_for(OCR_THREADS, settings.workers)
        job = loop.run_in_executor(threads, _work, data, now, settings, deadline, engines, catalog)
    except BaseException:
        sem.release()
        raise
    job.add_done_callback(lambda f: _finished(f, sem))
    try:
        return await asyncio.wait_for(asyncio.shield(job), timeout=settings.timeout_s)
    except (TimeoutError, OcrTimeout):
        raise OcrRejected("timeout", "识别超时了，请截取更短的聊天记录再试。") from None
    except EngineUnavailable as exc:
        raise OcrRejected("engine_unavailable", "识别引擎暂不可用，请联系管理员。") from exc


def _finished(job: asyncio.Future[LeadFields], sem: asyncio.Semaphore) -> None:
    sem.release()
    if not job.cancelled():
        job.exception()  # retrieved here so a job nobody waits for any more logs nothing


def no_lead(lead: LeadFields) -> LeadFields:
    """What a screenshot that is no lead reports: every field empty, the reason kept."""
    return LeadFields(confidence=lead.confidence, text=lead.text, reject_reason=lead.reject_reason)


def _follow_up(lead: LeadFields) -> str | None:
    """The agreed time in ISO 8601: the date alone when no clock time was agreed (「明天」, 「后天下午」)."""
    if not lead.follow_up:
        return None
    when = to_cn(lead.follow_up)
    return when.date().isoformat() if lead.follow_up_precision in ("day", "part") else when.isoformat()


def lead_to_json(file: str, lead: LeadFields) -> dict[str, Any]:
    """The OCR lead JSON of design §6."""
    return {
        "file": file,
        "customer_name": lead.customer_name,
        "company": lead.company,
        "title": lead.title,
        "phone": lead.phone,
        "email": lead.email,
        "wechat_id": lead.wechat_id,
        "budget_cny": lead.budget_cny,
        "needs": list(lead.needs),
        "follow_up": _follow_up(lead),
        "confidence": lead.confidence,
        "text": lead.text,
    }
