"""Long work a message starts, run beside everyone's messages instead of inside the sender's turn (issue 20).

A large import sent in chat (knowledge cards, contracts, payments) used to run inside the admin's message: the
admin's later messages waited behind it, and its one transaction held SQLite's writer for everyone. Now the
handler answers at once and starts a `BackgroundJob` after its own transaction commits; the job reports progress
to the person who started it (at most every `every_s`) and always ends with a report, after a failure too.
Work that writes commits in chunks, so no transaction holds the writer long; a knowledge-card import stages its
chunks and publishes them in one short transaction (knowledge/importer.py), so after a failure nothing landed.

The jobs of a process are kept by the services (`services.shared(JOBS)`): a test or the console waits for them
with `join()`, and the server's shutdown gives them its grace period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.messages import Outbound, Text
from bot.services import Services, Shared

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 10.0


class Jobs:
    """The background jobs running in this process."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[None]] = set()

    def start(self, work: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def join(self, timeout: float | None = None) -> None:
        """Every job started so far (and any they start) finished, or `timeout` seconds passed."""
        async with asyncio.timeout(timeout):
            while self.running:
                await asyncio.gather(*self.running, return_exceptions=True)


JOBS = Shared("jobs", lambda _s: Jobs())


class Progress:
    """What a job tells the person who started it: 「已写入 n / total 行」 now and then, and the final report."""

    def __init__(self, services: Services, to: str, channel: str, key: str, every_s: float = PROGRESS_EVERY_S) -> None:
        self.services, self.to, self.channel, self.key, self.every_s = services, to, channel, key, every_s
        self.done = 0  # rows written (committed) so far
        self.total = 0
        self.error: BaseException | None = None  # why the job failed, for its final report
        self._told_at = time.monotonic()
        self._told = 0

    def set_total(self, total: int) -> None:
        self.total = total

    async def landed(self, rows: int) -> None:
        """`rows` more rows are committed; tells the person when `every_s` passed since the last word."""
        self.done += rows
        if time.monotonic() - self._told_at < self.every_s or self.done >= self.total:
            return
        self._told_at, self._told = time.monotonic(), self._told + 1
        await self.say(f"⏳ 正在导入：已写入 {self.done} / {self.total} 行。", f"progress:{self._told}")

    async def say(self, text: str, part: str) -> None:
        out = Outbound(to=self.to, body=Text(text), channel=self.channel, dedup_key=f"{self.key}:{part}")
        await self.services.outbox.send_now([out])


def start_job(services: Services, progress: Progress, work: Callable[[Progress], Awaitable[list[str]]],
              failed: Callable[[Progress], str]) -> None:
    """Run `work` in the background; its returned lines are the final report, `failed(progress)` the report
    when it raises (say what landed)."""

    async def run() -> None:
        try:
            lines = await work(progress)
        except Exception as exc:
            log.exception("background job %s failed after %d rows", progress.key, progress.done)
            progress.error = exc
            lines = [failed(progress)]
        try:
            await progress.say("\n".join(lines), "done")
        except Exception:
            log.exception("background job %s: the final report could not be queued", progress.key)

    services.shared(JOBS).start(run(), progress.key)


def why_failed(exc: BaseException | None) -> str:
    """The reason a database write failed, in Chinese for the person who started it."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    if isinstance(exc, IntegrityError):
        return "数据库拒绝保存其中一行"
    if isinstance(exc, OperationalError):
        return "数据库暂时繁忙或连不上"
    return "保存时数据库出错"


def nothing_imported(name: str, p: Progress, again: str = "请稍后重新发送这个文件") -> str:
    """The report of a staged import that failed: nothing of it is live (knowledge/importer.py)."""
    return f"❌ 导入「{name}」失败：{why_failed(p.error)}，本次没有导入任何行，原有数据保持不变。{again}。"


def start_import(ctx: Context, name: str, work: Callable[[Progress], Awaitable[list[str]]],
                 failed: Callable[[Progress], str] | None = None) -> None:
    """A file import from chat: 「收到…正在后台导入」 now; the import starts once this message's transaction has
    committed (a replayed message that was handled already starts nothing) and reports when done. `failed`
    is the report after an error (default: the chunks written before it stay, for imports that commit
    per chunk)."""
    ctx.reply(Text(f"📥 收到「{name}」，正在后台导入，完成后把结果发给你。"))
    progress = Progress(ctx.services, ctx.user.id, ctx.msg.channel, f"import:{ctx.msg.channel}:{ctx.msg.msg_id}")

    def kept(p: Progress) -> str:
        return (f"❌ 导入「{name}」中途出错：已写入 {p.done} 行并保留，其余没有写入。"
                "请稍后重新发送这个文件，已写入的行会显示为未变或重复。")

    async def begin() -> None:
        start_job(ctx.services, progress, work, failed or kept)

    ctx.after_commit.append(begin)
