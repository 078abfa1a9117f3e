"""Chat routes: knowledge answers (any other text), feedback buttons, admin card import by file."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot import phrases as P
from bot.actions import KbNext, KbNotUseful, KbUseful, KbVote
from bot.clock import to_cn
from bot.context import Context
from bot.jobs import ImportJob, ImportKind, Progress, Work, nothing_imported, start_import, uploaded_file
from bot.messages import Inbound, Text
from bot.metrics import KB_SEARCH, timed
from bot.router import Router
from bot.segmenter import WORD_TAGS
from bot.services import Services
from bot.usertext import user_text
from handlers.chat.received import not_received
from handlers.knowledge import answer_card, knowledge_base, pin
from knowledge import store
from knowledge.query import SIMPLIFIER, is_chatter
from knowledge.rerank import llm_rerank
from knowledge.search import KnowledgeBase, SearchResult
from ocr.people import NAMES, is_person_name, looks_like_company

router: Router[Context] = Router("knowledge")
IMPORT_SUFFIXES = {".csv", ".xlsx"}
MAX_ISSUES_SHOWN = 10
CHATTER_REPLY = "你好 👋 直接把客户的原话或顾虑发给我，比如「医院采购嫌贵」，我来找合适的话术。"
OFF_DUTY_REPLY = "没找到合适的话术：这像是日常事务，不在话术库里。把客户的原话或顾虑发给我，比如「医院采购嫌贵」。"
VOTE_TEXT = {"up": "已记录：有用 👍", "down": "已记录：没用，我们会改进这张卡片 🙏"}


async def _fresh_kb(ctx: Context) -> KnowledgeBase:
    kb = knowledge_base(ctx.services)
    # One primary-key read; after an import elsewhere the old index answers while the new one builds.
    await kb.refresh_if_stale(ctx.services.db, wait=False)
    return kb


@router.text(group_ok=True)
async def answer(ctx: Context, msg: Inbound) -> None:
    query = msg.text.strip()[:500]
    if not query:
        return
    # greetings, thanks, commands: a short hint, never a knowledge gap
    if is_chatter(query, ctx.services.engines.get(SIMPLIFIER)):
        ctx.reply(Text(CHATTER_REPLY))
        return
    with timed(KB_SEARCH):
        kb = await _fresh_kb(ctx)
        result = await kb.asearch(query, top=max(ctx.settings.knowledge.top_k, 3))
    result = await llm_rerank(ctx.settings.llm, result)  # off by default; falls back to the ranking
    if not result.work:  # the rep's own day (canteen, leave, weather): declined, and not a knowledge gap
        ctx.reply(Text(OFF_DUTY_REPLY))
        return
    if result.best is None and await _a_name_alone(ctx, query):  # 「司徒乐」: a customer looked for, not a question
        ctx.reply(Text(P.UNKNOWN_NAME.format(customer=user_text(query.strip()))))
        return
    if result.best is None and _a_company_alone(query):  # 「北辰明珠酒店」: a customer looked for, not a question
        ctx.reply(Text(P.NO_SUCH_COMPANY.format(customer=user_text(query.strip()))))
        return
    wording = await _llm_wording(ctx, result)  # slow work before the transaction opens
    session = await ctx.db()
    query_id = await store.log_query(
        session, user_id=ctx.user.id, query=query, ranked=result.ranked, scores=result.scores,
        answered=result.answered, shown_card=result.best.id if result.best else None, now=ctx.now(),
    )
    if result.best is None:
        ctx.reply(Text(_decline_text(result)))
        return
    ctx.reply(answer_card(result.best, query_id, to_cn(ctx.now()).date(), ctx.settings.knowledge.stale_months, wording,
                          result.why_line(), kb.newer_version(result.best.id)))


def _a_company_alone(query: str) -> bool:
    """An organisation's name typed alone: four Chinese characters or more, one word, shaped like a company (an
    industry or registered ending, or a compound surname before an unknown trade: 令狐果业)."""
    said = query.strip()
    return bool(re.fullmatch(r"[\u4e00-\u9fff]{4,16}", said)) and (looks_like_company(said) or is_person_name(said))


async def _a_name_alone(ctx: Context, query: str) -> bool:
    """A person's name typed alone that the knowledge base has nothing for: shaped like a name, not an everyday
    word that looks like one (jieba's dictionary: 方案, 钟点 are words; a word it tags as a name counts as one)."""
    said = query.strip()
    if not 2 <= len(said) <= 4 or not is_person_name(said):
        return False
    engines = ctx.services.engines
    names, tags = await asyncio.get_running_loop().run_in_executor(
        None, lambda: (engines.get(NAMES), engines.get(WORD_TAGS)))
    return names.is_remark_name(said) and tags.get(said, "nr") == "nr"


async def _llm_wording(ctx: Context, result: SearchResult) -> str | None:
    if not ctx.settings.llm.enabled or result.best is None:
        return None
    from knowledge.llm import CITATION, llm_answer

    wording = await llm_answer(ctx.settings.llm, result.query, [h.card for h in result.hits[:3]])
    # the model's [K001] citations are checked against the cards it was given, then kept from people: no ids
    return " ".join(CITATION.sub("", wording).split()) if wording else None


def _decline_text(result: SearchResult) -> str:
    tips = "、".join(result.suggestions) or "价格、交付、竞品"
    return f"没找到合适的话术 🤔 换个说法试试，比如写上客户角色、行业和异议。相近的分类：{tips}"


VOTES: dict[type[KbVote], str] = {KbUseful: "up", KbNotUseful: "down", KbNext: "next"}


@router.card_action(KbUseful, group_ok=True)
@router.card_action(KbNotUseful, group_ok=True)
@router.card_action(KbNext, group_ok=True)
async def feedback(ctx: Context, action: KbVote) -> None:
    vote, query_id, card_id = VOTES[type(action)], action.query_id, action.card_id
    kb = await _fresh_kb(ctx)
    session = await ctx.db()
    logged = await store.get_query(session, query_id)
    await store.add_feedback(session, query_id=query_id if logged else None, card_id=card_id,
                             user_id=ctx.user.id, vote=vote, now=ctx.now())
    if logged is not None:
        kb.learn(logged.query, card_id, vote)  # similar later questions rank this card up or down (bounded)
    if vote != "next":
        ctx.update_card(VOTE_TEXT[vote])
        return
    ranked = list(logged.ranked) if logged else []
    following = ranked[ranked.index(card_id) + 1:] if card_id in ranked else []
    card = next((c for c in (kb.card(i) for i in following) if c is not None), None)
    if logged is None or card is None:
        ctx.reply(Text("没有更多合适的话术了。可以换个说法再问一次。"))
        return
    ctx.reply(answer_card(card, query_id, to_cn(ctx.now()).date(), ctx.settings.knowledge.stale_months,
                          newer=kb.newer_version(card.id)))


@router.command("置顶", roles={"admin"})
async def pin_card(ctx: Context, msg: Inbound) -> None:
    """「置顶 <问法> <卡片编号>」: from the gaps queue, the next rep who asks this way gets that card."""
    words = msg.text.split()
    if len(words) < 3:
        ctx.reply(Text("用法：置顶 问法 卡片编号，例如「置顶 客户说太贵了 K012」。取消用「置顶 问法 取消」。"))
        return
    wording, card_id = " ".join(words[1:-1]), words[-1]
    ctx.apply(await pin(await ctx.db(), knowledge_base(ctx.services), wording,
                        None if card_id in {"取消", "删除"} else card_id, ctx.now()))


async def _is_card_file(ctx: Context, msg: Inbound) -> bool:
    return Path(msg.file_name or "").suffix.lower() in IMPORT_SUFFIXES


NOT_ADMIN = "抱歉，只有管理员可以导入话术知识库。需要更新话术请联系管理员 🙏"


@router.file(when=_is_card_file, roles={"admin"}, refusal=NOT_ADMIN)
async def import_cards(ctx: Context, msg: Inbound) -> None:
    if msg.data is None:
        ctx.reply(Text(not_received(msg)))
        return
    await start_import(ctx, "knowledge", Path(msg.file_name or "cards.csv").name, msg.data)


def card_import(services: Services, job: ImportJob) -> Work:
    """A knowledge-card file from chat (or a large one from the console), staged per chunk and published at once;
    run again from the start by the replay sweep when its process died (bot/jobs.py)."""
    kb = knowledge_base(services)

    async def work(progress: Progress) -> list[str]:
        from knowledge.importer import import_file

        async with uploaded_file(job.data, job.name) as path:
            report = await import_file(services.db, kb, path, job.started, total=progress.set_total,
                                       landed=progress.landed)  # staged per chunk, published at once
        report.file = job.name
        unread = [i.message for i in report.issues if not i.line]
        if not report.rows and unread:  # the file itself could not be read: a failure, worded as the CLI's
            return [f"❌ {job.name}：{unread[0]}，没有导入任何数据。"]
        lines = [f"📚 导入完成：{report.summary()}"]
        for issue in report.issues[:MAX_ISSUES_SHOWN]:
            where = f"第 {issue.line} 行" if issue.line else "文件"
            lines.append(f"· {where}：{issue.message}")
        if len(report.issues) > MAX_ISSUES_SHOWN:
            more = len(report.issues) - MAX_ISSUES_SHOWN
            lines.append(f"· 另有 {more} 个问题未显示：改好以上几行后重新发送文件，会列出其余问题")
        return lines

    return work


CARDS_IMPORT = ImportKind(card_import, lambda job, p: nothing_imported(job.name, p))  # see handlers.build_imports
