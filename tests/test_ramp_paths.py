"""Ramp-up paths and questions: the admin's line format (and its refusals), the default path made from the
knowledge base, questions built from whatever cards exist at that moment, replacing a path mid-way, the CLI."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from handlers.ramp import service
from handlers.ramp.path import PathError, TaskSpec, default_path, parse_path, path_text
from handlers.ramp.quiz import QuizMaker, option_texts
from knowledge.schema import parse_card
from knowledge.taxonomy import load_taxonomy
from storage.models import RampProgress
from tests.conftest import Transcript, run_cli
from tests.leads_helpers import cn
from tests.ramp_helpers import ramp_cards, seed_cards

SHADOWS = ["旁听一次电话", "陪同拜访一次客户", "独立做一次演示"]


def test_path_lines_round_trip_and_synonyms_resolve() -> None:
    text = ("阅读 异议=价格 张数=3\n# 注释\n\n测验 角色=设备科 异议=太贵 题数=2\n测验 行业=医疗 方式=自述\n"
            "跟岗 陪同主管拜访一次客户")
    specs = parse_path(text, load_taxonomy().resolve)
    assert specs[1] == TaskSpec("quiz", role="采购", objection="价格", count=2)
    assert [s.kind for s in specs] == ["read", "quiz", "quiz", "shadow"] and specs[2].mode == "write"
    assert parse_path(path_text(specs)) == specs
    assert specs[1].title() == "测验 · 采购 · 价格异议（答对 2 题）"
    assert specs[3].title() == "跟岗 · 陪同主管拜访一次客户"


@pytest.mark.parametrize(("text", "says"), [
    ("", "路径里没有任务"),
    ("阅读 异议=价格\n考试 异议=价格", "第 2 行：开头应是「阅读」「测验」或「跟岗」"),
    ("测验 异议", "第 1 行：「异议」应写成 名称=值"),
    ("测验 题数=0", "题数应是 1 到 20 之间的整数"),
    ("阅读 题数=2", "阅读任务不认识「题数」"),
    ("测验 方式=口试", "方式只能是「选择」或「自述」"),
    ("跟岗", "跟岗任务要写明做什么"),
])
def test_a_bad_path_line_is_named(text: str, says: str) -> None:
    with pytest.raises(PathError, match=says):
        parse_path(text)


def test_the_default_path_has_twelve_tasks_from_what_the_cards_cover() -> None:
    specs = default_path(ramp_cards(), SHADOWS)
    assert len(specs) == 12
    assert [s.line() for s in specs[:2]] == ["阅读 异议=交付", "测验 异议=交付"]  # most covered first, then by name
    assert {s.objection for s in specs if s.kind == "read"} >= {"价格", "交付", "竞品"}
    assert [s.what for s in specs[-3:]] == SHADOWS and specs[8] == TaskSpec("quiz", mode="write")
    assert default_path([], SHADOWS) == [TaskSpec("shadow", what=w) for w in SHADOWS]


def test_questions_come_from_the_cards_present() -> None:
    cards = ramp_cards()
    taxonomy = load_taxonomy()
    extra = parse_card({"id": "X1", "title": "物流公司说售后没保障", "industry": "物流", "objection": "售后",
                        "talk_track": "我们在您的三个分拨中心各备一名工程师，四小时内到场。"})
    maker = QuizMaker([*cards, extra], taxonomy.extended({"objection": ["售后"]}))
    q = maker.question(TaskSpec("quiz", objection="售后"), random.Random(1), choices=4)
    assert q is not None and q.card_id == "X1" and "售后方面的顾虑" in q.line  # today's card, by its axes
    assert q.options[q.answer - 1] == "X1" and len(q.options) == 4  # filled from other objections
    r01 = next(c for c in cards if c.id == "R01")
    line = maker.customer_line(r01, random.Random(0))
    assert re.fullmatch(r"医院的设备科提出价格方面的顾虑（(嫌贵|太贵|贵了)）", line)  # its axes, never its title
    assert maker.question(TaskSpec("quiz", objection="不存在"), random.Random(0)) is None


@pytest.mark.parametrize(("card", "line"), [
    ({"title": "车队老板问多久回本：按油耗算账", "role": "决策层", "industry": "物流", "objection": "效果"},
     "提出效果方面的顾虑"),
    ({"title": "年底额度用光了：先签框架协议", "role": "财务", "industry": "医疗", "objection": "预算"},
     "医院的财务总监提出预算方面的顾虑"),
    ({"title": "药店店长说系统太难学", "role": "使用部门", "industry": "零售", "objection": "效果"},
     "提出效果方面的顾虑"),
    ({"title": "分期方案", "role": "财务", "industry": "医疗", "objection": "预算"},
     "医院的财务总监提出预算方面的顾虑"),
])
def test_the_question_is_a_sentence_of_the_cards_axes_never_its_title(card: dict[str, str], line: str) -> None:
    """A new-user audit saw 「医院的采购说：「价格」」 (one keyword), a later one the title's own words given back
    (「情境就是卡片标题」): the question says who and what worries them, in the vocabulary's words."""
    made = parse_card({"id": "Q1", "talk_track": "先把账算清楚再谈价格。", **card})
    got = QuizMaker([made], load_taxonomy()).customer_line(made, random.Random(0))
    title_head = made.title.split("：")[0]
    assert line in got and len(got) >= 6 and title_head not in got, got


async def test_replacing_the_path_keeps_what_a_rep_finished(services: Services) -> None:
    await seed_cards(services)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("阅读 异议=价格\n跟岗 旁听一次电话"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")
        first = (await service.progress(s, "rep01", services.settings.ramp))
        assert first is not None
        row = await service.mark(s, "rep01", first.tasks[0].id, cn(20, 10))
        await service.finish_task(s, row, cn(20, 10), services.settings.ramp)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("测验 异议=竞品\n阅读 异议=价格"), cn(21, 9), "admin01")
        after = await service.progress(s, "rep01", services.settings.ramp)
    assert after is not None and [t.status for t in after.tasks] == ["todo", "done"] and after.done == 1


async def test_a_stale_or_repeated_click_changes_nothing(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("测验 异议=价格 题数=2"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")
    await chat.handle_line("通关")
    first = transcript.last("rep01")
    async with services.db.session() as s:
        (row,) = (await s.scalars(select(RampProgress))).all()
    await chat.handle_line(f"/click {row.state['q']['answer']}")  # right: the next question comes
    other = next(b["key"] for i, b in enumerate(first["buttons"], 1) if i != row.state["q"]["answer"])
    await chat._send(kind="click", click_key=other)  # the answered card's other button, later
    assert "已经答过" in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        (row,) = (await s.scalars(select(RampProgress))).all()
    assert row.asked == 2 and row.correct == 1 and row.status == "open"


async def test_a_written_question_only_waits_so_long(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("测验 异议=价格 方式=自述"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")
    await chat.handle_line("通关")
    await chat.handle_line("/advance 2h")
    await chat.handle_line("今天食堂吃什么")
    assert transcript.last("rep01")["title"] != "对照参考话术"  # a question two hours old no longer catches text


async def test_team_report_shows_ramp_progress(services: Services, chat: ChatSession, transcript: Transcript) -> None:
    await seed_cards(services)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("阅读 异议=价格\n跟岗 旁听一次电话"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")
    await chat.handle_line("/as manager01")
    await chat.handle_line("团队日报")
    text = next(m["text"] for m in transcript.to("manager01") if m["title"] == "📊 团队跟进日报")
    assert "**新人通关**" in text and "张伟: 0/2 · 下一关 阅读 · 价格异议话术" in text


async def test_cli_sets_shows_enrols_and_reports(services: Services, tmp_path: Path, capsys: object) -> None:
    await seed_cards(services)
    url = services.settings.database.url
    good, bad = tmp_path / "path.txt", tmp_path / "bad.txt"
    good.write_text("阅读 异议=价格\n测验 异议=竞品 题数=1\n测验 异议=售后\n跟岗 旁听一次电话\n", encoding="utf-8")
    bad.write_text("阅读 异议=价格\n背诵 全部\n", encoding="utf-8")
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "set", str(bad)) == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "第 2 行" in err
    # a task no card fits would let a rep pass by doing nothing (audit 18 #8): refused, nothing set
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "set", str(good)) == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "通关路径没有保存" in err and "第 3 个任务「测验 · 服务异议（答对 2 题）」：知识库里没有符合的卡片" in err
    async with services.db.session() as s:
        assert (await service.current_path(s)) is None
    good.write_text("阅读 异议=价格\n测验 异议=竞品 题数=1\n跟岗 旁听一次电话\n测验 异议=竞品\n", encoding="utf-8")
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "set", str(good)) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "已保存通关路径（4 关）" in out
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "show") == 0
    assert "测验 异议=竞品 题数=1" in capsys.readouterr().out  # type: ignore[attr-defined]
    assert await asyncio.to_thread(run_cli, url, "ramp", "enroll", "manager01") == 1
    assert "不是销售" in capsys.readouterr().err  # type: ignore[attr-defined]
    assert await asyncio.to_thread(run_cli, url, "ramp", "enroll", "rep02") == 0
    assert await asyncio.to_thread(run_cli, url, "ramp", "progress", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]  # type: ignore[attr-defined]
    assert rows == [{"user": "rep02", "done": 0, "total": 4, "complete": False, "next": "阅读 · 价格异议话术",
                     "waiting": []}]


async def test_org_import_puts_new_reps_on_the_path(services: Services, tmp_path: Path, capsys: object) -> None:
    await seed_cards(services)
    people = tmp_path / "people.csv"
    people.write_text("工号,姓名,角色,主管\nrep01,张伟,rep,manager01\nrep09,吴新,rep,manager01\n"
                      "manager09,新主管,manager,\n", encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "org", "import", str(people)) == 0
    assert "已导入 3 位成员；新人已加入学习路径：吴新" in capsys.readouterr().out  # type: ignore[attr-defined]
    async with services.db.session() as s:
        assert await service.progress(s, "rep01", services.settings.ramp) is None  # already working: untouched
        found = await service.progress(s, "rep09", services.settings.ramp)
    assert found is not None and found.total == 12


async def test_a_question_left_open_on_a_replaced_path_is_not_scored(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    async with services.db.session() as s:
        await service.set_path(s, parse_path("测验 异议=价格 题数=1\n跟岗 旁听一次电话"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")
    await chat.handle_line("通关")
    async with services.db.session() as s:
        (row,) = (await s.scalars(select(RampProgress))).all()
        answer = row.state["q"]["answer"]
        await service.set_path(s, parse_path("测验 异议=竞品 题数=1\n跟岗 旁听一次电话"), cn(23, 9), "admin01")
    await chat.handle_line(f"/click {answer}")  # the old question's right answer
    assert "通关路径已更新" in transcript.last("rep01")["text"]
    async with services.db.session() as s:
        found = await service.progress(s, "rep01", services.settings.ramp)
    assert found is not None and found.done == 0 and found.next is not None and "竞品" in found.next.title


def test_an_option_shows_a_templates_blank_not_its_placeholder() -> None:
    card = parse_card({"id": "T1", "title": "交期紧", "objection": "交付",
                       "talk_track": "签约后 {天数} 天内发货，延期按日赔付。"})
    assert option_texts([card], 100) == (["签约后 ×× 天内发货，延期按日赔付。"], False)


async def test_path_set_keeps_progress_on_tasks_still_there_and_says_what_was_reset(
    services: Services, tmp_path: Path, capsys: object
) -> None:
    """A new-user audit: `ramp path set` dropped a rep's half-answered quiz and a shadowing task waiting for the
    manager without a word. Progress on a task the new path has too is kept; what is lost is printed."""
    await seed_cards(services)
    cfg = services.settings.ramp
    async with services.db.session() as s:
        await service.set_path(s, parse_path("阅读 异议=价格\n测验 异议=价格 题数=2\n跟岗 旁听一次电话\n"
                                             "测验 异议=竞品 题数=2"), cn(20, 9), "admin01")
        for rep in ("rep01", "rep02"):
            await service.enroll(s, rep, cfg, cn(20, 9), "admin01")
        found = await service.progress(s, "rep01", cfg)
        assert found is not None
        read, quiz, shadow, rivals = found.tasks
        await service.finish_task(s, await service.mark(s, "rep01", read.id, cn(20, 10)), cn(20, 10), cfg)
        half = await service.mark(s, "rep01", quiz.id, cn(20, 10))
        half.correct, half.asked = 1, 2
        waiting = await service.mark(s, "rep01", shadow.id, cn(20, 10))
        waiting.status = "waiting"
        gone = await service.mark(s, "rep01", rivals.id, cn(20, 10))
        gone.correct, gone.asked = 1, 1
    new = tmp_path / "第二版.txt"  # the reading task and the 竞品 quiz go, a 交付 quiz comes
    new.write_text("测验 异议=价格 题数=2\n跟岗 旁听一次电话\n测验 异议=交付\n", encoding="utf-8")
    assert await asyncio.to_thread(run_cli, services.settings.database.url, "ramp", "path", "set", str(new)) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "正在通关的 2 位同事已换到新路径，新路径里相同任务的进度保留（2 项）" in out
    assert "进度清零：张伟：已完成的「阅读 · 价格异议话术」不在新路径里" in out
    assert "张伟：「测验 · 竞品异议（答对 2 题）」已答对 1 题，新路径里没有这一关" in out
    assert "李娜" not in out  # nothing of hers was lost
    async with services.db.session() as s:
        after = await service.progress(s, "rep01", cfg)
    assert after is not None
    assert [(t.title, t.status, t.correct) for t in after.tasks] == [
        ("测验 · 价格异议（答对 2 题）", "open", 1), ("跟岗 · 旁听一次电话", "waiting", 0),
        ("测验 · 交付异议（答对 2 题）", "todo", 0)]


async def test_a_new_path_already_done_completes_the_rep(services: Services) -> None:
    await seed_cards(services)
    cfg = services.settings.ramp
    async with services.db.session() as s:
        await service.set_path(s, parse_path("阅读 异议=价格\n跟岗 旁听一次电话"), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", cfg, cn(20, 9), "admin01")
        found = await service.progress(s, "rep01", cfg)
        assert found is not None
        await service.finish_task(s, await service.mark(s, "rep01", found.tasks[0].id, cn(20, 10)), cn(20, 10), cfg)
        change = await service.set_path(s, parse_path("阅读 异议=价格"), cn(21, 9), "admin01", cfg=cfg)
    assert change.completed == ("张伟",) and change.reset == ()
    assert "张伟 的新路径已全部完成，已通关" in change.summary_cn()
    async with services.db.session() as s:
        assert await service.locked(s, "rep01", "close", cfg) is None  # the right is open


async def test_cli_speaks_chinese_and_takes_a_reps_name(services: Services, tmp_path: Path, capsys: object) -> None:
    """New-user audit: `salesbot ramp` printed English and `enroll` wanted a user id."""
    await seed_cards(services)
    url = services.settings.database.url
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "show") == 0
    shown = capsys.readouterr().out  # type: ignore[attr-defined]
    assert shown.startswith("# 还没有通关路径") and not any(w in shown for w in ("no path", "task"))
    path = tmp_path / "新人.txt"
    path.write_text("阅读 异议=价格\n跟岗 旁听一次电话\n", encoding="utf-8")
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "set", str(path)) == 0
    assert capsys.readouterr().out.strip() == "已保存通关路径（2 关）。"  # type: ignore[attr-defined]
    assert await asyncio.to_thread(run_cli, url, "ramp", "enroll", "李娜") == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.strip() == "李娜 已在新人通关：0/2 · 下一关 阅读 · 价格异议话术"
    assert await asyncio.to_thread(run_cli, url, "ramp", "enroll", "没这个人") == 1
    assert "没有找到在职同事「没这个人」" in capsys.readouterr().err  # type: ignore[attr-defined]
    assert await asyncio.to_thread(run_cli, url, "ramp", "progress", "--manager", "王经理") == 0
    assert capsys.readouterr().out.strip() == "李娜：0/2 · 下一关 阅读 · 价格异议话术"  # type: ignore[attr-defined]
    assert await asyncio.to_thread(run_cli, url, "ramp", "path", "set", str(tmp_path / "无.txt")) == 1
    assert "读不了文件" in capsys.readouterr().err  # type: ignore[attr-defined]
