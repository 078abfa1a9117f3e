"""DingTalk phone screenshots drawn by tests/synth_dingtalk.py (a hand of their own, not tests/synth.py's drawing):
field F1 per field and per look, read by the bot's own OCR worker path with tesseract.

    python bench/ocr_dingtalk.py                     # 25 screenshots from seed 0
    python bench/ocr_dingtalk.py --seed 500 --n 25   # a fresh draw
    python bench/ocr_dingtalk.py --errors            # what each wrong field was
    python bench/ocr_dingtalk.py --keep DIR          # also leave the images and labels.jsonl in DIR

The seed-0 draw of 25 is the held-out set the DingTalk reading path was measured on before it was tuned; any
other seed is a fresh draw. Matching follows ocr-dev's score.py:
a company equal to an alias or, within the full name, containing the short one; a title equal or at most four
characters longer; a follow-up the same minute.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr import prf
from ocr.extract import FIELDS
from tests.synth_dingtalk import CATALOG, Look, draw, label, make_case, pick_look


def matches(f: str, gold: dict, pred: object) -> bool:
    if f == "company":
        al = [a for a in gold["company_aliases"] if a] + [gold["company"]]
        p = str(pred).replace(" ", "")
        return p in al or (min(al, key=len) in p and p in max(al, key=len))
    if f == "title":
        al = gold["title_aliases"]
        p = str(pred).replace(" ", "")
        return p in al or any(a in p and len(p) <= len(a) + 4 for a in al)
    if f == "phone":
        return "".join(ch for ch in str(pred) if ch.isdigit())[-11:] == gold["phone"]
    if f == "follow_up":
        return str(pred)[:16] == gold["follow_up"]
    return bool(pred == gold[f])


def tally(counts: dict[str, list[int]], gold: dict, pred: dict, errors: list[str]) -> None:
    for f in FIELDS:
        c, g, p = counts[f], gold.get(f), pred.get(f)
        if f == "needs":
            gs, ps = set(g or ()), set(p or ())
            c[0] += len(gs & ps)
            c[1] += len(ps - gs)
            c[2] += len(gs - ps)
            if gs != ps:
                errors.append(f"needs {sorted(gs)} → {sorted(ps)}")
            continue
        if p in (None, ""):
            c[2] += g is not None
            if g is not None:
                errors.append(f"{f} {g} → —")
            continue
        if g is not None and matches(f, gold, p):
            c[0] += 1
            continue
        c[1] += 1
        c[2] += g is not None
        errors.append(f"{f} {g} → {p}")


def render_set(seed: int, n: int, folder: Path) -> list[tuple[str, dict, Look]]:
    (folder / "catalog.txt").write_text(CATALOG, "utf-8")
    refs = []
    with (folder / "index.jsonl").open("w") as index, (folder / "labels.jsonl").open("w") as labels:
        for k in range(seed, seed + n):
            case = make_case(k)
            rng = random.Random(k * 31 + 7)
            look = pick_look(rng)
            data, shown = draw(case, look, rng)
            name = f"ding-{k:04d}.jpg"
            (folder / name).write_bytes(data)
            gold = label(case, shown)
            index.write(json.dumps({"file": name, "now": case.now.isoformat()}) + "\n")
            labels.write(json.dumps({"file": name, **gold, "look": [*look.size, look.dark, look.quality]},
                                    ensure_ascii=False) + "\n")
            refs.append((name, gold, look))
    return refs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--keep", type=Path, help="render into this folder and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocr-ding-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        refs = render_set(args.seed, args.n, folder)
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("ocr.py")), "--engine", "tesseract",
                               "--worker", str(folder)], capture_output=True, text=True, check=False)
    if proc.returncode:
        print(proc.stderr[-3000:])
        return 1
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"file"')]
    counts = {f: [0, 0, 0] for f in FIELDS}
    per_look: dict[str, list[int]] = {}
    for (name, gold, look), got in zip(refs, lines, strict=True):
        pred = got["fields"] if got["is_lead"] else {}
        errors: list[str] = []
        mine = {f: [0, 0, 0] for f in FIELDS}
        tally(mine, gold, pred, errors)
        key = f"{'dark' if look.dark else 'light'} {look.size[0]}×{look.size[1]}"
        agg = per_look.setdefault(key, [0, 0, 0])
        for f in FIELDS:
            counts[f] = [a + b for a, b in zip(counts[f], mine[f], strict=True)]
            agg[:] = [a + b for a, b in zip(agg, mine[f], strict=True)]
        if args.errors and errors:
            print(f"{name} ({key}, q{look.quality}{'' if got['is_lead'] else ', no lead: ' + str(got['reason'])}): "
                  + " · ".join(errors))
    print(f"\n== DingTalk phone · {len(lines)} screenshots from seed {args.seed} (bench/ocr_dingtalk.py)")
    total = [0, 0, 0]
    for f, c in counts.items():
        if sum(c):
            p, r, f1 = prf(*c)
            print(f"{f:<14} P {p:.3f} R {r:.3f} F1 {f1:.3f}   {c[0]}/{c[1]}/{c[2]}")
        total = [a + b for a, b in zip(total, c, strict=True)]
    for key, agg in sorted(per_look.items()):
        print(f"{key:<16} F1 {prf(*agg)[2]:.3f}")
    p, r, f1 = prf(*total)
    secs = sorted(g["seconds"] for g in lines)
    print(f"OVERALL F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · median {secs[len(secs) // 2]:.2f} s/image")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
