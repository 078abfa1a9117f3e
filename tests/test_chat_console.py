"""The console channel: help, unknown commands, directives, JSON lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.chat import ChatSession
from bot.services import Services
from tests.conftest import Transcript
from tests.test_reminders_support import make_lead


async def test_help_lists_rep_features(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("帮助")
    reply = transcript.last("rep01")
    assert reply["kind"] == "markdown"
    assert "截图" in reply["text"] and "我的线索" in reply["text"]
    assert "知识库" not in reply["text"]


async def test_help_differs_by_role(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("/as admin01")
    await chat.handle_line("帮助")
    assert "导入话术知识库" in transcript.last("admin01")["text"]


async def test_unknown_directive_and_missing_button_get_hints(chat: ChatSession, transcript: Transcript) -> None:
    assert await chat.handle_line("/frobnicate") is True
    assert "/advance" in transcript.last("rep01")["text"]
    await chat.handle_line("/click 确认")
    assert "没有这个按钮" in transcript.last("rep01")["text"]


async def test_advance_and_now_move_the_clock(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("/now 2026-11-23T09:00+08:00")
    assert transcript.last("rep01")["text"].startswith("2026-11-23T09:00")
    await chat.handle_line("/advance 2h")
    await chat.handle_line("/now")
    assert transcript.last("rep01")["text"].startswith("2026-11-23T11:00")
    await chat.handle_line("/advance soon")
    assert "2h" in transcript.last("rep01")["text"]


async def test_now_prints_the_new_time_before_what_it_brings(chat: ChatSession, services: Services,
                                                              transcript: Transcript) -> None:
    await make_lead(services)  # first contact due in 2 working hours
    await chat.handle_line("/now 2026-11-23T13:00+08:00")
    mine = transcript.to("rep01")
    clock_line = next(i for i, m in enumerate(mine) if m["text"].startswith("2026-11-23T13:00"))
    reminder = next(i for i, m in enumerate(mine) if "首次联系" in m["title"] + m["text"])
    assert clock_line < reminder


async def test_quit_stops(chat: ChatSession) -> None:
    assert await chat.handle_line("/quit") is False


async def test_missing_image_file_is_reported(chat: ChatSession, transcript: Transcript, tmp_path: Path) -> None:
    await chat.handle_line(f"/image {tmp_path / 'nope.png'}")
    assert "读不到文件" in transcript.last("rep01")["text"]


def test_cli_help_json_pipe(tmp_path: Path) -> None:
    """`printf '帮助\\n/quit\\n' | salesbot chat --json` prints JSON lines of the help reply."""
    env = {"SALESBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db", "PATH": "/usr/bin:/bin",
           "SALESBOT_KNOWLEDGE_SEED_DEMO": "false"}
    out = subprocess.run([sys.executable, "-m", "app.cli", "chat", "--json"], input="帮助\n/quit\n", env=env,
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    import json

    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines and lines[0]["to"] == "rep01" and lines[0]["kind"] == "markdown"
    assert set(lines[0]) == {"to", "kind", "title", "text", "buttons"}


async def test_help_tells_how_to_answer_and_clear_a_flag(chat: ChatSession, transcript: Transcript) -> None:
    await chat.handle_line("帮助")
    rep = transcript.last("rep01")["text"]
    assert "我的标记" in rep and "「预算 确认 <原因>」" in rep and "清除标记" not in rep
    await chat.handle_line("/as manager01")
    await chat.handle_line("帮助")
    assert "团队标记" in transcript.last("manager01")["text"]
    assert "「清除标记 <编号>」" in transcript.last("manager01")["text"]


def test_help_fits_one_wecom_message_for_every_role() -> None:
    """A longer help would be split in two messages (an admin's is the longest)."""
    from bot.channels.wecom.render import MARKDOWN_MAX_BYTES
    from handlers.chat.help import help_lines

    for role in ("rep", "manager", "admin"):
        body = "\n".join(f"- {line}" for line in help_lines(role))
        assert len(body.encode()) + 150 <= MARKDOWN_MAX_BYTES, role  # 150: the title and the greeting
