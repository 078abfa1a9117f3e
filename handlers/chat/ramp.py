"""「通关」 in chat: the rep's next task (a question, a card set to read, a shadowing task), the answer buttons
and typed replies (「2」/「选2」 pick a button of the last card through the front door; a written answer is any
text sent while a written question waits), the manager's confirmation by button or 「通关确认 姓名」, and the
team's progress for managers and admins."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.actions import RampAnswer, RampAskConfirm, RampConfirm, RampRead, RampShow
from bot.context import Context
from bot.messages import Button, Card, Inbound, Markdown, Text
from bot.org import active_admins, manages
from bot.router import Router
from bot.services import Shared
from bot.usertext import user_text
from handlers.knowledge import card_fields, knowledge_base, source_line
from handlers.leads.chat_gate import command_arg
from handlers.ramp import service, shadow
from handlers.ramp.quiz import QuizMaker, check_answer, key_points, option_texts, reads_as_question, track_text
from handlers.ramp.service import Progress, RampError, TaskView
from handlers.when import say_when
from knowledge.blanks import fill_blanks
from knowledge.schema import KbCard
from knowledge.search import KnowledgeBase
from storage.models import RampProgress, User

log = logging.getLogger(__name__)
router: Router[Context] = Router("ramp")

NOT_ENROLLED = "你不在新人通关名单里，不用通关 👍 新同事的通关由主管或管理员在后台「新人通关」页开启。"
ALREADY_ANSWERED = "这道题已经答过了，发「通关」继续。"
MOVED = "通关路径已更新，这一关不在新路径里了。发「通关」看当前的任务。"
NO_TEAM = "团队里还没有在新人通关的同事。可在后台「新人通关」页为新同事开启。"
SCENE = "情境："
PICK = "哪种应对最合适？点按钮或回复数字。"
CARD_CHARS = 160  # a WeCom card's text (bot/channels/wecom/render.py): the question and its note fit in one


class QuizCache:
    """One QuizMaker per knowledge index build (the cards list object changes with each build)."""

    def __init__(self) -> None:
        self.cards: Sequence[KbCard] | None = None
        self.maker: QuizMaker | None = None

    def get(self, kb: KnowledgeBase) -> QuizMaker:
        cards = kb.cards()
        if self.maker is None or cards is not self.cards:
            self.maker, self.cards = QuizMaker(cards, kb.index_taxonomy()), cards
        return self.maker


QUIZZES = Shared("ramp_quiz", lambda s: QuizCache())


async def _maker(ctx: Context) -> QuizMaker:
    kb = knowledge_base(ctx.services)
    await kb.refresh_if_stale(ctx.services.db, wait=False)
    return ctx.services.shared(QUIZZES).get(kb)


def _header(found: Progress, task: TaskView) -> str:
    return f"新人通关 · 第 {task.position}/{found.total} 关"


# -- 「通关」 ---------------------------------------------------------------------------------------------
@router.command("通关", "新人通关", "通关进度")
async def ramp_cmd(ctx: Context, msg: Inbound) -> None:
    if ctx.user.is_manager:
        await team_view(ctx)
        return
    maker = await _maker(ctx)  # before the handler's transaction (SQLite: one writer at a time)
    session, cfg = await ctx.db(), ctx.settings.ramp
    found = await service.progress(session, ctx.user.id, cfg)
    if found is None:
        ctx.reply(Text(NOT_ENROLLED))
        return
    if found.complete:
        ctx.reply(Text(f"🎉 你已完成新人通关（{found.total}/{found.total}），{service.unlocked_text(cfg)}。"))
        return
    await show_next(ctx, found, maker)


async def team_view(ctx: Context) -> None:
    session = await ctx.db()
    rows = await service.team_progress(session, None if ctx.user.is_admin else ctx.user.id, ctx.settings.ramp)
    if not rows:
        ctx.reply(Text(NO_TEAM))
        return
    lines = [f"- {user_text(p.name)}：{p.summary()}" for p in rows]
    if any(p.waiting for p in rows):
        lines.append("确认跟岗任务：点确认卡片，或回复「通关确认 姓名」。")
    ctx.reply(Markdown(title="🎓 新人通关进度", text="\n".join(lines)))


async def show_next(ctx: Context, found: Progress, maker: QuizMaker) -> None:
    task = found.next
    if task is None:
        waiting = "、".join(t.title for t in found.waiting)
        ctx.reply(Text(f"只差主管确认了：{waiting}。确认后即完成新人通关。"))
        return
    if task.kind == "quiz":
        await ask(ctx, found, task, maker, fresh=False)
    elif task.kind == "read":
        await show_reading(ctx, found, task, maker)
    else:
        ctx.reply(Card(title=f"{_header(found, task)} · 跟岗", description=f"{task.spec.what}\n完成后点「请主管确认」，"
                       "主管确认后本关通过；等待确认时可以先做后面的任务。",
                       buttons=(Button(RampAskConfirm(task.id).pack(), "请主管确认", "primary"),),
                       note=f"进度 {found.done}/{found.total}"))


async def _skip(ctx: Context, task: TaskView, row: RampProgress, maker: QuizMaker) -> None:
    """A task no card fits any more (the knowledge base changed): it stays open — a task nobody could do never
    counts toward the unlock; the manager has to change the path or add cards."""
    log.warning("ramp: no card fits task %s (%s) for %s; the task stays open", task.id, task.spec.line(),
                ctx.user.id)
    ctx.reply(Text(f"「{task.title}」暂时没有可用的话术卡片，这一关还不能完成，也不计入通关。"
                   "请联系主管调整通关路线或补充话术卡片。"))


async def show_reading(ctx: Context, found: Progress, task: TaskView, maker: QuizMaker) -> None:
    session, cfg = await ctx.db(), ctx.settings.ramp
    row = await service.mark(session, ctx.user.id, task.id, ctx.now())
    cards = maker.matching(task.spec)[:task.spec.count or cfg.read_cards]
    if not cards:
        await _skip(ctx, task, row, maker)
        return
    text = "\n\n".join(f"**{i}. {user_text(c.title)}**\n{user_text(fill_blanks(c.talk_track))}"
                       for i, c in enumerate(cards, 1))
    ctx.reply(Markdown(title=f"📖 {task.title}", text=text))
    ctx.reply(Card(title=f"{_header(found, task)} · 阅读",
                   description=f"上面 {len(cards)} 张话术卡片读完后点「读完了」。",
                   buttons=(Button(RampRead(task.id).pack(), "读完了", "primary"),),
                   note=f"进度 {found.done}/{found.total}"))


async def ask(ctx: Context, found: Progress, task: TaskView, maker: QuizMaker, *, fresh: bool = True) -> None:
    """A new question for the quiz task, drawn from the cards now; remembered on the rep's row. `fresh=False`
    (「通关」 again): the question still waiting for its answer is shown again instead."""
    session, cfg, now = await ctx.db(), ctx.settings.ramp, ctx.now()
    row = await service.mark(session, ctx.user.id, task.id, now)
    retry = row.state.get("retry_at")
    if retry and now < datetime.fromisoformat(retry):
        ctx.reply(Text(f"「{task.title}」这一轮没通过，{say_when(datetime.fromisoformat(retry), now)} 后可以重考。"
                       "先复习本关的话术卡片。"))
        return
    waiting = row.state.get("q")
    if not fresh and waiting and waiting.get("card") in maker.by_id:
        if not waiting.get("options"):  # a written question: the answer window starts again
            waiting = {**waiting, "at": now.isoformat()}
            row.state = {**row.state, "q": waiting}
        _show_question(ctx, found, task, row, waiting, maker)
        return
    asked = list(row.state.get("asked_cards", []))
    rng = random.Random(f"{ctx.user.id}:{task.id}:{row.asked}")
    q = maker.question(task.spec, rng, avoid=asked, choices=cfg.choices,
                       done=[*row.state.get("right_cards", []), *row.state.get("wrong_cards", [])])
    if q is None:
        await _skip(ctx, task, row, maker)
        return
    row.asked += 1
    shown = {**q.to_json(), "serial": row.asked, "at": now.isoformat()}
    row.state = {**{k: v for k, v in row.state.items() if k != "q"}, "q": shown,
                 "asked_cards": [*asked, q.card_id][-50:]}
    row.updated_at = now
    _show_question(ctx, found, task, row, shown, maker)


def _show_question(ctx: Context, found: Progress, task: TaskView, row: RampProgress, q: dict[str, Any],
                   maker: QuizMaker) -> None:
    title = f"{_header(found, task)} · {task.title}"
    note = f"本关已答对 {row.correct}/{task.need} · 进度 {found.done}/{found.total}"
    if q.get("options"):  # one card: the options in what tells them apart (quiz.option_texts), fitted to it
        head = f"{SCENE}{user_text(q['line'])}\n{PICK}\n"
        cards = [maker.by_id[c] for c in q["options"] if c in maker.by_id]
        room = CARD_CHARS - len(head) - len(note) - sum(len(f"{i}. \n") for i in range(1, len(cards) + 1))
        shown, cut = option_texts(cards, room)
        ctx.reply(Card(title=title, description=head + "\n".join(f"{i}. {user_text(t)}"
                                                                 for i, t in enumerate(shown, 1)),
                       buttons=tuple(Button(RampAnswer(task.id, int(q["serial"]), i).pack(), f"选{i}")
                                     for i in range(1, len(q["options"]) + 1)),
                       note=note))
        if cut:  # the card could not hold what tells them apart: the options in full, below it
            ctx.reply(Text("选项全文：\n" + "\n".join(f"{i}. {user_text(track_text(c))}"
                                                   for i, c in enumerate(cards, 1))))
        return
    ctx.reply(Card(title=title, description=f"{SCENE}{user_text(q['line'])}\n请用你自己的话回复客户：直接打字发给我"
                   f"（{ctx.settings.ramp.answer_minutes} 分钟内），我会对照参考话术的要点告诉你答到了哪些。",
                   buttons=(Button(RampShow(task.id).pack(), "换一题"),), note=note))


@router.command("开始通关", roles={"manager", "admin"})
async def enroll_cmd(ctx: Context, msg: Inbound) -> None:
    """「开始通关 李娜」: a rep of the team (an admin: anyone) starts the current path (the default one, made from
    the knowledge base, when none is defined yet)."""
    who = (command_arg(msg.text, "开始通关") or "").strip().lstrip("@")
    session, cfg = await ctx.db(), ctx.settings.ramp
    rep = await _person(session, who)
    if rep is None or not manages(ctx.user, rep):
        ctx.reply(Text("请写上团队里的销售，例如「开始通关 张伟」。" if not who else f"团队里没有「{who}」。"))
        return
    name = user_text(rep.name)
    already = await service.progress(session, rep.id, cfg)
    if already is not None:  # welcomed when they started: never again part-way
        ctx.reply(Text(f"{name} 已经在新人通关中（{already.summary()}），不用重新开始。"))
        return
    try:
        await service.enroll(session, rep.id, cfg, ctx.now(), ctx.user.id)
    except RampError as exc:
        ctx.reply(Text(str(exc)))
        return
    found = await service.progress(session, rep.id, cfg)
    assert found is not None
    ctx.reply(Text(f"{name} 已开始新人通关（共 {found.total} 关，{found.summary()}）。"
                   f"通关前{name}不能{service.locked_text(cfg)}。"))
    ctx.send(rep.id, Text(f"欢迎加入！{user_text(ctx.user.name)} 为你开启了新人通关，共 {found.total} 关。"
                          "发「通关」开始第一关。"), key=f"ramp:enrolled:{rep.id}:{ctx.now().isoformat()}")


async def _person(session: Any, who: str) -> User | None:
    found = await service.people_named(session, who)
    return found[0] if found else None


# -- answers ----------------------------------------------------------------------------------------------
async def _row_and_task(ctx: Context, task_id: int) -> tuple[RampProgress, Progress, TaskView] | None:
    session = await ctx.db()
    try:
        row = await service.mark(session, ctx.user.id, task_id, ctx.now())
    except RampError as exc:
        ctx.reply(Text(str(exc)))
        return None
    found = await service.progress(session, ctx.user.id, ctx.settings.ramp)
    task = next((t for t in found.tasks if t.id == task_id), None) if found else None
    if found is None or task is None or row.status == "replaced":
        ctx.reply(Text(NOT_ENROLLED if found is None else MOVED))
        return None
    return row, found, task


async def _open_question(ctx: Context, task_id: int, serial: int, stage: str
                         ) -> tuple[RampProgress, Progress, TaskView, dict[str, Any]] | None:
    """The question a click answers, still open at `stage` ("options": a choice; "reply": a written answer to
    grade); None after telling the rep it was already answered (or the path moved on)."""
    got = await _row_and_task(ctx, task_id)
    if got is None:
        return None
    row, found, task = got
    q = row.state.get("q")
    if row.status == "done" or not q or q.get("serial") != serial or not q.get(stage):
        ctx.reply(Text(ALREADY_ANSWERED))
        return None
    row.state = {k: v for k, v in row.state.items() if k != "q"}
    return row, found, task, q


def _card(ctx: Context, maker: QuizMaker, card_id: str) -> KbCard | None:
    return maker.by_id.get(card_id) or knowledge_base(ctx.services).card(card_id)


@router.card_action(RampAnswer)
async def answer(ctx: Context, action: RampAnswer) -> None:
    maker = await _maker(ctx)
    got = await _open_question(ctx, action.task_id, action.serial, "options")
    if got is None:
        return
    row, found, task, q = got
    ctx.update_card(f"已作答：第 {action.choice} 条")
    card = _card(ctx, maker, q["card"])
    if action.choice == q["answer"]:
        await _right(ctx, row, found, task, maker, str(q["card"]), card)
        return
    if card is None:  # the card was withdrawn meanwhile: no right answer to show, ask again
        await ask(ctx, found, task, maker)
        return
    ctx.reply(reference(card))  # the card once, in full; the card below only says so and moves on
    wrong = [*row.state.get("wrong_cards", []), card.id]  # not passed: asked no more this round
    row.state = {**row.state, "wrong_cards": wrong}
    if _round_lost(row, task, maker, wrong, ctx.settings.ramp.wrong_per_round):
        _fail_round(ctx, row, task, len(wrong), f"❌ 不是第 {action.choice} 条，合适的是第 {q['answer']} 条")
        return
    ctx.reply(Card(title=f"❌ 不是第 {action.choice} 条，合适的是第 {q['answer']} 条",
                   description=f"{SCENE}{user_text(q['line'])}\n合适的应对见上面的参考话术，记住它的要点再来一题。",
                   buttons=(Button(RampShow(task.id).pack(), "下一题", "primary"),),
                   note=f"本关已答对 {row.correct}/{task.need}"))


def _round_lost(row: RampProgress, task: TaskView, maker: QuizMaker, wrong: Sequence[str], limit: int) -> bool:
    """`limit` wrong answers this round (`[ramp] wrong_per_round`), or too few cards left to reach the right answers
    the task needs."""
    pool = [c.id for c in maker.pool(task.spec)]
    right = set(row.state.get("right_cards", []))
    left = [c for c in pool if c not in right and c not in wrong]
    return len(wrong) >= limit or row.correct + len(left) < min(task.need, len(pool))


def _fail_round(ctx: Context, row: RampProgress, task: TaskView, wrong: int, title: str) -> None:
    """The round ends without a pass: its answers are cleared and the quiz opens again `[ramp] retry_hours` later
    (guessing has a cost)."""
    now = ctx.now()
    retry = now + timedelta(hours=ctx.settings.ramp.retry_hours)
    row.correct, row.updated_at = 0, now
    row.state = {**{k: v for k, v in row.state.items() if k not in ("right_cards", "wrong_cards")},
                 "retry_at": retry.isoformat(), "rounds_failed": int(row.state.get("rounds_failed", 0)) + 1}
    log.info("ramp: %s failed a round of task %s (%d wrong)", ctx.user.id, task.id, wrong)
    ctx.reply(Card(title=title, description=f"「{task.title}」这一轮没通过（答错 {wrong} 题），本轮答对的也要重新来。"
                   f"先复习上面的话术，{say_when(retry, now)} 后发「通关」重考。",
                   note=f"本关需要答对 {task.need} 题"))


def reference(card: KbCard) -> Markdown:
    """The right card in full (a WeCom card's fields show 30 characters each)."""
    parts = [f"**{f.label}**：{user_text(f.value)}" for f in card_fields(card)]
    return Markdown(title=f"参考话术：{user_text(card.title)}", text="\n\n".join([*parts, source_line(card)]))


async def _right(ctx: Context, row: RampProgress, found: Progress, task: TaskView, maker: QuizMaker,
                 card_id: str, card: KbCard | None = None) -> None:
    """A right answer (with the card's talk track in full when a choice was made on its short form). A card
    answered right is not asked again: when the task's cards are fewer than the right answers it needs, every
    card answered right passes it."""
    row.correct += 1
    row.updated_at = ctx.now()
    right = [*row.state.get("right_cards", []), card_id]
    row.state = {**row.state, "right_cards": right[-50:]}
    said = f"\n完整话术：{user_text(fill_blanks(card.talk_track))}" if card is not None else ""
    wrong = row.state.get("wrong_cards", [])
    more = [c for c in maker.pool(task.spec) if c.id not in right and c.id not in wrong]
    if row.correct < task.need and more:
        ctx.reply(Text(f"✅ 答对了！（本关 {row.correct}/{task.need}）{said}"))
        await ask(ctx, found, task, maker)
        return
    every = f"本关的 {row.correct} 张卡片都答对了，" if row.correct < task.need else ""
    ctx.reply(Text(f"✅ 答对了！{every}「{task.title}」通过。{said}"))
    await _after_done(ctx, row, maker)


async def _after_done(ctx: Context, row: RampProgress, maker: QuizMaker) -> None:
    """Finish the row's task, then the next task or the unlock."""
    session, cfg = await ctx.db(), ctx.settings.ramp
    completed = await service.finish_task(session, row, ctx.now(), cfg)
    if completed is not None:
        ctx.apply(shadow.completion(ctx.user.id, completed, cfg, ctx.now()))
        return
    found = await service.progress(session, ctx.user.id, cfg)
    if found is not None:
        await show_next(ctx, found, maker)


# -- the rep's buttons on a task: one route, a step per button -----------------------------------------
async def _show_step(ctx: Context, row: RampProgress, found: Progress, task: TaskView, maker: QuizMaker) -> None:
    """换一题 / 下一题: a new question of the quiz task, or the next task."""
    if found.complete:
        ctx.reply(Text(f"🎉 你已完成新人通关，{service.unlocked_text(ctx.settings.ramp)}。"))
        return
    if task.kind == "quiz" and row.status == "open":
        await ask(ctx, found, task, maker)
        return
    await show_next(ctx, found, maker)


async def _read_step(ctx: Context, row: RampProgress, found: Progress, task: TaskView, maker: QuizMaker) -> None:
    """读完了: the reading task is done."""
    if row.status == "done" or task.kind != "read":
        ctx.reply(Text(ALREADY_ANSWERED))
        return
    ctx.update_card("已读完")
    ctx.reply(Text(f"📖 「{task.title}」完成。"))
    await _after_done(ctx, row, maker)


# -- written answers --------------------------------------------------------------------------------------
async def _awaits_written(ctx: Context, msg: Inbound) -> bool:
    """A written question waits and the text reads as an answer (a question goes to the knowledge base as usual;
    the open question stays open)."""
    if reads_as_question(msg.text):
        return False
    return await service.written_waiting(ctx.services.db, ctx.user.id, ctx.now(), ctx.settings.ramp.answer_minutes)


@router.text(when=_awaits_written)
async def written_answer(ctx: Context, msg: Inbound) -> None:
    """The rep's own answer to a written question: the card to compare, and their verdict by button."""
    maker = await _maker(ctx)
    session = await ctx.db()
    row_id = await service.written_row(session, ctx.user.id, ctx.now(), ctx.settings.ramp.answer_minutes)
    row = await session.get(RampProgress, row_id) if row_id is not None else None
    if row is None:
        ctx.reply(Text(ALREADY_ANSWERED))
        return
    q = dict(row.state["q"])
    card = _card(ctx, maker, q["card"])
    if card is None:
        row.state = {k: v for k, v in row.state.items() if k != "q"}
        ctx.reply(Text("这道题的卡片已下线，换一题。"))
        got = await _row_and_task(ctx, row.task_id)
        if got is not None:
            await ask(ctx, got[1], got[2], maker)
        return
    reply = msg.text.strip()[:500]
    row.state = {k: v for k, v in row.state.items() if k != "q"}
    points = await _key_points(ctx, card)
    check = check_answer(reply, points)
    log.info("ramp: %s written answer on %s covers %d/%d key points", ctx.user.id, card.id, len(check.covered),
             len(points))
    got = await _row_and_task(ctx, row.task_id)
    if got is None:
        return
    _, found, task = got
    ctx.reply(reference(card))
    if check.passed:
        ctx.reply(Text(f"答到了参考话术的要点：{user_text('、'.join(check.covered))}。"))
        await _right(ctx, row, found, task, maker, card.id)
        return
    ctx.reply(Card(title="还差一些", description=f"{SCENE}{user_text(q['line'])}\n你的回答：{user_text(reply)}\n"
                   f"{user_text(fill_blanks(check.explain(card.talk_track)))}",
                   buttons=(Button(RampShow(task.id).pack(), "下一题", "primary"),),
                   note=f"本关已答对 {row.correct}/{task.need}"))


async def _key_points(ctx: Context, card: KbCard) -> list[str]:
    """The card's key points (the knowledge tokenizer's cut of its talk track, in an executor)."""
    tok = knowledge_base(ctx.services).tokenizer

    def work() -> list[str]:
        return key_points(card, tok.tokens(card.talk_track), tok)

    return await asyncio.get_running_loop().run_in_executor(None, work)


async def _ask_confirm_step(ctx: Context, row: RampProgress, found: Progress, task: TaskView,
                            maker: QuizMaker) -> None:
    """请主管确认: the shadowing task waits for the rep's manager (else the admins), who get a card to confirm."""
    if task.kind != "shadow" or row.status == "done":
        ctx.reply(Text("这一关已经确认过了，发「通关」继续。"))
        return
    session, now = await ctx.db(), ctx.now()
    row.status, row.updated_at = "waiting", now
    confirmers = [found.manager_id] if found.manager_id else await active_admins(session)
    name = user_text(ctx.user.name)
    for to in confirmers:
        ctx.send(to, Card(title=f"跟岗确认 · {name}",
                          description=f"{name} 说已完成跟岗任务「{user_text(task.spec.what)}」，请确认"
                          f"（新人通关 {found.done}/{found.total}）。",
                          buttons=(Button(RampConfirm(task.id, 1, ctx.user.id).pack(), "确认完成", "primary"),
                                   Button(RampConfirm(task.id, 0, ctx.user.id).pack(), "还没有"))),
                 key=f"ramp:ask:{ctx.user.id}:{task.id}:{now.isoformat()}:{to}")
    ctx.update_card("已请主管确认")
    who = "你的主管" if found.manager_id else "管理员"
    ctx.reply(Text(f"已请{who}确认「{task.spec.what}」。"))
    after = await service.progress(session, ctx.user.id, ctx.settings.ramp)
    if after is not None and after.next is not None:
        await show_next(ctx, after, maker)


TaskStep = Callable[[Context, RampProgress, Progress, TaskView, QuizMaker], Awaitable[None]]
TASK_STEPS: dict[type[RampShow | RampRead | RampAskConfirm], TaskStep] = {
    RampShow: _show_step, RampRead: _read_step, RampAskConfirm: _ask_confirm_step}


async def task_button(ctx: Context, action: RampShow | RampRead | RampAskConfirm) -> None:
    """A rep's button on one of their tasks: the task and the rep's row for it (or why not), then its step."""
    maker = await _maker(ctx)
    got = await _row_and_task(ctx, action.task_id)
    if got is not None:
        await TASK_STEPS[type(action)](ctx, *got, maker)


for _kind in TASK_STEPS:
    router.card_action(_kind)(task_button)


# -- shadowing, confirmed by the manager (handlers/ramp/shadow.py) ------------------------------------------
@router.card_action(RampConfirm, roles={"manager", "admin"})
async def confirm_button(ctx: Context, action: RampConfirm) -> None:
    ctx.apply(await shadow.confirm(await ctx.db(), ctx.user, action.rep_id, action.task_id, bool(action.ok), ctx.now(),
                                   ctx.settings.ramp))


@router.command("通关确认", "确认通关", roles={"manager", "admin"})
async def confirm_cmd(ctx: Context, msg: Inbound) -> None:
    """「通关确认 张伟」: the rep's shadowing task waiting for confirmation (the rep asked for it) is done."""
    who = (command_arg(msg.text, "通关确认", "确认通关") or "").strip().lstrip("@")
    session = await ctx.db()
    rep = await _person(session, who)
    if rep is None:
        ctx.reply(Text("请写上要确认的同事，例如「通关确认 张伟」。" if not who else f"团队里没有「{who}」。"))
        return
    found = await service.progress(session, rep.id, ctx.settings.ramp)
    if found is None or not found.waiting:  # only what the rep asked for: a repeat never confirms the next task
        name = user_text(rep.name)
        ctx.reply(Text(f"{name} 现在没有请你确认的跟岗任务。等{name}完成跟岗、点了「请主管确认」后再确认。"))
        return
    ctx.apply(await shadow.confirm(session, ctx.user, rep.id, found.waiting[0].id, True, ctx.now(), ctx.settings.ramp))
