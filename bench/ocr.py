"""OCR lead-extraction benchmark: the independent ocr-dev set, our own styled held-out set and the synthetic set.

    python bench/ocr.py                       # all three sets, tesseract (+ rapidocr on the synthetic set)
    python bench/ocr.py --sets ocr-dev        # ../shared/eval/ocr-dev scored by its own score.py
    python bench/ocr.py --sets styles --n 8   # tests/synth_styles.py: per style F1, negatives, timing
    python bench/ocr.py --sets synth --split dev --n 60    # the half you may look at while tuning

ocr-dev (written outside the project, read from ../shared/eval/ocr-dev, skipped when absent) goes through the
same worker with its catalog and each image's received_at as "now"; its predictions are the JSON lines of
`salesbot ocr --json` and its own score.py prints F1 per field and overall. The styles set is drawn by
tests/synth_styles.py with invented people: phone, small, lowq (JPEG 35–50 forwarded twice), desktop (PC client
1920×1080 / 2560×1440 at 100–150 %), ipad (split view) and photo (a phone screen photographed), leads plus
colleague / group / small-talk negatives, with a seed range no test uses.

This process renders the screenshots one at a time to a temporary folder and keeps only their ground truth.
Each engine then runs in its own worker subprocess that does what an OCR worker of the bot does and nothing
else: decode (`validate`), layout, OCR, extraction, one image at a time. The worker's peak RSS is therefore the
memory one OCR worker needs (the renderer's fonts and canvases are not in it; tesseract runs inside it as a
library). A second, fresh worker then reads the images again with `[ocr] workers` jobs at once, as the bot's
executor does, and reports that peak too (each worker thread holds its own tesseract models). Field metrics
are over the lead screenshots; negatives (receipts, price tables, colleague/group chats, small talk) are scored
by how often they produce no lead.
Prints per-field precision/recall/F1, overall micro field F1, character error rate, follow-up exact rate,
negatives-no-lead rate, median seconds per image (all, and 1080×2340 only) and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ocr_tally import StyleTally, _score, prf
from ocr.extract import FIELDS
from tests.synth import edit_distance, squash

SEEDS = {"dev": 1000, "test": 2000}  # tune on dev only; report test
# ../shared/eval/ocr-dev beside the repository (a worktree under wt/ looks one level further up)
OCR_DEV = next((p / "shared" / "eval" / "ocr-dev" for p in Path(__file__).resolve().parents[2:4]
                if (p / "shared" / "eval" / "ocr-dev").is_dir()), Path("../shared/eval/ocr-dev"))
STYLE_SEED = 5000  # the held-out styles set: seeds no test uses


@dataclass(frozen=True)
class Reference:
    """What the scorer keeps of a rendered sample (not its image)."""

    truth: object  # tests.synth.Truth
    text: str


def samples(split: str, n: int) -> Iterator[object]:
    """The split's samples one at a time (the same sequence as `tests.synth.make_set`)."""
    from tests.synth import make_sample

    rng = random.Random(SEEDS[split])
    for _ in range(n):
        yield make_sample(rng.randint(0, 2**31))


def render(split: str, n: int, folder: Path) -> list[Reference]:
    refs = []
    with (folder / "index.jsonl").open("w") as index:
        for i, sm in enumerate(samples(split, n)):
            (folder / f"{i:04d}.img").write_bytes(sm.image)  # type: ignore[attr-defined]
            index.write(json.dumps({"file": f"{i:04d}.img", "now": sm.now.isoformat()}) + "\n")  # type: ignore[attr-defined]
            refs.append(Reference(sm.truth, sm.text))  # type: ignore[attr-defined]
    return refs


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that across
    fork + exec, so a worker started by this renderer would report the renderer's peak (~500 MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def concurrent_pass(folder: Path, settings: object) -> None:
    """The images again through `read_screenshot` with `[ocr] workers` jobs at once (the bot's executor, one
    tesseract model per worker thread), the largest first so the heaviest jobs overlap."""
    import asyncio

    from bot.engines import Engines
    from ocr.pipeline import OcrRejected, read_screenshot

    engines = Engines()  # no services here: the bench keeps the OCR engine and threads itself

    jobs = [json.loads(x) for x in (folder / "index.jsonl").read_text().splitlines()]
    paths = sorted((Path(j.get("path") or folder / j["file"]) for j in jobs), key=lambda p: -p.stat().st_size)

    async def one(path: Path) -> None:
        try:
            await read_screenshot(path.read_bytes(), now=datetime.now().astimezone(), settings=settings,  # type: ignore[arg-type]
                                  engines=engines)
        except OcrRejected:
            pass

    async def run() -> None:
        await asyncio.gather(*(one(p) for p in paths))

    asyncio.run(run())


def worker(engine: str, folder: Path) -> None:
    """One OCR worker: every image of `folder` through the bot's own path, one JSON line each, then peak RSS."""
    from bot.config import OcrSettings
    from bot.engines import Engines
    from ocr.pipeline import read_image, release_memory, validate

    engines = Engines()  # no services here: the worker keeps its OCR engine itself

    catalog = folder / "catalog.txt"
    settings = OcrSettings(engine=engine, catalog=str(catalog) if catalog.exists() else "")
    for line in (folder / "index.jsonl").read_text().splitlines():
        job = json.loads(line)
        path = Path(job.get("path") or folder / job["file"])
        t0 = time.perf_counter()
        img = validate(path.read_bytes(), settings)
        size = img.size
        lead = read_image(img, datetime.fromisoformat(job["now"]), settings, engines=engines)
        del img
        release_memory(engines)  # as the bot's executor does after each job
        dt = time.perf_counter() - t0
        fields = {f: getattr(lead, f) for f in FIELDS}
        fields["needs"] = list(lead.needs)
        fields["follow_up"] = lead.follow_up.isoformat() if lead.follow_up else None
        print(json.dumps({"file": job["file"], "seconds": dt, "size": list(size), "is_lead": lead.is_lead,
                          "reason": lead.reject_reason, "text": lead.text, "fields": fields}, ensure_ascii=False),
              flush=True)
    print(json.dumps({"rss_mb": peak_rss_mb()}))


def concurrent_worker(engine: str, folder: Path) -> None:
    """A fresh worker that reads every image of `folder` with `[ocr] workers` jobs at once, then its peak RSS."""
    from bot.config import OcrSettings

    catalog = folder / "catalog.txt"
    settings = OcrSettings(engine=engine, catalog=str(catalog) if catalog.exists() else "")
    concurrent_pass(folder, settings)
    print(json.dumps({"rss_concurrent_mb": peak_rss_mb(), "workers": settings.workers}))


def score(engine: str, split: str, refs: list[Reference], lines: list[dict]) -> dict[str, object]:
    counts = {f: [0, 0, 0] for f in FIELDS}  # tp, fp, fn
    secs = [r["seconds"] for r in lines]
    secs_1080 = [r["seconds"] for r in lines if tuple(r["size"]) == (1080, 2340)]
    errs = chars = fu_ok = fu_total = neg_ok = neg_total = 0
    for ref, got in zip(refs, lines, strict=True):
        truth = ref.truth
        squashed = squash(ref.text)
        errs += edit_distance(squashed, squash(got["text"]))
        chars += len(squashed)
        if not truth.is_lead:  # type: ignore[attr-defined]
            neg_total += 1
            neg_ok += not got["is_lead"]
            continue
        pred = dict(got["fields"])
        pred["follow_up"] = datetime.fromisoformat(pred["follow_up"]) if pred["follow_up"] else None
        fu_total += 1
        fu_ok += pred["follow_up"] == truth.follow_up  # type: ignore[attr-defined]
        for f in FIELDS:
            _score(counts[f], getattr(truth, f), pred[f], is_set=f == "needs")
    return {
        "engine": engine, "split": split, "n": len(refs), "counts": counts,
        "cer": errs / max(chars, 1), "follow_up_exact": fu_ok / max(fu_total, 1),
        "negatives_no_lead": neg_ok / max(neg_total, 1), "negatives": neg_total, "leads": fu_total,
        "median_s": statistics.median(secs), "median_s_1080x2340": statistics.median(secs_1080) if secs_1080 else None,
    }


def report(res: dict[str, object]) -> None:
    counts: dict[str, list[int]] = res["counts"]  # type: ignore[assignment]
    print(f"\n== {res['engine']} · {res['split']} half · {res['n']} images ({res['leads']} leads, "
          f"{res['negatives']} negatives)")
    print(f"{'field':<14}{'P':>7}{'R':>7}{'F1':>7}   tp/fp/fn")
    total = [0, 0, 0]
    for f, c in counts.items():
        p, r, f1 = prf(*c)
        total = [a + b for a, b in zip(total, c, strict=True)]
        print(f"{f:<14}{p:7.3f}{r:7.3f}{f1:7.3f}   {c[0]}/{c[1]}/{c[2]}")
    p, r, f1 = prf(*total)
    print(f"{'OVERALL':<14}{p:7.3f}{r:7.3f}{f1:7.3f}")
    m1080 = res["median_s_1080x2340"]
    tess = "; tesseract runs in it as a library, one model per worker thread"
    print(f"CER {res['cer']:.3%} · follow-up exact {res['follow_up_exact']:.3f} · negatives no-lead "
          f"{res['negatives_no_lead']:.3f} · median {res['median_s']:.2f} s/image"
          + (f" ({m1080:.2f} s at 1080×2340)" if m1080 else "")
          + f"\n{rss_line(res['memory'])} (a process that only decodes, lays out, OCRs and extracts"
          + (tess if res["engine"] == "tesseract" else "") + ")")


def run_worker(engine: str, folder: Path) -> tuple[list[dict], dict] | None:
    """The worker's JSON lines and its memory line (rss_mb one job at a time, rss_concurrent_mb, workers)."""
    proc = subprocess.run([sys.executable, __file__, "--engine", engine, "--worker", str(folder)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"\n== {engine}: failed\n{proc.stderr[-2000:]}")
        return None
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    # The concurrent pass in a process of its own: this one's main thread holds a third set of tesseract models.
    conc = subprocess.run([sys.executable, __file__, "--engine", engine, "--concurrent", str(folder)],
                          capture_output=True, text=True, check=False)
    mem = lines[-1] | (json.loads(conc.stdout.splitlines()[-1]) if conc.returncode == 0 else
                       {"rss_concurrent_mb": float("nan"), "workers": "?"})
    return lines[:-1], mem


def rss_line(mem: dict) -> str:
    return (f"OCR worker peak RSS {mem['rss_mb']:.0f} MB one job at a time, {mem['rss_concurrent_mb']:.0f} MB with "
            f"{mem['workers']} jobs at once ([ocr] workers)")


def bench_ocr_dev(engine: str) -> None:
    """The independent set, scored by its own score.py on `salesbot ocr --json`-shaped lines."""
    if not (OCR_DEV / "labels.jsonl").exists():
        print(f"\n== ocr-dev: {OCR_DEV} not found, skipped")
        return
    labels = [json.loads(x) for x in (OCR_DEV / "labels.jsonl").read_text("utf-8").splitlines() if x.strip()]
    with tempfile.TemporaryDirectory(prefix="ocr-dev-") as tmp:
        folder = Path(tmp)
        (folder / "catalog.txt").write_bytes((OCR_DEV / "catalog.txt").read_bytes())
        with (folder / "index.jsonl").open("w") as index:
            for lab in labels:
                now = datetime.fromisoformat(lab["received_at"] + ":00+08:00").isoformat()
                index.write(json.dumps({"file": lab["file"], "path": str(OCR_DEV / lab["file"]), "now": now}) + "\n")
        done = run_worker(engine, folder)
        if done is None:
            return
        lines, mem = done
        pred = folder / "pred.jsonl"
        with pred.open("w") as out:
            for got in lines:
                fields = got["fields"] if got["is_lead"] else {f: None for f in FIELDS} | {"needs": []}
                out.write(json.dumps({"file": got["file"], **fields}, ensure_ascii=False) + "\n")
        scored = subprocess.run([sys.executable, str(OCR_DEV / "score.py"), str(pred)], capture_output=True,
                                text=True, check=False)
        print(f"\n== ocr-dev · {engine} · {len(lines)} images (independent set, its catalog, its score.py)")
        print(scored.stdout.rstrip() or scored.stderr[-1000:])
        secs = [g["seconds"] for g in lines]
        print(f"median {statistics.median(secs):.2f} s/image · {rss_line(mem)}")


def bench_styles(engine: str, n: int, only: list[str] | None = None) -> None:
    """Our own held-out set in every style (or the styles `only`): field F1 per style, negatives, timing per
    screen size."""
    from tests.synth_styles import NEGATIVES, STYLES, make_styled

    refs: list[tuple[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="ocr-styles-") as tmp:
        folder = Path(tmp)
        with (folder / "index.jsonl").open("w") as index:
            for style in only or STYLES:
                for i in range(n):
                    kinds = NEGATIVES.get(style, ("colleague", "group", "smalltalk"))
                    kind = kinds[i // 4 % len(kinds)] if i % 4 == 3 else "lead"
                    sm = make_styled(STYLE_SEED + i, style, kind)
                    name = f"{style}-{i:03d}.img"
                    (folder / name).write_bytes(sm.image)
                    index.write(json.dumps({"file": name, "now": sm.now.isoformat()}) + "\n")
                    refs.append((style, sm.truth))
        done = run_worker(engine, folder)
    if done is None:
        return
    lines, mem = done
    tally = StyleTally()
    for (style, truth), got in zip(refs, lines, strict=True):
        tally.add(style, truth, got)
    print(f"\n== styles · {engine} · {len(lines)} images (tests/synth_styles.py, seeds from {STYLE_SEED})")
    for style, (p, r, f1), neg in tally.styles():
        secs = [g["seconds"] for (st, _), g in zip(refs, lines, strict=True) if st == style]
        print(f"{style:<9} F1 {f1:.3f} (P {p:.3f} R {r:.3f}) · median {statistics.median(secs):.2f} s/image"
              + (f" · negatives empty {neg[0]}/{neg[1]}" if neg else ""))
    print("per field: " + tally.field_f1())
    empty, total = (sum(n[k] for n in tally.negatives.values()) for k in range(2))
    print(f"OVERALL F1 {tally.overall()[2]:.3f} · phone precision {prf(*tally.field_counts('phone'))[0]:.3f}"
          f" · negatives empty {empty}/{total}")
    for size in ((1080, 2340), (2560, 1440), (1920, 1080)):
        secs = [g["seconds"] for g in lines if tuple(g["size"]) == size]
        if secs:
            print(f"median {statistics.median(secs):.2f} s per {size[0]}×{size[1]} image ({len(secs)} images)")
    print(rss_line(mem))


def bench_synth(engines: list[str], split: str, n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as tmp:
        folder = Path(tmp)
        refs = render(split, n, folder)
        for engine in engines:
            if engine == "rapidocr":
                try:
                    import rapidocr  # noqa: F401
                except ImportError:
                    print("\n== rapidocr: not installed (pip install 'salesbot[rapidocr]'), skipped")
                    continue
            done = run_worker(engine, folder)
            if done is None:
                continue
            res = score(engine, split, refs, done[0])
            res["memory"] = done[1]
            report(res)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ocr-dev,styles,synth", help="comma-separated: ocr-dev, styles, synth")
    ap.add_argument("--split", choices=sorted(SEEDS), default="test")
    ap.add_argument("--styles", default="", help="styles set: only these comma-separated styles")
    ap.add_argument("--n", type=int, default=None, help="images per set (styles: per style)")
    ap.add_argument("--engine", choices=["tesseract", "rapidocr", "all"], default="all")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # internal: OCR the rendered folder
    ap.add_argument("--concurrent", type=Path, help=argparse.SUPPRESS)  # internal: the same, workers at once
    args = ap.parse_args()
    if args.worker:
        worker(args.engine, args.worker)
        return 0
    if args.concurrent:
        concurrent_worker(args.engine, args.concurrent)
        return 0
    engines = ["tesseract", "rapidocr"] if args.engine == "all" else [args.engine]
    sets = args.sets.split(",")
    if "ocr-dev" in sets:
        bench_ocr_dev(engines[0])
    if "styles" in sets:
        bench_styles(engines[0], args.n or 8, [s for s in args.styles.split(",") if s] or None)
    if "synth" in sets:
        bench_synth(engines, args.split, args.n or 100)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
