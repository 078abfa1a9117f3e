"""Screenshots drawn by tests/synth_clients.py — PC clients (WeChat / WeCom windows with session lists, badges,
people panels, quotes, file cards, wallpapers), cropped phone chats and long scrolling screenshots, in a domain
(dental equipment, its own catalog) the reader never saw: field F1 per style, phone precision, negatives, time.

    python bench/ocr_clients.py                   # 6 leads + 1 negative per style, seed 7700
    python bench/ocr_clients.py --seed 7900       # the seed kept for the end (never tuned on)
    python bench/ocr_clients.py --keep /tmp/cl    # keep the images (for `salesbot ocr --explain`)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import StyleTally, prf
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
    with tempfile.TemporaryDirectory(prefix="ocr-clients-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "catalog.txt").write_text(CATALOG, "utf-8")
        with (folder / "index.jsonl").open("w") as index:
            for i, (image, now, _, meta) in enumerate(samples):
                name = f"{i:02d}-{meta['style']}-{meta['kind']}.img"
                (folder / name).write_bytes(image)
                index.write(json.dumps({"file": name, "now": now.isoformat()}) + "\n")
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("ocr.py")), "--engine", "tesseract", "--worker", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return 1
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"file"')]
    tally = StyleTally()
    secs: dict[str, list[float]] = {}
    for (_, _, truth, meta), got in zip(samples, lines, strict=True):
        secs.setdefault(f"{meta['size'][0]}×{meta['size'][1]}", []).append(got["seconds"])  # type: ignore[index]
        wrong = tally.add(str(meta["style"]), truth, got)
        if args.misses and (wrong or (got["is_lead"] and not truth.is_lead)):
            print(got["file"], meta["size"], wrong or f"a lead from a negative: {got['fields']}")
    print(f"== clients · seed {args.seed} · {len(lines)} images (tests/synth_clients.py)")
    for style, (p, r, f1), neg in tally.styles():
        neg = neg or [0, 0]
        print(f"{style:<7} F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · negatives empty {neg[0]}/{neg[1]}")
    print("per field: " + tally.field_f1())
    print(f"OVERALL F1 {tally.overall()[2]:.3f} · phone precision {prf(*tally.field_counts('phone'))[0]:.3f}")
    for size, ss in sorted(secs.items()):
        if len(ss) > 1:
            print(f"median {statistics.median(ss):.2f} s per {size} image ({len(ss)} images, max {max(ss):.2f})")
    desk = [t for size, ss in secs.items() for t in ss if size.startswith(("1920", "2560"))]
    if desk:
        print(f"median {statistics.median(desk):.2f} s per PC screenshot ({len(desk)} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
