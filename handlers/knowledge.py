"""Knowledge answers as cards: the shared index (`knowledge_base`), how an answer card looks and when a card is
stale. The chat routes that use them are handlers/chat/knowledge.py."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import KbNext, KbNotUseful, KbUseful
from bot.engines import Engines
from bot.messages import Button, Card, Field, Text
from bot.result import Result, said
from bot.services import Services, Shared
from bot.usertext import user_text
from knowledge import store
from knowledge.blanks import fill_blanks, lead_values
from knowledge.query import clean
from knowledge.schema import KbCard
from knowledge.search import KnowledgeBase

KNOWLEDGE = Shared("knowledge", lambda s: _new_kb(s.settings.knowledge.taxonomy_path,
                                                  s.settings.knowledge.stale_months, s.engines))


def knowledge_base(services: Services) -> KnowledgeBase:
    """One index per process, shared by handlers (built lazily, refreshed from the database)."""
    return services.shared(KNOWLEDGE)


async def pin(session: AsyncSession, kb: KnowledgeBase, wording: str, card_id: str | None, now: datetime) -> Result:
    """置顶: from now on a question asked this way (or close to it) gets card `card_id` first; None lifts the pin.
    Chat's 「置顶 问法 卡片编号」 and the console's 指定卡片 (知识缺口) both run it."""
    if card_id is None:
        await store.set_pin(session, clean(wording, kb.t2s), None, now)
        kb.pin(wording, None)
        return Result(reply=Text(f"已取消「{wording}」的置顶。"), changed=True)
    if not clean(wording, kb.t2s) or not await store.card_exists(session, card_id):
        return said(f"没有编号为 {card_id} 的卡片，请检查后再试。")
    await store.set_pin(session, clean(wording, kb.t2s), card_id, now)
    kb.pin(wording, card_id)
    return Result(reply=Text(f"已置顶：以后有人问「{wording}」或相近的说法，先给卡片 {card_id}。"), changed=True)


def _new_kb(taxonomy_path: str, stale_months: int, engines: Engines) -> KnowledgeBase:
    kb = KnowledgeBase(taxonomy_path=taxonomy_path, engines=engines)
    kb.stale_days = stale_months * 30  # a stale card yields to a fresher one on the same subject
    return kb


def answer_card(
    card: KbCard, query_id: int, today: date, stale_months: int, wording: str | None = None, why: str = "",
    newer: KbCard | None = None,
) -> Card:
    """`newer`: a much newer card on the same subject that replaced this one (KnowledgeBase.newer_version)."""
    fields = card_fields(card)
    fields.append(Field("更新日期", card.updated_at.isoformat() if card.updated_at else "未知"))
    note = (why + " ｜ " if why else "") + source_line(card)
    if newer is not None:
        note += f" · ⚠️ 已有更新的同类话术《{user_text(newer.title)}》，请优先使用"
    elif is_stale(card, today, stale_months):
        note += f" · ⚠️ 超过 {stale_months} 个月未更新，使用前请核实"
    return Card(
        title=user_text(card.title),  # what admins wrote: shown as text by every channel (a <script> stays text)
        description=wording or "",
        fields=tuple(fields),
        buttons=(Button(KbUseful(query_id, card.id).pack(), "有用", "primary"),
                 Button(KbNotUseful(query_id, card.id).pack(), "没用"),
                 Button(KbNext(query_id, card.id).pack(), "换一个")),
        note=note,
    )


def source_line(card: KbCard) -> str:
    """Where the answer comes from, as a person would say it: the talk-track library and, when its name is a
    Chinese one, the file it was imported from (「来源：话术库《华东报价话术》」) — never a card id or a file
    extension (the standard: no ids or internal codes to users)."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", card.source or "")
    return f"来源：话术库《{stem}》" if re.search(r"[\u4e00-\u9fff]", stem) else "来源：话术库"


def card_fields(card: KbCard, lead: object | None = None) -> list[Field]:
    """A card's content as card fields: 话术, 报价模板 and 成功案例 when present, its tags; template blanks filled
    from `lead` or shown as a hint (knowledge/blanks.py)."""
    values = lead_values(lead)
    fields = [Field("话术", user_text(fill_blanks(card.talk_track, values)))]
    if card.quote_template:
        fields.append(Field("报价模板", user_text(fill_blanks(card.quote_template, values))))
    if card.success_case:
        fields.append(Field("成功案例", user_text(fill_blanks(card.success_case, values))))
    fields.append(Field("标签", " / ".join(card.tags()) or "通用"))
    return fields


def is_stale(card: KbCard, today: date, stale_months: int) -> bool:
    if card.updated_at is None:
        return True
    months = (today.year - card.updated_at.year) * 12 + today.month - card.updated_at.month
    return months > stale_months or (months == stale_months and today.day > card.updated_at.day)
