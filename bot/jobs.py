"""Long work a message starts, run beside everyone's messages instead of inside the sender's turn (issue 20).

A large import sent in chat (knowledge cards, contracts, payments) used to run inside the admin's message: the
admin's later messages waited behind it, and its one transaction held SQLite's writer for everyone. Now the
handler answers at once and starts a `BackgroundJob` after its own transaction commits; the job reports progress
to the person who started it (at most every `every_s`) and always ends with a report, after a failure too.
Work that writes commits in chunks, so no transaction holds the writer long; a knowledge-card import stages its
chunks and publishes them in one short transaction (knowledge/importer.py), so after a failure nothing landed.

The jobs of a process are kept by the services (`services.shared(JOBS)`): a test or the console waits for them
with `join()`, and the server's shutdown gives them its grace period.

A file import is durable (issue 20 re-run, item 4): its file, who started it and what kind of import it is are
written to the database (`kv` row `job:<key>`) in the same transaction as the message that started it, kept
fresh while chunks land, and deleted once the final report is queued. A process killed mid-import (kill -9)
leaves the row behind: the replay sweep of any instance (bot/intake.py) finds it once it has not moved for
`[server] replay_grace_s` and runs the import again from the start (a knowledge import publishes all at once;
contract rows already written come out as unchanged), so the job finishes and its report arrives. A job that
was taken over RESUME_LIMIT times already is reported as failed, in Chinese, instead.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.messages import Outbound, Text
from bot.services import Services, Shared
from storage.models import KeyValue

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 10.0
JOB_PREFIX = "job:"
RESUME_LIMIT = 2  # a job taken over this often (it keeps dying with its process) is reported as failed


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

    def __init__(self, services: Services, to: str, channel: str, key: str, every_s: float = PROGRESS_EVERY_S,
                 durable: bool = False) -> None:
        self.services, self.to, self.channel, self.key, self.every_s = services, to, channel, key, every_s
        self.durable = durable  # a `job:` row exists: keep it fresh, delete it when the report is queued
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
        if self.durable:
            await touch_job(self.services, self.key)  # alive: no other instance takes it over
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
            return  # the job row stays: the import runs again later and reports then
        if progress.durable:
            await forget_job(services, progress.key)

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
    """The report of a staged import that failed: nothing of it is live (knowledge/importer.py), unless its
    publish began (storage/staging.py), which the sweep finishes."""
    from storage.staging import PublishInterrupted

    if isinstance(p.error, PublishInterrupted):
        return (f"⚠️ 导入「{name}」保存到一半时出错：{why_failed(p.error.cause)}。"
                "已保存的行保留，其余的会在数据库恢复后自动补齐。")
    return f"❌ 导入「{name}」失败：{why_failed(p.error)}，本次没有导入任何行，原有数据保持不变。{again}。"


@dataclass(frozen=True)
class ImportJob:
    """What a durable import needs to run again in another process."""

    kind: str  # a key of `services.imports`
    key: str  # the Progress key, also the dedup prefix of its messages
    name: str  # the file's name, as the admin sent it
    data: bytes
    to: str
    channel: str
    started: datetime


Work = Callable[[Progress], Awaitable[list[str]]]


@dataclass(frozen=True)
class ImportKind:
    work: Callable[[Services, ImportJob], Work]  # the import itself, built from the stored job
    failed: Callable[[ImportJob, Progress], str] | None = None  # its report after an error (default: `kept`)


def kept(name: str, p: Progress) -> str:
    """The report of a chunked import that failed: the chunks before the error stay."""
    return (f"❌ 导入「{name}」中途出错：已写入 {p.done} 行并保留，其余没有写入。"
            "请稍后重新发送这个文件，已写入的行会显示为未变或重复。")


async def start_import(ctx: Context, kind: str, name: str, data: bytes) -> None:
    """A file import from chat: 「收到…正在后台导入」 now; the job is written in this message's transaction and
    starts once it has committed (a replayed message that was handled already starts nothing); it reports when
    done, after a crash too (module docstring)."""
    ctx.reply(Text(f"📥 收到「{name}」，正在后台导入，完成后把结果发给你。"))
    job = ImportJob(kind, f"import:{ctx.msg.channel}:{ctx.msg.msg_id}", name, data, ctx.user.id, ctx.msg.channel,
                    ctx.now())

    await save_job(await ctx.db(), job)

    async def begin() -> None:
        run_import(ctx.services, job)

    ctx.after_commit.append(begin)


def run_import(services: Services, job: ImportJob) -> None:
    kind: ImportKind = services.imports[job.kind]
    progress = Progress(services, job.to, job.channel, job.key, durable=True)
    failed = kind.failed
    start_job(services, progress, kind.work(services, job),
              (lambda p: failed(job, p)) if failed else (lambda p: kept(job.name, p)))


async def save_job(session: AsyncSession, job: ImportJob) -> None:
    value = {"kind": job.kind, "name": job.name, "data": base64.b64encode(job.data).decode(), "to": job.to,
             "channel": job.channel, "started": job.started.isoformat(), "resumed": 0}
    session.add(KeyValue(key=f"{JOB_PREFIX}{job.key}"[:128], value=value, updated_at=job.started))


async def touch_job(services: Services, key: str) -> None:
    async with services.db.session() as session:
        await session.execute(update(KeyValue).where(KeyValue.key == f"{JOB_PREFIX}{key}"[:128])
                              .values(updated_at=services.clock.now()))


async def forget_job(services: Services, key: str) -> None:
    try:
        async with services.db.session() as session:
            await session.execute(delete(KeyValue).where(KeyValue.key == f"{JOB_PREFIX}{key}"[:128]))
    except Exception:  # it runs again later and reports again: said in the log
        log.exception("background job %s: finished, but its job row could not be deleted", key)


async def resume_orphaned_imports(services: Services, grace: timedelta) -> int:
    """Imports whose process died (their row unchanged for `grace`, not running here): run again, or reported as
    failed after RESUME_LIMIT take-overs. Another instance sweeping at once takes each at most once (the
    row's time is the ticket). Returns how many were taken over."""
    now, running = services.clock.now(), {t.get_name() for t in services.shared(JOBS).running}
    async with services.db.read_session() as session:
        rows = (await session.execute(select(KeyValue.key, KeyValue.value, KeyValue.updated_at).where(
            KeyValue.key.like(f"{JOB_PREFIX}%"), KeyValue.updated_at < now - grace))).all()
    taken = 0
    for key, value, seen in rows:
        job = ImportJob(str(value.get("kind")), key[len(JOB_PREFIX):], str(value.get("name")),
                        base64.b64decode(value.get("data", "")), str(value.get("to")), str(value.get("channel")),
                        datetime.fromisoformat(str(value.get("started"))))
        if job.key in running:
            continue
        resumed = int(value.get("resumed", 0)) + 1
        async with services.db.session() as session:
            won = await session.execute(update(KeyValue).where(KeyValue.key == key, KeyValue.updated_at == seen)
                                        .values(updated_at=now, value={**value, "resumed": resumed}))
        if getattr(won, "rowcount", 0) != 1:
            continue  # another instance took it
        taken += 1
        if job.kind not in services.imports or resumed > RESUME_LIMIT:
            log.error("background job %s (%s) died with its process %d times; reported as failed", job.key,
                      job.name, resumed - 1)
            await Progress(services, job.to, job.channel, job.key).say(
                f"❌ 导入「{job.name}」没有完成：服务多次中断，本次导入已停止。请稍后重新发送这个文件，"
                "已写入的行会显示为未变或重复。", "abandoned")
            await forget_job(services, job.key)
            continue
        log.warning("background job %s (%s): its process died; running it again", job.key, job.name)
        run_import(services, job)
    return taken


@asynccontextmanager
async def uploaded_file(data: bytes, name: str) -> AsyncIterator[Path]:
    """Uploaded bytes as a file called `name` (its folders dropped) in a directory of its own, deleted after the
    block: the importers read paths. Written in an executor (a file may be tens of MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        await asyncio.get_running_loop().run_in_executor(None, path.write_bytes, data)
        yield path
