"""`salesbot chat`: a console channel on the same router, handlers, outbox, ticker and database.

Directives: /as USER, /image PATH, /file PATH, /voice TEXT|PATH.amr, /click X, /advance 2h, /now [ISO], /quit.
`/voice 文字` is a voice note the channel already recognised (as DingTalk sends them); `/voice note.amr` is audio
that goes through [asr] (as WeCom sends it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.periodic import run_due_work
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import fmt_cn, parse_duration, parse_hhmm, to_cn, to_utc
from bot.config import Settings
from bot.dispatch import dispatch
from bot.jobs import JOBS
from bot.messages import Inbound
from bot.services import Services
from storage.models import OutboxMessage, Reminder


class OffsetClock:
    """Wall time plus an offset the user moves with /advance and /now."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        from datetime import UTC

        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def set(self, when: datetime) -> None:
        from datetime import UTC

        self.offset = to_utc(when) - datetime.now(UTC)


MAX_STOPS = 2000  # moments one /advance stops at (a week of a busy team's reminders)


async def next_moment(services: Services, after: datetime, until: datetime) -> datetime | None:
    """The first moment in (after, until] at which time-driven work falls due."""
    async with services.db.session() as session:
        reminder = await session.scalar(select(func.min(Reminder.due_at)).where(
            Reminder.status == "pending", Reminder.due_at > after, Reminder.due_at <= until))
        held = await session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at > after,
            OutboxMessage.next_attempt_at <= until))
    moments = [to_utc(m) for m in (reminder, held) if m is not None]
    # the managers' digest and the admins' record anchor, each at its time of day on the way
    for daily in (services.settings.reminders.digest_time, services.settings.audit.anchor_time):
        if (moment := _next_daily(daily, after, until)) is not None:
            moments.append(moment)
    return min(moments, default=None)


def _next_daily(time_of_day: str, after: datetime, until: datetime) -> datetime | None:
    """The next moment at `time_of_day` in (after, until] (the digest itself checks working days)."""
    if not time_of_day:
        return None
    at = parse_hhmm(time_of_day)
    local = to_cn(after)
    for days in range(0, 400):
        day = (local + timedelta(days=days)).date()
        moment = to_utc(datetime.combine(day, at, tzinfo=local.tzinfo))
        if moment > to_utc(until):
            return None
        if moment > to_utc(after):
            return moment
    return None


class ChatSession:
    def __init__(self, services: Services, console: ConsoleChannel, clock: OffsetClock, user: str,
                 write: Callable[[str], None]) -> None:
        self.services, self.console, self.clock, self.user = services, console, clock, user
        self.write = write
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]

    def info(self, text: str) -> None:
        """Directive feedback: JSON mode keeps stdout pure JSON lines, so it goes as kind=info."""
        if self.console.json_mode:
            self.write(json.dumps({"to": self.user, "kind": "info", "title": "", "text": text, "buttons": []},
                                  ensure_ascii=False))
        else:
            self.write(f"· {text}")

    async def handle_line(self, line: str) -> bool:
        """Process one input line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return await self._directive(line)
        await self._send(kind="text", text=line)
        return True

    async def _directive(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name in ("quit", "exit", "q"):
            return False
        if name == "as" and arg:
            self.user = arg
            self.info(f"现在的身份: {arg}")
        elif name in ("image", "file") and arg:
            await self._send_file(name, Path(arg).expanduser())
        elif name == "voice" and arg:
            path = Path(arg).expanduser()
            if path.suffix.lower() in (".amr", ".wav", ".mp3", ".m4a", ".ogg"):
                await self._send_file("voice", path)
            else:
                await self._send(kind="voice", text=arg)
        elif name == "click" and arg:
            await self._click(arg)
        elif name == "advance" and arg:
            try:
                target = self.clock.now() + parse_duration(arg)
            except ValueError:
                self.info("时长格式如 2h、30m、3d")
                return True
            self.info(f"时间前进 {arg} → {fmt_cn(target)}")
            await self.advance_to(target)
        elif name == "now":
            if arg:
                try:
                    self.clock.set(datetime.fromisoformat(arg))
                except ValueError:
                    self.info("时间格式如 2026-11-23T09:00+08:00")
                    return True
            self.info(to_cn(self.clock.now()).isoformat(timespec="minutes"))  # before what the new time brings
            await self.settle()
        else:
            self.info("可用指令: /as USER, /image PATH, /file PATH, /voice 文字或音频文件, /click X, /advance 2h,"
                      " /now [ISO], /quit")
        return True

    async def _send_file(self, kind: str, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.info(f"读不到文件 {path}: {exc.strerror}")
            return
        await self._send(kind=kind, data=data, file_name=path.name)

    async def _click(self, wanted: str) -> None:
        found = self.console.find_button(self.user, wanted)
        if found is None:
            self.info("最近发给你的卡片里没有这个按钮")
            return
        shown, button = found
        await self._send(kind="click", click_key=button.key, card_ref=shown.card_ref)

    async def _send(self, **fields: Any) -> None:
        msg = Inbound(channel="console", user_id=self.user, msg_id=f"c{self._run}-{next(self._ids)}",
                      received_at=self.clock.now(), **fields)
        await dispatch(self.services, msg)
        await self.settle()

    async def advance_to(self, target: datetime) -> None:
        """Move the clock to `target`, stopping at every moment something falls due on the way (a reminder, a
        held message, the morning digest, the daily record anchor), as a server running through those hours would."""
        for _ in range(MAX_STOPS):
            stop = await next_moment(self.services, self.clock.now(), target)
            if stop is None:
                break
            self.clock.set(stop)
            await self.settle()
        self.clock.set(target)
        await self.settle()

    async def settle(self) -> None:
        """Finish background jobs (a file import), run due reminders, then deliver everything due, until quiet."""
        for _ in range(20):
            await self.services.shared(JOBS).join()
            ticked = await run_due_work(self.services)
            sent = await self.services.outbox.drain()
            if not ticked and not sent:
                break


async def run_chat(settings: Settings, user: str, json_mode: bool, lines: Iterable[str] | None) -> int:
    clock = OffsetClock()
    write = _printer()
    console = ConsoleChannel(write, json_mode=json_mode)
    services = await build_services(settings, clock, {"console": console})
    session = ChatSession(services, console, clock, user, write)
    interactive = lines is None and sys.stdin.isatty()
    if interactive:
        write(f"salesbot 控制台 · 身份 {user} · 输入「帮助」开始，/quit 退出")
    try:
        async for line in _lines(lines, interactive, lambda: session.user):
            if not await session.handle_line(line):
                break
        await session.settle()
    finally:
        await services.db.dispose()
    return 0


def _printer() -> Callable[[str], None]:
    def write(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    return write


async def _lines(given: Iterable[str] | None, interactive: bool, who: Callable[[], str]) -> AsyncIterator[str]:
    if given is not None:
        for line in given:
            yield line
        return
    loop = asyncio.get_running_loop()
    while True:
        prompt = f"{who()}> " if interactive else ""
        read = await loop.run_in_executor(None, _read_line, prompt)
        if read is None:
            return
        yield read


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt) if prompt else (sys.stdin.readline() or None)
    except EOFError:
        return None
