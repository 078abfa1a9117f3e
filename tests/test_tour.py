"""The README's 60-second tour (docs/tour.txt) runs as written, with the demo knowledge base and org."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.chat import ChatSession
from app.runtime import build_services
from bot.channels.console import ConsoleChannel
from bot.clock import ManualClock
from bot.config import KnowledgeSettings, Settings
from tests.conftest import MONDAY_10AM, Transcript, with_digests

ROOT = Path(__file__).parent.parent


async def test_readme_tour(settings: Settings, transcript: Transcript, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)  # the tour uses repo-relative paths
    settings = replace(with_digests(settings), knowledge=KnowledgeSettings(seed_demo=True))
    console = ConsoleChannel(transcript.write, json_mode=True)
    clock = ManualClock(MONDAY_10AM)
    services = await build_services(settings, clock, {"console": console})
    chat = ChatSession(services, console, clock, "rep01", transcript.write)
    try:
        for line in (ROOT / "docs" / "tour.txt").read_text(encoding="utf-8").splitlines():
            if not await chat.handle_line(line):
                break
    finally:
        await services.db.dispose()
    rep = transcript.texts("rep01")
    assert any("话术" in t and "来源：话术库" in t and "K0" not in t for t in rep)  # its source, never its id
    assert any("没找到合适的话术" in t for t in rep)
    assert any(t.startswith("线索草稿") and "13812345678" in t for t in rep)
    assert any("已启用" in t for t in rep)
    assert any("我的线索" in t and "下一步: 首次联系 11-23 12:00" in t for t in rep)  # the deadline, not the warning
    assert any("首次联系已超时（第1次）" in t for t in rep)
    manager = transcript.texts("manager01")
    assert any("李娜 已开始新人通关（共 12 关" in t for t in manager)
    ramp = transcript.texts("rep02")
    assert any(t.startswith("新人通关 · 第 2/12 关 · 测验") and "情境：" in t for t in ramp)  # read, then a quiz
    assert any("答对了" in t or "合适的是第" in t for t in ramp)
    assert any("抄送" in t for t in manager)
    frozen = next(m for m in transcript.to("manager01") if m["kind"] == "card" and "冻结" in m["title"])
    assert [b["text"] for b in frozen["buttons"]] == ["接手", "改派", "延期"]
    assert any("已由 王经理 接手" in t for t in manager)
    assert any("团队线索" in t and "#1" in t for t in manager)
