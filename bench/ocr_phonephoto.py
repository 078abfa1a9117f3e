"""Photos of a phone screen (tests/synth_phonephoto.py): field F1, how each photo was located, time per image.

    python bench/ocr_phonephoto.py                  # 16 photos from seed 7000 (written before any tuning)
    python bench/ocr_phonephoto.py --seed 9000      # the held-out photos (looked at only for the final figure)
    python bench/ocr_phonephoto.py --save /tmp/pp   # also keep the JPEGs and the rectified screens

In-process, one image at a time (decode, locate, OCR, extract) with tesseract, as bench/ocr.py's worker does;
the photos are drawn first so their drawing is not in the time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import _score, prf
from ocr.extract import FIELDS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--negatives", type=int, default=4, help="no-lead chats photographed (colleague, group, …)")
    ap.add_argument("--save", type=Path)
    args = ap.parse_args()

    from bot.config import OcrSettings
    from bot.engines import Engines
    from ocr.pipeline import read_image, release_memory, validate
    from ocr.screen import locate
    from tests.synth_phonephoto import phone_photo

    kinds = ["lead"] * args.n + [("colleague", "group", "smalltalk")[i % 3] for i in range(args.negatives)]
    photos = [phone_photo(args.seed + i, kind) for i, kind in enumerate(kinds)]
    settings, engines = OcrSettings(), Engines()
    counts = [[0, 0, 0] for _ in FIELDS]
    secs, empty = [], 0
    for i, (kind, ph) in enumerate(zip(kinds, photos, strict=True)):
        t0 = time.perf_counter()
        img = validate(ph.image, settings)
        lead = read_image(img, ph.now, settings, engines=engines)  # type: ignore[arg-type]
        release_memory(engines)
        secs.append(time.perf_counter() - t0)
        found = locate(img) if args.save else None
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{args.seed + i}.jpg").write_bytes(ph.image)
            found.image.save(args.save / f"{args.seed + i}-read.png")  # type: ignore[union-attr]
        if kind != "lead":
            empty += not lead.is_lead
            print(
                f"{args.seed + i} {kind:<9} {'empty' if not lead.is_lead else 'LEAD ' + str(lead.customer_name)}"
                f" {secs[-1]:.2f}s"
            )
            continue
        miss = []
        for c, f in zip(counts, FIELDS, strict=True):
            truth, got = getattr(ph.truth, f), getattr(lead, f) if lead.is_lead else None
            before = list(c)
            _score(c, truth, list(got) if f == "needs" and got is not None else got, is_set=f == "needs")
            if c[1] > before[1] or c[2] > before[2]:
                miss.append(f)
        print(
            f"{args.seed + i} {ph.meta['style']:<8} {ph.meta['size'][0]}×{ph.meta['size'][1]} "
            f"{secs[-1]:.2f}s {'kind=' + found.kind if found else ''} missed: {','.join(miss) or '-'}"
        )
    total = [sum(c[k] for c in counts) for k in range(3)]
    p, r, f1 = prf(*total)
    print("per field: " + " · ".join(f"{f} {prf(*c)[2]:.2f}" for f, c in zip(FIELDS, counts, strict=True)))
    print(
        f"OVERALL F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · phone precision {prf(*counts[FIELDS.index('phone')])[0]:.3f}"
        f" · negatives empty {empty}/{len(kinds) - args.n} · median {statistics.median(secs):.2f} s/image"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
