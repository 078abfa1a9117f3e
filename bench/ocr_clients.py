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
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr import _score, prf
from ocr.extract import FIELDS
from tests.synth_clients import CATALOG, client_set


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7700)
    ap.add_argument("--n", type=int, default=6, help="leads per style")
    ap.add_argument("--styles", default="", help="only these comma-separated styles")
    ap.add_argument("--keep", type=Path, help="write the images here and keep them")
    ap.add_argument("--misses", action="store_true", help="print each image's wrong fields")
    args = ap.parse_args()
    samples = [sm for sm in client_set(args.seed, args.n)
               if not args.styles or sm[3]["style"] in args.styles.split(",")]
    with tempfile.TemporaryDirectory(prefix="ocr-clients-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "catalog.txt").write_text(CATALOG, "utf-8")
        with (folder / "index.jsonl").open("w") as index:
            for i, (image, now, _, meta) in enumerate(samples):
                name = f"{i:02d}-{meta['style']}-{meta['kind']}.img"
                (folder / name).write_bytes(image)
                index.write(json.dumps({"file": name, "now": now.isoformat()}) + "\n")
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("ocr.py")), "--engine", "tesseract",
                               "--worker", str(folder)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return 1
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"file"')]
    per_style: dict[str, list[list[int]]] = {}
    negatives: dict[str, list[int]] = {}
    secs: dict[str, list[float]] = {}
    for (_, _, truth, meta), got in zip(samples, lines, strict=True):
        style = str(meta["style"])
        secs.setdefault(f"{meta['size'][0]}×{meta['size'][1]}", []).append(got["seconds"])  # type: ignore[index]
        if not truth.is_lead:
            neg = negatives.setdefault(style, [0, 0])
            neg[0] += not got["is_lead"]
            neg[1] += 1
            if args.misses and got["is_lead"]:
                print(got["file"], "a lead from a negative:", got["fields"])
            continue
        pred = dict(got["fields"]) if got["is_lead"] else {f: None for f in FIELDS} | {"needs": []}
        pred["follow_up"] = datetime.fromisoformat(pred["follow_up"]) if pred["follow_up"] else None
        if args.misses:
            wrong = {f: (getattr(truth, f), pred[f]) for f in FIELDS
                     if (set(pred[f] or ()) != set(getattr(truth, f) or ()) if f == "needs"
                         else pred[f] != getattr(truth, f))}
            if wrong:
                print(got["file"], meta["size"], wrong)
        counts = per_style.setdefault(style, [[0, 0, 0] for _ in FIELDS])
        for c, f in zip(counts, FIELDS, strict=True):
            _score(c, getattr(truth, f), pred[f], is_set=f == "needs")
    print(f"== clients · seed {args.seed} · {len(lines)} images (tests/synth_clients.py)")
    total = [0, 0, 0]
    for style, counts in per_style.items():
        agg = [sum(c[k] for c in counts) for k in range(3)]
        total = [a + b for a, b in zip(total, agg, strict=True)]
        p, r, f1 = prf(*agg)
        neg = negatives.get(style, [0, 0])
        print(f"{style:<7} F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · negatives empty {neg[0]}/{neg[1]}")
    print("per field: " + " · ".join(
        f"{f} {prf(*[sum(per_style[s][i][k] for s in per_style) for k in range(3)])[2]:.2f}"
        for i, f in enumerate(FIELDS)))
    phone = prf(*[sum(per_style[s][FIELDS.index("phone")][k] for s in per_style) for k in range(3)])
    print(f"OVERALL F1 {prf(*total)[2]:.3f} · phone precision {phone[0]:.3f}")
    for size, ss in sorted(secs.items()):
        if len(ss) > 1:
            print(f"median {statistics.median(ss):.2f} s per {size} image ({len(ss)} images, max {max(ss):.2f})")
    desk = [t for size, ss in secs.items() for t in ss if size.startswith(("1920", "2560"))]
    if desk:
        print(f"median {statistics.median(desk):.2f} s per PC screenshot ({len(desk)} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
