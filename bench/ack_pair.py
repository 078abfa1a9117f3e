"""ACK latency of two builds measured at the same moments: a baseline commit and this checkout, in alternation.

On a machine shared with other sessions the load changes by the minute, so ACK figures taken an hour apart say
little. This bench checks the baseline out once (`git worktree add --detach`, under /tmp), then runs rounds
A B B A A B … : each run starts that build's `salesbot serve` (cwd and PYTHONPATH = its tree) on a fresh SQLite
file with the same imported team, waits for it to settle, and fires the same open-loop load of text callbacks
(「帮助」, one per user) from this process at the fake WeCom API's side. Printed: per run and pooled per build,
ACK p50 / p99 / max and the load average before and after.

    .venv/bin/python -m bench.ack_pair [--baseline bbfa755] [--rounds 3] [--n 2000] [--rate 100]

The default baseline is the end of stop 14 (bbfa755, "end-of-stop-14 figures on final main").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.webhook import (
    AES_KEY,
    CORP,
    TOKEN,
    fire,
    free_port,
    pct,
    settle,
    stop_server,
    wait_healthy,
    write_config,
)
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, text_xml

HERE = Path(__file__).resolve().parents[1]


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def checkout(rev: str) -> Path:
    """The baseline's tree, checked out once (detached) under /tmp; reused by later runs."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=HERE, check=True, capture_output=True,
                         text=True).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"salesbot-baseline-{sha}"
    if not (tree / "app" / "cli.py").exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=HERE, check=True,
                       stdout=subprocess.DEVNULL)
    return tree


def serve(tree: Path, cfg: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """`salesbot serve` of the build in `tree` (its modules first on the path: cwd and PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--config", str(cfg)], cwd=tree,
                                stdout=subprocess.DEVNULL, stderr=log, env=env)


def prepare(tree: Path, cfg: Path, tmp: Path, n: int) -> None:
    """The build's own migrations and `org import` of the team the callbacks come from."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    team = tmp / "reps.csv"
    team.write_text("id,name,role\n" + "".join(f"b{i:05d},销售{i},rep\n" for i in range(n)), encoding="utf-8")
    for command in (["db", "upgrade"], ["org", "import"]):
        extra = [str(team)] if command[0] == "org" else []
        subprocess.run([sys.executable, "-m", "app.cli", *command, "--config", str(cfg), *extra], cwd=tree,
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_once(tree: Path, args: argparse.Namespace, fake: FakeWecom, api_base: str, first_id: int
                   ) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="salesbot-ack-pair-"))
    port = free_port()
    cfg = write_config(tmp, port, api_base, args.inflight)
    await asyncio.to_thread(prepare, tree, cfg, tmp, args.n)
    proc = serve(tree, cfg, tmp / "serve.log")
    base, cb = f"http://127.0.0.1:{port}", CallbackBuilder(TOKEN, AES_KEY, CORP)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as http:
            await wait_healthy(http, base, proc)
            await settle(proc)
            now = int(time.time())
            jobs = []
            for i in range(args.n):
                user = f"b{i:05d}"
                query, body = cb.post(text_xml(CORP, user, "帮助", first_id + i, now), now, nonce=f"{first_id + i}")
                jobs.append((user, query, body))
            lat, statuses, _sent, _wall = await fire(http, base, jobs, args.concurrency, args.rate)
            if set(statuses) != {200}:
                print(f"    statuses {dict(sorted(statuses.items()))}")
            return lat
    finally:
        stop_server(proc)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main(args: argparse.Namespace) -> int:
    builds = {"baseline": checkout(args.baseline), "current": HERE}
    fake = FakeWecom(corp_id=CORP, secret="bench-secret")
    api_base = await fake.start()
    pooled: dict[str, list[float]] = {name: [] for name in builds}
    order = ["baseline", "current", "current", "baseline"] * ((args.rounds + 1) // 2)
    print(f"{os.cpu_count()} cores; baseline {args.baseline} ({builds['baseline']}) vs current ({HERE}); "
          f"{args.n} callbacks at {args.rate:.0f}/s open loop, ≤ {args.concurrency} outstanding, per run")
    try:
        for k, name in enumerate(order[:2 * args.rounds]):
            before = load_average()
            lat = await run_once(builds[name], args, fake, api_base, 10_000_000 * (k + 1))
            pooled[name] += lat
            print(f"  run {k + 1} {name:8}: ACK p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):7.1f} ms  "
                  f"max {max(lat):7.1f} ms  (load average {before} → {load_average()})")
    finally:
        await fake.close()
    print("pooled:  " + "   |   ".join(f"{name}: ACK p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms "
                                       f"({len(lat)} callbacks)" for name, lat in pooled.items()))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="bbfa755", help="the commit to compare with (default: end of stop 14)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each build (alternating A B B A …)")
    parser.add_argument("--n", type=int, default=2000, help="callbacks per run (one per user)")
    parser.add_argument("--rate", type=float, default=100.0, help="callbacks/s offered (open loop)")
    parser.add_argument("--concurrency", type=int, default=64, help="max callbacks outstanding")
    parser.add_argument("--inflight", type=int, default=200, help="[server] max_inflight")
    sys.exit(asyncio.run(main(parser.parse_args())))
