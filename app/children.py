"""`serve`'s child processes (the web console, the message handlers): started after serve's own start-up, started
again when they die, stopped on shutdown; a child exits by itself when its parent is gone (even after `kill -9`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from bot.config import Settings

log = logging.getLogger(__name__)

RESTART_DELAY_S = 2.0  # a child that died is started again after this long
PARENT_CHECK_S = 1.0  # how often a child looks whether its parent is still there


class Child:
    """One child process kept running: `salesbot <args> --exit-with <serve's pid> [--config F]`."""

    name = "child"
    pipes = False  # True: the child's stdin and stdout are pipes to this process (`attached` is told)

    def __init__(self, settings: Settings, config_path: Path | None) -> None:
        self.settings, self.config_path = settings, config_path
        self.proc: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def args(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "app.cli", *self.args(), "--exit-with", str(os.getpid())]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        return cmd

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running())

    async def attached(self, proc: asyncio.subprocess.Process) -> None:
        """With `pipes`: runs while the child lives (reads its stdout)."""

    async def _keep_running(self) -> None:
        pipe = asyncio.subprocess.PIPE if self.pipes else None
        while not self._stopping:
            try:
                self.proc = await asyncio.create_subprocess_exec(
                    *self.command(), env=self.env(), stdin=pipe if self.pipes else asyncio.subprocess.DEVNULL,
                    stdout=pipe)
            except OSError:  # no process (fork refused, file descriptors used up): try again, never give up
                log.exception("%s process could not be started; trying again in %.0f s", self.name, RESTART_DELAY_S)
                await asyncio.sleep(RESTART_DELAY_S)
                continue
            log.info("%s process started (pid %d)", self.name, self.proc.pid)
            if self.pipes:
                await self.attached(self.proc)
            code = await self.proc.wait()
            if self._stopping:
                return
            log.error("%s process exited with %s; starting it again in %.0f s", self.name, code, RESTART_DELAY_S)
            await asyncio.sleep(RESTART_DELAY_S)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (with `pipes`: end of its stdin first), then at most `timeout` s before SIGKILL."""
        self._stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            if self.pipes and proc.stdin is not None:
                proc.stdin.close()  # nothing more comes: it finishes what it has
            else:
                proc.terminate()
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                log.warning("%s process did not stop within %.0f s; killed", self.name, timeout)
                proc.kill()
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def exit_with(parent_pid: int, name: str) -> None:
    """In a child: SIGTERM to itself once `parent_pid` is no longer its parent."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event tells a child its parent died
        await asyncio.sleep(PARENT_CHECK_S)
    log.warning("%s: serve (pid %d) is gone; stopping", name, parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)
