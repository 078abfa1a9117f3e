"""PC-client and iPad screenshots drawn by tests/synth_desk.py (a generator apart from the reader's own): field F1
per style, negatives, and time per image in one OCR worker (the bot's path: decode, layout, OCR, extraction).

    python bench/ocr_desk.py                  # 7 leads + 1 negative per style, seed 9100
    python bench/ocr_desk.py --seed 9300      # a second, fresh draw
    python bench/ocr_desk.py --keep /tmp/desk # keep the images (for `salesbot ocr --explain`)
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

from bench.ocr_tally import StyleTally
from tests.synth_desk import desk_set


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=9100)
    ap.add_argument("--n", type=int, default=7, help="leads per style")
    ap.add_argument("--keep", type=Path, help="write the images here and keep them")
    ap.add_argument("--misses", action="store_true", help="print each image's wrong fields")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocr-desk-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        samples = desk_set(args.seed, args.n)
        with (folder / "index.jsonl").open("w") as index:
            for i, sm in enumerate(samples):
                name = f"{i:02d}-{sm.meta['style']}-{sm.meta['kind']}.img"
                (folder / name).write_bytes(sm.image)
                index.write(json.dumps({"file": name, "now": sm.now.isoformat()}) + "\n")
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("ocr.py")), "--engine", "tesseract",
                               "--worker", str(folder)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return 1
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"file"')]
    tally = StyleTally()
    secs: dict[str, list[float]] = {}
    for sm, got in zip(samples, lines, strict=True):
        secs.setdefault(f"{sm.meta['size'][0]}×{sm.meta['size'][1]}", []).append(got["seconds"])  # type: ignore[index]
        wrong = tally.add(str(sm.meta["style"]), sm.truth, got)
        if args.misses and (wrong or (got["is_lead"] and not sm.truth.is_lead)):
            print(got["file"], sm.meta["size"], wrong or f"a lead from a negative: {got['fields']}")
    print(f"== desk · seed {args.seed} · {len(lines)} images (tests/synth_desk.py)")
    for style, (p, r, f1), neg in tally.styles():
        neg = neg or [0, 0]
        print(f"{style:<7} F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · negatives empty {neg[0]}/{neg[1]}")
    print("per field: " + tally.field_f1())
    print(f"OVERALL F1 {tally.overall()[2]:.3f}")
    for size, ss in sorted(secs.items()):
        print(f"median {statistics.median(ss):.2f} s per {size} image ({len(ss)} images, max {max(ss):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
