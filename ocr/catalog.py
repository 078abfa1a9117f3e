"""The products a company sells, for finding a customer's needs in chat text.

A catalog file (`[ocr] catalog`) has one product per line, optionally followed by its synonyms:

    # comments and blank lines are ignored
    升降桌
    云服务器: 云主机, ECS
    会议平板 | 智慧屏 | 交互大屏

Without a configured file the shipped `ocr/needs.toml` is the default catalog. Matching is case-insensitive,
Latin terms only match as whole words ("BI" is not in "mobile"), a word listed in `not_needs` is never read as
the need it contains ("测试用例" is not 试用), and a long Chinese product name still matches with one character
misread by OCR ("内窥镜系统" read as "内罕镜系统").
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

import jieba

DEFAULT_PATH = Path(__file__).with_name("needs.toml")
# Generic tails a customer often leaves off: "门禁系统" is asked for as "门禁", "CRM系统" as "CRM".
GENERIC_TAIL = re.compile(r"(?:系统|平台|软件)$")
SYNONYM_SPLIT = re.compile(r"\s*[,，、|/;；]\s*")
NAME_SPLIT = re.compile(r"\s*(?:[:：=]|\|)\s*")


@dataclass(frozen=True)
class Catalog:
    products: tuple[tuple[str, tuple[str, ...]], ...]  # (name, synonyms)
    not_needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        terms: dict[str, str] = {}
        for name, synonyms in self.products:
            for word in (name, *synonyms):
                terms.setdefault(word.lower(), name)
            stem = GENERIC_TAIL.sub("", name)
            if stem != name and _distinct(stem):
                terms.setdefault(stem.lower(), name)
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "_pattern", _alternation(terms))
        object.__setattr__(self, "_fuzzy", _fuzzy_patterns(terms))
        masks = [re.escape(w.lower()) for w in sorted(self.not_needs, key=len, reverse=True)]
        object.__setattr__(self, "_mask", re.compile("|".join(masks)) if masks else None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.products)

    def find(self, text: str) -> list[str]:
        """Product names mentioned in `text`, in order of first mention."""
        low = text.lower()
        if self._mask is not None:  # type: ignore[attr-defined]
            low = self._mask.sub(lambda m: "\0" * len(m.group(0)), low)  # type: ignore[attr-defined]
        hits: list[tuple[int, str]] = []
        taken = [False] * len(low)
        pattern: re.Pattern[str] | None = self._pattern  # type: ignore[attr-defined]
        if pattern is not None:
            for m in pattern.finditer(low):
                hits.append((m.start(), self._terms[m.group(0)]))  # type: ignore[attr-defined]
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
        for rx, name in self._fuzzy:  # type: ignore[attr-defined]
            for m in rx.finditer(low):
                if not any(taken[m.start() : m.end()]):
                    hits.append((m.start(), name))
        return list(dict.fromkeys(name for _, name in sorted(hits)))


def _distinct(stem: str) -> bool:
    """A stem worth matching alone: two Chinese characters or three Latin letters at least."""
    return len(re.findall(r"[\u4e00-\u9fff]", stem)) >= 2 or bool(re.fullmatch(r"[A-Za-z0-9]{3,}", stem))


def _term_regex(term: str) -> str:
    body = re.escape(term)
    if re.match(r"[a-z0-9]", term):
        body = r"(?<![a-z0-9])" + body
    if re.search(r"[a-z0-9]$", term):
        body += r"(?![a-z0-9])"
    return body


def _alternation(terms: dict[str, str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile("|".join(_term_regex(t) for t in sorted(terms, key=len, reverse=True)))


def _fuzzy_patterns(terms: dict[str, str]) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Chinese terms of three characters or more with one character after the first misread by OCR (only the
    middle one of a three-character term), unless the misreading is itself a word: 打印机 is not a misread 打包机."""
    variants: dict[str, str] = {}
    for term, name in terms.items():
        if re.fullmatch(r"[\u4e00-\u9fff]{3,}", term):
            for i in range(1, len(term)) if len(term) >= 4 else (1,):
                variants[re.escape(term[:i]) + r"[\u4e00-\u9fff]" + re.escape(term[i + 1 :])] = name
    if not variants:
        return ()
    words = _real_words(re.compile("|".join(variants)), set(terms))
    out = []
    for pattern, name in variants.items():
        rx = re.compile(pattern)
        real = [w for w in words if rx.fullmatch(w)]
        guard = "(?!" + "|".join(map(re.escape, real)) + ")" if real else ""
        out.append((re.compile(guard + pattern), name))
    return tuple(out)


def _real_words(rx: re.Pattern[str], terms: set[str]) -> list[str]:
    """Words of jieba's dictionary that a fuzzy pattern would take for a misread product."""
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            word = line.split(" ", 1)[0]
            if len(word) >= 3 and word not in terms and rx.fullmatch(word):
                out.append(word)
    return out


def parse_catalog_text(text: str) -> Catalog:
    """One product per line: `name`, `name: syn, syn`, or `name | syn | syn`; `#` starts a comment."""
    products: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, *rest = NAME_SPLIT.split(line, maxsplit=1)
        synonyms = tuple(s for s in SYNONYM_SPLIT.split(rest[0]) if s) if rest else ()
        if head and head.lower() not in seen:
            seen.add(head.lower())
            products.append((head, synonyms))
    return Catalog(tuple(products))


def parse_catalog_toml(text: str) -> Catalog:
    data = tomllib.loads(text)
    products = tuple((item["name"], tuple(item.get("synonyms", ()))) for item in data.get("need", []))
    return Catalog(products, tuple(data.get("not_needs", ())))


class CatalogError(ValueError):
    """The configured catalog file cannot be read."""


_lock = threading.Lock()
_cache: dict[str, tuple[float, Catalog]] = {}


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog at `path` (a text file, or a needs.toml-style TOML file), or the default one; cached until the
    file changes, so an admin's edit is picked up without a restart."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise CatalogError(f"catalog file not readable: {file}") from exc
    key = str(file.resolve())
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == mtime:
            return hit[1]
        text = file.read_text("utf-8-sig")
        catalog = parse_catalog_toml(text) if file.suffix == ".toml" else parse_catalog_text(text)
        _cache[key] = (mtime, catalog)
        return catalog
