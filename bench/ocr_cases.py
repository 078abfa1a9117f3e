"""Field F1 per who-is-the-lead case kind (tests/synth_cases.py: customer project groups, referrals, PC clients
whose session list has the chat pane's colour), read by the bot's own OCR worker path with tesseract.

    python bench/ocr_cases.py                 # every kind, 16 groups / 6 referrals / 6 PC screenshots
    python bench/ocr_cases.py --kinds group --n 20 --errors
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import _score, prf
from ocr.extract import FIELDS

COUNTS = {"group": 16, "referral": 6, "pcflat": 6}


def main() -> int:
    from tests.synth_cases import CATALOG, KINDS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--errors", action="store_true")
    args = ap.parse_args()
    refs = []
    with tempfile.TemporaryDirectory(prefix="ocr-cases-") as tmp:
        folder = Path(tmp)
        (folder / "catalog.txt").write_text(CATALOG, "utf-8")
        with (folder / "index.jsonl").open("w") as index:
            for kind in args.kinds.split(","):
                for seed in range(args.seed, args.seed + (args.n or COUNTS[kind])):
                    sm = KINDS[kind](seed)
                    name = f"{kind}-{seed:03d}.jpg"
                    (folder / name).write_bytes(sm.image)
                    index.write(json.dumps({"file": name, "now": sm.now.isoformat()}) + "\n")
                    refs.append((kind, name, sm.truth, sm.meta))
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("ocr.py")), "--engine", "tesseract", "--worker", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode:
        print(proc.stderr[-3000:])
        return 1
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"file"')]
    per: dict[str, list[list[int]]] = {}
    for (kind, name, truth, meta), got in zip(refs, lines, strict=True):
        pred = dict(got["fields"]) if got["is_lead"] else {f: None for f in FIELDS} | {"needs": []}
        pred["follow_up"] = datetime.fromisoformat(pred["follow_up"]) if pred["follow_up"] else None
        counts = per.setdefault(kind, [[0, 0, 0] for _ in FIELDS])
        wrong = []
        for c, f in zip(counts, FIELDS, strict=True):
            before = list(c)
            _score(c, getattr(truth, f), pred[f], is_set=f == "needs")
            if c[1] > before[1] or c[2] > before[2]:
                wrong.append(f"{f}: want {getattr(truth, f)!r} got {pred[f]!r}")
        if args.errors and wrong:
            print(
                f"{name} {meta.get('form', '')} lead={got['is_lead']} {got['reason'] or ''}\n    "
                + "\n    ".join(wrong)
            )
    total = [0, 0, 0]
    for kind, counts in per.items():
        agg = [sum(c[k] for c in counts) for k in range(3)]
        total = [a + b for a, b in zip(total, agg, strict=True)]
        p, r, f1 = prf(*agg)
        fields = " ".join(f"{f[:5]} {prf(*c)[2]:.2f}" for f, c in zip(FIELDS, counts, strict=True) if any(c))
        print(f"{kind:<9} F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · {fields}")
    print(f"OVERALL   F1 {prf(*total)[2]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
