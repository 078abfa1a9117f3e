"""Peak RSS of an OCR worker reading a realistic pair of jobs at once (issue 14: worker peak RSS <= 400 MB).

    python bench/ocr_pair_rss.py [--runs 3] [--pair photo]

Draws a 1080x2340 phone shot and a 2560x1440 desktop shot (150 % scaling) with our own generator
(`tests/synth_styles.py`), then starts a fresh process per run that reads both through `read_screenshot` with
`[ocr] workers = 2` (the bot's executor: both jobs at once) and prints its own peak RSS (VmHWM), its RSS after the
imports and after the jobs. Prints the median over the runs and `uptime`. `--pair photo`: a photographed phone
screen (1800x2400) and a photographed monitor (2400x1800) instead, the heaviest pair a worker meets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = {"screen": (("phone", 5007), ("desktop", 5001)),  # seeds whose shots are 1080x2340 and 2560x1440
         "photo": (("photo2", 5005), ("photomon", 5007))}  # 1800x2400 and 2400x1800 camera photos


def status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(paths: list[str]) -> None:
    from bot.config import OcrSettings
    from bot.engines import Engines
    from ocr.pipeline import read_screenshot

    settings, engines = OcrSettings(workers=2, timeout_s=600), Engines()  # memory, not speed: no timeout
    imported = status_mb("VmRSS")

    async def run() -> list[object]:
        now = datetime.now().astimezone()
        return await asyncio.gather(*(read_screenshot(Path(p).read_bytes(), now=now, settings=settings,
                                                      engines=engines)
                                      for p in paths))

    leads = asyncio.run(run())
    print(json.dumps({"peak_mb": status_mb("VmHWM"), "imported_mb": imported, "after_mb": status_mb("VmRSS"),
                      "names": [getattr(x, "customer_name", None) for x in leads]}, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pair", choices=sorted(PAIRS), default="screen")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.worker:
        worker(args.worker)
        return
    from tests.synth_styles import make_styled

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for style, seed in PAIRS[args.pair]:
            path = Path(tmp) / f"{style}.jpg"
            sample = make_styled(seed, style)
            path.write_bytes(sample.image)
            paths.append(str(path))
            print(style, seed, sample.meta.get("size"))
        runs = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--worker", *paths], cwd=ROOT, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            print(runs[-1])
    peaks = [r["peak_mb"] for r in runs]
    print(f"OCR worker, {args.pair} pair at once: peak RSS median {statistics.median(peaks):.0f} MB "
          f"(max {max(peaks):.0f}), after imports {statistics.median(r['imported_mb'] for r in runs):.0f} MB")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
