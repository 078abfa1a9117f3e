"""serve's child processes are started again, whatever stopped them — a start that failed included (review 17:
an OSError from the first start ended the restart loop silently, and the child never came back)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from app import children
from app.children import Child
from bot.config import Settings


class FirstStartFails(Child):
    name = "probe"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, None)
        self.tries = 0

    def command(self) -> list[str]:
        self.tries += 1
        if self.tries == 1:
            return ["/nonexistent/salesbot-child"]  # the exec itself fails: OSError
        return [sys.executable, "-c", "import time; time.sleep(60)"]


async def test_a_child_whose_start_failed_is_started_again(settings: Settings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(children, "RESTART_DELAY_S", 0.05)
    child = FirstStartFails(settings)
    child.start()
    try:
        async with asyncio.timeout(20):
            while child.proc is None or child.proc.returncode is not None:  # noqa: ASYNC110 - a process, no event
                await asyncio.sleep(0.05)
        assert child.tries == 2
    finally:
        await child.stop(timeout=5)
    assert child.proc.returncode is not None  # stopped with serve
