"""Card files: the issue's Chinese CSV without ids, and export → import round trips with nasty content."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.commands.kb import run_export, run_import
from bot.clock import to_cn
from bot.config import DatabaseSettings, Settings
from knowledge.io import read_cards, write_cards
from knowledge.schema import KbCard
from knowledge.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ISSUE_HEADER = "标题,角色,行业,异议,话术,报价模板,成功案例,关键词,更新日期\n"

NASTY = [
    KbCard(id="N1", title='"太贵了"怎么回', role="采购", industry="医疗", objection="价格",
           talk_track="先认同。\n---\n注意：不要先降价\n## 报价模板\n这一行是话术的一部分", quote_template="=A1*2",
           success_case="=SUM(1,2) 不是公式", keywords=("ISO/IEC 27001", "按 店 计费", "a,b", "普通"),
           updated_at=date(2026, 3, 1)),
    KbCard(id="N2", title="'单引号'", objection="交付", talk_track="---", quote_template="+86 开头", keywords=("[x]",)),
    KbCard(id="N3", title="紧跟的卡片", objection="竞品", talk_track="这张卡不能被上一张吞掉。", keywords=()),
]


def _settings(tmp_path: Path) -> Settings:
    return Settings(database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/kb.db"))


def test_issue_csv_without_id_column_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "话术.csv"
    path.write_text(ISSUE_HEADER + "医院嫌贵,采购科,三甲,太贵,拆开五年成本,,,设备科、维保,2026-01-05\n"
                    "学校交期,,学校,交期,倒排工期,,,,2026-02-01\n", encoding="utf-8")
    result = read_cards(path, TAXONOMY)
    assert not result.issues
    (_, first), (_, second) = result.cards
    assert (first.role, first.industry, first.objection, first.keywords) == ("采购", "医疗", "价格", ("设备科", "维保"))
    assert first.id != second.id and first.id == read_cards(path, TAXONOMY).cards[0][1].id  # stable


async def test_reimporting_the_issue_csv_updates_instead_of_duplicating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    path = tmp_path / "话术.csv"
    path.write_text(ISSUE_HEADER + "医院嫌贵,采购科,三甲,太贵,拆开五年成本,,,,2026-01-05\n", encoding="utf-8")
    assert await run_import(argparse.Namespace(files=[str(path)], no_progress=True), settings) == 0
    path.write_text(ISSUE_HEADER + "医院嫌贵,采购科,三甲,太贵,拆开五年总成本再对比,,,,2026-01-06\n", encoding="utf-8")
    assert await run_import(argparse.Namespace(files=[str(path)], no_progress=True), settings) == 0
    out = capsys.readouterr().out
    assert "新增 1，更新 0" in out and "新增 0，更新 1" in out


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".md", ".json", ".jsonl"])
def test_nasty_content_round_trips(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cards{suffix}"
    write_cards(path, NASTY)
    result = read_cards(path, TAXONOMY)
    assert not result.issues
    back = [c for _, c in result.cards]
    assert [c.to_dict() for c in back] == [c.to_dict() for c in NASTY]


async def test_cli_export_round_trips_through_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)
    source = tmp_path / "in.jsonl"
    write_cards(source, NASTY)
    assert await run_import(argparse.Namespace(files=[str(source)], no_progress=True), settings) == 0
    exported = tmp_path / "out.xlsx"
    assert await run_export(argparse.Namespace(file=str(exported)), settings) == 0
    assert "已导出 3 张卡片" in capsys.readouterr().out
    day = to_cn(datetime.now(UTC)).date().isoformat()  # an undated card takes the import's day (audit 16c)
    assert [c.to_dict() for _, c in read_cards(exported, TAXONOMY).cards] == [
        {**c.to_dict(), "updated_at": c.to_dict()["updated_at"] or day} for c in NASTY]
    assert await run_import(argparse.Namespace(files=[str(exported)], no_progress=True), settings) == 0
    assert "新增 0，更新 0，未变 3" in capsys.readouterr().out
    assert await run_export(argparse.Namespace(file=str(tmp_path / "out.txt")), settings) == 1
    assert "不支持的文件类型" in capsys.readouterr().err
