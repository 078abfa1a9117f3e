"""A queued screenshot (`[ocr] mode = "worker"`), run by an OCR worker process through the same use case as the
inline handler (`handlers.leads.screenshots.capture_screenshot`).

The job's handler context is the message as it was received (its `now` is the receive time: relative times,
the merge window); its answers go to the outbox in one transaction with the draft and the job marked done, and
the outbox of a webhook instance sends them. A job this worker no longer holds (its lease ran out and another
worker took it) commits nothing. A job whose attempts are used up gets one Chinese failure reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.context import Context, UserInfo, commit_with_messages
from bot.messages import Inbound, Text
from bot.org import to_info
from bot.services import Services
from handlers.leads.evidence import EvidenceStore
from handlers.leads.screenshots import capture_screenshot
from storage.models import Evidence, OcrJob, User
from storage.ocr_jobs import OPEN, Claimed, finish

log = logging.getLogger(__name__)

GAVE_UP = "抱歉，这张截图多次识别都没有成功。请稍后重新发送，或用「新线索 …」手动录入。"
IMAGE_GONE = "这张截图的文件找不到了，请重新发送一次。"


class JobContext(Context):
    """The handler context of a queued screenshot; `commit` also ends the job (as `state`)."""

    def __init__(self, services: Services, job: Claimed, user: UserInfo, state: str = "done") -> None:
        msg = Inbound(channel=job.channel, user_id=job.sender, msg_id=f"{job.msg_id}:ocr", kind="image",
                      received_at=job.received_at, file_name=job.file_name, conversation_id=job.conversation_id,
                      display_name=job.context.get("display_name"))
        super().__init__(services, msg, user)
        self.job, self.state = job, state
        self.group_ok = bool(job.context.get("group_ok"))
        self.finished = False

    def now(self) -> datetime:
        return self.job.received_at

    async def commit(self) -> None:
        """The draft, the answers and the job's end in one transaction, while this claim still holds the job."""
        session, now = await self.db(), self.services.clock.now()
        if not await finish(session, self.job, self.state, now):
            log.warning("ocr job %s: taken over by another worker; this attempt's result is dropped", self.job.id)
            await session.rollback()
            return
        await commit_with_messages(self.services, session, self.outgoing, self.msg.user_id, self.now())
        self.finished = True
        await self._after_commit()


async def run_job(services: Services, job: Claimed) -> bool:
    """Read the job's screenshot and answer with the draft card (or why there is none). Raises when the attempt
    failed (the caller retries it later); True when this attempt's result was committed."""

    async def read(ctx: JobContext) -> None:
        data = await asyncio.get_running_loop().run_in_executor(None, _read, job.image_path)
        if data is None:
            log.error("ocr job %s: image %s is missing (is [ocr] evidence_dir shared with the webhook?)", job.id,
                      job.image_path)
            ctx.reply(Text(IMAGE_GONE))
        else:
            await capture_screenshot(ctx, data, job.file_name, busy_after=None)

    return await _answer(services, job, "done", read)


async def give_up(services: Services, job: Claimed) -> bool:
    """Attempts used up: the job failed, and the rep hears so once (the reply commits with the job's end)."""
    log.error("ocr job %s (%s:%s) failed %d times; the rep is told", job.id, job.channel, job.msg_id,
              job.attempts - 1)

    async def tell(ctx: JobContext) -> None:
        ctx.reply(Text(GAVE_UP))

    return await _answer(services, job, "failed", tell)


async def _answer(services: Services, job: Claimed, state: str,
                  work: Callable[[JobContext], Awaitable[None]]) -> bool:
    """Run `work` in the job's context and commit its answers with the job ended as `state`; an image that
    became no evidence is then forgotten. True when this attempt's result was committed."""
    ctx = JobContext(services, job, await _user(services, job.user_id), state=state)
    try:
        await work(ctx)
        ctx.after_commit.append(lambda: forget_unused_image(services, job))
        await ctx.commit()
    finally:
        await ctx.close()
    return ctx.finished


async def forget_unused_image(services: Services, job: Claimed) -> None:
    """A screenshot that became no evidence (no lead, refused, given up) is not kept, as inline (where only a
    lead's screenshot is stored); the same image backing a lead or waiting in another job stays."""
    async with services.db.read_session() as session:
        evidence = await session.scalar(select(func.count()).select_from(Evidence)
                                        .where(Evidence.path == job.image_path))
        waiting = await session.scalar(select(func.count()).select_from(OcrJob).where(
            OcrJob.image_path == job.image_path, OcrJob.id != job.id, OcrJob.state.in_(OPEN)))
    if not evidence and not waiting:
        await EvidenceStore.forget([Path(job.image_path)])


async def _user(services: Services, user_id: str) -> UserInfo:
    async with services.db.read_session() as session:
        user = await session.get(User, user_id)
    return to_info(user) if user is not None else UserInfo(id=user_id, name=user_id, role="rep")


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None
