"""Reps who say the customer's concern in everyday words the cards never use, on a knowledge base nobody tuned
against first: an invented video-meeting vendor (cloud meetings plus meeting-room hardware), 33 cards labelled in
the admin's own words (续约价格, 账号席位, 服务对接, 自研系统 …) and 80 queries — 65 paraphrases sharing no word with
the card they want (肉疼, 白嫖, 多记一个密码, 吃灰, 坐地起价 …), 15 off-topic asks (tests/fixtures/kb_meeting_*),
written before the colloquial vocabulary of knowledge/taxonomy.toml was.

It runs what an admin and a rep run: `salesbot kb import` into a fresh database, then `salesbot kb search --json
--batch`, scored like the independent sets' scorer (a declined answerable query scores nothing). Set 1 before the
vocabulary: top-1 0.262, top-3 0.308, no-answer F1 0.394; after it 0.600 / 0.723 / 0.622. Set 2 (30 more
paraphrases, 8 off-topic asks) was written after that vocabulary round and measured once before anything was
changed for it: 0.400 / 0.433 / 0.516 without the vocabulary, 0.467 / 0.533 / 0.500 with it (then 0.567 / 0.700 /
0.609 after a few words it showed missing).

Set 2 is TUNED, not held out: the words it showed missing (瘫了, 出了毛病, 外人看到, 不爱用, 听不见, 安全证明 …) were
copied from its queries into the vocabulary, so a score on it measures recall of those words. It stays as a dev
set; its floor is the figure measured once before that copying (0.467 / 0.533 / 0.500), not the tuned one. Set 1
is still held out; its floors sit under the figures measured last.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.commands.kb import run_import, run_search
from bot.config import DatabaseSettings, KnowledgeSettings, Settings
from knowledge.index import CardIndex
from knowledge.search import rank
from tests.kb_support import TAXONOMY, held_out_scores, index_of

FIXTURES = Path(__file__).parent / "fixtures"
CARDS = FIXTURES / "kb_meeting_cards.jsonl"
QUERIES = FIXTURES / "kb_meeting_queries.jsonl"
QUERIES_2 = FIXTURES / "kb_meeting_queries2.jsonl"

FLOORS = {QUERIES: {"top1": 0.55, "top3": 0.68, "noans_f1": 0.58},
          QUERIES_2: {"top1": 0.46, "top3": 0.53, "noans_f1": 0.5}}  # tuned: the untuned figure, see above



@pytest.mark.parametrize("queries", [QUERIES, QUERIES_2], ids=["set1", "set2"])
async def test_paraphrases_find_the_card_said_in_other_words(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             queries: Path) -> None:
    settings = Settings(database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/kb.db"),
                        knowledge=KnowledgeSettings(seed_demo=False))
    assert await run_import(argparse.Namespace(files=[str(CARDS)], no_progress=True), settings) == 0
    assert "新增 33" in capsys.readouterr().out
    rows = [json.loads(line) for line in queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    batch = tmp_path / "queries.txt"
    batch.write_text("\n".join(r["q"] for r in rows) + "\n", encoding="utf-8")
    assert await run_search(argparse.Namespace(query=None, batch=str(batch), json=True, top=5), settings) == 0
    preds = {p["q"]: p for p in map(json.loads, capsys.readouterr().out.splitlines())}
    got = held_out_scores(rows, preds)
    assert all(got[name] >= floor for name, floor in FLOORS[queries].items()), got


@pytest.fixture(scope="module")
def index() -> CardIndex:
    return index_of(CARDS)


@pytest.mark.parametrize(("query", "value"), [
    ("客户嫌年费肉疼", "价格"),
    ("对手报了个骨折价", "竞品"),
    ("客户说用免费版就够了", "竞品"),
    ("他们是自己开发的系统", "竞品"),
    ("经费见底了", "预算"),
    ("能不能分几回付", "付款方式"),
    ("到期会不会自动扣费", "续约"),
    ("人员变动账号能转给别人吗", "席位"),
    ("签了以后有事找谁", "客户成功"),
    ("员工要多记一个密码", "集成"),
    ("服务器崩了怎么办", "服务"),
    ("想加个新功能", "定制"),
    ("怕员工偷偷截图外传", "安全"),
    ("有没有安全认证", "资质"),
    ("买回去怕吃灰", "使用"),
    ("课程内容老掉牙了", "内容质量"),
    ("讲师水平一般", "讲师"),
    ("领导说过完年再议", "时机"),
    ("多久能用起来", "实施"),
    ("下单后几天能到", "交付"),
    ("配件以后还有吗", "服务"),
    ("不满意能退钱吗", "试用"),
])
def test_an_everyday_wording_names_its_concept(index: CardIndex, query: str, value: str) -> None:
    assert value in rank(index, query).matched.get("objection", ()), rank(index, query).matched


@pytest.mark.parametrize(("query", "value"), [
    ("加装终端会影响控制系统吗", "服务"),  # 终端 sounds like 中断 (an outage): no outage said
    ("试用期可以延长吗", "试用"),  # an employee's probation, not a product trial
    ("能不能少跑几趟", "价格"),
])
def test_a_word_that_only_sounds_or_looks_like_a_concept_does_not_name_it(index: CardIndex, query: str,
                                                                          value: str) -> None:
    assert value not in rank(index, query).matched.get("objection", ())


def test_an_own_matter_word_must_be_a_word_of_the_query() -> None:
    """「第二年会不会坐地起价」 holds the letters of 年会 (a company party) across two words: no own matter."""
    found = rank(index_of(CARDS), "第二年会不会坐地起价")
    assert found.answered and found.ranked[0] == "M10", found.to_json(why=True)


@pytest.mark.parametrize(("label", "value"), [
    ("续约价格", "续约"), ("账号席位", "席位"), ("自研系统", "竞品"), ("免费替代", "竞品"), ("试用退款", "试用"),
    ("课程质量", "内容质量"), ("讲师水平", "讲师"),
])
def test_an_admins_label_joins_its_concept(label: str, value: str) -> None:
    assert TAXONOMY.extended({"objection": [label]}).canonical("objection", label) == value



@pytest.mark.parametrize(("old_label", "query"), [("交付说明", "到货与安装说明"), ("到货安装", "安装说明"),
                                                  ("交付说明", "下单以后几天能到")])
def test_a_later_version_of_a_card_comes_first_whatever_label_the_old_one_got(tmp_path: Path, old_label: str,
                                                                             query: str) -> None:
    """「到货与安装说明（第一版）」 and 「…（第二版）」, eighty days apart, the old one filed under another label."""
    cards = [json.loads(line) for line in CARDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for card in cards:
        if card["id"] == "M28":
            card["objection"] = old_label
    path = tmp_path / "cards.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cards) + "\n", encoding="utf-8")
    ranked = rank(index_of(path), query).ranked
    assert "M34" in ranked and ranked.index("M34") < (ranked.index("M28") if "M28" in ranked else 99), ranked
