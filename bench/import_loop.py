"""A large import inside `salesbot serve` and everyone else's ACKs (issue 20, finding 6b).

The bench runs a fake WeCom API and an open-loop load generator; `salesbot serve` runs as a subprocess on a fresh
SQLite file (or `--db`). Each phase offers `--rate` text callbacks/s (帮助, from a team of reps) and reports
ACK p50/p99/max, reply p50/p99/max (callback → the answer at the fake WeCom) and the server's
own event-loop lag (`salesbot_loop_lag_seconds`, a 20 ms sleep's lateness,
read from /metrics before and after the phase: p99 and max as histogram bucket bounds, plus the exact maximum
when the phase raised it; the stalls over 100 ms by cause, and the most CPU the loop thread used in one sample —
an upper bound of the longest work on the loop, which a busy machine does not inflate):

  idle        `--idle` seconds of the load alone;
  knowledge   admin01 sends a `--rows`-card CSV in chat; the load runs until its final report arrives;
  contracts   admin01 sends a `--rows`-row contracts CSV (customers: `--customers` won leads) likewise.

    .venv/bin/python -m bench.import_loop [--rows 100000] [--rate 20] [--phases idle,knowledge,contracts]

Say the machine's load average (printed) next to every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.webhook import (
    AES_KEY,
    CORP,
    TOKEN,
    free_port,
    pct,
    settle,
    start_server,
    stop_server,
    upgrade_db,
    wait_healthy,
    write_config,
)
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, file_xml, text_xml

LAG = "salesbot_loop_lag_seconds"
REPS = 300
REPLY_GRACE_S = 3.0


@dataclass
class Lag:
    """The loop-lag histogram as /metrics shows it: cumulative counts per bucket bound, and the maximum gauge."""

    buckets: dict[float, float] = field(default_factory=dict)
    worst: float = 0.0
    cpu: float = 0.0  # the most CPU the loop thread used in one sample
    stalls: dict[str, float] = field(default_factory=dict)  # samples over 100 ms late, by cause

    def over(self, before: Lag, bound: float = 0.1) -> int:
        """Samples later than `bound` seconds between `before` and this reading."""
        total = max(self.buckets) if self.buckets else 0.0
        return int(self.buckets.get(total, 0.0) - before.buckets.get(total, 0.0)
                   - (self.buckets.get(bound, 0.0) - before.buckets.get(bound, 0.0)))

    def since(self, before: Lag) -> tuple[int, float, float]:
        """(samples, p99 bound, max bound) of the samples taken between `before` and this reading."""
        bounds = sorted(self.buckets)
        counts = [self.buckets[b] - before.buckets.get(b, 0.0) for b in bounds]
        total = counts[-1] if counts else 0.0

        def bound(share: float) -> float:
            return next((b for b, c in zip(bounds, counts, strict=True) if c >= share * total), float("inf"))

        top = next((b for b, c in zip(bounds, counts, strict=True) if c >= total), float("inf"))
        return int(total), bound(0.99), top


async def read_lag(http: aiohttp.ClientSession, base: str) -> Lag:
    lag = Lag()
    async with http.get(f"{base}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(f"{LAG}_bucket"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                lag.buckets[float(le)] = float(line.split()[-1])
            elif line.startswith("salesbot_loop_lag_max_seconds "):
                lag.worst = float(line.split()[-1])
            elif line.startswith("salesbot_loop_cpu_max_seconds "):
                lag.cpu = float(line.split()[-1])
            elif line.startswith("salesbot_loop_stalls_total{"):
                lag.stalls[line.split('cause="', 1)[1].split('"', 1)[0]] = float(line.split()[-1])
    return lag


def load_average() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


class Load:
    """Open-loop text callbacks at `rate`/s until stopped; ACK latencies in ms."""

    def __init__(self, http: aiohttp.ClientSession, base: str, cb: CallbackBuilder, rate: float) -> None:
        self.http, self.base, self.cb, self.rate = http, base, cb, rate
        self.ids = itertools.count(50_000_000)
        self.acks: list[float] = []
        self.sent: list[tuple[str, float]] = []  # (user, when the callback was posted)
        self.statuses: dict[int, int] = {}

    def replies(self, fake: FakeWecom) -> list[float]:
        """ms from each callback to the first message the fake WeCom took for its sender after it (every rep
        writes once per REPS / rate seconds, so the next message to that rep is this callback's answer)."""
        seen: dict[str, list[float]] = {}
        for call in fake.calls("message/send"):
            seen.setdefault(str(call.body.get("touser", "")), []).append(call.at)
        return [(next((at for at in seen.get(user, []) if at >= t0), float("inf")) - t0) * 1000
                for user, t0 in self.sent]

    async def run(self, stop: asyncio.Event) -> None:
        start, tasks = time.monotonic(), []
        for i in itertools.count():
            if stop.is_set():
                break
            delay = start + i / self.rate - time.monotonic()
            if delay > 0:
                with_timeout = asyncio.wait_for(stop.wait(), delay)
                try:
                    await with_timeout
                    break
                except TimeoutError:
                    pass
            tasks.append(asyncio.create_task(self.one(f"b{i % REPS:05d}")))
        await asyncio.gather(*tasks)

    async def one(self, user: str) -> None:
        now = int(time.time())
        msg_id = next(self.ids)
        query, body = self.cb.post(text_xml(CORP, user, "帮助", msg_id, now), now, nonce=str(msg_id))
        t0 = time.monotonic()
        self.sent.append((user, t0))
        async with self.http.post(f"{self.base}/wecom/callback?{query}", data=body) as resp:
            await resp.read()
            self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
        self.acks.append((time.monotonic() - t0) * 1000)


def team_csv(tmp: Path) -> Path:
    path = tmp / "team.csv"
    path.write_text("id,name,role\nadmin01,管理员,admin\nrep01,销售甲,rep\n"
                    + "".join(f"b{i:05d},销售{i},rep\n" for i in range(REPS)), encoding="utf-8")
    return path


def cards_csv(tmp: Path, rows: int) -> bytes:
    """Cards of our own making: varied titles, objections, industries and keywords."""
    objections = ["价格", "交付", "竞品", "预算", "决策流程"]
    industries = ["制造业", "教育", "医疗", "零售", "物流"]
    lines = ["编号,标题,异议,行业,关键词,话术"] + [  # ~90 bytes a row: 100,000 rows stay under WeCom's 10 MB
        f"L{i:06d},第{i}类{objections[i % 5]}顾虑,{objections[i % 5]},{industries[(i // 5) % 5]},方案{i % 700},"
        f"先确认预算再谈第{i}种方案"
        for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def contracts_csv(customers: int, rows: int) -> bytes:
    """`rows` distinct contracts over the seeded customers: one a day per customer, a year long."""
    from datetime import date, timedelta

    first = date(2020, 1, 1)
    lines = ["客户,公司,电话,金额,开始日期,结束日期,负责人,健康分"]
    for i in range(rows):
        start = first + timedelta(days=i // customers)
        lines.append(f"客户{i % customers},测试公司{i % customers},,{10000 + i % 5000},{start},"
                     f"{start + timedelta(days=365)},rep01,")
    return ("\n".join(lines) + "\n").encode("utf-8")


async def seed(cfg: Path, env: dict[str, str], tmp: Path, customers: int) -> None:
    """The team (org import) and `customers` won leads of rep01 the contracts file names."""
    from app.runtime import build_services
    from bot.clock import SystemClock
    from bot.config import load_settings
    from tests.leads_helpers import seed_lead

    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "org", "import", "--config",
                                                str(cfg), str(team_csv(tmp)), env=env,
                                                stdout=asyncio.subprocess.DEVNULL)
    await proc.wait()
    settings = load_settings(cfg)
    services = await build_services(replace(settings, server=replace(settings.server, warm_up=False)),
                                    SystemClock(), {})
    try:
        for i in range(customers):
            await seed_lead(services, "rep01", status="won", stage="close", customer_name=f"客户{i}",
                            company=f"测试公司{i}")
    finally:
        await services.db.dispose()


async def phase(name: str, http: aiohttp.ClientSession, base: str, load: Load, until: asyncio.Future[object],
                fake: FakeWecom) -> None:
    load.acks, load.sent, load.statuses = [], [], {}
    before, t0, avg0 = await read_lag(http, base), time.monotonic(), load_average()
    stop = asyncio.Event()
    runner = asyncio.create_task(load.run(stop))
    await until
    stop.set()
    await runner
    await asyncio.sleep(REPLY_GRACE_S)  # the last callbacks' answers
    after = await read_lag(http, base)
    samples, p99, top = after.since(before)
    replies = load.replies(fake)
    exact = f", exactly {after.worst * 1000:.0f} ms" if after.worst > before.worst else ""
    causes = {k: int(v - before.stalls.get(k, 0.0)) for k, v in sorted(after.stalls.items())}
    busy = f"{after.cpu * 1000:.0f} ms" + ("" if after.cpu > before.cpu else " (not raised)")
    print(f"{name}: {time.monotonic() - t0:.1f} s, {len(load.acks)} callbacks at {load.rate:.0f}/s "
          f"(statuses {dict(sorted(load.statuses.items()))}): ACK p50 {pct(load.acks, 50):.1f} ms  "
          f"p99 {pct(load.acks, 99):.1f} ms  max {max(load.acks or [float('nan')]):.1f} ms; "
          f"reply p50 {pct(replies, 50):.0f} ms  p99 {pct(replies, 99):.0f} ms  max {max(replies or [0.0]):.0f} ms; "
          f"loop lag ({samples} samples) p99 ≤ {p99 * 1000:.0f} ms, max ≤ {top * 1000:.0f} ms{exact}, "
          f"{after.over(before)} over 100 ms (causes {causes}); most loop CPU in a sample {busy}; "
          f"{avg0} → {load_average()}")


async def import_done(fake: FakeWecom, start: int, word: str, timeout: float) -> None:
    """The admin's final report of this import (after `start` texts) arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        said = fake.texts_to("admin01")[start:]
        if any(word in t for t in said):
            return
        if said and not said[0].startswith("📥"):  # refused (too large, unreadable …): no import runs
            raise SystemExit(f"the import did not start: {said[0]}")
        await asyncio.sleep(0.2)
    raise SystemExit(f"no import report with {word!r} in {timeout:.0f} s")


async def main(args: argparse.Namespace) -> int:
    fake = FakeWecom(corp_id=CORP, secret="bench-secret")
    api_base = await fake.start()
    tmp = Path(tempfile.mkdtemp(prefix="salesbot-import-loop-"))
    port = free_port()
    cfg = write_config(tmp, port, api_base, 200, args.db)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    upgrade_db(cfg, env)
    await seed(cfg, env, tmp, args.customers)
    fake.media["cards"] = (cards_csv(tmp, args.rows), "text/csv", "大批话术.csv")
    fake.media["contracts"] = (contracts_csv(args.customers, args.rows), "text/csv", "合同台账.csv")
    proc = start_server(cfg, tmp / "serve.log", env, None)
    base, cb = f"http://127.0.0.1:{port}", CallbackBuilder(TOKEN, AES_KEY, CORP)
    print(f"{os.cpu_count()} cores; {args.rows} rows per import; {load_average()}")
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, base, proc)
            await settle(proc)
            load = Load(http, base, cb, args.rate)
            for i, name in enumerate(args.phases.split(",")):
                if name == "idle":
                    await phase("idle", http, base, load, asyncio.ensure_future(asyncio.sleep(args.idle)),
                                fake)
                    continue
                media, file_name, word = {"knowledge": ("cards", "大批话术.csv", "导入完成"),
                                          "contracts": ("contracts", "合同台账.csv", "📑")}[name]
                seen, now = len(fake.texts_to("admin01")), int(time.time())
                query, body = cb.post(file_xml(CORP, "admin01", media, file_name, 90_000_000 + i, now), now,
                                      nonce=f"file{i}")
                done = asyncio.ensure_future(import_done(fake, seen, word, args.timeout))
                async with http.post(f"{base}/wecom/callback?{query}", data=body) as resp:
                    assert resp.status == 200, resp.status
                await phase(f"{name} import", http, base, load, done, fake)
                print("  report: " + next(t for t in fake.texts_to("admin01")[seen:] if word in t)
                      .replace("\n", " / ")[:200])
    finally:
        stop_server(proc)
        try:
            proc.wait(timeout=60)
        except Exception:
            proc.kill()
        await fake.close()
    print(f"(server log: {tmp / 'serve.log'})")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of each imported file")
    parser.add_argument("--rate", type=float, default=20.0, help="text callbacks/s offered during every phase")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle phase")
    parser.add_argument("--customers", type=int, default=500, help="won leads the contracts file names")
    parser.add_argument("--phases", default="idle,knowledge,contracts")
    parser.add_argument("--timeout", type=float, default=1800.0, help="max seconds an import may take")
    parser.add_argument("--db", default="", help="database URL (default: a fresh SQLite file)")
    sys.exit(asyncio.run(main(parser.parse_args())))
