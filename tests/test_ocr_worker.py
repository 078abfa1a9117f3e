"""`[ocr] mode = "worker"`: the chat process queues a screenshot and answers 「收到截图，正在识别…」; a real
`salesbot worker ocr` process on the same database (real tesseract) reads it, and the chat process's outbox
delivers the draft card; a file that is no image gets the Chinese refusal from the worker. A worker killed with
SIGKILL mid-job: another finishes the job exactly once. A job whose worker keeps dying: one Chinese failure reply.
Inline mode (the default) queues nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.chat import ChatSession
from app.ocr_worker import OcrWorker
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.services import Services
from handlers.leads.ocr_jobs import GAVE_UP
from handlers.leads.screenshots import QUEUED
from storage.migrate import upgrade
from storage.models import Lead, OcrJob, OutboxMessage
from storage.ocr_jobs import claim_next, prune_finished
from tests import waiting
from tests.conftest import Transcript
from tests.fakes.wecom_harness import WecomHarness, start_wecom_harness
from tests.servers import ROOT
from tests.synth import Sample, make_sample

LEASE_S = 10  # a worker renews every third of it: under load 10–25 a 3 s lease was sometimes missed


def worker_mode(settings: Settings) -> Settings:
    return replace(settings, ocr=replace(settings.ocr, mode="worker", job_lease_s=LEASE_S, job_attempts=2))


@pytest.fixture
async def settings(settings: Settings, db_url: str) -> Settings:
    """Worker mode on each backend (migrated first: a PostgreSQL database is only checked at start-up)."""
    await upgrade(db_url)
    return worker_mode(replace(settings, database=DatabaseSettings(url=db_url)))


@pytest.fixture
def lead_sample() -> Sample:
    return make_sample(3, "lead")  # a phone screenshot of a customer who gives name, company and phone


class WorkerProcess:
    """`salesbot worker ocr` as a subprocess on the test's database and evidence folder."""

    def __init__(self, settings: Settings, log: Path, **extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")}
        env.update({"PYTHONPATH": str(ROOT), "SALESBOT_DATABASE_URL": settings.database.url,
                    "SALESBOT_OCR_MODE": "worker", "SALESBOT_OCR_EVIDENCE_DIR": settings.ocr.evidence_dir,
                    "SALESBOT_OCR_JOB_LEASE_S": str(LEASE_S), "SALESBOT_OCR_JOB_ATTEMPTS": "2",
                    "SALESBOT_KNOWLEDGE_SEED_DEMO": "false", "SALESBOT_SERVER_WARM_UP": "false", **extra})
        self.env, self.log = env, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *argv: str) -> WorkerProcess:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", *(argv or ("worker", "ocr")), cwd=ROOT, env=self.env,
                stdout=out, stderr=out)
        return self

    @property
    def name_suffix(self) -> str:
        assert self.proc is not None
        return f":{self.proc.pid}"

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int | None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 60)
        return self.proc.returncode if self.proc else None


@pytest.fixture
async def workers(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., WorkerProcess]]:
    made: list[WorkerProcess] = []

    def make(**extra: str) -> WorkerProcess:
        made.append(WorkerProcess(settings, tmp_path / f"worker{len(made)}.log", **extra))
        return made[-1]

    yield make
    for worker in made:
        await worker.stop()


async def job_row(services: Services, user: str = "rep01") -> OcrJob:
    async with services.db.session() as s:
        return (await s.execute(select(OcrJob).where(OcrJob.user_id == user))).scalar_one()


async def until(services: Services, ok: Callable[[OcrJob], bool], what: str, logs: Callable[[], str],
                timeout_s: float = 180.0, user: str = "rep01") -> OcrJob:
    async def reached() -> OcrJob | None:
        job = await job_row(services, user)
        return job if ok(job) else None

    job = await waiting.until(reached, what, timeout_s=timeout_s, every_s=0.02, log=logs)
    assert job is not None
    return job


async def delivered(services: Services, clock: ManualClock) -> None:
    """The chat process's outbox sends what the worker queued (its rows carry the worker's real clock)."""
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(seconds=1))
    await services.outbox.drain()


async def send(chat: ChatSession, clock: ManualClock, transcript: Transcript, tmp_path: Path, sample: Sample) -> None:
    clock.set(sample.now)
    path = tmp_path / "shot.jpg"
    path.write_bytes(sample.image)
    await chat.handle_line(f"/image {path}")
    assert transcript.last("rep01")["text"] == QUEUED


async def cards_to(services: Services, user: str) -> int:
    async with services.db.session() as s:
        return (await s.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == user, OutboxMessage.kind == "card"))).scalar_one()


async def test_a_queued_screenshot_gets_its_draft_card_from_a_worker_process(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
        lead_sample: Sample, workers: Callable[..., WorkerProcess]) -> None:
    """rep01's screenshot becomes a draft card; rep02's file that is no image (queued too: the webhook reads
    nothing itself) gets the Chinese refusal from the same worker, and nothing of it is kept."""
    await send(chat, clock, transcript, tmp_path, lead_sample)
    job = await job_row(services)
    assert job.state == "queued" and Path(job.image_path).read_bytes() == lead_sample.image
    assert not any(m["kind"] == "card" for m in transcript.to("rep01"))  # the webhook read nothing itself
    pdf = tmp_path / "chat.jpg"
    pdf.write_bytes(b"%PDF-1.7 this is a chat export, not a screenshot")
    await chat.handle_line("/as rep02")
    await chat.handle_line(f"/image {pdf}")
    assert transcript.last("rep02")["text"] == QUEUED

    worker = await workers().start("serve", "--role", "ocr")  # the same as `salesbot worker ocr`
    job = await until(services, lambda j: j.state == "done", "the worker did not finish the job", worker.text)
    assert job.attempts == 1 and job.claimed_by and job.claimed_by.endswith(worker.name_suffix)
    bad = await until(services, lambda j: j.state == "done", "the worker did not answer the bad image",
                      worker.text, user="rep02")
    await delivered(services, clock)
    card = transcript.last("rep01")
    assert card["kind"] == "card" and card["title"].startswith("线索草稿"), card
    assert lead_sample.truth.phone in card["text"] and "来源: 截图" in card["text"]
    (lead,) = await _leads(services)  # none of the bad image
    assert lead.status == "draft" and lead.created_by == "rep01" and lead.created_at == lead_sample.now
    assert lead.evidence_path == job.image_path and Path(job.image_path).exists()
    assert transcript.last("rep02")["text"] == "这是 PDF 文件，请把聊天记录截图后以图片发送。"
    assert not Path(bad.image_path).exists()  # no evidence of anything: not kept (as inline)

    assert await worker.stop() == 0  # SIGTERM: a clean stop
    assert "stopped after 2 jobs" in worker.text()


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[WecomHarness]:
    async for harness in start_wecom_harness(settings, clock):
        yield harness


async def test_a_wecom_screenshot_is_answered_by_a_worker_that_drains_on_sigterm(
        h: WecomHarness, clock: ManualClock, lead_sample: Sample, workers: Callable[..., WorkerProcess]) -> None:
    """The webhook server downloads the image from WeCom, stores and queues it, answers 「收到截图」; the worker is told
    to stop (SIGTERM) while it reads the image: it finishes the job, exits 0, and the card goes out through the
    webhook server's outbox."""
    clock.set(lead_sample.now)
    assert (await h.image("rep01", lead_sample.image)).status == 200
    await h.settle()
    assert h.fake.texts_to("rep01")[-1] == QUEUED and h.cards_to("rep01") == []
    metrics = await (await h.client.get("/metrics")).text()
    assert 'salesbot_ocr_jobs{state="queued"} 1' in metrics and "# TYPE salesbot_ocr_jobs gauge" in metrics

    worker = await workers().start()
    await until(h.services, lambda j: j.state == "claimed", "the worker claimed nothing", worker.text)
    asked_to_stop = datetime.now(UTC)
    assert await worker.stop() == 0
    job = await job_row(h.services)
    assert job.state == "done" and job.attempts == 1, worker.text()[-2000:]
    assert job.finished_at is not None and job.finished_at > asked_to_stop  # it was in hand at the SIGTERM
    assert "finishing the jobs in hand" in worker.text() and "stopped after 1 jobs" in worker.text()

    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    await h.settle()
    (card,) = h.cards_to("rep01")
    assert card["main_title"]["title"].startswith("线索草稿") and lead_sample.truth.phone in str(card), card
    assert 'salesbot_ocr_jobs{state="queued"} 0' in await (await h.client.get("/metrics")).text()


async def test_a_killed_workers_job_is_finished_exactly_once_by_another(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
        lead_sample: Sample, workers: Callable[..., WorkerProcess]) -> None:
    await send(chat, clock, transcript, tmp_path, lead_sample)
    first = await workers().start()
    await until(services, lambda j: j.state == "claimed", "the first worker claimed nothing", first.text)
    await first.kill()  # mid-OCR
    job = await job_row(services)
    assert job.state == "claimed" and job.attempts == 1, "the first worker finished before the kill"

    second = await workers().start()
    job = await until(services, lambda j: j.state == "done", "the second worker did not take the job over",
                      second.text)
    assert job.attempts == 2 and job.claimed_by and job.claimed_by.endswith(second.name_suffix)
    await delivered(services, clock)
    assert len(await _leads(services)) == 1 and await cards_to(services, "rep01") == 1
    assert sum(m["kind"] == "card" for m in transcript.to("rep01")) == 1


async def test_a_job_whose_worker_keeps_dying_gets_one_failure_reply(
        chat: ChatSession, transcript: Transcript, services: Services, clock: ManualClock, tmp_path: Path,
        lead_sample: Sample) -> None:
    """Two claims that never finished (their workers died: `job_attempts = 2`), then a live worker: it gives up
    with one Chinese reply; a second live worker finds nothing to do."""
    await send(chat, clock, transcript, tmp_path, lead_sample)
    now, lease = datetime.now(UTC), timedelta(seconds=LEASE_S)
    for dead in range(2):
        assert await claim_next(services.db, f"dead{dead}", now + dead * 2 * lease, lease) is not None
    clock.set(now + 5 * lease)
    for _ in range(2):
        worker = OcrWorker(services)
        worker.stop.set()
        job = await claim_next(services.db, worker.name, clock.now(), lease)
        if job is not None:
            await worker.handle(job)
    job = await job_row(services)
    assert job.state == "failed" and job.attempts == 3 and job.finished_at is not None
    await services.outbox.drain()
    assert [m["text"] for m in transcript.to("rep01")].count(GAVE_UP) == 1
    assert await _leads(services) == [] and not Path(job.image_path).exists()
    assert job.finished_at is not None
    assert await prune_finished(services.db, job.finished_at) == 0  # kept until it is older than the cut
    assert await prune_finished(services.db, job.finished_at + timedelta(seconds=1)) == 1


async def test_two_workers_never_claim_one_job(chat: ChatSession, transcript: Transcript, services: Services,
                                               clock: ManualClock, tmp_path: Path, lead_sample: Sample) -> None:
    """Claims race (SQLite: the guarded UPDATE; PostgreSQL: FOR UPDATE SKIP LOCKED); a user's second screenshot
    waits until the first is done (it may merge into the first one's draft)."""
    await send(chat, clock, transcript, tmp_path, lead_sample)
    await send(chat, clock, transcript, tmp_path, lead_sample)
    now, lease = datetime.now(UTC), timedelta(seconds=LEASE_S)
    got = await asyncio.gather(*(claim_next(services.db, f"w{i}", now, lease) for i in range(4)))
    claimed = [job for job in got if job is not None]
    async with services.db.session() as s:
        first = (await s.execute(select(func.min(OcrJob.id)))).scalar_one()
    assert [job.id for job in claimed] == [first]  # once, and the first screenshot only


async def test_inline_mode_reads_in_the_chat_process_and_queues_nothing(tmp_path: Path, lead_sample: Sample) -> None:
    from app.runtime import build_services
    from bot.channels.console import ConsoleChannel
    from tests.conftest import sqlite_url

    base = Settings()
    assert base.ocr.mode == "inline"  # the default: one process does everything
    inline = replace(base, database=DatabaseSettings(url=sqlite_url(tmp_path)),
                     knowledge=replace(base.knowledge, seed_demo=False),
                     ocr=replace(base.ocr, evidence_dir=str(tmp_path / "evidence")),
                     server=replace(base.server, warm_up=False))
    out, clock = Transcript(), ManualClock(lead_sample.now)
    console = ConsoleChannel(out.write, json_mode=True)
    services = await build_services(inline, clock, {"console": console})
    try:
        chat = ChatSession(services, console, clock, "rep01", out.write)
        path = tmp_path / "shot.jpg"
        path.write_bytes(lead_sample.image)
        await chat.handle_line(f"/image {path}")
        assert out.last("rep01")["title"].startswith("线索草稿")
        assert QUEUED not in [m["text"] for m in out]
        async with services.db.session() as s:
            assert (await s.execute(select(func.count()).select_from(OcrJob))).scalar_one() == 0
    finally:
        await services.db.dispose()


async def _leads(services: Services) -> list[Lead]:
    async with services.db.session() as s:
        return list((await s.execute(select(Lead).order_by(Lead.id))).scalars())
