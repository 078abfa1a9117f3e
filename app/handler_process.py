"""Message handlers in a process of their own: `salesbot serve --role handlers`, a child of `salesbot serve` with
`[server] handler_process = true`.

In one process the handlers' CPU (reading the text, the database trips, rendering, delivering the answer) shares
the GIL and the event loop with the callbacks' ACKs: a burst's backlog lengthened the ACK tail, and the handlers
were held back (bot/tasks.py) to keep it short, on one core of two. Here `serve` verifies, claims and ACKs, then
writes the claimed payload to the child's stdin — one JSON line `[channel, payload]` — and the child handles it
through the channel's replayer, as a replay after a crash would be (the claim keeps the payload, `mark_handled`
keeps it exactly once), with its own outbox sender delivering the answers it commits. The child reports its
backlog on stdout (`pending N`), so serve still answers 503 when the handlers are `max_pending` behind.

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
from pathlib import Path

from app.children import Child, exit_with
from bot.clock import SystemClock
from bot.config import Settings
from bot.intake import Intake
from bot.tasks import TaskPool

log = logging.getLogger(__name__)

REPORT_S = 0.1  # the child tells its backlog this often (when it changed)
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
        self.since_report = 0  # handed over since then
        self.handed = 0

    def args(self) -> list[str]:
        return ["serve", "--role", "handlers"]

    @property
    def pending(self) -> int:
        return self.reported + self.since_report

    def send(self, channel: str, payload: str) -> bool:
        proc = self.proc
        if not self.ready or proc is None or proc.returncode is not None or proc.stdin is None \
                or proc.stdin.is_closing():
            return False
        proc.stdin.write(json.dumps([channel, payload], ensure_ascii=False).encode() + b"\n")
        self.since_report += 1
        self.handed += 1
        return True

    async def attached(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        self.reported = self.since_report = 0
        try:
            while line := await proc.stdout.readline():
                word, _, value = line.decode(errors="replace").strip().partition(" ")
                if word == "ready":
                    self.ready = True
                    log.info("handlers process ready: messages are handled there")
                elif word == "pending" and value.isdigit():
                    self.reported, self.since_report = int(value), 0
        finally:
            self.ready = False
            self.reported = self.since_report = 0  # serve handles messages itself now: no stale backlog (no 503s)


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
    intake = Intake(services, tasks=TaskPool(max_running=min(server.max_inflight, services.db.burst_jobs),
                                             burst_rate=math.inf))
    for channel in channels:
        channel.register_replays(intake)
    loop = asyncio.get_running_loop()
    lines = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    loop.add_signal_handler(signal.SIGTERM, lines.feed_eof)
    stop = asyncio.Event()
    background = [asyncio.create_task(warm_up(services)), asyncio.create_task(_report(intake, stop))]
    if parent_pid is not None:
        background.append(asyncio.create_task(exit_with(parent_pid, "handlers")))
    sender = asyncio.create_task(services.outbox.run_forever(server.tick_seconds, stop))
    _say("ready")
    try:
        while line := await lines.readline():
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


async def _report(intake: Intake, stop: asyncio.Event) -> None:
    said = -1
    while not stop.is_set():
        if intake.tasks.pending != said:
            said = intake.tasks.pending
            _say(f"pending {said}")
        await asyncio.sleep(REPORT_S)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
