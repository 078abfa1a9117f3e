"""Customer project groups and phone-screen photos drawn by a domain's generator: field F1 per field and per style,
time per image. Domains: energy management (tests/synth_energy.py) and construction materials
(tests/synth_jiancai.py, also run as bench/ocr_jiancai.py).

    python bench/ocr_energy.py                   # 15 groups + 15 photos from seed 100 (drawn before any tuning)
    python bench/ocr_energy.py --seed 500        # the second, fresh draw (looked at only after tuning)
    python bench/ocr_energy.py --save /tmp/en    # also keep the images
    python bench/ocr_jiancai.py                  # construction materials, seed 300 (drawn before any tuning)
    python bench/ocr_jiancai.py --seed 900       # its held-out draw (never tuned on; run only for the final figure)

In-process, one image at a time, tesseract, `[ocr] catalog` = the domain's products and `own_company` = the vendor.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import _score, prf
from ocr.extract import FIELDS

# domain -> (generator module, group maker, photo maker, first seed)
DOMAINS = {"energy": ("tests.synth_energy", "energy_group", "energy_photo", 100),
           "jiancai": ("tests.synth_jiancai", "site_group", "site_photo", 300)}


def main(domain: str = "energy") -> int:
    module, group_maker, photo_maker, seed = DOMAINS[domain]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--save", type=Path)
    ap.add_argument("--only", choices=("group", "photo"))
    args = ap.parse_args()

    from bot.config import OcrSettings
    from bot.engines import Engines
    from ocr.pipeline import read_image, release_memory, validate
    synth = importlib.import_module(module)

    cat = Path(tempfile.mkdtemp()) / "catalog.txt"
    cat.write_text(synth.CATALOG_TEXT, encoding="utf-8")
    settings, engines = OcrSettings(catalog=str(cat), own_company=list(synth.VENDOR)), Engines()
    makers = [getattr(synth, m) for k, m in (("group", group_maker), ("photo", photo_maker))
              if args.only in (None, k)]
    samples = [make(args.seed + i) for make in makers for i in range(args.n)]
    fields: dict[str, list[int]] = {f: [0, 0, 0] for f in FIELDS}
    styles: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    secs = []
    for s in samples:
        t0 = time.perf_counter()
        lead = read_image(validate(s.image, settings), s.now, settings, engines=engines)
        release_memory(engines)
        secs.append(time.perf_counter() - t0)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{s.name}.jpg").write_bytes(s.image)
        miss = []
        for f in FIELDS:
            truth, got = getattr(s.truth, f), getattr(lead, f) if lead.is_lead else None
            c = [0, 0, 0]
            _score(c, truth, list(got) if f == "needs" and got is not None else got, is_set=f == "needs")
            fields[f] = [a + b for a, b in zip(fields[f], c, strict=True)]
            style = str(s.meta["style"])
            styles[style] = [a + b for a, b in zip(styles[style], c, strict=True)]
            if c[1] or c[2]:
                miss.append(f"{f}={got!r}≠{truth!r}" if args.save else f)
        print(f"{s.name:<20} {s.meta['style']:<11} {secs[-1]:.2f}s missed: {' '.join(miss) or '-'}")
    print(f"{'field':<14}{'P':>7}{'R':>7}{'F1':>7}   tp/fp/fn")
    for f, c in fields.items():
        p, r, f1 = prf(*c)
        print(f"{f:<14}{p:7.3f}{r:7.3f}{f1:7.3f}   {c[0]}/{c[1]}/{c[2]}")
    for st, c in sorted(styles.items()):
        print(f"style {st:<12} F1 {prf(*c)[2]:.3f}")
    total = [sum(c[k] for c in fields.values()) for k in range(3)]
    p, r, f1 = prf(*total)
    print(f"OVERALL F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · median {statistics.median(secs):.2f} s/image")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
