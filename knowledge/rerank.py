"""Optional LLM rerank ([llm] enabled + rerank): when the first candidates are close, ask an
OpenAI-compatible model to pick one of them by id. A timeout, an error or an id that was not offered
leaves the ranking as it was."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING

from bot.config import LlmSettings
from bot.llm import complete
from knowledge.search import SearchResult

if TYPE_CHECKING:
    from bot.llm import Message

log = logging.getLogger(__name__)
CLOSE = 0.6  # candidates within this score of the first one are worth asking about
OFFERED = 4
ID = re.compile(r"[A-Za-z0-9_.\-]{1,32}")
SYSTEM = ("你是销售知识库的排序助手。根据销售的问题，从候选卡片中选出最合适的一张。"
          "只回答一个卡片编号，不要解释。")


def close_candidates(result: SearchResult) -> list[str]:
    if not result.answered or len(result.hits) < 2:
        return []
    first = result.hits[0].score
    return [h.card.id for h in result.hits[:OFFERED] if first - h.score <= CLOSE]


def build_messages(result: SearchResult, offered: list[str]) -> list[Message]:
    cards = {h.card.id: h.card for h in result.hits}
    lines = []
    for card_id in offered:
        card = cards[card_id]
        tags = " / ".join(card.tags()) or "通用"
        lines.append(f"[{card_id}] {card.title}（{tags}）：{card.talk_track[:80]}")
    user = f"销售的问题：{result.query[:300]}\n\n候选卡片：\n" + "\n".join(lines)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


async def llm_rerank(settings: LlmSettings, result: SearchResult) -> SearchResult:
    """`result` with the model's pick first, or unchanged (disabled, not close, slow, unknown id)."""
    offered = close_candidates(result) if settings.enabled and settings.rerank else []
    if len(offered) < 2:
        return result
    reply = await complete(settings, build_messages(result, offered), max_tokens=20)
    picked = next((w for w in ID.findall(reply or "") if w in offered), None)
    if picked is None:
        log.info("llm rerank ignored: reply %r names no offered card", (reply or "")[:40])
        return result
    hits = sorted(result.hits, key=lambda h: h.card.id != picked)  # stable: the rest keep their order
    return dataclasses.replace(result, hits=tuple(hits))
