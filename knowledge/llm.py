"""Optional LLM wording (OpenAI-compatible): 2–3 sentences grounded only in the retrieved cards.

Never called when the search declined. Any timeout or error → None, and the card alone is shown.
A reply citing a card id we did not supply is discarded (it would be a made-up source).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.config import LlmSettings
from bot.llm import complete
from knowledge.schema import KbCard

if TYPE_CHECKING:
    from bot.llm import Message

log = logging.getLogger(__name__)
CITATION = re.compile(r"\[([A-Za-z0-9_.\-]{1,32})\]")
MAX_REPLY = 400
SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?\n]+|$)(?:\s*\[[A-Za-z0-9_.\-]{1,32}\])*")  # with trailing [Kxxx]

SYSTEM = (
    "你是销售助手。只根据给出的知识卡片回答，不要编造卡片以外的事实、数字或承诺。"
    "用 2–3 句简体中文，贴合销售的原话，给出可以直接对客户说的话，"
    "并在句末用方括号标注所依据的卡片编号，例如 [K012]。没有依据就不要回答。"
)


def build_messages(query: str, cards: Sequence[KbCard]) -> list[Message]:
    blocks = []
    for card in cards:
        blocks.append(
            f"[{card.id}] {card.title}\n话术：{card.talk_track}\n报价模板：{card.quote_template}\n"
            f"成功案例：{card.success_case}"
        )
    user = "销售的问题：" + query.strip()[:500] + "\n\n知识卡片：\n" + "\n\n".join(blocks)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


async def llm_answer(settings: LlmSettings, query: str, cards: Sequence[KbCard]) -> str | None:
    """A short grounded reply citing `[card id]`, or None (disabled, nothing fits, timeout, error)."""
    if not settings.enabled or not cards:
        return None
    text = await complete(settings, build_messages(query, cards))
    return _grounded(text or "", [c.id for c in cards])


def _grounded(text: str, ids: Sequence[str]) -> str | None:
    if not text:
        return None
    cited = CITATION.findall(text)
    if any(c not in ids for c in cited):
        log.warning("llm answer cited an unknown card: %s", cited)
        return None
    if not cited:
        text = f"{text} [{ids[0]}]"
    return _shorten(text, cited[0] if cited else ids[0])


def _shorten(text: str, source: str) -> str:
    """At most MAX_REPLY characters, cut after a whole sentence (its citations kept), still citing a card."""
    if len(text) <= MAX_REPLY:
        return text
    tag = f" [{source}]"
    out = ""
    for sentence in SENTENCE.findall(text):
        if len(out) + len(sentence) > MAX_REPLY - len(tag):
            break
        out += sentence
    out = out.strip() or text[:MAX_REPLY - len(tag) - 1].rstrip() + "…"
    return out if CITATION.search(out) else out + tag
