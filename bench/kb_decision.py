"""Fit and check the knowledge search's answer / decline decision (knowledge/decision.json), leave one set out.

    .venv/bin/python -m bench.kb_decision            # leave-one-set-out figures, per set and pooled
    .venv/bin/python -m bench.kb_decision --write    # ... and store the weights fitted on every training set

The decision is a logistic regression over a handful of features of (query, first card) that
`knowledge.search.decision_features` measures against the query itself, the whole knowledge base and the runner-up.
It is fitted on the labelled sets written by other hands in the repository (bench/data/kb_heldout*_*,
tests/fixtures/kb_*: see bench/kb.py), never on ../shared/eval/kb-dev (only scored, as a check, by bench/kb.py).

A query is a positive example when it is answerable and its right card ranks first, a negative one when no card
should answer it; an answerable query whose first card is wrong is the ranking's miss and is left out (sets of
paraphrases sharing no word with their card would otherwise teach it to answer whatever shares nothing). Negatives
weigh `NEGATIVE_WEIGHT`: a set holds about four answerable queries for each off-topic one, while a wrong answer
costs a rep more than a decline. The features kept are those that survived a backward elimination scored leave one
set out (never on held-out T), with their weights' signs fixed (`SIGNS`).
Leave one set out: each set is scored with weights fitted on all the others, so every figure printed is on a set the
weights never saw. The video-meeting set's two query files share one card set: they are left out together. Held-out T
(the travel-management vendor) and W (the industrial-gas supplier) are never fitted on: the stored weights are
those of their fold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass

import numpy as np

from bench.kb import HELDOUT, card_set, labelled_quality, predictions
from knowledge.decision import FEATURES, WEIGHTS_FILE, Decision
from knowledge.search import decision_inputs

NEVER_FITTED = ("T (", "W (", "X (")  # held-out sets written for this model: scored, never fitted on
NEVER_FITTED += ("Q (",)  # the concept vocabulary's own held-out set (stop 22)
L2 = 0.3  # ridge penalty: about a thousand examples, eight weights
NEGATIVE_WEIGHT = 2.0
# The decision must be monotone in its evidence: more of the query held by the card never lowers the answer, a sign
# of another matter never raises it (unconstrained, correlated features can take a backward weight that a knowledge
# base unlike the training sets then exploits: a query sharing nothing with any card answered for its length).
SIGNS = {
    "pieces": 1,
    "title": 1,
    "score": 1,
    "one_synonym": 0,
    "beside": -1,
    "lone_word": -1,
    "coverage": 1,
    "concern_elsewhere": -1,
    "vague": -1,
    "voiced_by_chance": 0,
}


@dataclass
class LabelledSet:
    name: str
    fold: str  # sets sharing one card set share a fold
    rows: list[dict]
    preds: list[dict]  # the search's own output (ranking, and its answer as shipped)
    features: list[dict[str, float] | None]  # per query; None: declined before any card is weighed
    vetoed: list[bool]  # per query: declined by a hard sign of the search (`HARD_SIGNS`) whatever the weights say


def fold_of(name: str) -> str:
    return name.split(" ", 1)[0].split("-", 1)[0]


async def load_sets() -> list[LabelledSet]:
    out = []
    for name, cards, queries in HELDOUT:
        rows = [json.loads(line) for line in queries.read_text(encoding="utf-8").splitlines() if line.strip()]
        kb = await card_set(cards)
        index = kb._index  # the bench reads the features the decision weighs
        assert index is not None
        preds = predictions(kb, [str(r["q"]) for r in rows])
        inputs = [decision_inputs(index, str(r["q"])) for r in rows]
        features = [None if got is None else got[1] for got in inputs]
        vetoed = [got is not None and got[2] for got in inputs]
        out.append(LabelledSet(name, fold_of(name), rows, preds, features, vetoed))
    return out


def examples(sets: list[LabelledSet]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for s in sets:
        for row, pred, feats, vetoed in zip(s.rows, s.preds, s.features, s.vetoed, strict=True):
            if feats is None or vetoed:
                continue  # declined whatever the weights say: it teaches them nothing
            expected = list(row["expected"])
            if expected and pred["ranked"][0] not in expected:
                continue  # the ranking's miss: whether to answer it teaches nothing about answering
            xs.append([feats[f] for f in FEATURES])
            ys.append(1.0 if expected else 0.0)
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """`fit_free` under `SIGNS`: a weight of the wrong sign is fixed at zero and the rest fitted again (active set)."""
    active = list(range(len(FEATURES)))
    while True:
        weights, bias = fit_free(x[:, active], y, l2)
        full = np.zeros(len(FEATURES))
        full[active] = weights
        wrong = [i for i in active if SIGNS[FEATURES[i]] * full[i] < 0]
        if not wrong:
            return full, bias
        active.remove(min(wrong, key=lambda i: SIGNS[FEATURES[i]] * full[i]))


def fit_free(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method, negatives weighted `NEGATIVE_WEIGHT`, bias not penalised."""
    a = np.hstack([x, np.ones((len(x), 1))])
    weight = np.where(y > 0, 1.0, NEGATIVE_WEIGHT)
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(a @ w)))
        grad = a.T @ (weight * (p - y)) + penalty * w
        hess = (a * (weight * p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def decided(s: LabelledSet, decision: Decision) -> list[dict]:
    """The search's output with the answer / decline taken from `decision`."""
    return [
        {**pred, "answered": feats is not None and not vetoed and decision.answers(feats)}
        for pred, feats, vetoed in zip(s.preds, s.features, s.vetoed, strict=True)
    ]


def pooled(sets: list[LabelledSet], preds: list[list[dict]]) -> dict:
    return labelled_quality([r for s in sets for r in s.rows], [p for ps in preds for p in ps], False)


def leave_one_set_out(sets: list[LabelledSet], l2: float = L2, verbose: bool = True) -> dict:
    """Each set decided by weights fitted on every other fold (never on the never-fitted set)."""
    fitted = [s for s in sets if not s.name.startswith(NEVER_FITTED)]
    everything, loso = [], []  # answer every query (rank only), and decided leave one set out
    for s in sets:
        x, y = examples([o for o in fitted if o.fold != s.fold])
        weights, bias = fit(x, y, l2)
        everything.append([{**p, "answered": f is not None} for p, f in zip(s.preds, s.features, strict=True)])
        loso.append(decided(s, Decision(dict(zip(FEATURES, weights.tolist(), strict=True)), bias)))
        if verbose:
            a = labelled_quality(s.rows, everything[-1], False)
            b = labelled_quality(s.rows, loso[-1], False)
            print(
                f"  {s.name[:60]:60s} rank only {a['top1']:.3f}/{a['top3']:.3f}/{a['noans_f1']:.3f}  "
                f"left out {b['top1']:.3f}/{b['top3']:.3f}/{b['noans_f1']:.3f}"
            )
    a, b = pooled(sets, everything), pooled(sets, loso)
    if verbose:
        print(
            f"  pooled over {len(sets)} sets (top1/top3/no-answer F1): rank only {a['top1']:.3f}/{a['top3']:.3f}/"
            f"{a['noans_f1']:.3f}  leave-one-set-out {b['top1']:.3f}/{b['top3']:.3f}/{b['noans_f1']:.3f}"
        )
    return b


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"store the fitted weights in {WEIGHTS_FILE}")
    parser.add_argument("--l2", type=float, default=L2)
    args = parser.parse_args(argv)
    sets = await load_sets()
    print("answer / decline decision, top1/top3/no-answer F1 per set (left out: weights fitted on the other sets)")
    leave_one_set_out(sets, args.l2)
    x, y = examples([s for s in sets if not s.name.startswith(NEVER_FITTED)])
    weights, bias = fit(x, y, args.l2)
    print(f"fitted on {len(y)} examples ({int(y.sum())} answer, {int(len(y) - y.sum())} decline):")
    print("  " + " ".join(f"{f}={w:+.2f}" for f, w in zip(FEATURES, weights, strict=True)) + f" bias={bias:+.2f}")
    if args.write:
        Decision(dict(zip(FEATURES, weights.tolist(), strict=True)), bias).save(WEIGHTS_FILE)
        print(f"written {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
