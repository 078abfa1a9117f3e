"""OCR lead-extraction benchmark over synthetic screenshots rendered by `ocr.synth`.

    python bench/ocr.py                       # test half, both engines (rapidocr if installed), 100 images
    python bench/ocr.py --split dev --n 60    # the half you may look at while tuning
    python bench/ocr.py --engine tesseract --one   # (internal) one engine in this process

Each engine runs in its own subprocess so peak RSS is per engine. Field metrics are over the
lead screenshots; negatives (receipts, price tables, colleague/group chats, small talk) are scored
by how often they produce no lead. Prints per-field precision/recall/F1, overall micro field F1,
character error rate, follow-up exact rate, negatives-no-lead rate, median seconds per image
(all, and 1080×2340 only) and peak RSS of the benchmark process (a tesseract child is ~70 MB).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from bot.config import OcrSettings
from ocr.extract import FIELDS
from ocr.pipeline import read_image
from ocr.synth import make_set

SEEDS = {"dev": 1000, "test": 2000}  # tune on dev only; report test


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def run_one(engine: str, split: str, n: int) -> dict[str, object]:
    settings = OcrSettings(engine=engine)
    samples = make_set(SEEDS[split], n)
    counts = {f: [0, 0, 0] for f in FIELDS}  # tp, fp, fn
    secs: list[float] = []
    secs_1080: list[float] = []
    errs = chars = 0
    fu_ok = fu_total = neg_ok = neg_total = 0
    for sm in samples:
        img = Image.open(io.BytesIO(sm.image)).convert("RGB")
        t0 = time.perf_counter()
        lead = read_image(img, sm.now, settings)
        dt = time.perf_counter() - t0
        secs.append(dt)
        if img.size == (1080, 2340):
            secs_1080.append(dt)
        ref = _squash(sm.text)
        errs += levenshtein(ref, _squash(lead.text))
        chars += len(ref)
        if not sm.truth.is_lead:
            neg_total += 1
            neg_ok += not lead.is_lead
            continue
        fu_total += 1
        fu_ok += lead.follow_up == sm.truth.follow_up
        for f in FIELDS:
            _score(counts[f], getattr(sm.truth, f), getattr(lead, f), is_set=f == "needs")
    return {
        "engine": engine, "split": split, "n": n, "counts": counts,
        "cer": errs / max(chars, 1), "follow_up_exact": fu_ok / max(fu_total, 1),
        "negatives_no_lead": neg_ok / max(neg_total, 1), "negatives": neg_total, "leads": fu_total,
        "median_s": statistics.median(secs), "median_s_1080x2340": statistics.median(secs_1080) if secs_1080 else None,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _score(c: list[int], truth: object, pred: object, *, is_set: bool) -> None:
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


def report(res: dict[str, object]) -> None:
    counts: dict[str, list[int]] = res["counts"]  # type: ignore[assignment]
    print(f"\n== {res['engine']} · {res['split']} half · {res['n']} images ({res['leads']} leads, "
          f"{res['negatives']} negatives)")
    print(f"{'field':<14}{'P':>7}{'R':>7}{'F1':>7}   tp/fp/fn")
    total = [0, 0, 0]
    for f, c in counts.items():
        p, r, f1 = prf(*c)
        total = [a + b for a, b in zip(total, c, strict=True)]
        print(f"{f:<14}{p:7.3f}{r:7.3f}{f1:7.3f}   {c[0]}/{c[1]}/{c[2]}")
    p, r, f1 = prf(*total)
    print(f"{'OVERALL':<14}{p:7.3f}{r:7.3f}{f1:7.3f}")
    m1080 = res["median_s_1080x2340"]
    print(f"CER {res['cer']:.3%} · follow-up exact {res['follow_up_exact']:.3f} · negatives no-lead "
          f"{res['negatives_no_lead']:.3f} · median {res['median_s']:.2f} s/image"
          + (f" ({m1080:.2f} s at 1080×2340)" if m1080 else "")
          + f" · peak RSS {res['rss_mb']:.0f} MB (bench process; each tesseract child is separate and small)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=sorted(SEEDS), default="test")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--engine", choices=["tesseract", "rapidocr", "all"], default="all")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.engine, args.split, args.n)))
        return 0
    engines = ["tesseract", "rapidocr"] if args.engine == "all" else [args.engine]
    for engine in engines:
        if engine == "rapidocr":
            try:
                import rapidocr  # noqa: F401
            except ImportError:
                print("\n== rapidocr: not installed (pip install 'salesbot[rapidocr]'), skipped")
                continue
        proc = subprocess.run([sys.executable, __file__, "--one", "--engine", engine, "--split", args.split,
                               "--n", str(args.n)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"\n== {engine}: failed\n{proc.stderr[-2000:]}")
            continue
        report(json.loads(proc.stdout.strip().splitlines()[-1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
