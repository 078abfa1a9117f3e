"""New-user audit 18b of the ramp: 通关确认 confirms only what the rep asked for, the written quiz wants
sentences on the card's content words, an open written question does not swallow questions or commands, and
multiple choice cannot be passed by always answering 1."""

from __future__ import annotations

from sqlalchemy import select

from app.chat import ChatSession
from bot.services import Services
from handlers.ramp import service
from handlers.ramp.path import parse_path
from handlers.ramp.quiz import check_answer, key_points
from knowledge.index import Tokenizer
from knowledge.schema import KbCard, parse_card
from storage.models import RampEnrollment, RampProgress
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


async def _rows(services: Services) -> list[RampProgress]:
    async with services.db.session() as s:
        return list((await s.scalars(select(RampProgress).where(RampProgress.user_id == "rep01")
                                     .order_by(RampProgress.task_id))).all())


async def test_tongguan_queren_confirms_only_the_task_the_rep_asked_for(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "跟岗 旁听一次电话\n跟岗 陪同主管拜访一次客户\n跟岗 独立完成一次方案演示")
    await chat.handle_line("/as manager01")
    await chat.handle_line("通关确认 张伟")  # nothing asked yet
    assert "没有请你确认的跟岗任务" in transcript.last("manager01")["text"]
    assert not [r for r in await _rows(services) if r.status == "done"]

    await chat.handle_line("/as rep01")
    await chat.handle_line("通关")
    await chat.handle_line("/click 请主管确认")  # the first task only
    await chat.handle_line("/as manager01")
    for _ in range(3):  # a repeated (or double-sent) command
        await chat.handle_line("通关确认 张伟")
    texts = transcript.texts("manager01")
    assert sum("已确认 张伟 完成" in t for t in texts) == 1
    assert "没有请你确认的跟岗任务" in texts[-1]
    assert [r.status for r in await _rows(services) if r.status == "done"] == ["done"]
    async with services.db.session() as s:
        assert (await s.get(RampEnrollment, "rep01")).completed_at is None  # type: ignore[union-attr]


async def _written_open(services: Services) -> bool:
    return any((r.state or {}).get("q") for r in await _rows(services))


async def test_a_question_sent_while_a_written_question_waits_is_answered_not_graded(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "测验 异议=交付 方式=自述 题数=1\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    for asked in ("工厂嫌交货周期太长怎么回", "客户说价格太贵了怎么办？"):
        before = len(transcript.to("rep01"))
        await chat.handle_line(asked)
        after = transcript.to("rep01")[before:]
        assert after and not any(m.get("title") == "还差一些" or "你的回答" in m.get("text", "") for m in after)
        assert await _written_open(services)  # the question stays open
        assert (await _rows(services))[0].correct == 0

    await chat.handle_line("好的我明白")  # reads as an (empty) answer: graded, and told why it does not pass
    assert transcript.last("rep01")["title"] == "还差一些"
    assert "只说「会了」「明白」不算" in transcript.last("rep01")["text"]
    assert not await _written_open(services)


def _points(card: KbCard) -> list[str]:
    tok = Tokenizer([], ENGINES)
    return key_points(card, tok.tokens(card.talk_track), tok)


def test_key_points_are_the_cards_content_words_not_how_the_customer_is_addressed() -> None:
    card = parse_card({"id": "T1", "title": "医院院长问值不值：用运营指标算回报", "role": "决策层", "industry": "医疗",
                       "objection": "价值", "keywords": [],
                       "talk_track": "院长您好，贵院关心的是因为床位周转慢、门诊量上不去，我们按您的运营效率数据"
                                     "测算回报，加入试点一分钱不多花，老板也放心。"})
    points = _points(card)
    for filler in ("院长", "贵院", "关心", "是因为", "加入", "一分钱", "老板", "您好"):
        assert not any(filler in p for p in points), (filler, points)
    for content in ("床位", "门诊量", "效率"):
        assert any(content in p for p in points), (content, points)


def test_a_pasted_list_of_key_points_does_not_pass_and_the_hint_names_no_words() -> None:
    for card in ramp_cards():
        points = _points(card)
        assert check_answer(card.talk_track, points).passed, card.id  # the card's own words still pass
        for sep in ("、", "，", " ", "\n"):
            check = check_answer(sep.join(points), points)
            assert not check.passed and "完整的话" in check.explain(card.talk_track), (card.id, points)
        first = check_answer(f"您看{points[0]}这一块我们可以再谈谈", points)
        said = first.explain(card.talk_track)
        assert not first.passed and "参考话术的第" in said
        assert not any(p in said for p in first.missing), said  # topics hinted, not the words to paste


async def test_always_answering_1_does_not_pass_a_multiple_choice_quiz(
    services: Services, chat: ChatSession, transcript: Transcript
) -> None:
    await seed_cards(services)
    await _enrol(services, "测验 异议=价格 题数=2\n跟岗 旁听一次电话")
    await chat.handle_line("通关")
    for _ in range(30):  # 「1」 answers a question, and after a wrong answer clicks 「下一题」
        await chat.handle_line("1")
    row = (await _rows(services))[0]
    assert row.status != "done" and row.correct < 2
    assert not any("通过。" in t and "✅" in t for t in transcript.texts("rep01"))
    failed = [t for t in transcript.texts("rep01") if "这一轮没通过" in t]
    assert failed and "后发「通关」重考" in failed[0]
    asked = row.asked
    await chat.handle_line("通关")  # no new question before the retry time
    assert "后可以重考" in transcript.last("rep01")["text"] and (await _rows(services))[0].asked == asked


def test_the_right_option_moves_from_question_to_question() -> None:
    import random

    from handlers.ramp.path import TaskSpec
    from handlers.ramp.quiz import QuizMaker
    from knowledge.taxonomy import load_taxonomy

    maker = QuizMaker(ramp_cards(), load_taxonomy(None))
    spots = [q.answer for n in range(40)
             if (q := maker.question(TaskSpec("quiz", objection="价格"), random.Random(f"rep01:1:{n}"))) is not None]
    assert set(spots) == {1, 2, 3, 4} and max(spots.count(i) for i in range(1, 5)) < len(spots) / 2
