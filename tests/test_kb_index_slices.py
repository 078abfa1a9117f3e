"""The index's C-level loops run a slice of documents at a time (knowledge/index.py SLICE) so that a serving
process's event loop gets the GIL between slices (issue 20, 6b). Slicing must not change the index: built in
slices of 3 documents or all at once, the postings are the same."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge import index
from knowledge.index import PairBM25, SparseBM25
from knowledge.query import SIMPLIFIER
from tests.conftest import ENGINES

T2S = ENGINES.get(SIMPLIFIER)  # OpenCC's tables of this test process (no services here)

DOCS = [["价格", "太贵", "预算"], [], ["交付", "周期", "价格"], ["竞品", "便宜", "一半", "价格", "价格"],
        ["决策", "流程"], ["预算", "审批"], ["演示"]]
TEXTS = [("客户嫌价格太贵",), ("",), ("交付周期太长", "先确认时间表"), ("竞品便宜一半",), ("決策流程慢",),
         ("预算审批 OK",), ("演示安排",)]


def built(kind: type, docs: list) -> SparseBM25 | PairBM25:
    return SparseBM25(docs) if kind is SparseBM25 else PairBM25(docs, T2S)


def postings(model: SparseBM25 | PairBM25) -> tuple[object, ...]:
    return (model.vocab, model.indptr.tolist(), model.doc_idx.tolist(), np.round(model.weights, 6).tolist(),
            np.round(model.idf, 6).tolist())


@pytest.mark.parametrize("kind", [SparseBM25, PairBM25])
def test_an_index_built_in_slices_is_the_index_built_at_once(kind: type, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = DOCS if kind is SparseBM25 else TEXTS
    whole = postings(built(kind, docs))
    monkeypatch.setattr(index, "SLICE", 3)
    assert postings(built(kind, docs)) == whole
    monkeypatch.setattr(index, "SLICE", 1)
    assert postings(built(kind, docs)) == whole


def test_a_pair_vocabulary_larger_than_a_slice_keeps_every_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "SLICE", 1)  # the vocabulary dict is filled 50 pairs at a time
    docs = [(f"客户{chr(0x4E00 + i)}{chr(0x4E80 + i)}顾虑",) for i in range(120)]
    model = PairBM25(docs, T2S)
    assert sorted(model.vocab.values()) == list(range(len(model.vocab)))
    assert len(model.vocab) > 50
