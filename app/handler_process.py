"""Message handlers in a process of their own: `salesbot serve --role handlers`, a child of `salesbot serve` with
`[server] handler_process = true`.

In one process the handlers' CPU (reading the text, the database trips, rendering, delivering the answer) shares
the GIL and the event loop with the callbacks' ACKs: a burst's backlog lengthened the ACK tail, and the handlers
were held back (bot/tasks.py) to keep it short, on one core of two. Here `serve` verifies, claims and ACKs, then
writes the claimed payload to the child's stdin — one JSON line `[channel, payload]` — and the child handles it
through the channel's replayer, as a replay after a crash would be (the claim keeps the payload, `mark_handled`
keeps it exactly once), with its own outbox sender delivering the answers it commits. The child reports its
backlog and how many lines it has read on stdout (`pending N R`): serve counts the lines still in the pipe on top
(handed − R), so it answers 503 when the handlers are `max_pending` behind and never hands the child more than its
pool takes. (Counting only `N` missed the lines in transit: a child slower than the callbacks refused a thousand
payloads of a 1,000/s burst, each then waiting `replay_grace_s` for the sweep.) It also sends its latency
histograms (`metrics {...}`, every METRICS_S): serve's /metrics shows them with `process="handlers"`.

Faults: until the child says `ready`, or while it is down (restarted after 2 s), serve handles messages itself; a
message written to a child that then dies stays claimed and unhandled, and the replay sweep hands it on after
`[server] replay_grace_s`. On shutdown serve closes the child's stdin: it finishes its jobs and its outbox, then exits.
The ticker, the replay sweep and the outbox's polling stay in serve.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from app.children import Child, exit_with
from bot.clock import SystemClock
from bot.config import Settings
from bot.intake import Intake
from bot.metrics import Samples, forwarded_samples
from bot.tasks import MAX_PENDING, TaskPool

log = logging.getLogger(__name__)

REPORT_S = 0.1  # the child tells its backlog this often (when it changed)
METRICS_S = 1.0  # and its latency histograms this often (when they changed)
# The child yields the CPU to serve when both want it (nice +5: about a third of serve's weight): within one
# process the handlers were held back for the ACKs (bot/tasks.py); across two, the kernel does it. With a core
# free the child uses all of it.
NICE = 5
MAX_LINE = 16 * 1024 * 1024  # a payload line (callbacks are at most `[server] max_body_kb`)


class HandlerChild(Child):
    """serve's side: the child's stdin takes claimed payloads, its stdout tells `ready` and its backlog."""

    name = "handlers"
    pipes = True

    def __init__(self, settings: Settings, config_path: Path | None) -> None:
        super().__init__(settings, config_path)
        self.ready = False
        self.reported = 0  # the child's backlog when it last said
        self.read = 0  # payload lines the child had read by then
        self.handed = 0  # payload lines written to this child
        self.samples: Samples = {}  # the child's latency histograms, last sent (bot/metrics.py)

    def args(self) -> list[str]:
        return ["serve", "--role", "handlers"]

    @property
    def pending(self) -> int:
        """The child's backlog plus the payloads not read yet (in the pipe, or in this process's write buffer)."""
        return self.reported + self.handed - self.read

    def send(self, channel: str, payload: str) -> bool:
        proc = self.proc
        if not self.ready or proc is None or proc.returncode is not None or proc.stdin is None \
                or proc.stdin.is_closing():
            return False
        proc.stdin.write(json.dumps([channel, payload], ensure_ascii=False).encode() + b"\n")
        self.handed += 1
        return True

    async def attached(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        self.reported = self.read = self.handed = 0
        try:
            while line := await proc.stdout.readline():
                self._heard(line.decode(errors="replace").strip())
        finally:
            self.ready = False
            self.reported = self.read = self.handed = 0  # serve handles messages itself now: no stale backlog

    def _heard(self, line: str) -> None:
        word, _, value = line.partition(" ")
        if word == "ready":
            self.ready = True
            log.info("handlers process ready: messages are handled there")
        elif word == "pending":
            backlog, _, read = value.partition(" ")
            if backlog.isdigit() and read.isdigit():
                self.reported, self.read = int(backlog), int(read)
        elif word == "metrics":
            try:
                self.samples = json.loads(value)
            except ValueError:
                log.warning("handlers process sent unreadable metrics (%d bytes)", len(value))


def run_handlers(settings: Settings, parent_pid: int | None = None) -> int:
    """`salesbot serve --role handlers`: handle the payloads read on stdin until it ends (or SIGTERM)."""
    from app.process_setup import tune_gc

    os.nice(NICE)
    tune_gc()
    asyncio.run(_handle(settings, parent_pid))
    return 0


async def _handle(settings: Settings, parent_pid: int | None) -> None:
    from app.channels import build_with_channels
    from app.process_setup import loaded_engines
    from app.runtime import warm_up

    services, channels = await build_with_channels(settings, SystemClock(), engines=await loaded_engines(),
                                                   seed=False)  # serve seeded before starting this process
    server = settings.server
    # no ACKs wait on this loop: no burst limit, only the database's (SQLite: its pool) and max_inflight
    # serve hands over at most its own `max_pending` (bot/intake.py), plus the callbacks it was admitting as the
    # count reached it: room for those, so that none is refused here (a refused one waits `replay_grace_s`)
    intake = Intake(services, tasks=TaskPool(max_running=min(server.max_inflight, services.db.burst_jobs),
                                             max_pending=2 * MAX_PENDING,
                                             burst_rate=math.inf))
    for channel in channels:
        channel.register_replays(intake)
    loop = asyncio.get_running_loop()
    lines = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    loop.add_signal_handler(signal.SIGTERM, lines.feed_eof)
    stop = asyncio.Event()
    read = Counted()
    background = [asyncio.create_task(warm_up(services)), asyncio.create_task(_report(intake, read, stop))]
    if parent_pid is not None:
        background.append(asyncio.create_task(exit_with(parent_pid, "handlers")))
    sender = asyncio.create_task(services.outbox.run_forever(server.tick_seconds, stop))
    _say("ready")
    try:
        while line := await lines.readline():
            read.n += 1
            await _hand_on(intake, line)
    finally:
        await intake.tasks.drain(server.shutdown_grace_s)
        stop.set()
        await sender
        try:
            async with asyncio.timeout(server.shutdown_grace_s):
                await services.outbox.drain()
        except TimeoutError:
            log.warning("handlers: outbox not empty at shutdown; the rest is delivered by serve")
        for task in background:
            task.cancel()
        for channel_sender in services.channels.values():
            close = getattr(channel_sender, "close", None)
            if close is not None:
                await close()
        await services.db.dispose()


async def _hand_on(intake: Intake, line: bytes) -> None:
    """One claimed payload to its channel's replayer; one it refuses (the pool full) is replayed by serve's sweep."""
    try:
        channel, payload = json.loads(line)
        replayer = intake.replayers[channel]
        if not await replayer(payload):
            log.warning("handlers: %s message not taken (backlog full); serve's replay sweep hands it on", channel)
    except Exception:
        log.exception("handlers: a handed-over line could not be handled (%d bytes)", len(line))


@dataclass
class Counted:
    """Payloads read from serve's pipe so far (reported back as `pending N R`)."""

    n: int = 0


async def _report(intake: Intake, read: Counted, stop: asyncio.Event) -> None:
    """`pending N R` when it changed (every REPORT_S at most), `metrics {...}` every METRICS_S when it changed."""
    said: tuple[int, int] | None = None
    sent, sent_at = "", 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        if (now := (intake.tasks.pending, read.n)) != said:
            said = now
            _say(f"pending {now[0]} {now[1]}")
        if loop.time() - sent_at >= METRICS_S:
            sent_at = loop.time()
            if (samples := json.dumps(forwarded_samples(), ensure_ascii=False)) != sent:
                sent = samples
                _say(f"metrics {samples}")
        await asyncio.sleep(REPORT_S)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
