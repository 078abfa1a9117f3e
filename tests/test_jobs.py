"""bot/jobs.py: progress of a background import reaches the person who started it, and the job always reports."""

from __future__ import annotations

import pytest

from bot.jobs import JOBS, Progress, start_job
from bot.services import Services
from tests.conftest import Transcript


async def test_progress_is_said_between_chunks_and_the_report_ends_it(services: Services,
                                                                      transcript: Transcript) -> None:
    progress = Progress(services, "admin01", "console", "import:test:1", every_s=0)

    async def work(p: Progress) -> list[str]:
        p.set_total(6000)
        for _ in range(3):
            await p.landed(2000)
        return ["📚 导入完成：6000 行"]

    start_job(services, progress, work, lambda p: "失败")
    await services.shared(JOBS).join()
    await services.outbox.drain()
    assert [m["text"] for m in transcript.to("admin01")] == [
        "⏳ 正在导入：已写入 2000 / 6000 行。", "⏳ 正在导入：已写入 4000 / 6000 行。", "📚 导入完成：6000 行"]


async def test_a_failing_job_reports_what_landed(services: Services, transcript: Transcript,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(services, "admin01", "console", "import:test:2")  # every 10 s: no progress line here

    async def work(p: Progress) -> list[str]:
        p.set_total(5000)
        await p.landed(2000)
        raise RuntimeError("disk full")

    start_job(services, progress, work, lambda p: f"❌ 中途出错：已写入 {p.done} 行")
    await services.shared(JOBS).join()
    await services.outbox.drain()
    assert [m["text"] for m in transcript.to("admin01")] == ["❌ 中途出错：已写入 2000 行"]
    assert "background job import:test:2 failed after 2000 rows" in caplog.text
