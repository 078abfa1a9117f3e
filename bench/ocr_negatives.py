"""Hard negatives and their look-alike leads (tests/synth_negatives.py): how many negatives give no lead, how many
near-positives stay leads, and whether the reply names the right kind — on transcripts and on drawn screenshots
read by tesseract.

    python bench/ocr_negatives.py              # transcripts, then drawn images (2 seeds each)
    python bench/ocr_negatives.py --seeds 1    # one drawing per case
    python bench/ocr_negatives.py --only supplier-cable,group-quote -v

The catalog is the set's own (the products the rep's company sells); no own-company names are configured.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import CN_TZ
from bot.config import OcrSettings
from bot.engines import Engines
from ocr.catalog import parse_catalog_text
from ocr.extract import LeadFields, extract
from ocr.negatives import looks_like
from ocr.people import NAMES
from ocr.pipeline import read_image, validate
from tests.synth_negatives import CASES, CASES_B, CASES_C, CATALOG_TEXT, Case, draw, transcript

NOW = datetime(2024, 12, 8, 15, 0, tzinfo=CN_TZ)


def verdict(case: Case, lead: LeadFields) -> tuple[bool, bool]:
    """(right about lead / no lead, right about the kind as well)."""
    if case.lead:
        return lead.is_lead, lead.is_lead
    kind = lead.reject_reason or ""
    same = kind == case.want or (case.want == "colleague" and kind == "colleague_chat")
    return not lead.is_lead, not lead.is_lead and same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--set", choices=["a", "b", "c", "all"], default="all",
                    help="a: written before tuning; b: after the first change; c: after b was tuned on")
    ap.add_argument("--no-images", action="store_true")
    ap.add_argument("-v", action="store_true", help="print every case")
    args = ap.parse_args()
    engines = Engines()
    names = engines.get(NAMES)
    catalog = parse_catalog_text(CATALOG_TEXT)
    settings = OcrSettings()
    chosen = {"a": CASES, "b": CASES_B, "c": CASES_C, "all": {**CASES, **CASES_B, **CASES_C}}[args.set]
    cases = {k: v for k, v in chosen.items() if not args.only or k in args.only.split(",")}
    runs: list[tuple[str, int | None]] = [(k, None) for k in cases]
    if not args.no_images:
        runs += [(k, s) for s in range(args.seeds) for k in cases]
    tally: dict[tuple[str, bool], list[int]] = {}
    for key, seed in runs:
        case = cases[key]
        if seed is None:
            lead = extract(transcript(case), NOW, catalog, names=names)
        else:
            img = validate(draw(case, 9100 + seed * 97 + sum(map(ord, key))), settings)
            lead = read_image(img, NOW, settings, engines=engines, catalog=catalog)
        ok, kind_ok = verdict(case, lead)
        t = tally.setdefault(("transcript" if seed is None else "image", case.lead), [0, 0, 0])
        t[0] += 1
        t[1] += int(ok)
        t[2] += int(kind_ok)
        if args.v or not ok or not kind_ok:
            got = "LEAD" if lead.is_lead else f"no lead: {looks_like(lead.reject_reason) or lead.reject_reason}"
            mark = "ok " if ok and kind_ok else "KIND" if ok else "MISS"
            print(f"{mark} {'txt' if seed is None else f'img{seed}'} {key:34s} want {case.want:14s} got {got}"
                  f"  [{lead.customer_name}|{lead.company}|{lead.phone}|{','.join(lead.needs)}]")
    print()
    for (where, positive), (n, right, named) in sorted(tally.items()):
        what = "leads kept" if positive else "negatives empty"
        extra = "" if positive else f", kind named right {named}/{n}"
        print(f"{where:10s} {what:16s} {right}/{n} ({right / n:.2f}){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
