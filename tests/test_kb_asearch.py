"""The chat path ranks in the executor (`KnowledgeBase.asearch`) against one snapshot of index and votes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from knowledge.demo import demo_cards
from knowledge.search import KnowledgeBase
from tests.conftest import ENGINES
from tests.kb_support import TAXONOMY


class Recording(ThreadPoolExecutor):
    """A default executor that notes the name of every function handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.names: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.names.append(getattr(fn, "__name__", ""))
        return super().submit(fn, *args, **kwargs)


async def test_asearch_ranks_in_the_executor_as_search_does() -> None:
    kb = KnowledgeBase(TAXONOMY, engines=ENGINES)
    await kb.build_from(demo_cards(TAXONOMY))
    executor = Recording()
    asyncio.get_running_loop().set_default_executor(executor)
    for query in ("医院采购嫌贵", "客户说交货太慢", "食堂今天吃什么"):
        assert (await kb.asearch(query, top=5)).to_json(why=True) == kb.search(query, top=5).to_json(why=True)
    assert executor.names.count("rank") == 3


async def test_a_vote_or_a_pin_replaces_the_learned_votes_a_running_search_holds() -> None:
    kb = KnowledgeBase(TAXONOMY, engines=ENGINES)
    await kb.build_from(demo_cards(TAXONOMY))
    before = kb.learned
    card = kb.search("医院采购嫌贵").ranked[1]
    kb.learn("医院采购嫌贵", card, "up")
    kb.pin("交货太慢怎么办", card)
    assert before.votes == {} and before.pins == {}  # what an executor search started with is unchanged
    assert kb.learned is not before and kb.learned.votes and kb.learned.pins
    assert (await kb.asearch("交货太慢怎么办")).ranked[0] == card  # the new snapshot is the one ranked against
