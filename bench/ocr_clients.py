"""Screenshots drawn by tests/synth_clients.py — PC clients (WeChat / WeCom windows with session lists, badges,
people panels, quotes, file cards, wallpapers), cropped phone chats and long scrolling screenshots, in a domain
(dental equipment, its own catalog) the reader never saw: field F1 per style, phone precision, negatives, time.

    python bench/ocr_clients.py                   # 6 leads + 1 negative per style, seed 7700
    python bench/ocr_clients.py --seed 7900       # the seed kept for the end (never tuned on)
    python bench/ocr_clients.py --keep /tmp/cl    # keep the images (for `salesbot ocr --explain`)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import print_styles, print_times, read_drawn, tally_lines
from tests.synth_clients import CATALOG, client_set


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7700)
    ap.add_argument("--n", type=int, default=6, help="leads per style")
    ap.add_argument("--styles", default="", help="only these comma-separated styles")
    ap.add_argument("--keep", type=Path, help="write the images here and keep them")
    ap.add_argument("--misses", action="store_true", help="print each image's wrong fields")
    args = ap.parse_args()
    samples = [
        sm for sm in client_set(args.seed, args.n) if not args.styles or sm[3]["style"] in args.styles.split(",")
    ]
    named = [(f"{i:02d}-{meta['style']}-{meta['kind']}.img", image, now)
             for i, (image, now, _, meta) in enumerate(samples)]
    lines = read_drawn(named, args.keep, CATALOG)
    if lines is None:
        return 1
    drawn = [(str(meta["style"]), truth, meta["size"]) for _, _, truth, meta in samples]
    tally, secs = tally_lines(drawn, lines, misses=args.misses)
    print(f"== clients · seed {args.seed} · {len(lines)} images (tests/synth_clients.py)")
    print_styles(tally)
    print_times(secs)
    desk = [t for size, ss in secs.items() for t in ss if size.startswith(("1920", "2560"))]
    if desk:
        print(f"median {statistics.median(desk):.2f} s per PC screenshot ({len(desk)} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
