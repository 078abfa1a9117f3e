"""Cue words found as tesseract reads them: exactly, or with one character misread (师傅 read 师傅 → 师传, 简历 →
简厉, 快递 → 快逆). A near reading counts only where it can be a misreading and nothing else:

- the misread character looks like the cue's (their glyphs, drawn in the CJK font, correlate): 传 can be a
  misread 傅, 了 no misread 付;
- the reading is no everyday word, and neither end belongs to an everyday word with its outer neighbour (简单 is
  no misread 简历, 当面说 no misread 面试: 当面 is a word) — `common`, jieba's dictionary (`NameLists.is_word`);
- for a two-character cue, the character kept names one cue only (「_会」 could be 例会, 周会 or 参会: no guess).

Without `common` or without a CJK font, only exact matches count.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HAN = re.compile(r"[\u4e00-\u9fff]")
FONTS = (("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
         ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2))
# Glyph correlation, past what every character shares (the mean glyph of everyday characters), of OCR confusions:
# 傅/传, 例/列, 试/式 above it; 聊/存, 我/零, 在/银 below
ALIKE = 0.3
EVERYDAY_CHARS = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着"
                  "去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主"
                  "行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二"
                  "理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走"
                  "电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市"
                  "眼体别处总才场师书比住员")


class CueWords:
    """A fixed list of cue words; `found(text)` is the set of them the text carries, exactly or near."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(dict.fromkeys(words))
        self._exact = re.compile("|".join(map(re.escape, sorted(self.words, key=len, reverse=True))))
        # (position of the misread character, the word with that character masked) → the cue; None when ambiguous
        self._masked: dict[tuple[int, str], str | None] = {}
        for w in self.words:
            for i in range(len(w) if len(w) >= 2 else 0):
                if HAN.fullmatch(w[i]):
                    key = (i, w[:i] + "_" + w[i + 1 :])
                    self._masked[key] = w if key not in self._masked else None
        self._lengths = sorted({len(k[1]) for k in self._masked})

    def found(self, text: str, common: Callable[[str], bool] | None = None) -> tuple[set[str], set[str]]:
        """(the cues read exactly, those read with one character misread)."""
        hits = set(self._exact.findall(text))
        near: set[str] = set()
        if common is None or _glyph("一") is None:
            return hits, near
        for n in self._lengths:
            for p in range(len(text) - n + 1):
                window = text[p : p + n]
                for i in range(n):
                    w = self._masked.get((i, window[:i] + "_" + window[i + 1 :]))
                    if w and w not in hits and w != window and _misread(text, p, n, w[i], i, common):
                        near.add(w)
        return hits, near


def _misread(text: str, p: int, n: int, meant: str, i: int, common: Callable[[str], bool]) -> bool:
    """text[p:p+n] read with its i-th character wrong for `meant` (see the module docstring)."""
    if not HAN.fullmatch(text[p + i]) or alike(text[p + i], meant) < ALIKE:
        return False
    pairs = [text[max(p - 1, 0) : p + 1], text[p + n - 1 : p + n + 1], text[p + i - 1 : p + i + 1] if i else "",
             text[p + i : p + i + 2]]
    return not any(len(pair) == 2 and common(pair) for pair in pairs)


def alike(a: str, b: str) -> float:
    """How alike two characters' glyphs look (correlation of their blurred drawings, 1.0 the same); 0.0 without
    a CJK font."""
    ga, gb = _glyph(a), _glyph(b)
    return float((ga * gb).sum()) if ga is not None and gb is not None else 0.0


@functools.cache
def _font() -> ImageFont.FreeTypeFont | None:
    return _load_font()


def _load_font() -> ImageFont.FreeTypeFont | None:
    for path, index in FONTS:
        try:
            return ImageFont.truetype(path, 48, index=index, layout_engine=ImageFont.Layout.BASIC)
        except OSError:
            continue
    return None


@functools.lru_cache(maxsize=4096)
def _glyph(ch: str) -> np.ndarray | None:
    """The character drawn at 48 px, blurred, at 24×24, less the mean everyday glyph, zero mean and unit norm
    (2.3 KB each)."""
    drawn, mean = _drawn(ch), _mean_glyph()
    if drawn is None or mean is None:
        return None
    a = drawn - mean
    a -= a.mean()
    return a / (float(np.linalg.norm(a)) + 1e-6)


@functools.cache
def _mean_glyph() -> np.ndarray | None:
    """Drawn with a font of its own, dropped after: FreeType keeps ~15 KB of every glyph a face has drawn."""
    font = _load_font()
    drawn = [d for ch in EVERYDAY_CHARS if (d := _drawn(ch, font)) is not None]
    return np.mean(drawn, axis=0) if drawn else None


def _drawn(ch: str, f: ImageFont.FreeTypeFont | None = None) -> np.ndarray | None:
    f = f or _font()
    if f is None:
        return None
    im = Image.new("L", (56, 56), 0)
    ImageDraw.Draw(im).text((4, -6), ch, font=f, fill=255)
    return np.asarray(im.filter(ImageFilter.GaussianBlur(2)).resize((24, 24), Image.Resampling.BILINEAR),
                      dtype=np.float32)
