"""Per-style field counts for the drawn screenshot benches (bench/ocr.py's styles set, bench/ocr_desk.py, …).

A drawn sample's truth has the extractor's FIELDS as attributes and `is_lead`; a worker line (bench/ocr.py
--worker) has `is_lead` and `fields`. Lead images count tp / fp / fn per field; negatives count as empty or not.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ocr.extract import FIELDS


def _score(c: list[int], truth: object, pred: object, *, is_set: bool) -> None:
    """Add one field of one image to [tp, fp, fn] (a set field counts its members)."""
    if is_set:
        t, p = set(truth or ()), set(pred or ())  # type: ignore[call-overload]
        c[0] += len(t & p)
        c[1] += len(p - t)
        c[2] += len(t - p)
        return
    if pred is not None and pred == truth:
        c[0] += 1
        return
    if pred is not None:
        c[1] += 1
    if truth is not None:
        c[2] += 1


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def predicted_fields(got: dict) -> dict[str, object]:
    """The worker line's fields as the truth holds them (None / [] when no lead was made; follow-up parsed)."""
    pred = dict(got["fields"]) if got["is_lead"] else {f: None for f in FIELDS} | {"needs": []}
    pred["follow_up"] = datetime.fromisoformat(pred["follow_up"]) if pred["follow_up"] else None
    return pred


@dataclass
class StyleTally:
    counts: dict[str, list[list[int]]] = field(default_factory=dict)  # style -> per field [tp, fp, fn]
    negatives: dict[str, list[int]] = field(default_factory=dict)  # style -> [empty, total]

    def add(self, style: str, truth: object, got: dict) -> dict[str, tuple[object, object]]:
        """Count one image; return the lead's wrong fields as {field: (truth, predicted)}."""
        if not truth.is_lead:  # type: ignore[attr-defined]
            neg = self.negatives.setdefault(style, [0, 0])
            neg[0] += not got["is_lead"]
            neg[1] += 1
            return {}
        pred = predicted_fields(got)
        counts = self.counts.setdefault(style, [[0, 0, 0] for _ in FIELDS])
        wrong: dict[str, tuple[object, object]] = {}
        for c, f in zip(counts, FIELDS, strict=True):
            want, have = getattr(truth, f), pred[f]
            _score(c, want, have, is_set=f == "needs")
            if (set(want or ()) != set(have or ())) if f == "needs" else want != have:  # type: ignore[call-overload]
                wrong[f] = (want, have)
        return wrong

    def styles(self) -> Iterator[tuple[str, tuple[float, float, float], list[int] | None]]:
        """(style, (P, R, F1) over its lead images, [empty, total] of its negatives or None)."""
        for style, counts in self.counts.items():
            yield style, prf(*self._sum(counts)), self.negatives.get(style)
        for style, neg in self.negatives.items():
            if style not in self.counts:
                yield style, (1.0, 1.0, 1.0), neg

    def field_f1(self) -> str:
        return " · ".join(f"{f} {prf(*self.field_counts(f))[2]:.2f}" for f in FIELDS)

    def field_counts(self, name: str) -> list[int]:
        i = FIELDS.index(name)
        return [sum(c[i][k] for c in self.counts.values()) for k in range(3)]

    def overall(self) -> tuple[float, float, float]:
        return prf(*self._sum([row for counts in self.counts.values() for row in counts]))

    @staticmethod
    def _sum(rows: list[list[int]]) -> list[int]:
        return [sum(r[k] for r in rows) for k in range(3)]



def read_drawn(images: list[tuple[str, bytes, datetime]], keep: Path | None = None,
               catalog: str | None = None) -> list[dict] | None:
    """Write drawn (name, image, now) samples to a folder (`keep`, else a temporary one) with bench/ocr.py's index
    and `catalog`, read them in one OCR worker (the bot's path) and return its JSON lines in order; None (the
    worker's error printed) when it failed."""
    with tempfile.TemporaryDirectory(prefix="ocr-drawn-") as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if catalog is not None:
            (folder / "catalog.txt").write_text(catalog, "utf-8")
        with (folder / "index.jsonl").open("w") as index:
            for name, image, now in images:
                (folder / name).write_bytes(image)
                index.write(json.dumps({"file": name, "now": now.isoformat()}) + "\n")
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("ocr.py")), "--engine", "tesseract",
                               "--worker", str(folder)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return None
    return [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"file"')]


def print_styles(tally: StyleTally) -> None:
    """F1 per style with its negatives, F1 per field, overall F1 and phone precision."""
    for style, (p, r, f1), neg in tally.styles():
        empty, total = neg or (0, 0)
        print(f"{style:<7} F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · negatives empty {empty}/{total}")
    print("per field: " + tally.field_f1())
    print(f"OVERALL F1 {tally.overall()[2]:.3f} · phone precision {prf(*tally.field_counts('phone'))[0]:.3f}")


def print_times(secs: dict[str, list[float]]) -> None:
    """Median seconds per image for each size ("W×H") read."""
    for size, ss in sorted(secs.items()):
        print(f"median {statistics.median(ss):.2f} s per {size} image ({len(ss)} images, max {max(ss):.2f})")


def tally_lines(drawn: Sequence[tuple[str, object, object]], lines: list[dict], *, misses: bool = False
                ) -> tuple[StyleTally, dict[str, list[float]]]:
    """Count the worker's `lines` against the drawn (style, truth, (width, height)) samples, in order; with the
    seconds per image by size. `misses` prints each image's wrong fields (and a lead read from a negative)."""
    tally = StyleTally()
    secs: dict[str, list[float]] = {}
    for (style, truth, size), got in zip(drawn, lines, strict=True):
        secs.setdefault("×".join(str(v) for v in size), []).append(got["seconds"])  # type: ignore[attr-defined]
        wrong = tally.add(style, truth, got)
        if misses and (wrong or (got["is_lead"] and not truth.is_lead)):  # type: ignore[attr-defined]
            print(got["file"], size, wrong or f"a lead from a negative: {got['fields']}")
    return tally, secs
