"""Search on the demo cards, the decline, persistence, refresh across processes, and the CLI contract."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from app.commands.kb import run_import, run_search
from bot.config import DatabaseSettings, Settings
from knowledge import store
from knowledge.demo import demo_cards, seed_demo
from knowledge.importer import import_file
from knowledge.index import (
    CardIndex,
    PairBM25,
    SparseBM25,
    Tokenizer,
    bigrams,
    build_index,
    card_bigrams,
    card_pieces,
)
from knowledge.query import SIMPLIFIER
from knowledge.schema import KbCard
from knowledge.search import KnowledgeBase, objection_clauses, rank, score_all
from knowledge.taxonomy import load_taxonomy
from storage.db import Database
from storage.migrate import ensure_schema
from storage.models import KnowledgeCard, QueryLog
from tests.conftest import ENGINES  # this test process's (no services here)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TAXONOMY = load_taxonomy()


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(TAXONOMY.dictionary_words(), ENGINES)


@pytest.fixture(scope="module")
def index(tokenizer: Tokenizer) -> CardIndex:
    return build_index(demo_cards(TAXONOMY), TAXONOMY, tokenizer)


@pytest.mark.parametrize(("query", "card_id"), [
    ("医疗采购价格异议", "K001"),
    ("三甲设备科嫌贵", "K001"),
    ("CFO说ROI算不过来", "K031"),
    ("学校交期太长咋回", "K019"),
    ("客户要先做POC", "K039"),
    ("KP说今年没预算", "K040"),
    ("连锁门店嫌贵", "K013"),
    ("银行信创要求", "K024"),
])
def test_representative_queries_land_on_their_card(index: CardIndex, query: str, card_id: str) -> None:
    result = rank(index, query)
    assert result.answered
    assert result.ranked[0] == card_id
    assert result.scores == sorted(result.scores, reverse=True)


@pytest.mark.parametrize(("typo", "card_id"), [("学校叫期太长", "K019"), ("医院采够说太贵了", "K001"),
                                                ("客户要做P0C", "K039")])
def test_typos_and_homophones(index: CardIndex, typo: str, card_id: str) -> None:
    result = rank(index, typo)
    assert result.answered and result.ranked[0] == card_id


def test_a_look_alike_character_reads_as_the_word(index: CardIndex) -> None:
    """案列 (形近字, a different sound) finds what 案例 finds; 方案列表 is not 案例."""
    right, typo = rank(index, "有没有同行案例"), rank(index, "有没有同行案列")
    assert typo.answered and typo.ranked[0] == right.ranked[0]
    assert not rank(index, "方案列表发我").answered


@pytest.mark.parametrize(("query", "card_id"), [
    ("产线经理担心停产上线风险", "K009"),  # 担心 is about 停产, not about trusting us
    ("医院信息科担心和HIS对接", "K006"),
    ("医院说售后跟不上", "K038"),
    ("售后跟不上怎么办", "K038"),  # colloquial verbs around a cue are not declined
    ("价格谈不拢", "K033|K013"),  # no industry named: the generic card or the closest price card
    ("客户说要跟竞品比一比", "K035"),
])
def test_audit_queries_get_the_right_card(index: CardIndex, query: str, card_id: str) -> None:
    result = rank(index, query)
    assert result.answered and result.ranked[0] in card_id.split("|")


@pytest.mark.parametrize(("query", "card_ids"), [
    ("yiyuan jiage yiyi", {"K001"}), ("jiaoqi tai chang", {"K042", "K041"}), ("医院jiage太高", {"K001"}),
])
def test_full_pinyin_queries(index: CardIndex, query: str, card_ids: set[str]) -> None:
    result = rank(index, query)
    assert result.answered and result.ranked[0] in card_ids
    assert result.query == query


@pytest.mark.parametrize("query", [
    "hello world", "ni hao", "KP", "老板今天在不在", "医院挂号怎么挂", "WiFi密码是多少", "停车场在哪",
])
def test_one_stray_cue_is_not_an_answer(index: CardIndex, query: str) -> None:
    assert not rank(index, query).answered


@pytest.mark.parametrize(("query", "card_ids"), [
    ("KP一直不回消息", {"K034"}),  # a customer gone silent is a stalled deal, not chatter
    ("客户总是已读不回", {"K034"}),
])
def test_a_silent_customer_is_a_stalled_deal(index: CardIndex, query: str, card_ids: set[str]) -> None:
    result = rank(index, query)
    assert result.answered and result.ranked[0] in card_ids


def test_text_still_ranks_when_no_cue_matched(index: CardIndex) -> None:
    """A declined query keeps the text order (the old scorer multiplied every score by zero)."""
    result = rank(index, "今天食堂吃什么", top=5)
    assert not result.answered and result.scores == sorted(result.scores, reverse=True)
    found = rank(index, "平滑迁移", top=3)  # words of a card title, no taxonomy cue at all
    assert found.ranked[0] == "K006" and found.scores[0] > found.scores[1]


@pytest.mark.parametrize("query", ["今天食堂吃什么", "你好", "明天天气怎么样", "谢谢！", "/help", "", "   "])
def test_off_topic_is_declined_with_suggestions(index: CardIndex, query: str) -> None:
    result = rank(index, query)
    assert not result.answered
    assert result.best is None
    assert result.suggestions and all(isinstance(s, str) and s for s in result.suggestions)


def test_partial_cue_suggests_close_categories(index: CardIndex) -> None:
    result = rank(index, "医院")
    assert not result.answered
    assert any("医疗" in s for s in result.suggestions)


def test_axis_disagreement_pushes_cards_down(index: CardIndex) -> None:
    """A hospital question must not get a factory card first even though both are about price."""
    result = rank(index, "医院嫌贵", top=10)
    industries = [h.card.industry for h in result.hits]
    assert industries[0] == "医疗"
    assert "制造" not in industries[:3]


def _settings(tmp_path: Path) -> Settings:
    return Settings(database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/kb.db"))


async def _db(tmp_path: Path) -> Database:
    url = _settings(tmp_path).database.url
    await ensure_schema(url)
    return Database(url)


async def test_upsert_persists_tokens_and_bumps_version(tmp_path: Path, tokenizer: Tokenizer) -> None:
    db = await _db(tmp_path)
    try:
        kb = KnowledgeBase(TAXONOMY, tokenizer=tokenizer, engines=ENGINES)
        assert await seed_demo(db, NOW, kb) == 48
        assert await seed_demo(db, NOW, kb) == 0  # not empty any more
        csv = tmp_path / "update.csv"
        csv.write_text("id,title,objection,talk_track\nK001,新标题,价格,新话术\nK002,x,外星,y\nN1,新卡,交期,话术\n",
                       encoding="utf-8")
        report = await import_file(db, kb, csv, NOW + timedelta(hours=1))
        assert (report.inserted, report.updated, report.unchanged) == (1, 2, 0)
        assert report.issues == [] and report.new_values == {"objection": ["外星"]}  # the admin's own value
        assert "新分类：异议 外星" in report.summary()
        again = await import_file(db, kb, csv, NOW + timedelta(hours=2))
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
        async with db.session() as s:
            row = await s.get(KnowledgeCard, "K001")
            assert (row.title, row.version, row.source) == ("新标题", 2, "update.csv")
            assert row.modified_at == NOW + timedelta(hours=1)
            assert row.tokens and "新标题" in "".join(row.tokens)
            assert (await s.get(KnowledgeCard, "K002")).version == 2  # its new objection is accepted
    finally:
        await db.dispose()


async def test_refresh_keeps_two_processes_consistent(tmp_path: Path, tokenizer: Tokenizer) -> None:
    db_a, db_b = await _db(tmp_path), await _db(tmp_path)
    try:
        a = KnowledgeBase(TAXONOMY, tokenizer=tokenizer, engines=ENGINES)
        b = KnowledgeBase(TAXONOMY, tokenizer=tokenizer, engines=ENGINES)
        await seed_demo(db_a, NOW, a)
        await b.load(db_b)
        assert await b.refresh_if_stale(db_b) is False
        assert b.search("物流公司嫌贵").ranked[0] == "K028"
        md = tmp_path / "new.md"
        md.write_text("---\nid: K900\ntitle: 冷链车队嫌贵的新话术\nindustry: 冷链\nobjection: 嫌贵\nrole: 采购\n"
                      "keywords: [冷链车队]\n---\n## 话术\n按温区计费。\n", encoding="utf-8")
        await import_file(db_a, a, md, NOW)  # same clock value: the version sum still changes
        assert a.search("冷链车队嫌贵").ranked[0] == "K900"
        assert b.search("冷链车队嫌贵").ranked[0] != "K900"
        assert await b.refresh_if_stale(db_b) is True
        assert b.search("冷链车队嫌贵").ranked[0] == "K900"
        deactivate = tmp_path / "off.jsonl"
        deactivate.write_text(json.dumps({"id": "K900", "title": "冷链车队嫌贵的新话术", "industry": "物流",
                                          "role": "采购", "objection": "价格", "talk_track": "按温区计费。",
                                          "keywords": ["冷链车队"], "active": False}, ensure_ascii=False),
                              encoding="utf-8")
        await import_file(db_a, a, deactivate, NOW)
        assert await b.refresh_if_stale(db_b) is True
        assert "K900" not in b.search("冷链车队嫌贵", top=10).ranked
    finally:
        await db_a.dispose()
        await db_b.dispose()


async def test_query_log_feedback_and_gaps(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        async with db.session() as s:
            q1 = await store.log_query(s, user_id="rep01", query="今天食堂吃什么", ranked=["K001"], scores=[1.0],
                                       answered=False, shown_card=None, now=NOW)
            q2 = await store.log_query(s, user_id="rep01", query="医院嫌贵", ranked=["K001"], scores=[8.0],
                                       answered=True, shown_card="K001", now=NOW)
            await store.add_feedback(s, query_id=q2, card_id="K001", user_id="rep01", vote="down", now=NOW)
            await store.add_feedback(s, query_id=q2, card_id="K001", user_id="rep02", vote="up", now=NOW)
            with pytest.raises(ValueError, match="vote"):
                await store.add_feedback(s, query_id=q1, card_id="K001", user_id="x", vote="meh", now=NOW)
        async with db.session() as s:
            found = await store.gaps(s, since=NOW - timedelta(days=1))
            assert {(g.kind, g.query, g.card_id) for g in found} == {
                ("unanswered", "今天食堂吃什么", None), ("down", "医院嫌贵", "K001")}
            assert await store.gaps(s, since=NOW + timedelta(days=1)) == []
            assert len((await s.scalars(select(QueryLog))).all()) == 2
    finally:
        await db.dispose()


async def test_cli_import_and_search_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)
    batch = tmp_path / "q.txt"
    batch.write_text("三甲设备科嫌贵\n\n你好\n", encoding="utf-8")
    args = argparse.Namespace(query=None, batch=str(batch), json=True, top=2)
    assert await run_search(args, settings) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [list(line) for line in lines] == [["q", "ranked", "scores", "answered", "why"]] * 2  # why: optional, last
    assert lines[0]["q"] == "三甲设备科嫌贵" and lines[0]["ranked"][0] == "K001" and lines[0]["answered"] is True
    assert len(lines[0]["ranked"]) == len(lines[0]["scores"]) == 2
    assert lines[1]["answered"] is False
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,objection,talk_track\nZ1,ok,价格,x\nZ2,,价格,x\n", encoding="utf-8")
    assert await run_import(argparse.Namespace(files=[str(bad)], no_progress=True), settings) == 1
    captured = capsys.readouterr()
    assert "新增 1" in captured.out and f"{bad}:3: 缺少标题" in captured.err
    assert await run_search(argparse.Namespace(query=None, batch=None, json=True, top=None), settings) == 2


EXPO = [  # an exhibition builder: objections the shipped vocabulary has never heard of
    KbCard(id="E1", title="夜间搭建扰民：预制模块少动电钻", objection="噪音",
           talk_track="展馆夜里搭建难免有电钻和敲打的声音。我们在工厂做好预制模块，现场只拼装，声音小很多；"
                      "也可以避开场馆规定的静默时段。"),
    KbCard(id="E2", title="特装展位报价高：按平米拆开算", objection="价格",
           talk_track="特装展位按平米、材料和灯光三部分报价，可以换成复用框架降低造价。"),
    KbCard(id="E3", title="开展前三天才定稿：加急备料", objection="交付",
           talk_track="定稿晚的项目我们先备通用框架和灯具，图纸一定就进场。"),
    KbCard(id="E4", title="撤展后物料怎么处理：回收与环保", objection="环保",
           talk_track="撤展物料分类回收，木材和展板交给有资质的回收单位，出具处理证明。"),
]


def test_a_card_far_ahead_on_the_querys_own_words_is_answered(tokenizer: Tokenizer) -> None:
    """No cue of the vocabulary matches, but the query's words name one card's subject far ahead of the rest."""
    index = build_index(EXPO, TAXONOMY, tokenizer)
    result = rank(index, "晚上搭建电钻声音太吵")
    assert result.answered and result.ranked[0] == "E1"
    assert not rank(index, "电钻去哪借").answered  # one shared word is chance, not a subject


def test_fast_segmenter_cuts_as_jieba_does() -> None:
    """The import's own word-graph cut gives jieba's words (HMM off), also after words are added."""
    tokenizer = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
    texts = [t for c in demo_cards(TAXONOMY) for t in (c.title, c.talk_track, c.success_case)]
    texts += ["结婚的和尚未结婚的", "南京市长江大桥", "研究生命起源", "卫健委采购设备科"]
    for word_set in ([], ["尚未结婚", "设备科采购"]):
        tokenizer.add_words(word_set)
        for text in texts:
            for run in re.findall(r"[\u4e00-\u9fff]+", text):
                assert tokenizer._segment(run) == tokenizer._jieba.lcut(run, HMM=False), run


def test_pair_index_scores_as_the_string_index() -> None:
    """The integer-coded pair index gives the same BM25 scores as one over pair strings (繁體, ㈱ and 兀 included)."""
    cards = [*demo_cards(TAXONOMY)[:12],
             KbCard(id="T1", title="醫院採購嫌價格太貴", talk_track="㈱公司的報價⼀次說清"),
             KbCard(id="T2", title="空白", talk_track="")]
    t2s = ENGINES.get(SIMPLIFIER)
    pairs = PairBM25([card_pieces(c) for c in cards], t2s)
    strings = SparseBM25([card_bigrams(c, t2s) for c in cards])
    for query in ["医院采购价格太贵", "株公司一次说清", "交期太长", "没有的词"]:
        a, b = np.zeros(len(cards), np.float32), np.zeros(len(cards), np.float32)
        assert pairs.scores(bigrams(query, t2s), a) == pytest.approx(strings.scores(bigrams(query, t2s), b))
        assert a.tolist() == pytest.approx(b.tolist(), abs=1e-5)
        assert [pairs.knows(p) for p in bigrams(query, t2s)] == [strings.knows(p) for p in bigrams(query, t2s)]


def test_a_long_paragraph_is_ranked_on_its_objection_clause(index: CardIndex) -> None:
    """Voice-to-text without punctuation: the story and the rep's own answer (「我说…试试看」, a trial cue) are
    not the objection; the school (named in the story) still counts."""
    paragraph = "今天下午去区里开了个会又去学校转了一圈后来见到校长他说今年实在没有经费了我说可以先做一个班试试看"
    text = index.pinyin.read(paragraph)
    assert objection_clauses(text, index.matcher.find(text)) == "他说今年实在没有经费了"
    result = rank(index, paragraph)
    assert result.answered and result.ranked[0] == "K020"
    assert result.matched["industry"] == ("教育",) and "试用" not in result.matched.get("objection", ())
    whole = "客户说太贵了我说可以打折"  # every clause but the rep's own objects: taken whole
    assert objection_clauses(whole, index.matcher.find(whole)) == whole


def test_a_paragraph_is_judged_on_what_the_customer_says_matters_most(index: CardIndex) -> None:
    """A rambling paragraph: the rep's story names the customer's company (「…公司的老板」 is not the rep's own
    company), the customer starts speaking mid-sentence, and the clause marked as the main worry is the focus."""
    paragraph = ("上午我跟一个连锁超市公司的老板吃饭聊了挺久他说门店数量还会涨他们最担心的就是上线以后收银出问题"
                 "顾客排长队数据也丢了我说我们有备份")
    text = index.pinyin.read(paragraph)
    assert objection_clauses(text, index.matcher.find(text)).startswith("他们最担心的就是")
    result = rank(index, paragraph)
    assert result.hits and result.ranked[0] not in {"K013", "K016"}, "not a price card: the worry is the launch"


def test_a_new_keyword_recuts_only_the_cards_that_contain_it() -> None:
    """Adding one card with a new keyword re-cuts that card and the cards whose text holds the word, and the
    rest keep their tokens, re-stamped: the same tokens as cutting everything again with the new dictionary."""
    tokenizer = Tokenizer(TAXONOMY.dictionary_words(), ENGINES)
    first = build_index(demo_cards(TAXONOMY), TAXONOMY, tokenizer)
    stored = [c.with_(tokens=tuple(t), tokens_dict=tokenizer.fingerprint) for c, t in
              zip(first.cards, [tokenizer.card_tokens(c) for c in first.cards], strict=True)]
    word = "按门店规模"
    holders = {c.id for c in stored if word in " ".join([c.title, *c.keywords, c.talk_track, c.success_case])}
    assert holders  # the word occurs in some card's text
    new = KbCard(id="N1", title="门店规模大怎么报价", objection="价格", talk_track="按门店规模分档。", keywords=(word,))
    before = tokenizer.cards_tokenised
    second = build_index([*stored, new], TAXONOMY, tokenizer)
    assert tokenizer.cards_tokenised - before == len(holders) + 1
    assert {c.tokens_dict for c in second.retokenised} == {tokenizer.fingerprint}
    assert len(second.retokenised) == len(stored) + 1  # re-stamped ones are saved too
    # the same words, added at once, in another order
    scratch = Tokenizer(sorted(tokenizer._known, reverse=True), ENGINES)
    assert scratch.fingerprint == tokenizer.fingerprint
    for card in second.retokenised:
        assert list(card.tokens) == scratch.card_tokens(card), card.id


def test_english_cues_longer_than_a_chinese_phrase_are_found(index: CardIndex) -> None:
    """on-premise (10 letters) is a vocabulary word like 私有化: a code-mixed query finds it, with or without
    Chinese around it; a long run of Chinese is still never taken as one long cue."""
    for query in ["IT要on-premise部署", "要做on-premise deployment"]:
        hits = index.matcher.find(index.pinyin.read(query))
        assert any(h.cue.text == "on-premise" and h.cue.axis == "objection" for h in hits), query
    assert all(h.end - h.start <= 8 for h in index.matcher.find("客户说你们的报价单和合同模板都要重新做一遍"))


@pytest.mark.parametrize(("paragraph", "card_id"), [
    ("嗯那个工厂的厂长今天带我们在车间里转了一大圈他说他们最怕的就是换系统的时候产线要停下来一停就是几十万的损失"
     "问我们能不能不停产切换", "K009"),  # the main worry and the question asked of us, not the factory director's ROI
    ("那个连锁超市的老板跟我们聊了挺久他说他们三百多家门店要是一家一家开通得弄到明年去了问我们有没有什么办法能快点"
     "全部上线", "K015"),
    ("今天去的那家银行科技部的处长说他们现在所有新系统都要求信创国产化服务器数据库操作系统都得是国产的问我们适配了没有",
     "K024"),
])
def test_a_rambling_paragraph_finds_the_card_about_what_was_asked(index: CardIndex, paragraph: str,
                                                                    card_id: str) -> None:
    result = rank(index, paragraph)
    assert result.answered and result.ranked[0] == card_id, (result.ranked[:3], result.why)


def test_english_words_are_not_read_as_pinyin(index: CardIndex) -> None:
    """"sales" or "record" cannot be split into pinyin syllables, and AI is an abbreviation: they stay English,
    while real pinyin beside them is still read."""
    for text in ["after-sales响应多快", "冷库的temperature record要保存几年", "AI摄像头"]:
        assert index.pinyin.read(text) == text
    assert index.pinyin.read("yiyuan jiage") != "yiyuan jiage"


def test_an_english_word_inside_chinese_reads_as_its_chinese_word(index: CardIndex) -> None:
    """「没signal」 is 「没信号」 and 「太high」 is 「太高」: the English word is glossed before phrases and character
    pairs are matched, so a code-mixed query finds what its Chinese twin finds; a word the cards hold (ROI) stays."""
    assert score_all(index, "仓库没signal").query == "仓库没信号"
    assert score_all(index, "客户说报价太high").query == "客户说报价太高"
    assert "roi" in score_all(index, "roi怎么算").query
    mixed, chinese = rank(index, "门店太多上线太slow"), rank(index, "门店太多上线太慢")
    assert mixed.ranked[:1] == chinese.ranked[:1]
