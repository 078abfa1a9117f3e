"""The three card axes (role, industry, objection) with synonyms, loaded from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.schema import AXES, CardError

DEFAULT_PATH = Path(__file__).with_name("taxonomy.toml")
AXIS_LABELS = {"role": "角色", "industry": "行业", "objection": "异议"}


class TaxonomyError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cue:
    """One word the matcher looks for, and what it means."""

    text: str
    axis: str  # "role" | "industry" | "objection" | "expansion"
    value: str  # canonical axis value, or for expansions the abbreviation itself
    words: tuple[str, ...] = ()  # expansion words


@dataclass(frozen=True)
class Taxonomy:
    values: dict[str, tuple[str, ...]]  # axis → canonical values (file order)
    synonyms: dict[str, dict[str, str]]  # axis → lower-case word → canonical value
    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case term → words

    def canonical(self, axis: str, value: str) -> str | None:
        return self.synonyms.get(axis, {}).get(value.strip().lower())

    def canonical_or_error(self, axis: str, value: str) -> str:
        found = self.canonical(axis, value)
        if found is None:
            known = "/".join(self.values.get(axis, ()))
            raise CardError(f"{axis} ({AXIS_LABELS.get(axis, axis)}) {value!r} is unknown (known: {known})")
        return found

    def is_axis_word(self, word: str) -> bool:
        key = word.strip().lower()
        return any(key in self.synonyms[axis] for axis in AXES)

    def cues(self) -> list[Cue]:
        out: list[Cue] = []
        for axis in AXES:
            for word, value in self.synonyms[axis].items():
                out.append(Cue(word, axis, value))
        for term, words in self.expansions.items():
            out.append(Cue(term, "expansion", term, words))
        return out

    def dictionary_words(self) -> set[str]:
        words = {w for axis in AXES for w in self.synonyms[axis]}
        words |= {w for ws in self.expansions.values() for w in ws} | set(self.expansions)
        return words


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and check a taxonomy file; `None` or "" → the one shipped with the package."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaxonomyError(f"taxonomy file {file} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{file}: not valid TOML ({exc})") from None
    values: dict[str, tuple[str, ...]] = {}
    synonyms: dict[str, dict[str, str]] = {}
    for axis in AXES:
        entries = raw.get(axis)
        if not isinstance(entries, list) or not entries:
            raise TaxonomyError(f"{file}: [[{axis}]] entries are missing")
        values[axis], synonyms[axis] = _axis(file, axis, entries)
    expansions: dict[str, tuple[str, ...]] = {}
    for i, entry in enumerate(raw.get("expansion", [])):
        term, words = entry.get("term"), entry.get("words")
        if not isinstance(term, str) or not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise TaxonomyError(f"{file}: [[expansion]] #{i + 1} needs term = \"…\" and words = [\"…\"]")
        expansions[term.strip().lower()] = tuple(w.strip() for w in words if w.strip())
    return Taxonomy(values, synonyms, expansions)


def _axis(file: Path, axis: str, entries: list[object]) -> tuple[tuple[str, ...], dict[str, str]]:
    names: list[str] = []
    words: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise TaxonomyError(f"{file}: [[{axis}]] #{i + 1} needs a name")
        name = entry["name"].strip()
        syns = entry.get("synonyms", [])
        if not isinstance(syns, list) or not all(isinstance(s, str) for s in syns):
            raise TaxonomyError(f"{file}: [[{axis}]] {name}: synonyms must be a list of strings")
        names.append(name)
        for word in [name, *syns]:
            key = word.strip().lower()
            if key and words.setdefault(key, name) != name:
                raise TaxonomyError(f"{file}: {axis} synonym {word!r} is listed under {words[key]} and {name}")
    return tuple(names), words
