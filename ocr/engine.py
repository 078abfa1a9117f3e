"""OCR engines behind one small interface: image + layout → text per layout region.

- `TesseractEngine` (default): every region is cropped, thresholded against its own fill colour,
  normalised to phone-point scale and restacked into one tall image read once with `--psm 6`
  (`chi_sim`); lines that look Latin (email, WeChat id, digits) get a second `eng` pass.
- `RapidOcrEngine` (optional extra `salesbot[rapidocr]`): recognises the raw pixels of each layout
  region's text lines (no text detection) on chats; detects + recognises the whole image otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

from bot.engines import EnginePer, Engines
from ocr.layout import CARD, LEFT, RIGHT, TIME, TITLE, Box, Layout, Region


@dataclass(frozen=True)
class TextRegion:
    kind: str  # "title" | "time" | "left" | "right" | "page" (no chat layout)
    text: str  # one line per OCR line
    latin: str = ""  # second reading of Latin-looking lines (eng), empty when none


@dataclass(frozen=True)
class ChatText:
    regions: tuple[TextRegion, ...]
    is_chat: bool

    @property
    def title(self) -> str | None:
        return next((r.text for r in self.regions if r.kind == TITLE and r.text), None)

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.regions if r.text)


class OcrEngine(Protocol):
    name: str

    def read(self, img: Image.Image, layout: Layout, deadline: float | None = None) -> ChatText: ...


class EngineUnavailable(RuntimeError):
    """The configured engine is not installed."""


class OcrTimeout(RuntimeError):
    """The OCR deadline passed; the engine process was stopped."""


def _seconds_left(deadline: float | None) -> float:
    """Seconds until `deadline` (time.monotonic); 0 means no limit for pytesseract, so never return 0."""
    if deadline is None:
        return 0
    left = deadline - time.monotonic()
    if left <= 0:
        raise OcrTimeout("OCR deadline passed")
    return max(left, 0.01)


_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_SPACE_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


def clean_line(text: str) -> str:
    """Remove the spaces tesseract puts between Chinese characters (keep them between Latin words) and the bar a
    bubble's edge is read as at either end of a line (「企业微信集|」)."""
    return _SPACE_CJK.sub("", text.strip().strip("|｜").strip())


def join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if not line:
            continue
        if out and out[-1].isascii() and out[-1].isalnum() and line[0].isascii() and line[0].isalnum():
            out += " "
        out += line
    return out


def latin_looking(text: str) -> bool:
    return "@" in text or len(re.findall(r"[A-Za-z0-9]", text)) >= 5


def needs_latin(text: str) -> bool:
    """A line chi_sim may have misread that `eng` reads better: an address, an id with Latin letters, or digits
    that do not make a mobile number (a number chi_sim read whole needs no second opinion)."""
    if "@" in text or len(re.findall(r"[A-Za-z]", text)) >= 3:
        return True
    digits = re.sub(r"\D", "", text)
    return len(digits) >= 5 and not re.search(r"1[3-9]\d{9}", digits)


# ---------------------------------------------------------------- tesseract


def _otsu(values: np.ndarray) -> float:
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    cum = np.cumsum(hist)
    cum_mean = np.cumsum(hist * np.arange(256))
    w0 = cum / total
    w1 = 1 - w0
    mu0 = cum_mean / np.maximum(cum, 1)
    mu1 = (cum_mean[-1] - cum_mean) / np.maximum(total - cum, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(between.argmax())


def binarize(crop: Image.Image, *, drop_colour: bool = False) -> Image.Image:
    """Black ink on white, measured as colour distance from the crop's own fill (any mode, any bubble colour).

    `drop_colour` ignores strongly saturated pixels (emoji inside bubbles; message text is never saturated).
    """
    arr = np.asarray(crop.convert("RGB"), dtype=np.int16)
    fill = np.median(arr[::3, ::3].reshape(-1, 3), axis=0)  # every ninth pixel tells the fill as well as all
    dist = np.abs(arr - fill).max(axis=2).clip(0, 255).astype(np.uint8)
    if drop_colour:
        sat = arr.max(axis=2) - arr.min(axis=2)
        fill_sat = fill.max() - fill.min()
        dist[sat > fill_sat + 90] = 0
    t = min(max(_otsu(dist), 35.0), 120.0)
    # Soft threshold: below 0.4·t is paper, the typical ink level is black, edges keep their anti-aliasing
    # (hard 0/255 edges make chi_sim drop short lines such as a two-character name).
    ink = dist[::2][dist[::2] > t]
    full = float(np.median(ink)) if ink.size else 255.0
    lo = 0.4 * t
    scaled = (dist.astype(np.float32) - lo) * (255.0 / max(full - lo, 1.0))
    out = (255 - scaled.clip(0, 255)).astype(np.uint8)
    if drop_colour:  # a bubble
        _clear_rim(out)
    return Image.fromarray(out, "L")


def _clear_rim(gray: np.ndarray, share: float = 0.3) -> None:
    """A bubble's box holds a rim of chat background (and its rounded corners), which differs from the bubble's
    fill and so comes out as a black frame; tesseract then drops the framed line (short rep bubbles: 好的, 明天3点？).
    Edge rows and columns with more than `share` "ink" are that rim, never text (bubbles pad their text): white
    them out, working inwards."""
    ink = gray < 128
    h, w = ink.shape
    top, bottom, left, right = 0, h, 0, w
    while bottom - top > 2 and right - left > 2:
        if ink[top, left:right].mean() > share:
            top += 1
        elif ink[bottom - 1, left:right].mean() > share:
            bottom -= 1
        elif ink[top:bottom, left].mean() > share:
            left += 1
        elif ink[top:bottom, right - 1].mean() > share:
            right -= 1
        else:
            break
    gray[:top], gray[bottom:], gray[:, :left], gray[:, right:] = 255, 255, 255, 255


MAX_STACK_PIXELS = 8_000_000  # the regions, scaled, never exceed this (a 1080×2340 chat is about 1.5 MP)
TEXT_HEIGHT = 31.5  # median ink height of a bubble's text line that chi_sim reads best (a phone shot at 750 px)


def text_scale(img: Image.Image, regions: list[Region]) -> float:
    """The resize that brings bubble text to TEXT_HEIGHT: shrinks large phone shots, enlarges small or
    desktop text; measured on up to eight bubbles."""
    heights: list[int] = []
    k = 2 if img.width >= 1000 else 1  # a large phone shot's lines are measured at half size, as precisely
    for r in [r for r in regions if r.kind in (LEFT, RIGHT)][:8]:
        crop = img.crop((r.box.x0, r.box.y0, r.box.x1, r.box.y1))
        if k > 1:
            crop = crop.reduce(k)
        heights += [k * (b - a) for a, b, _, _ in line_spans(np.asarray(binarize(crop, drop_colour=True)) < 128)]
    if not heights:
        return min(1.0, 750 / img.width)
    scale = float(np.clip(TEXT_HEIGHT / float(np.median(heights)), 0.35, 3.0))
    area = sum(r.box.width * r.box.height for r in regions)
    return min(scale, (MAX_STACK_PIXELS / max(area, 1)) ** 0.5)  # memory stays bounded whatever was measured


@dataclass(frozen=True)
class _Placed:
    region: Region
    y0: int
    y1: int


PAD, GAP, LINE_GAP = 12, 28, 14


def line_spans(ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of each text line of an ink mask: rows split at blank gaps over 2 px, speckle dropped."""
    idx = np.nonzero(ink.any(axis=1))[0]
    if not len(idx):
        return []
    splits = np.nonzero(np.diff(idx) > 2)[0]
    starts = np.concatenate(([idx[0]], idx[splits + 1]))
    ends = np.concatenate((idx[splits], [idx[-1]])) + 1
    out = []
    for a, b in zip(starts, ends, strict=True):
        if b - a < 4:
            continue  # speckle
        cols = np.nonzero(ink[a:b].any(axis=0))[0]
        out.append((int(a), int(b), int(cols.min()), int(cols.max()) + 1))
    return out


def _text_lines(binary: Image.Image) -> list[Image.Image]:
    """Split a binarized crop into its text lines (tesseract drops short lines inside a block)."""
    ink = np.asarray(binary) < 128
    return [binary.crop((0, max(0, a - 3), min(binary.width, x1 + 3), min(binary.height, b + 3)))
            for a, b, _, x1 in line_spans(ink) if not _corners_only(ink[a:b])]


def _corners_only(span: np.ndarray) -> bool:
    """A "line" that is a round bubble's corners (the background left in its box at a wide radius): ink near both
    sides of the crop and none between. A line of text, however short, starts at one side and runs inwards."""
    w = span.shape[1]
    cols = np.nonzero(span.any(axis=0))[0]
    reach = max(3, 2 * span.shape[0])  # a corner is about as wide as it is tall
    sides = cols.min() < reach and cols.max() >= w - reach
    return bool(sides and w > 3 * reach and not np.any((cols >= reach) & (cols < w - reach)))


def _title_lines(crop: Image.Image) -> list[Image.Image]:
    """A title bar's lines, each thresholded on its own: DingTalk's grey company line under the contact's name is
    far fainter than the name, and one threshold for both leaves it too pale for tesseract. A badge beside the
    name is whited out first."""
    faint = np.asarray(binarize(crop)) < 230
    spans = line_spans(faint)
    if len(spans) < 2:
        return [_without_badges(ln) if i == 0 else ln for i, ln in enumerate(_text_lines(binarize(crop)))]
    out: list[Image.Image] = []
    tallest = max(b - a for a, b, _, _ in spans)
    for a, b, _, _ in spans:
        line = crop.crop((0, max(0, a - 3), crop.width, min(crop.height, b + 3)))
        grow = float(np.clip(tallest / max(1, b - a), 1.0, 1.6))  # the small company line read at the name's size
        if grow > 1.05:
            line = line.resize((round(line.width * grow), round(line.height * grow)), Image.Resampling.BICUBIC)
        out.extend(_text_lines(binarize(line)))
    out[:1] = [_without_badges(ln) for ln in out[:1]]  # a badge stands beside the name, never in the line under it
    return out


BADGE_ASPECT = 1.5  # a badge holds two or more characters: far wider than tall (「口」「回」 are square)


def _without_badges(line: Image.Image) -> Image.Image:
    """A title line with its framed or filled badges whited out (DingTalk's 「外部」 in a thin frame, a coloured
    「企业」 label): tesseract reads a framed word as noise that then joins the name. A badge is a rectangle at
    least BADGE_ASPECT times as wide as tall whose left and right edges are solid columns and whose top and
    bottom edges (at most a corner's radius beyond the sides) are solid rows."""
    ink = np.asarray(line) < 128
    h, w = ink.shape
    if h < 8 or w < 16:
        return line
    rows = np.nonzero(ink.any(axis=1))[0]
    extent = int(rows.max() - rows.min() + 1)
    # a small screenshot's JPEG breaks a one-pixel frame here and there: sides need half the line's height, an
    # edge row counts with the row beside it
    sides = np.nonzero(ink.sum(axis=0) >= 0.45 * extent)[0].tolist()
    pairs = ink[:-1] | ink[1:]
    arr = np.asarray(line).copy()
    done = -1
    for i, a in enumerate(sides):
        if a <= done:
            continue
        ys = np.nonzero(ink[:, a])[0]
        top, bottom = int(ys.min()), int(ys.max())
        for b in reversed(sides[i + 1 :]):
            if b - a < BADGE_ASPECT * (bottom - top):
                break
            # the edges' rows: a rounded corner starts the sides lower; between the corners an edge is unbroken
            # (two characters' top strokes leave the gap between them)
            corner = max(2, (bottom - top) // 4)
            span = pairs[:, a + corner : b + 1 - corner]
            edged = _unbroken(span[max(0, top - 4) : top + 1]) and _unbroken(span[max(0, bottom - 1) : bottom + 4])
            if edged and _padded(ink[top + 3 : bottom - 2], a, b):
                arr[:, max(0, a - 2) : b + 3] = 255
                done = b
                break
    return line if done < 0 else Image.fromarray(arr, "L")


def _unbroken(rows: np.ndarray) -> bool:
    """One of `rows` is drawn along 80 % of its length in one run (a JPEG's one-pixel breaks bridged): a frame's
    edge. Characters side by side leave a gap between their strokes, however wide each stroke is (「武立新」's
    立 between 武 and 新 is no frame)."""
    for row in rows:
        bridged = row.copy()
        bridged[1:-1] |= row[:-2] & row[2:]
        if any(y - x >= 0.8 * len(row) for x, y in _true_runs(bridged)):
            return True
    return False


def _true_runs(row: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], row.astype(np.int8), [0])))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(), strict=True))


def _padded(inside: np.ndarray, a: int, b: int) -> bool:
    """A frame pads its word: the columns just inside its sides are blank (a character's strokes are not)."""
    m = max(2, inside.shape[0] // 6)
    return bool(inside[:, a + 2 : a + 2 + m].mean() < 0.08 and inside[:, b - 1 - m : b - 1].mean() < 0.08)


def _label_line(crop: Image.Image, binary: Image.Image) -> list[Image.Image]:
    """A group member's name label above their bubble (small grey text on the chat background, inside the
    message's box): thresholded against the bubble's fill it comes out too pale to count as a line, so it is
    thresholded on its own. [] when nothing pale stands above the first line of the bubble's text."""
    ink = np.asarray(binary)
    strong = line_spans(ink < 128)
    if not strong:
        return []
    first = strong[0]
    above = [sp for sp in line_spans(ink < 230) if sp[1] <= first[0] and sp[1] - sp[0] >= 0.4 * (first[1] - first[0])]
    if not above:
        return []
    a, b, _, _ = above[0]
    label = crop.crop((0, max(0, a - 3), crop.width, min(first[0], b + 3)))
    grow = float(np.clip((first[1] - first[0]) / max(1, b - a), 1.0, 2.0))  # read at the message text's size
    if grow > 1.05:
        label = label.resize((round(label.width * grow), round(label.height * grow)), Image.Resampling.BICUBIC)
    return _text_lines(binarize(label))


def restack(img: Image.Image, regions: list[Region], scale: float) -> tuple[Image.Image, list[_Placed]]:
    """All regions' text lines, thresholded, one under the other with clear gaps, left-aligned."""
    per_region: list[list[Image.Image]] = []
    for r in regions:
        c = img.crop((r.box.x0, r.box.y0, r.box.x1, r.box.y1))
        if scale != 1.0:
            c = c.resize((max(1, round(c.width * scale)), max(1, round(c.height * scale))), Image.Resampling.BILINEAR)
        if r.kind == TITLE:
            per_region.append(_title_lines(c))
        else:
            binary = binarize(c, drop_colour=r.kind in (LEFT, RIGHT, CARD))
            per_region.append((_label_line(c, binary) if r.kind == LEFT else []) + _text_lines(binary))
    lines = [ln for ls in per_region for ln in ls]
    width = max((ln.width for ln in lines), default=1) + 2 * PAD
    height = sum(ln.height for ln in lines) + LINE_GAP * len(lines) + GAP * len(regions) + 2 * PAD
    stack = Image.new("L", (width, height), 255)
    placed: list[_Placed] = []
    y = PAD
    for r, ls in zip(regions, per_region, strict=True):
        y0 = y
        for ln in ls:
            stack.paste(ln, (PAD, y))
            y += ln.height + LINE_GAP
        placed.append(_Placed(r, y0, y))
        y += GAP
    return stack, placed


@dataclass
class _Line:
    words: list[str]
    box: list[int]  # x0, y0, x1, y1


def _lines(data: dict[str, list]) -> list[_Line]:
    lines: dict[tuple[int, int, int], _Line] = {}
    for i, word in enumerate(data["text"]):
        if not str(word).strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        x0, y0 = int(data["left"][i]), int(data["top"][i])
        x1, y1 = x0 + int(data["width"][i]), y0 + int(data["height"][i])
        line = lines.setdefault(key, _Line([], [x0, y0, x1, y1]))
        line.words.append(str(word))
        b = line.box
        line.box = [min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)]
    return list(lines.values())


TSV_KEYS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top", "width", "height",
            "conf", "text")


def tessdata_dir() -> str | None:
    """Where the installed tesseract keeps its language files: $TESSDATA_PREFIX, else what `tesseract
    --list-langs` names (asked when an engine is built); None when neither tells."""
    if os.environ.get("TESSDATA_PREFIX"):
        return os.environ["TESSDATA_PREFIX"]
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'"([^"]+)"', out.stdout + out.stderr)
    return m.group(1) if m else None


class _InProcess:
    """Tesseract as a library (tesserocr), one loaded model per thread and language: no process start, model
    load and image file per call (~0.25 s of CPU per screenshot). Recognition stops at the deadline."""

    def __init__(self, path: str) -> None:
        import tesserocr

        self._lib = tesserocr
        self._path = path
        self._local = threading.local()

    def _api(self, lang: str, psm: int) -> Any:
        apis: dict[str, Any] = self._local.__dict__.setdefault("apis", {})
        if lang not in apis:
            apis[lang] = api = self._lib.PyTessBaseAPI(path=self._path, lang=lang)
            # The lines are cleaned, thresholded and spaced out already: tesseract 5.5's noise rejection would only
            # drop short real lines (a two-character name on its own line).
            api.SetVariable("textord_noise_rejwords", "0")
            api.SetVariable("textord_noise_rejrows", "0")
        api = apis[lang]
        api.SetPageSegMode(psm)
        return api

    def _recognise(self, image: Image.Image, lang: str, psm: int, deadline: float | None) -> Any:
        api = self._api(lang, psm)
        api.SetImage(image)
        timeout = 0 if deadline is None else max(1, int(_seconds_left(deadline) * 1000))
        if not api.Recognize(timeout=timeout):
            raise OcrTimeout("OCR deadline passed")
        return api

    def data(self, image: Image.Image, lang: str, psm: int, deadline: float | None) -> dict[str, list]:
        """The same columns as pytesseract's image_to_data(output_type=DICT)."""
        api = self._recognise(image, lang, psm, deadline)
        tsv = api.GetTSVText(0)
        api.Clear()  # the page image and its results stay allocated in the model until the next call otherwise
        out: dict[str, list] = {k: [] for k in TSV_KEYS}
        for row in tsv.splitlines():
            cells = row.split("\t")
            if len(cells) < len(TSV_KEYS):
                continue
            for k, v in zip(TSV_KEYS, cells, strict=False):
                out[k].append(v if k == "text" else int(float(v)))
        return out

    def text(self, image: Image.Image, lang: str, psm: int, deadline: float | None) -> str:
        api = self._recognise(image, lang, psm, deadline)
        text = str(api.GetUTF8Text())
        api.Clear()
        return text


def _in_process(langs: list[str]) -> _InProcess | None:
    """The library engine when tesserocr is installed and the language files are found; else None (the
    tesseract command line is used)."""
    path = tessdata_dir()
    if not path or not all(os.path.exists(os.path.join(path, f"{lang}.traineddata")) for lang in langs):
        return None
    try:
        return _InProcess(path.rstrip("/") + "/")
    except ImportError:
        return None


class TesseractEngine:
    name = "tesseract"

    def __init__(self, lang: str = "chi_sim") -> None:
        import pytesseract

        self._tess = pytesseract
        self.lang = lang
        # One OpenMP thread per tesseract process: ~3.5x faster on 2 cores, identical text. Set here, when the
        # engine is built (`OCR_ENGINE`, never at import), and given only to the tesseract child processes
        # (pytesseract passes its module's `environ` to them); ours stays untouched.
        pytesseract.pytesseract.environ = {"OMP_THREAD_LIMIT": "1", **os.environ}
        self._lib = _in_process([*lang.split("+"), "eng"])

    def _call(self, fn: Any, deadline: float | None, *args: Any, **kwargs: Any) -> Any:
        """A pytesseract call that kills tesseract at the deadline."""
        try:
            return fn(*args, timeout=_seconds_left(deadline), **kwargs)
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                raise OcrTimeout(str(exc)) from None
            raise

    def _data(self, image: Image.Image, lang: str, psm: int, deadline: float | None) -> dict[str, list]:
        if self._lib is not None:
            return self._lib.data(image, lang, psm, deadline)
        return self._call(self._tess.image_to_data, deadline, image, lang=lang, config=f"--psm {psm}",
                          output_type=self._tess.Output.DICT)

    def read(self, img: Image.Image, layout: Layout, deadline: float | None = None) -> ChatText:
        if not layout.is_chat:
            return self._read_page(img, deadline)
        regions = list(layout.regions)
        scale = text_scale(img, regions)
        stack, placed = restack(img, regions, scale)
        lines = _lines(self._data(stack, self.lang, 6, deadline))
        per_region: list[list[_Line]] = [[] for _ in placed]
        for line in lines:
            cy = (line.box[1] + line.box[3]) / 2
            idx = next((i for i, p in enumerate(placed) if p.y0 - GAP / 2 <= cy <= p.y1 + GAP / 2), None)
            if idx is not None:
                per_region[idx].append(line)
        latin = self._latin_pass(stack, per_region, deadline)
        out = []
        for i, p in enumerate(placed):
            ls = sorted(per_region[i], key=lambda ln: (ln.box[1], ln.box[0]))
            text = "\n".join(t for t in (clean_line(" ".join(ln.words)) for ln in ls) if t)
            out.append(TextRegion(p.region.kind, text, latin.get(i, "")))
        return ChatText(tuple(out), True)

    def _latin_pass(self, stack: Image.Image, per_region: list[list[_Line]], deadline: float | None) -> dict[int, str]:
        """Re-read Latin-looking lines with `eng` (chi_sim turns qq.com into dd.com), all in one call."""
        picks: list[tuple[int, _Line]] = [
            (i, ln) for i, ls in enumerate(per_region) for ln in ls if needs_latin("".join(ln.words))
        ]
        if not picks:
            return {}
        crops = [
            stack.crop((0, max(0, ln.box[1] - 6), stack.width, min(stack.height, ln.box[3] + 6))) for _, ln in picks
        ]
        height = sum(c.height for c in crops) + GAP * len(crops) + PAD
        sheet = Image.new("L", (stack.width, height), 255)
        spans: list[tuple[int, int, int]] = []
        y = PAD
        for (i, _), c in zip(picks, crops, strict=True):
            sheet.paste(c, (0, y))
            spans.append((i, y, y + c.height))
            y += c.height + GAP
        found: dict[int, list[str]] = {}
        for line in sorted(_lines(self._data(sheet, "eng", 6, deadline)), key=lambda ln: ln.box[1]):
            cy = (line.box[1] + line.box[3]) / 2
            for i, y0, y1 in spans:
                if y0 <= cy <= y1:
                    found.setdefault(i, []).append(" ".join(line.words))
                    break
        return {i: " ".join(v) for i, v in found.items()}

    def _read_page(self, img: Image.Image, deadline: float | None) -> ChatText:
        page = img.convert("L")
        if page.width > 1000:
            page = page.resize((1000, round(page.height * 1000 / page.width)), Image.Resampling.BILINEAR)
        if self._lib is not None:
            text = self._lib.text(page, self.lang, 3, deadline)
        else:
            text = self._call(self._tess.image_to_string, deadline, page, lang=self.lang, config="--psm 3")
        lines = [clean_line(x) for x in text.splitlines() if x.strip()]
        return ChatText((TextRegion("page", "\n".join(lines)),), False)


# ---------------------------------------------------------------- rapidocr


class RapidOcrEngine:
    """PP-OCR models bundled with the `rapidocr` package, fed raw pixels (thresholding hurts it).

    Chat screenshots skip text detection: our layout already knows the bubbles, so each bubble is split
    into its text lines and only the recogniser runs, on all lines in batches (about 3× faster than detecting
    over the whole screenshot). Pages that are not chats, and bubbles holding something taller than a text
    line (a sticker, a photo), go through detection + recognition of the whole image instead.
    """

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # optional extra
            raise EngineUnavailable("rapidocr is not installed: pip install 'salesbot[rapidocr]'") from exc
        self._ocr = RapidOCR(params={"Global.log_level": "warning"})
        self._min_score = float(self._ocr.cfg.Global.text_score)

    def _boxes(self, bgr: np.ndarray) -> list[tuple[float, float, float, str]]:
        """(cx, cy, x0, text) per line found by detection over the whole image."""
        # Screenshots are upright: skipping the text-angle classifier saves ~7 % per image.
        res = self._ocr(bgr, use_cls=False)
        boxes = getattr(res, "boxes", None)
        txts = getattr(res, "txts", None)
        if boxes is None or txts is None:
            return []
        out = []
        for box, txt in zip(boxes, txts, strict=False):
            pts = np.asarray(box)
            out.append((float(pts[:, 0].mean()), float(pts[:, 1].mean()), float(pts[:, 0].min()), str(txt)))
        return out

    def read(self, img: Image.Image, layout: Layout, deadline: float | None = None) -> ChatText:
        _seconds_left(deadline)
        bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])  # the models were trained on BGR
        if layout.is_chat:
            crops = _text_line_crops([_line_crops(bgr, r, img.width / 375) for r in layout.regions])
            if crops is not None:
                return self._read_lines(layout, crops)
        boxes = self._boxes(bgr)
        if not layout.is_chat:
            lines = [t for _, _, _, t in sorted(boxes, key=lambda b: (round(b[1] / 20), b[2]))]
            return ChatText((TextRegion("page", "\n".join(clean_line(t) for t in lines)),), False)
        out = []
        for r in layout.regions:
            mine = [b for b in boxes if _inside(b[0], b[1], r.box)]
            mine.sort(key=lambda b: (b[1], b[2]))
            out.append(_region_text(r, [t for _, _, _, t in mine]))
        return ChatText(tuple(out), True)

    def _read_lines(self, layout: Layout, crops: list[list[np.ndarray]]) -> ChatText:
        flat = [c for cs in crops for c in cs]
        res = self._ocr.recognize_txt(flat) if flat else None
        txts = iter(zip(res.txts, res.scores, strict=True) if res else ())
        out = []
        for r, cs in zip(layout.regions, crops, strict=True):
            read = [next(txts) for _ in cs]
            out.append(_region_text(r, [str(t) for t, score in read if score >= self._min_score]))
        return ChatText(tuple(out), True)


def _region_text(r: Region, lines: list[str]) -> TextRegion:
    text = "\n".join(t for t in (clean_line(x) for x in lines) if t)
    return TextRegion(r.kind, text, text if latin_looking(text) else "")


def _line_crops(bgr: np.ndarray, r: Region, s: float) -> list[np.ndarray]:
    """Raw-pixel crops of a region's text lines, each padded by a quarter of its height."""
    b = r.box
    # A bubble's rounded corners, tail and anti-aliased edge differ from its fill: look for ink well inside it
    # (text sits 10–12 pt in from the edge).
    dx, dy = (min(round(8 * s), b.width // 4), min(round(3 * s), b.height // 4)) if r.kind in (LEFT, RIGHT) else (0, 0)
    inner = np.ascontiguousarray(bgr[b.y0 + dy : b.y1 - dy, b.x0 + dx : b.x1 - dx, ::-1])
    ink = np.asarray(binarize(Image.fromarray(inner), drop_colour=r.kind in (LEFT, RIGHT))) < 128
    out = []
    for y0, y1, x0, x1 in line_spans(ink):
        pad = max(2, (y1 - y0) // 4)
        out.append(bgr[max(b.y0, b.y0 + dy + y0 - pad) : min(b.y1, b.y0 + dy + y1 + pad),
                       max(b.x0, b.x0 + dx + x0 - pad) : min(b.x1, b.x0 + dx + x1 + pad)])
    return out


def _text_line_crops(crops: list[list[np.ndarray]]) -> list[list[np.ndarray]] | None:
    """Without slivers (under 40 % of the typical line height: a bubble edge, a rule); None when some crop is
    over twice the typical height (lines run together, a picture in a bubble) or nothing is left."""
    heights = [c.shape[0] for cs in crops for c in cs]
    if not heights:
        return None
    typical = float(np.median(heights))
    if max(heights) > 2 * typical:
        return None
    return [[c for c in cs if c.shape[0] >= 0.4 * typical] for cs in crops]


def _inside(x: float, y: float, box: Box, tol: int = 6) -> bool:
    return box.x0 - tol <= x <= box.x1 + tol and box.y0 - tol <= y <= box.y1 + tol


def get_engine(engines: Engines, name: str, lang: str = "chi_sim") -> OcrEngine:
    """The process's engine for (engine, language), kept by `engines` (rapidocr loads its models once)."""
    return engines.get_for(OCR_ENGINE, (name, lang))


def _engine(key: tuple[str, str]) -> OcrEngine:
    name, lang = key
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "tesseract":
        return TesseractEngine(lang)
    raise EngineUnavailable(f"unknown OCR engine {name!r}")


OCR_ENGINE = EnginePer("ocr.engine", _engine)


__all__ = ["CARD", "LEFT", "RIGHT", "TIME", "TITLE", "ChatText", "EngineUnavailable", "OcrEngine", "OcrTimeout",
           "TextRegion", "get_engine"]
