"""WeCom webhook benchmark: signed, encrypted callbacks fired concurrently at a real `salesbot serve`.

The bench process runs a fake WeCom API (127.0.0.1) and the load generator; `salesbot serve` runs as a
subprocess on a fresh SQLite database. Phase 1 (load): N distinct text callbacks plus duplicates, fired with
bounded concurrency → ACK latency p50/p99, callbacks/s, duplicates ignored, callback → message/send latency.
With `--console N`, N signed-in admins / managers open every web console page back to back during phase 1
(`--seed 20000:10000` first fills the database the console reads).
Phase 2 (idle): one callback at a time → callback → message/send latency with no backlog: a text reply (帮助,
target < 1 s) and a knowledge question answered from the demo cards without LLM (target ≤ 300 ms).

    .venv/bin/python bench/webhook.py [--n 3000] [--dup-every 5] [--concurrency 64] [--probe 30] [--pin 0:1]

`--pin 0:1` puts the server on CPU 0 and the load generator + fake API on CPU 1, to tell the server's own
latency from time lost to the generator sharing its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import ServerSettings
from tests.fakes.wecom_api import FakeWecom
from tests.fakes.wecom_callback import CallbackBuilder, text_xml

# Questions the shipped demo cards answer (the server seeds them: [knowledge] seed_demo defaults to true).
KB_QUESTIONS = ["三甲医院设备科嫌贵怎么回", "客户说竞品便宜一半怎么办", "采购要求再打折怎么回应",
                "客户担心交付周期太长"]
TOKEN, AES_KEY, CORP = "benchToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwbenchcorp0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, port: int, api_base: str, inflight: int, db_url: str = "", console_port: int = 0,
                 handler_process: bool = False) -> Path:
    cfg = tmp / "config.toml"
    db_url = db_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    cfg.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
max_inflight = {inflight}
console_port = {console_port}
handler_process = {str(handler_process).lower()}
[database]
url = "{db_url}"
[wecom]
corp_id = "{CORP}"
agent_id = 1000002
secret = "bench-secret"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
api_base = "{api_base}"
[ocr]
evidence_dir = "{tmp}/evidence"
""",
        encoding="utf-8",
    )
    return cfg


def import_reps(cfg: Path, tmp: Path, n: int, env: dict[str, str]) -> None:
    """The burst comes from a sales team the admin imported (`salesbot org import`), not from strangers
    (`--new-users` measures auto-registration instead: one more write per first message)."""
    csv_path = tmp / "reps.csv"
    csv_path.write_text("id,name,role\n" + "".join(f"b{i:05d},销售{i},rep\n" for i in range(n)), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "app.cli", "org", "import", "--config", str(cfg), str(csv_path)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def upgrade_db(cfg: Path, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade", "--config", str(cfg)], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_server(cfg: Path, log_path: Path, env: dict[str, str], cpus: set[int] | None,
                 profile: str = "") -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "app.cli", "serve", "--config", str(cfg)]
    if profile:  # sampled by py-spy (collapsed stacks: `--format raw`), written when the server stops
        cmd = [py_spy(), "record", "--format", "raw", "--rate", "200", "--gil", "-o", profile, "--", *cmd]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    if cpus:
        os.sched_setaffinity(proc.pid, cpus)
    return proc


def py_spy() -> str:
    """py-spy from the venv this bench runs in (a dev dependency), else from PATH: the venv's bin is often not on
    PATH, and a missing py-spy used to leave `--py-spy-burst` with no output and no error."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy not found: pip install -e '.[dev]'")
    return found


def attach_py_spy(proc: subprocess.Popen[bytes], out: str) -> subprocess.Popen[bytes] | None:
    """`--py-spy-burst OUT`: sample the running server during the load phase only (no start-up, no warm-up)."""
    if not out:
        return None
    cmd = [py_spy(), "record", "--format", "raw", "--rate", "250", "--nonblocking", "--gil", "-o", out,
           "--pid", str(proc.pid)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server; under py-spy to its child, so py-spy sees it end and writes the profile."""
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    except OSError:
        children = []
    if Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(b"py-spy") and children:
        os.kill(int(children[0]), 15)
    else:
        proc.terminate()


def cpu_seconds(proc: subprocess.Popen[bytes], children: bool = True) -> float:
    """User + system CPU the server (and its children) used so far: a load-independent cost figure."""
    pids = [proc.pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                 if children]
    except OSError:
        pass
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pin(spec: str) -> set[int] | None:
    """`--pin 0:1`: server on CPU 0, this process (load generator + fake API) on CPU 1 → server CPUs."""
    if not spec:
        return None
    server, bench = ({int(c) for c in part.split(",")} for part in spec.split(":"))
    os.sched_setaffinity(0, bench)
    return server


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def wait_healthy(session: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"salesbot serve exited with {proc.returncode}")
        try:
            async with session.get(f"{base}/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("salesbot serve did not become healthy in 60 s")


async def wait_handlers(log_path: Path, timeout: float = 300.0) -> None:
    """`--handler-process`: until the child is ready and warmed up. Before, serve handles the messages itself,
    and on a loaded machine the child (nice +5) took up to 46 s: `settle` alone took its starved quiet for the end
    of start-up, and the burst began in one process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if "handlers process ready" in text and text.count("warmed up") >= 2:  # serve's warm-up and the child's
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"the handler child was not ready and warmed up within {timeout:.0f} s")


async def wait_console(session: aiohttp.ClientSession, base: str) -> None:
    """`--console-process`: the console child answers (it starts after the server, then warms its boards)."""
    for _ in range(600):
        try:
            async with session.get(f"{base}/healthz/live") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the console process did not answer in 60 s")


async def settle(proc: subprocess.Popen[bytes], quiet_s: float = 1.0, timeout: float = 180.0,
                 windows: int = 3) -> None:
    """Wait for the start-up warm-up (knowledge index, dictionaries, the console's first team board, in threads
    after /healthz answers) to end: its CPU would otherwise be counted in the burst's CPU per reply. Quiet means
    `windows` quiet seconds in a row: on a loaded machine one quiet second may only be a starved server."""
    start, last, quiet = time.monotonic(), cpu_seconds(proc), 0
    while time.monotonic() - start < timeout:
        await asyncio.sleep(quiet_s)
        now = cpu_seconds(proc)
        quiet = quiet + 1 if now - last < 0.05 * quiet_s else 0
        if quiet >= windows:
            return
        last = now


async def metric(session: aiohttp.ClientSession, base: str, name: str) -> float:
    async with session.get(f"{base}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


async def fire(session: aiohttp.ClientSession, base: str, jobs: list[tuple[str, str, bytes]], concurrency: int,
               rate: float = 0.0) -> tuple[list[float], dict[int, int], dict[str, float], float]:
    """POST every (user, query, body); returns ACK latencies (ms), status counts, first accepted send time per
    user, wall.

    rate = 0: closed loop, `concurrency` workers back to back (measures capacity; latency ≈ concurrency / rate).
    rate > 0: open loop, one callback every 1/rate s whatever the answers (measures latency at that load),
    with at most `concurrency` outstanding.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent_at: dict[str, float] = {}
    limit = asyncio.Semaphore(concurrency)

    async def one(user: str, query: str, body: bytes) -> None:
        async with limit:
            t0 = time.monotonic()
            async with session.post(f"{base}/wecom/callback?{query}", data=body) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                if resp.status == 200:  # a 503 (backlog full) is retried by WeCom, not by this bench
                    sent_at.setdefault(user, t0)
            latencies.append((time.monotonic() - t0) * 1000)

    start = time.monotonic()
    tasks = []
    for i, job in enumerate(jobs):
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*job)))
        if rate <= 0 and len(tasks) >= concurrency:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return latencies, statuses, sent_at, time.monotonic() - start


def reply_latencies(fake: FakeWecom, sent_at: dict[str, float]) -> list[float]:
    first: dict[str, float] = {}
    for r in fake.calls("message/send"):
        if r.body and r.body.get("touser") in sent_at:
            first.setdefault(r.body["touser"], r.at)
    return [(first[u] - sent_at[u]) * 1000 for u in sent_at if u in first]


async def wait_replies(fake: FakeWecom, users: set[str], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        got = {r.body.get("touser") for r in fake.calls("message/send") if r.body}
        if users <= got:
            break
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def probe(session: aiohttp.ClientSession, base: str, fake: FakeWecom, cb: CallbackBuilder,
                texts: list[str], n: int, prefix: str, first_msg_id: int) -> tuple[list[float], list[float]]:
    """n callbacks one at a time (a fresh user each, texts in turn) → ACK latencies, callback → send latencies."""
    acks, replies = [], []
    for i in range(n):
        user = f"{prefix}{i:04d}"
        now = int(time.time())
        xml = text_xml(CORP, user, texts[i % len(texts)], first_msg_id + i, now)
        query, body = cb.post(xml, now, nonce=f"{prefix}{i}")
        lat, _s, sent, _w = await fire(session, base, [(user, query, body)], 1)
        acks += lat
        await wait_replies(fake, {user}, 10)
        replies += reply_latencies(fake, sent)
    return acks, replies


async def seed_console(tmp: Path, spec: str) -> None:
    """`--seed CARDS:LEADS`: the bench database holds that many cards and leads with their history
    (bench/console_load.py's data set) before the server starts."""
    import random
    from dataclasses import replace

    from app.runtime import build_services
    from bench.console_load import seed
    from bot.clock import SystemClock
    from bot.config import DatabaseSettings, Settings

    cards, leads = (int(x) for x in spec.split(":"))
    base = Settings()
    settings = replace(base, database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp}/bench.db"),
                       server=replace(base.server, warm_up=False))
    services = await build_services(settings, SystemClock(), {})
    try:
        await seed(services, cards, leads, random.Random(16))
    finally:
        await services.db.dispose()


async def console_browsing(base: str, cfg: Path, env: dict[str, str], clients: int, stop: asyncio.Event
                           ) -> tuple[int, list[float], dict[int, int]]:
    """`clients` admins and managers opening console pages back to back until `stop`: (pages, latencies ms,
    statuses)."""
    import sqlite3

    from bench.console_load import pages

    with sqlite3.connect(cfg.parent / "bench.db") as con:  # a lead of the admin's and one of manager01's team
        last = con.execute("SELECT max(id) FROM leads").fetchone()[0] or 1
        mine = con.execute("SELECT leads.id FROM leads JOIN users ON users.id = leads.owner_id "
                           "WHERE users.manager_id = 'manager01' ORDER BY leads.id DESC LIMIT 1").fetchone()
    todo = list(pages({"lead": last // 2, "team_lead": mine[0] if mine else last // 2}).values())
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(k: int) -> None:
        user = "admin01" if k % 2 == 0 else "manager01"
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "admin", "link", "--config",
                                                    str(cfg), user, env=env, stdout=subprocess.PIPE)
        out = (await proc.communicate())[0].decode()
        token = out.split("t=", 1)[1].split()[0]
        async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post("/admin/login", data={"t": token}, allow_redirects=False)
            i = k
            while not stop.is_set():
                who, path = todo[i % len(todo)]
                i += 1
                if who != user:
                    continue
                t0 = time.monotonic()
                async with http.get(path, allow_redirects=False) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                latencies.append((time.monotonic() - t0) * 1000)

    await asyncio.gather(*(one(k) for k in range(clients)))
    return len(latencies), latencies, statuses


async def main(args: argparse.Namespace) -> int:
    fake = FakeWecom(corp_id=CORP, secret="bench-secret")
    api_base = await fake.start()
    tmp = Path(tempfile.mkdtemp(prefix="salesbot-bench-"))
    port = free_port()
    console_port = free_port() if args.console_process else 0
    cfg = write_config(tmp, port, api_base, args.inflight, args.db, console_port, args.handler_process)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                     os.environ.get("PYTHONPATH")]))}
    if args.db:
        upgrade_db(cfg, env)
    if args.seed:
        await seed_console(tmp, args.seed)
    if not args.new_users:
        import_reps(cfg, tmp, args.n, env)
    server_cpus = pin(args.pin)
    proc = start_server(cfg, tmp / "serve.log", env, server_cpus, args.py_spy)
    base = f"http://127.0.0.1:{port}"
    cb = CallbackBuilder(TOKEN, AES_KEY, CORP)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as session:
            await wait_healthy(session, base, proc)
            console_base = f"http://127.0.0.1:{console_port}" if console_port else base
            if console_port:
                await wait_console(session, console_base)
            if args.handler_process:
                await wait_handlers(tmp / "serve.log")
            await settle(proc)
            now = int(time.time())
            jobs: list[tuple[str, str, bytes]] = []
            for i in range(args.n):
                user = f"b{i:05d}"  # one message per user: WeCom's per-member limit is never the bottleneck
                query, body = cb.post(text_xml(CORP, user, "帮助", 10_000_000 + i, now), now, nonce=str(i))
                jobs.append((user, query, body))
                if args.dup_every and i % args.dup_every == 0:
                    jobs.append((user, query, body))  # WeCom's retry of the very same callback
            ndup = len(jobs) - args.n
            stop = asyncio.Event()
            browsing = asyncio.create_task(console_browsing(console_base, cfg, env, args.console, stop)) \
                if args.console else None
            if browsing is not None:
                await asyncio.sleep(args.console_lead)  # the console is busy before the callbacks start
            spy = attach_py_spy(proc, args.py_spy_burst)
            cpu0, own0, t0 = cpu_seconds(proc), cpu_seconds(proc, children=False), time.monotonic()
            lat, statuses, sent_at, wall = await fire(session, base, jobs, args.concurrency, args.rate)
            stop.set()
            load_all, load_own = cpu_seconds(proc) - cpu0, cpu_seconds(proc, children=False) - own0
            if browsing is not None:
                n_pages, page_lat, page_statuses = await browsing
                print(f"console: {args.console} signed-in clients opened {n_pages} pages during the load "
                      f"(statuses {dict(sorted(page_statuses.items()))}), page p50 {pct(page_lat, 50):.0f} ms "
                      f"p95 {pct(page_lat, 95):.0f} ms; CPU of the serve process itself during the load "
                      f"{load_own:.1f} s, of its children (console process) {load_all - load_own:.1f} s")
            mode = f"open loop at {args.rate:.0f}/s" if args.rate else "closed loop"
            print(f"load: {len(jobs)} callbacks ({args.n} distinct + {ndup} duplicates), {mode}, "
                  f"max {args.concurrency} outstanding")
            print(f"  statuses {dict(sorted(statuses.items()))}")
            print(f"  ACK latency p50 {pct(lat, 50):.1f} ms  p99 {pct(lat, 99):.1f} ms  max {max(lat):.1f} ms")
            print(f"  accepted {len(jobs) / wall:.0f} callbacks/s ({wall:.2f} s wall)")
            drain = await wait_replies(fake, set(sent_at), args.timeout)
            cpu, own = cpu_seconds(proc) - cpu0, cpu_seconds(proc, children=False) - own0
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=60)
            dups = await metric(session, base, "salesbot_wecom_duplicates")
            replies = reply_latencies(fake, sent_at)
            busy = f" ({args.n - len(sent_at)} users only got 503: backlog full)" if len(sent_at) < args.n else ""
            print(f"  duplicates ignored {dups:.0f} of {ndup}; replies at message/send {len(replies)} of {args.n}"
                  + busy)
            sends_per_user = {}
            for r in fake.calls("message/send"):
                sends_per_user[r.body["touser"]] = sends_per_user.get(r.body["touser"], 0) + 1
            print(f"  users with more than one reply: {sum(1 for v in sends_per_user.values() if v > 1)}")
            print(f"  callback → message/send under load p50 {pct(replies, 50):.0f} ms  p99 {pct(replies, 99):.0f} ms"
                  f"  (backlog drained {drain:.1f} s after the last ACK)")
            sends = sorted(r.at for r in fake.calls("message/send") if r.body and r.body.get("touser") in sent_at)
            span = (sends[-1] - t0) if sends else float("nan")
            print(f"  replies/s: {len(sends) / span:.0f} from the first callback to the last reply ({span:.1f} s); "
                  f"server CPU {cpu:.1f} s = {1000 * cpu / max(1, len(sends)):.2f} ms per reply (ACK included)")
            if args.handler_process:  # what each process costs: its capacity on a core of its own
                accepted = statuses.get(200, 0)
                print(f"  serve itself {own:.1f} s = {1000 * own / max(1, accepted):.2f} ms per callback ACKed; "
                      f"handler child {cpu - own:.1f} s = {1000 * (cpu - own) / max(1, len(sends)):.2f} ms per reply")

            ack, lat = await probe(session, base, fake, cb, ["帮助"], args.probe, "p", 20_000_000)
            print(f"idle, text reply (帮助): {args.probe} callbacks one at a time: ACK p50 {pct(ack, 50):.1f} ms, "
                  f"callback → message/send p50 {pct(lat, 50):.0f} ms  p99 {pct(lat, 99):.0f} ms"
                  f"  max {max(lat or [float('nan')]):.0f} ms  (target < 1000 ms)")
            # Knowledge answers (demo cards, no LLM). The first question of the process builds the index.
            _a, cold = await probe(session, base, fake, cb, KB_QUESTIONS[:1], 1, "c", 30_000_000)
            ack, lat = await probe(session, base, fake, cb, KB_QUESTIONS, args.probe, "k", 31_000_000)
            cards = sum(1 for r in fake.calls("message/send")
                        if r.body and str(r.body.get("touser", "")).startswith("k")
                        and r.body.get("msgtype") == "template_card")
            print(f"idle, knowledge question → answer card (no LLM): {args.probe} callbacks one at a time "
                  f"({cards} answer cards): callback → message/send p50 {pct(lat, 50):.0f} ms"
                  f"  p99 {pct(lat, 99):.0f} ms  max {max(lat or [float('nan')]):.0f} ms  (target ≤ 300 ms);"
                  f" first question of the process {cold[0] if cold else float('nan'):.0f} ms")
    finally:
        stop_server(proc)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        await fake.close()
    where = f"server on CPUs {sorted(server_cpus)}, bench on {sorted(os.sched_getaffinity(0))}" if server_cpus \
        else "server and bench share them"
    print(f"(server log: {tmp / 'serve.log'}; cores: {os.cpu_count()}, {where})")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="distinct callbacks in the load phase")
    parser.add_argument("--dup-every", type=int, default=5, help="repeat every k-th callback once (0 = none)")
    parser.add_argument("--concurrency", type=int, default=64, help="max callbacks outstanding")
    parser.add_argument("--rate", type=float, default=500.0, help="callbacks/s offered (0 = closed loop, flat out)")
    parser.add_argument("--inflight", type=int, default=200, help="[server] max_inflight of the server")
    parser.add_argument("--probe", type=int, default=30, help="idle-phase callbacks for reply latency")
    parser.add_argument("--pin", default="", help="SERVER:BENCH CPU lists, e.g. 0:1 (default: no pinning)")
    parser.add_argument("--new-users", action="store_true", help="users unknown to the server (auto-registered "
                        "on their first message) instead of an imported team")
    parser.add_argument("--py-spy", default="", metavar="OUT", help="profile the server with py-spy into OUT "
                        "(collapsed stacks; needs `pip install py-spy`)")
    parser.add_argument("--py-spy-burst", default="", metavar="OUT", help="attach py-spy to the running server "
                        "for the load phase only (collapsed stacks into OUT)")
    parser.add_argument("--db", default="", help="database URL (an empty PostgreSQL database; default: a fresh "
                        "SQLite file)")
    parser.add_argument("--seed", default="", metavar="CARDS:LEADS", help="seed the database with that many "
                        "cards and leads and their history (bench/console_load.py), e.g. 20000:10000")
    parser.add_argument("--console", type=int, default=0, metavar="N", help="N signed-in console users (admin, "
                        "manager) opening every console page back to back during the load phase")
    parser.add_argument("--console-process", action="store_true", help="[server] console_port set: the console "
                        "runs as serve's child process on its own port (server CPU then counts both)")
    parser.add_argument("--handler-process", action=argparse.BooleanOptionalAction,
                        default=ServerSettings().handler_process, help="[server] handler_process (default: the "
                        "product's default): the messages are handled in serve's child process (server CPU then "
                        "counts both); --no-handler-process: one process does both")
    parser.add_argument("--console-lead", type=float, default=3.0, help="seconds the console browses before "
                        "the callbacks start")
    parser.add_argument("--timeout", type=float, default=300.0, help="max seconds to wait for the backlog")
    sys.exit(asyncio.run(main(parser.parse_args())))
