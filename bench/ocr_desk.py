"""PC-client and iPad screenshots drawn by tests/synth_desk.py (a generator apart from the reader's own): field F1
per style, negatives, and time per image in one OCR worker (the bot's path: decode, layout, OCR, extraction).

    python bench/ocr_desk.py                  # 7 leads + 1 negative per style, seed 9100
    python bench/ocr_desk.py --seed 9300      # a second, fresh draw
    python bench/ocr_desk.py --keep /tmp/desk # keep the images (for `salesbot ocr --explain`)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import print_styles, print_times, read_drawn, tally_lines
from tests.synth_desk import desk_set


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=9100)
    ap.add_argument("--n", type=int, default=7, help="leads per style")
    ap.add_argument("--keep", type=Path, help="write the images here and keep them")
    ap.add_argument("--misses", action="store_true", help="print each image's wrong fields")
    args = ap.parse_args()
    samples = desk_set(args.seed, args.n)
    named = [(f"{i:02d}-{sm.meta['style']}-{sm.meta['kind']}.img", sm.image, sm.now) for i, sm in enumerate(samples)]
    lines = read_drawn(named, args.keep)
    if lines is None:
        return 1
    drawn = [(str(sm.meta["style"]), sm.truth, sm.meta["size"]) for sm in samples]
    tally, secs = tally_lines(drawn, lines, misses=args.misses)
    print(f"== desk · seed {args.seed} · {len(lines)} images (tests/synth_desk.py)")
    print_styles(tally)
    print_times(secs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
