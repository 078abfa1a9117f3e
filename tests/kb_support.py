"""The knowledge index over a card file, as the search tests build it (no services: the test process's engines)."""

from __future__ import annotations

from pathlib import Path

from knowledge.index import CardIndex, Tokenizer, build_index
from knowledge.io import read_cards
from knowledge.taxonomy import load_taxonomy
from tests.conftest import ENGINES

TAXONOMY = load_taxonomy()
BENCH_DATA = Path(__file__).resolve().parents[1] / "bench" / "data"


def new_tokenizer() -> Tokenizer:
    return Tokenizer(TAXONOMY.dictionary_words(), ENGINES)


def index_of(cards: Path, tokenizer: Tokenizer | None = None) -> CardIndex:
    """The index of a JSONL card file that must import without a single issue."""
    result = read_cards(cards, TAXONOMY)
    assert not result.issues
    return build_index([c for _, c in result.cards], TAXONOMY, tokenizer or new_tokenizer())


def held_out_scores(rows: list[dict], preds: dict[str, dict], kind: str | None = None) -> dict[str, float]:
    """top1 / top3 over the answerable queries, no-answer F1, and (with `kind`) top1 over that kind's queries —
    scored as ../shared/eval's score.py does: a declined answerable query counts as a miss."""
    top1 = top3 = answerable = tp = fp = fn = 0
    of_kind = [0, 0]
    for row in rows:
        pred = preds[row["q"]]
        ranked = pred["ranked"] if pred["answered"] else []
        if not row["expected"]:
            tp += not pred["answered"]
            fn += bool(pred["answered"])
            continue
        fp += not pred["answered"]
        answerable += 1
        first = bool(ranked) and ranked[0] in row["expected"]
        top1 += first
        top3 += any(r in row["expected"] for r in ranked[:3])
        if row["kind"] == kind:
            of_kind[0] += first
            of_kind[1] += 1
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    scores = {"top1": top1 / answerable, "top3": top3 / answerable,
              "noans_f1": 2 * precision * recall / max(precision + recall, 1e-9)}
    if kind is not None:
        scores[kind] = of_kind[0] / max(of_kind[1], 1)
    return scores
