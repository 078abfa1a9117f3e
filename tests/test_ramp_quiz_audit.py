"""New-user audit of the ramp quiz: options that give the answer away through the card titles, a one-card step
asking the same question twice, 「通关」 replacing an open question, the right card sent twice after a wrong
answer, a written answer passing on 「我会了」, and a doubled 「异议异议」 in task titles."""

from __future__ import annotations

import random

from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from handlers.ramp import service
from handlers.ramp.path import TaskSpec, parse_path
from handlers.ramp.quiz import QuizMaker, option_texts
from knowledge.index import Tokenizer
from knowledge.taxonomy import load_taxonomy
from storage.models import KnowledgeCard, RampProgress
from tests.conftest import (
    ENGINES,  # this test process's (no services here)
    Transcript,
)
from tests.leads_helpers import cn
from tests.ramp_helpers import ramp_cards, seed_cards


async def _enrol(services: Services, text: str) -> None:
    async with services.db.session() as s:
        await service.set_path(s, parse_path(text), cn(20, 9), "admin01")
        await service.enroll(s, "rep01", services.settings.ramp, cn(20, 9), "admin01")


async def _row(services: Services) -> RampProgress:
    async with services.db.session() as s:
        return (await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01"))).one()


async def _card(services: Services, card_id: str) -> KnowledgeCard:
    async with services.db.session() as s:
        card = await s.get(KnowledgeCard, card_id)
    assert card is not None
    return card


def test_no_option_repeats_what_a_card_title_says() -> None:
    """A rep who read the titles (「situation：answer」) could pick the option that is a title's answer half
    without knowing any talk track."""
    cards = ramp_cards()
    maker = QuizMaker(cards, load_taxonomy(None))
    answers = [t.split("：", 1)[1] for t in (c.title for c in cards) if "：" in t]
    assert answers  # the fixture's titles are written 「situation：answer」
    for objection in ("价格", "交付", "竞品"):
        for seed in range(10):
            q = maker.question(TaskSpec("quiz", objection=objection), random.Random(seed))
            assert q is not None and q.options
            for shown in option_texts([maker.by_id[c] for c in q.options], 100)[0]:
                assert not any(a in shown for a in answers), (shown, answers)


def test_a_written_answer_passes_on_key_points_not_on_self_assessment() -> None:
    from handlers.ramp.quiz import check_answer, key_points

    card = next(c for c in ramp_cards() if c.objection == "价格")
    tok = Tokenizer([], ENGINES)
    points = key_points(card, tok.tokens(card.talk_track), tok)
    assert len(points) >= 4
    for vague in ("我会了", "明白，都懂了", "好的没问题，我知道怎么回"):
        check = check_answer(vague, points)
        assert not check.passed and "只说「会了」「明白」不算" in check.explain()
    one = check_answer(f"我会提{points[0]}", points)
    assert not one.passed and f"答到了 1 个要点（{points[0]}）" in one.explain() and "还没提到" in one.explain()
    assert check_answer(card.talk_track, points).passed


async def test_a_one_card_step_is_not_asked_twice_and_passes_once_that_card_is_right(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "测验 行业=医疗 异议=价格 题数=2\n跟岗 旁听一次电话")  # one card fits
    await chat.handle_line("通关")
    q = (await _row(services)).state["q"]
    await chat.handle_line(f"选{q['answer']}")
    assert "本关的 1 张卡片都答对了" in transcript.texts("rep01")[-2] and "通过" in transcript.texts("rep01")[-2]
    assert "旁听一次电话" in transcript.last("rep01")["text"]  # the next task, not the same question again
    row = await _row(services)
    assert row.status == "done" and row.asked == 1


async def test_tongguan_again_shows_the_open_question_instead_of_a_new_one(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    first = transcript.last("rep01")
    q = (await _row(services)).state["q"]
    await chat.handle_line("通关")
    again = transcript.last("rep01")
    row = await _row(services)
    assert row.asked == 1 and row.state["q"]["serial"] == q["serial"] == 1
    assert again["text"] == first["text"]
    assert [b["key"] for b in again["buttons"]] == [b["key"] for b in first["buttons"]]
    await chat.handle_line(f"选{q['answer']}")  # the question shown again is still the one answered
    assert "✅ 答对了" in "".join(transcript.texts("rep01")[-2:])


async def test_after_a_wrong_answer_the_card_is_sent_once(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=1\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    q = (await _row(services)).state["q"]
    card = await _card(services, q["card"])
    before = len(transcript.to("rep01"))
    await chat.handle_line(f"选{1 if q['answer'] != 1 else 2}")
    after = transcript.texts("rep01")[before:]
    assert sum(card.talk_track in t for t in after) == 1
    assert transcript.last("rep01")["title"].startswith("❌ 不是第")


async def test_a_written_answer_is_checked_against_the_card_and_says_what_is_missing(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "测验 异议=交付 方式=自述 题数=1\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    card = await _card(services, (await _row(services)).state["q"]["card"])
    before = len(transcript.to("rep01"))
    await chat.handle_line("我会了")
    after = transcript.texts("rep01")[before:]
    assert transcript.last("rep01")["title"] == "还差一些" and "只说「会了」「明白」不算" in after[-1]
    assert sum(card.talk_track in t for t in after) == 1  # the card to compare, once
    assert (await _row(services)).correct == 0
    assert not any(b["text"] == "要点都答到了" for b in transcript.last("rep01")["buttons"])

    await chat.handle_line("/click 下一题")
    card = await _card(services, (await _row(services)).state["q"]["card"])
    await chat.handle_line(card.talk_track)  # the talk track's points in the rep's answer
    assert any("答到了参考话术的要点" in t for t in transcript.texts("rep01")[-4:])
    assert "旁听一次电话" in transcript.last("rep01")["text"]


def test_a_task_title_never_doubles_the_word_objection() -> None:
    assert TaskSpec("read", objection="交付异议").title() == "阅读 · 交付异议话术"
    assert TaskSpec("quiz", objection="价格").title(2) == "测验 · 价格异议（答对 2 题）"
