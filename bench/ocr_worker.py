"""The OCR worker role (issue 19) and its memory (issue 14: worker peak RSS ≤ 400 MB).

    python bench/ocr_worker.py [--jobs 12] [--db URL] [--workers 2]

Queues `--jobs` screenshot jobs, alternating a 1080x2340 phone shot and a 2560x1440 desktop shot (150 %) drawn by
our own generator (`tests/synth_styles.py`, the pair of bench/ocr_pair_rss.py), spread over the demo org's reps,
as a webhook instance in `[ocr] mode = "worker"` would (image in the evidence store, one `ocr_jobs` row each).
A real `salesbot worker ocr` process is started first on that database; once it is up (its RSS is read then) the
jobs are queued at once. Prints its peak RSS (VmHWM from /proc/<pid>/status, read before it is stopped) and its
RSS at the end, jobs/s, queue → done latency (median, p99) and the load average. Default database: a fresh
SQLite file; `--db postgresql+asyncpg://…/empty_db` for PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAIR = (("phone", 5007), ("desktop", 5001))  # seeds whose shots are 1080x2340 and 2560x1440
REPS = ("rep01", "rep02", "rep03", "rep04", "rep05")


def status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def queue_jobs(url: str, evidence: Path, n: int) -> None:
    from bot.org import DEMO_ORG, upsert_users
    from handlers.leads.evidence import EvidenceStore
    from storage.db import Database
    from storage.models import OcrJob
    from tests.synth_styles import make_styled

    shots = [make_styled(seed, style) for style, seed in PAIR]
    store, now, db = EvidenceStore(evidence), datetime.now(UTC), Database(url)
    paths = [(await store.keep(s.image, f"{style}.jpg"))[1] for s, (style, _) in zip(shots, PAIR, strict=True)]
    try:
        async with db.session() as session:
            await upsert_users(session, DEMO_ORG, now)
            for i in range(n):
                shot = shots[i % 2]
                session.add(OcrJob(channel="wecom", msg_id=f"bench-{i}", sender=REPS[i % len(REPS)],
                                   user_id=REPS[i % len(REPS)], context={}, image_path=paths[i % 2],
                                   file_name=f"{PAIR[i % 2][0]}.jpg", received_at=shot.now.astimezone(UTC),
                                   state="queued", attempts=0, created_at=now))
    finally:
        await db.dispose()


async def finished(url: str) -> list[tuple[str, datetime, datetime | None]]:
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import OcrJob

    db = Database(url)
    try:
        async with db.session() as session:
            rows = await session.execute(select(OcrJob.state, OcrJob.created_at, OcrJob.finished_at))
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        await db.dispose()


def run(url: str, evidence: Path, n: int, workers: int, log: Path) -> None:
    from storage.migrate import upgrade

    asyncio.run(upgrade(url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")}
    env.update({"PYTHONPATH": str(ROOT), "SALESBOT_DATABASE_URL": url, "SALESBOT_OCR_MODE": "worker",
                "SALESBOT_OCR_EVIDENCE_DIR": str(evidence), "SALESBOT_OCR_WORKERS": str(workers),
                "SALESBOT_KNOWLEDGE_SEED_DEMO": "false"})
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "ocr"], cwd=ROOT, env=env, stdout=out,
                                stderr=out)
    try:
        while "lanes, lease" not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise SystemExit(f"worker exited {proc.returncode}: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        idle = status_mb(proc.pid, "VmRSS")
        asyncio.run(queue_jobs(url, evidence, n))
        rows = asyncio.run(finished(url))
        while any(state in ("queued", "claimed") for state, *_ in rows):
            if proc.poll() is not None:
                raise SystemExit(f"worker exited {proc.returncode}: {log.read_text()[-2000:]}")
            time.sleep(0.5)
            rows = asyncio.run(finished(url))
        peak, rss = status_mb(proc.pid, "VmHWM"), status_mb(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        proc.wait(60)
    print(f"worker RSS once started (idle) {idle:.0f} MB")
    report(rows, peak, rss, n, workers)


def report(rows: list[tuple[str, datetime, datetime | None]], peak: float, rss: float, n: int, workers: int
           ) -> None:
    done = sorted(f for state, _c, f in rows if f is not None)
    created = min(c for _s, c, _f in rows)
    waits = sorted((f - created).total_seconds() for f in done)
    span = (done[-1] - done[0]).total_seconds() if len(done) > 1 else float("nan")
    states = {s: sum(1 for x, *_ in rows if x == s) for s in {x for x, *_ in rows}}
    print(f"{n} jobs (phone 1080x2340 / desktop 2560x1440 alternating), [ocr] workers = {workers}: {states}")
    print(f"worker peak RSS (VmHWM) {peak:.0f} MB, RSS at the end {rss:.0f} MB")
    print(f"throughput {(len(done) - 1) / span:.2f} jobs/s between the first and the last finish ({span:.1f} s), "
          f"{len(done) / waits[-1]:.2f} jobs/s from the queueing to the last finish")
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    print(f"queued → done: median {statistics.median(waits):.1f} s, p99 {p99:.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite+aiosqlite:///{tmp}/bench.db"
        run(url, Path(tmp) / "evidence", args.jobs, args.workers, Path(tmp) / "worker.log")


if __name__ == "__main__":
    main()
